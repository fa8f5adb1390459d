"""``gm probe``, ``gm baselines`` and ``gm eval``: probe a profile's networks, score the baselines, score a saved proxy.

Thin commands registered on the ``gm`` app by :mod:`greenmachine.tui.cli`: parse the options,
call :mod:`greenmachine.evaluation` (:mod:`~greenmachine.evaluation.evaluate`,
:mod:`~greenmachine.evaluation.transfer`, :mod:`~greenmachine.evaluation.probe_cost`), print
the tables and figures it returns. Heavy imports (torch) happen inside the bodies.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from greenmachine.tui.commands.common import fail, probe_sink, tau_text, write_json
from greenmachine.tui.commands.options import (AddressOption, ExecutorOption, SetOption, WorkersOption, probe_overrides,
                                               probe_settings)


def probe_command(
    profile: Annotated[Optional[str], typer.Argument(help="Profile name or .toml path (not with --all).")] = None,
    overrides: SetOption = None,
    whole: Annotated[bool, typer.Option("--all", help="Every network of --space on --dataset (resumable).")] = False,
    space: Annotated[Optional[str], typer.Option("--space", help="With --all: tss, sss or a registered space.")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="With --all: the dataset (default cifar10).")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="With --all: probe batch (default 16).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="With --all: probe seed (default 0).")] = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = None,
    address: AddressOption = None,
    energy: Annotated[bool, typer.Option("--energy/--no-energy", help="Meter this machine's energy (codecarbon, NVML).")] = True,
) -> None:
    """Precompute the probe cache for a profile's networks, or a whole space (interrupt and rerun to resume)."""
    from greenmachine.evaluation.evaluate import probe_profile, probe_whole_space
    from greenmachine.evaluation.probe_cost import metered_probe
    from greenmachine.settings.profile import load_profile

    if whole and (profile is not None or overrides):
        fail("--all takes no PROFILE or --set: give --space, --dataset, --batch-size, --seed")
    if not whole and profile is None:
        fail("give a PROFILE, or --all with --space and --dataset")
    if not whole and any(value is not None for value in (space, dataset, batch_size, seed)):
        fail("--space, --dataset, --batch-size and --seed are for --all (use --set probe.batch_size=... with a profile)")

    def probe():
        if whole:
            settings = probe_settings(workers, executor, address, batch_size=16 if batch_size is None else batch_size,
                                      seed=0 if seed is None else seed)
            return probe_whole_space(space or "tss", dataset or "cifar10", settings, probe_sink())
        return probe_profile(load_profile(profile, probe_overrides(overrides, workers, executor, address)), probe_sink())

    cost = metered_probe(probe, energy)
    described = cost.phase.describe()
    typer.echo(f"probed {cost.networks} networks ({cost.cached} were cached) into {cost.phase.cache.root} "
               f"with {described['workers']} worker(s) on {described['machines']} machine(s)")
    line = f"time {cost.seconds:.1f} s"
    if cost.joules is not None:
        per_network = f", {cost.joules_per_network:.2f} J per probed network" if cost.joules_per_network is not None else ""
        line += (f", energy {cost.joules:.1f} J ({cost.watt_hours:.3f} Wh){per_network} on this machine "
                 f"({cost.describe_methods()})")
    typer.echo(line)


def _print_correlations(title: str, rows: dict, result: Optional[dict] = None) -> None:
    """A table of tau, rho and the top-of-ranking figures; ``result`` (its ``n`` and ``top_sizes``) adds their note."""
    from greenmachine.evaluation.evaluate import rank_rows
    from greenmachine.report.build import top_cells, top_note

    typer.echo(title)
    typer.echo(f"  {'proxy':24s} {'Kendall tau':>12s} {'Spearman rho':>13s} {'P@1%':>5s} {'P@5%':>5s} {'P@10%':>5s} "
               f"{'top-1 acc':>9s} {'rank':>6s} {'top-10<median':>13s}")
    for name, values in rank_rows(rows):
        top = top_cells(values)
        typer.echo(f"  {name:24s} {tau_text(values['kendall_tau']):>12s} {tau_text(values['spearman_rho']):>13s} "
                   f"{top[0]:>5s} {top[1]:>5s} {top[2]:>5s} {top[3]:>9s} {top[4]:>6s} {top[5]:>13s}")
    if result is not None:
        typer.echo(f"  {top_note(result)}")


def baselines_command(
    profile: Annotated[str, typer.Argument(help="Profile name or .toml path.")],
    overrides: SetOption = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the table as JSON.")] = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = None,
    address: AddressOption = None,
    reference: Annotated[bool, typer.Option(
        "--reference", help="Also the published proxies as their authors' code computes them "
                            "(rows '<name> (authors' code)'; slower: they run the networks again).")] = False,
    reference_names: Annotated[Optional[str], typer.Option(
        "--reference-only", help="With --reference: only these reference baselines (comma-separated).")] = None,
    reference_cache: Annotated[Optional[Path], typer.Option(
        "--reference-cache", help="Folder of the reference-baseline cache (default $GM_REFERENCE_CACHE_DIR "
                                  "or the per-user cache).")] = None,
) -> None:
    """Kendall tau and Spearman rho of every baseline proxy on the profile's test networks."""
    from greenmachine.evaluation.evaluate import profile_baselines
    from greenmachine.settings.profile import load_profile

    settings = load_profile(profile, probe_overrides(overrides, workers, executor, address))
    names = None
    if reference:
        from greenmachine.baselines.reference.compute import resolve_names

        names = resolve_names([n.strip() for n in (reference_names or "").split(",") if n.strip()] or None)
    elif reference_names:
        fail("--reference-only needs --reference")
    output = profile_baselines(settings, probe_sink(), names,
                               str(reference_cache) if reference_cache is not None else None)
    for data in output:
        for line in data.get("reference_failures", []):
            typer.echo(f"gm: warning: reference baseline failed on {line}", err=True)
        _print_correlations(
            f"{data['space']} {data['dataset']}: test sample n={data['n']}, {data.pop('sampling_description')}, "
            f"probe batch {settings.probe.batch_size} seed {settings.probe.seed}, ground truth {data['ground_truth']}",
            data["proxies"], data,
        )
    write_json(json_path, output[0] if len(output) == 1 else output)


def eval_command(
    proxy_json: Annotated[Path, typer.Argument(help="Shipped proxy name, best_proxy.json or a run directory.")],
    profile: Annotated[Optional[str], typer.Option(
        "--profile", help="Score on this profile's space (any: tss, sss, macro, nb101, custom CSV + builder), "
                          "its test sample (or --sample all) and probe settings.")] = None,
    overrides: SetOption = None,
    space: Annotated[Optional[str], typer.Option("--space", help="Without --profile: a registered space, e.g. tss, sss, macro, nb101 (default: the proxy's).")] = None,
    dataset: Annotated[Optional[str], typer.Option("--dataset", help="cifar10, cifar100 or ImageNet16-120 (default: the proxy's first; with --profile every dataset of the profile).")] = None,
    sample: Annotated[Optional[str], typer.Option("--sample", help="random, stratified or all (every network but the proxy's own search/validation networks); with --profile test (default) or all.")] = None,
    n: Annotated[Optional[int], typer.Option("--n", help="Number of networks (default 1000; not with --profile).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", help="Sampling seed (default 0; not with --profile).")] = None,
    stratification: Annotated[Optional[str], typer.Option("--stratification", help="equal_width (default) or quantile; not with --profile.")] = None,
    strata: Annotated[Optional[int], typer.Option("--strata", help="Default 10; not with --profile.")] = None,
    batch_size: Annotated[Optional[int], typer.Option("--batch-size", help="Probe batch (default: the profile's, else the proxy's).")] = None,
    probe_seed: Annotated[Optional[int], typer.Option("--probe-seed", help="Probe seed: minibatch and weights (default: the profile's, else the proxy's).")] = None,
    json_path: Annotated[Optional[Path], typer.Option("--json", help="Also write the result as JSON.")] = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = None,
    address: AddressOption = None,
) -> None:
    """Score a saved proxy on a new sample (any dataset or space: transfer), next to the baselines."""
    from greenmachine.evaluation.evaluate import evaluate_saved_proxy

    if profile is not None:
        _eval_on_profile(proxy_json, profile, overrides, space, dataset, sample, (n, seed, stratification, strata),
                         batch_size, probe_seed, json_path, workers, executor, address)
        return
    if overrides:
        fail("--set needs --profile")
    sample = sample or "random"
    n, seed = 1000 if n is None else n, 0 if seed is None else seed
    stratification, strata = stratification or "equal_width", 10 if strata is None else strata
    probe = probe_settings(workers, executor, address)
    from greenmachine.events import LogMessage

    reporter, held = probe_sink(), []

    def sink(event) -> None:  # warnings are held and printed once below, as gm: warning: lines
        if isinstance(event, LogMessage) and event.level == "warning":
            held.append(event.message)
        else:
            reporter(event)

    try:
        result = evaluate_saved_proxy(proxy_json, sink, space=space, dataset=dataset, sample=sample, n=n, seed=seed,
                                      stratification=stratification, strata=strata, batch_size=batch_size,
                                      probe_seed=probe_seed, workers=probe.workers, executor=probe.executor,
                                      address=probe.address)
    except BaseException:
        for line in held:
            typer.echo(f"gm: warning: {line}", err=True)
        raise
    proxy = result["proxy"]
    how = {"random": f"random, seed {seed}", "all": "the whole space"}.get(
        sample, f"stratified ({stratification}, {strata} strata), seed {seed}")
    excluded = result["sampling"].get("excluded") or 0
    if excluded:
        how += f" minus {excluded} search/validation networks of the proxy's run"
    _print_correlations(
        f"{result['space']} {result['dataset']}: n={result['n']}, {how}, probe batch {result['probe']['batch_size']} "
        f"seed {result['probe']['seed']}, ground truth {result['ground_truth']}",
        {"EVOLVED": proxy, **result["proxies"]}, result,
    )
    typer.echo(f"  EVOLVED = {proxy.pop('simplified') or proxy['formula']}")
    for line in [*result["warnings"], *(line for line in held if line not in result["warnings"])]:
        typer.echo(f"gm: warning: {line}", err=True)
    write_json(json_path, result)


def _eval_on_profile(proxy_json, profile, overrides, space, dataset, sample, sampling_options, batch_size, probe_seed,
                     json_path, workers, executor, address) -> None:
    """``gm eval PROXY --profile P``: the proxy and the baselines on the profile's networks."""
    from greenmachine.evaluation.transfer import evaluate_proxy_on_profile
    from greenmachine.settings.profile import load_profile

    if space is not None:
        fail("--space and --profile exclude each other: the profile names the space")
    if any(value is not None for value in sampling_options):
        fail("--n, --seed, --stratification and --strata are for sampling without --profile; with --profile "
             "the networks are the profile's test sample (change it with --set sampling.test=N ...) or --sample all")
    settings = load_profile(profile, probe_overrides(overrides, workers, executor, address))
    output = evaluate_proxy_on_profile(proxy_json, settings, probe_sink(), sample=sample or "test", dataset=dataset,
                                       batch_size=batch_size, probe_seed=probe_seed)
    for result in output:
        sampling = result["sampling"]
        how = sampling.get("description") or "every network of the space"
        if sampling["excluded"]:
            how += f" minus {sampling['excluded']} search/validation networks of the proxy's run"
        proxy = result["proxy"]
        _print_correlations(
            f"{result['space']} {result['dataset']}: n={result['n']}, {how} ({settings.name}), probe batch "
            f"{result['probe']['batch_size']} seed {result['probe']['seed']}, ground truth {result['ground_truth']}",
            {"EVOLVED": proxy, **result["proxies"]},
        )
        typer.echo(f"  EVOLVED = {proxy.pop('simplified') or proxy.get('formula') or ''}")
    write_json(json_path, output[0] if len(output) == 1 else output)
