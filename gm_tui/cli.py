"""The ``gm`` command line.

Thin typer commands over ``core``; heavy imports (torch, textual, sympy) happen inside the
command bodies so ``gm --help`` is instant. Every user error (``greenmachine.errors.GMError``) is
printed as one line on stderr with exit status 2, never a traceback; so is an ``OSError`` (a
read-only or full disk, a path that is not a folder), through ``greenmachine.errors.os_error_line``.
"""

from __future__ import annotations

import functools
import sys
from pathlib import Path
from typing import Annotated, Callable, Optional

import typer

app = typer.Typer(
    name="gm",
    help="GreenMachine: energy-aware automatic design of zero-cost NAS proxies.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Check or import the data files (benchmark tables, images).", no_args_is_help=True)
app.add_typer(data_app, name="data")


def _fail(message: str, code: int = 2) -> None:
    typer.echo(f"gm: error: {message}", err=True)
    raise typer.Exit(code)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a GreenMachine warning (``greenmachine.errors.GMWarning``) as one ``gm: warning:`` line."""
    typer.echo(f"gm: warning: {' '.join(str(message).split())}", err=True)


def user_errors(command: Callable) -> Callable:
    """Turn ``GMError``, a refused read or write (``OSError``: a read-only or full disk) and a
    ``sys.exit`` in user code into one line and exit 2 (Ctrl-C: 130).

    Warnings core issues for the user (``greenmachine.errors.GMWarning``: degenerate scores, an
    undefined statistic) are printed as one ``gm: warning: ...`` line each on stderr.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        import warnings

        from greenmachine.errors import GMError, GMWarning, os_error_line

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default", GMWarning)
                previous = warnings.showwarning

                def show(message, category, *rest, **named):
                    if issubclass(category, GMWarning):
                        _show_warning(message, category, *rest, **named)
                    else:
                        previous(message, category, *rest, **named)

                warnings.showwarning = show
                return command(*args, **kwargs)
        except GMError as error:
            _fail(str(error))
        except OSError as error:
            _fail(os_error_line(error))
        except KeyboardInterrupt:
            _fail("interrupted", 130)
        except SystemExit as error:
            # gm's own exits are typer.Exit; a SystemExit here comes from user code (a model file, a
            # builder), whose exit status must not pass for one of gm's (3: stopped, 130: interrupted)
            _fail(f"{_exit_origin(error)} called sys.exit({error.code!r}); a model file or builder must return "
                  "or raise, not end gm")

    return wrapper


def _exit_origin(error: BaseException) -> str:
    """``file:line`` of the innermost frame that raised ``error`` (``user code`` when unknown)."""
    trace = error.__traceback__
    if trace is None:
        return "user code"
    while trace.tb_next is not None:
        trace = trace.tb_next
    return f"{trace.tb_frame.f_code.co_filename}:{trace.tb_lineno}"


SetOption = Annotated[
    Optional[list[str]],
    typer.Option("--set", help="Override a profile value: section.key=value (repeatable)."),
]
from greenmachine.tui.probe_options import AddressOption, ExecutorOption, WorkersOption, probe_overrides as _probe_overrides  # noqa: E402
from greenmachine.tui.stop import install_stop_on_interrupt  # noqa: E402
from greenmachine.tui.probe_options import probe_settings as _probe_settings  # noqa: E402


@app.command("profiles")
@user_errors
def profiles_command() -> None:
    """List the shipped experiment profiles."""
    from greenmachine.settings.profile import available_profiles, load_profile

    for name, path in available_profiles().items():
        profile = load_profile(str(path))
        if profile.benchmark.tasks:
            typer.echo(f"{name:16s} {'tasks'} {','.join(profile.benchmark.tasks):24s} {profile.description}")
        else:
            typer.echo(f"{name:16s} {profile.benchmark.space} {','.join(profile.benchmark.datasets):24s} {profile.description}")


@app.command("export")
@user_errors
def export_command(
    source: Annotated[Path, typer.Argument(help="A run directory, or a best_proxy.json file.")],
    fmt: Annotated[str, typer.Option("--format", "-f", help="text, latex, python or json.")] = "text",
    out: Annotated[Optional[Path], typer.Option("--out", help="Write to this file instead of stdout.")] = None,
    top: Annotated[Optional[int], typer.Option("--top", help="Export the top K of the hall of fame (by validation tau).")] = None,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Seconds for sympy simplification (default: the run's export.simplify_timeout, else 5).")] = None,
) -> None:
    """Export the best proxy (or the top K) simplified, as text, LaTeX, a Python module or JSON."""
    from greenmachine.export import export_run
    from greenmachine.rundir.directory import atomic_write_text

    from greenmachine.export.source import MAX_TIMEOUT

    if timeout is not None and not (timeout >= 0 and timeout <= MAX_TIMEOUT):  # also refuses nan
        _fail(f"--timeout must be from 0 to {MAX_TIMEOUT:g} seconds (as export.simplify_timeout), got {timeout}")
    text = export_run(source, fmt, top=top, timeout=timeout)
    if out is None:
        typer.echo(text.rstrip("\n"))
        return
    try:
        atomic_write_text(out, text if text.endswith("\n") else text + "\n")
    except OSError as error:
        _fail(f"cannot write {out}: {error.strerror or error}")
    typer.echo(f"wrote {out}", err=True)


@app.command("tui")
@user_errors
def tui_command(
    profile: Annotated[Optional[str], typer.Argument(help="Profile to run at once (omit for the picker).")] = None,
    overrides: SetOption = None,
    open_run: Annotated[Optional[Path], typer.Option("--open", help="Replay a run directory of gm run or gm search (one still being written is watched).")] = None,
) -> None:
    """Open the Textual app: live tau per generation, energy, the best proxy tree, hall of fame (or a search's scores)."""
    from greenmachine.rundir.directory import EVENTS_FILE
    from greenmachine.settings.profile import load_profile
    from greenmachine.tui.app import create_app

    if profile is not None:
        load_profile(profile, overrides or [])  # bad profile or override: one line, before the screen opens
    if open_run is not None and not (open_run / EVENTS_FILE).is_file():
        _fail(f"{open_run} is not a GreenMachine run directory (no {EVENTS_FILE})")
    create_app(profile, overrides or [], open_run).run()


def _top_summary(row: dict) -> str:
    """``, P@10% 0.40, top-1 acc 93.1 (rank 12)`` for a row with top-of-ranking figures (else empty)."""
    from greenmachine.report.build import top_cells

    if row.get("precision_at_10pct") is None:
        return ""
    cells = top_cells(row)
    return f", P@10% {cells[2]}, top-1 acc {cells[3]} (rank {cells[4]})"


def _print_run_summary(run_dir: Path) -> None:
    from greenmachine.evaluation.evaluate import rank_rows
    from greenmachine.report.build import render_energy
    from greenmachine.rundir.directory import RunDirectory

    data = RunDirectory(run_dir).read_report()
    typer.echo("\n".join(render_energy(data["energy"])), err=True)
    for dataset, result in data["test"].items():
        name, best = rank_rows(result["baselines"])[0]
        how = data["sampling"].get("test_sampling") or data["sampling"]["mode"]
        typer.echo(f"test {dataset} (n={result['n']}, {how}): evolved tau "
                   f"{result['evolved']['kendall_tau']:.4f}{_top_summary(result['evolved'])}; "
                   f"best baseline {name} {_tau(best['kendall_tau'])}{_top_summary(best)}", err=True)
    from greenmachine.report.cost_front import summary_lines

    for line in summary_lines(data):  # the hall of fame's probe costs (none without a cost table)
        typer.echo(line, err=True)


@app.command("run")
@user_errors
def run_command(
    profile: Annotated[Optional[str], typer.Argument(help="Profile name (see `gm profiles`) or a .toml path.")] = None,
    overrides: SetOption = None,
    out: Annotated[Optional[Path], typer.Option("--out", help="Run directory to write (default runs/<time>-<profile>).")] = None,
    resume: Annotated[Optional[Path], typer.Option("--resume", help="Continue a stopped or interrupted run directory.")] = None,
    workers: WorkersOption = None,
    executor: ExecutorOption = None,
    address: AddressOption = None,
    seeds: Annotated[Optional[str], typer.Option("--seeds", help="Evolution seeds, e.g. 0,1,2: one run each, then one summary (needs a PROFILE).")] = None,
    repeat: Annotated[Optional[str], typer.Option("--repeat", help="K: evolution seeds 0..K-1 (instead of --seeds).")] = None,
    probe_seeds: Annotated[Optional[str], typer.Option("--probe-seeds", help="Probe seeds (minibatch and weights), e.g. 0,1 (default: the profile's).")] = None,
    labels: Annotated[Optional[int], typer.Option("--labels", help="Design from N labelled networks (sampling.labels = N): two thirds search, a third validation; the test is the rest of the space or a random sampling.test of it.")] = None,
) -> None:
    """Probe, evolve and report headlessly: progress on stderr, energy report at the end."""
    import numpy  # noqa: F401 - imported here, before the meter's start-up thread imports it too

    from greenmachine.energy import MeterStartup
    from greenmachine.settings.profile import load_profile

    if labels is not None:
        if resume is not None:
            _fail("--resume takes no --labels: the run directory's profile.toml is used")
        overrides = [*(overrides or []), f"sampling.labels={labels}"]
    if seeds is not None or repeat is not None or probe_seeds is not None:
        if resume is not None:
            _fail("--resume is for one run; rerun the same --seeds/--repeat command to resume a folder of seed runs")
        from greenmachine.tui.commands.repeat import run_repeats

        return run_repeats(profile, overrides or [], out, seeds, repeat, probe_seeds, workers, executor, address)
    if resume is None and profile is None:
        _fail("give a PROFILE, or --resume RUN_DIR")
    if resume is not None and (profile is not None or overrides or workers is not None or executor or address):
        _fail("--resume takes no PROFILE, --set or probe options: the run directory's profile.toml is used")
    settings = None
    if resume is None:
        settings = load_profile(profile, _probe_overrides(overrides, workers, executor, address))
        if out is not None and out.exists() and any(out.iterdir()):
            _fail(f"--out {out} exists and is not empty (use --resume to continue a run)")
    # Start codecarbon's hardware detection now, so it overlaps importing torch and the engine.
    startup = MeterStartup(settings.energy.enabled, settings.energy.country) if settings is not None else None

    from greenmachine.run.factory import make_controller, resume_controller
    from greenmachine.rundir.directory import REPORT_JSON_FILE
    from greenmachine.tui.headless import HeadlessReporter

    if resume is not None:
        controller = resume_controller(resume, HeadlessReporter())
    else:
        controller = make_controller(settings, HeadlessReporter(), run_dir=out, meter=startup)
    import signal

    previous = install_stop_on_interrupt(controller)
    try:
        run_dir = controller.run()
    finally:
        signal.signal(signal.SIGINT, previous)
    if not (run_dir / REPORT_JSON_FILE).exists():
        raise typer.Exit(3)
    _print_run_summary(run_dir)
    typer.echo(str(run_dir))


@app.command("report")
@user_errors
def report_command(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    write: Annotated[bool, typer.Option("--write/--no-write", help="Rewrite report.md/report.json.")] = True,
) -> None:
    """Rebuild a run's report (including the energy report) from its run directory."""
    from greenmachine.report.build import rebuild_report
    from greenmachine.rundir.directory import RunDirectory

    report, markdown = rebuild_report(run_dir)
    if write:
        RunDirectory(run_dir).write_report(report, markdown)
    typer.echo(markdown)


@app.command("plot")
@user_errors
def plot_command(run_dir: Annotated[Path, typer.Argument(help="A run directory.")]) -> None:
    """Redraw a run's figures (PNG and SVG in RUN_DIR/figures) and embed them in report.md."""
    from greenmachine.errors import GMError
    from greenmachine.report.build import draw_and_embed

    if not run_dir.is_dir():
        raise GMError(f"{run_dir} is not a directory")
    skipped: list[str] = []
    files = draw_and_embed(run_dir, skipped)
    for path in files:
        typer.echo(str(path))
    for line in skipped:
        typer.echo(f"not drawn: {line}")


def _probe_sink():
    from greenmachine.tui.headless import HeadlessReporter

    return HeadlessReporter()


@app.command("probe")
@user_errors
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
    from greenmachine.energy import make_meter

    if whole and (profile is not None or overrides):
        _fail("--all takes no PROFILE or --set: give --space, --dataset, --batch-size, --seed")
    if not whole and profile is None:
        _fail("give a PROFILE, or --all with --space and --dataset")
    if not whole and any(value is not None for value in (space, dataset, batch_size, seed)):
        _fail("--space, --dataset, --batch-size and --seed are for --all (use --set probe.batch_size=... with a profile)")
    meter = make_meter(energy)
    span = meter.start("probe")
    try:
        phase = _probe(profile, overrides, whole, space, dataset, batch_size, seed, workers, executor, address)
    finally:
        reading = meter.stop(span)
        methods = meter.describe().get("methods", {})
        meter.close()
    described = phase.describe()
    typer.echo(f"probed {phase.counts['done']} networks ({phase.counts['hits']} were cached) into {phase.cache.root} "
               f"with {described['workers']} worker(s) on {described['machines']} machine(s)")
    computed = phase.counts["done"] - phase.counts["hits"]
    line = f"time {reading.duration_s:.1f} s"
    if reading.energy_joules is not None:
        per_network = f", {reading.energy_joules / computed:.2f} J per probed network" if computed else ""
        how = "; ".join(f"{part}: {way}" for part, way in methods.items())
        line += f", energy {reading.energy_joules:.1f} J ({reading.energy_joules / 3600:.3f} Wh){per_network} on this machine ({how})"
    typer.echo(line)


def _probe(profile, overrides, whole, space, dataset, batch_size, seed, workers, executor, address):
    """The probe work of ``gm probe`` (its arguments as given); returns the ProbePhase."""
    from greenmachine.evaluation.evaluate import probe_profile, probe_whole_space
    from greenmachine.settings.profile import load_profile

    if whole:
        probe = _probe_settings(workers, executor, address, batch_size=16 if batch_size is None else batch_size,
                                seed=0 if seed is None else seed)
        phase = probe_whole_space(space or "tss", dataset or "cifar10", probe, _probe_sink())
    else:
        phase = probe_profile(load_profile(profile, _probe_overrides(overrides, workers, executor, address)), _probe_sink())
    return phase


def _tau(value) -> str:
    return "nan" if value is None else f"{value:.4f}"


def _print_correlations(title: str, rows: dict, result: Optional[dict] = None) -> None:
    """A table of tau, rho and the top-of-ranking figures; ``result`` (its ``n`` and ``top_sizes``) adds their note."""
    from greenmachine.evaluation.evaluate import rank_rows
    from greenmachine.report.build import top_cells, top_note

    typer.echo(title)
    typer.echo(f"  {'proxy':24s} {'Kendall tau':>12s} {'Spearman rho':>13s} {'P@1%':>5s} {'P@5%':>5s} {'P@10%':>5s} "
               f"{'top-1 acc':>9s} {'rank':>6s}")
    for name, values in rank_rows(rows):
        top = top_cells(values)
        typer.echo(f"  {name:24s} {_tau(values['kendall_tau']):>12s} {_tau(values['spearman_rho']):>13s} "
                   f"{top[0]:>5s} {top[1]:>5s} {top[2]:>5s} {top[3]:>9s} {top[4]:>6s}")
    if result is not None:
        typer.echo(f"  {top_note(result)}")


def _write_json(path: Optional[Path], data) -> None:
    if path is not None:
        from greenmachine.rundir.directory import atomic_write_json

        try:
            atomic_write_json(path, data)
        except OSError as error:
            _fail(f"cannot write {path}: {error.strerror or error}")


@app.command("baselines")
@user_errors
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

    settings = load_profile(profile, _probe_overrides(overrides, workers, executor, address))
    names = None
    if reference:
        from greenmachine.baselines.reference.compute import resolve_names

        names = resolve_names([n.strip() for n in (reference_names or "").split(",") if n.strip()] or None)
    elif reference_names:
        _fail("--reference-only needs --reference")
    output = profile_baselines(settings, _probe_sink(), names,
                               str(reference_cache) if reference_cache is not None else None)
    for data in output:
        for line in data.get("reference_failures", []):
            typer.echo(f"gm: warning: reference baseline failed on {line}", err=True)
        _print_correlations(
            f"{data['space']} {data['dataset']}: test sample n={data['n']}, {data.pop('sampling_description')}, "
            f"probe batch {settings.probe.batch_size} seed {settings.probe.seed}, ground truth {data['ground_truth']}",
            data["proxies"], data,
        )
    _write_json(json_path, output[0] if len(output) == 1 else output)


@app.command("eval")
@user_errors
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
        _fail("--set needs --profile")
    sample = sample or "random"
    n, seed = 1000 if n is None else n, 0 if seed is None else seed
    stratification, strata = stratification or "equal_width", 10 if strata is None else strata
    probe = _probe_settings(workers, executor, address)
    result = evaluate_saved_proxy(proxy_json, _probe_sink(), space=space, dataset=dataset, sample=sample, n=n, seed=seed,
                                  stratification=stratification, strata=strata, batch_size=batch_size,
                                  probe_seed=probe_seed, workers=probe.workers, executor=probe.executor, address=probe.address)
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
    for line in result["warnings"]:
        typer.echo(f"gm: warning: {line}", err=True)
    _write_json(json_path, result)


def _eval_on_profile(proxy_json, profile, overrides, space, dataset, sample, sampling_options, batch_size, probe_seed,
                     json_path, workers, executor, address) -> None:
    """``gm eval PROXY --profile P``: the proxy and the baselines on the profile's networks."""
    from greenmachine.settings.profile import load_profile
    from greenmachine.evaluation.transfer import evaluate_proxy_on_profile

    if space is not None:
        _fail("--space and --profile exclude each other: the profile names the space")
    if any(value is not None for value in sampling_options):
        _fail("--n, --seed, --stratification and --strata are for sampling without --profile; with --profile "
              "the networks are the profile's test sample (change it with --set sampling.test=N ...) or --sample all")
    settings = load_profile(profile, _probe_overrides(overrides, workers, executor, address))
    output = evaluate_proxy_on_profile(proxy_json, settings, _probe_sink(), sample=sample or "test", dataset=dataset,
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
    _write_json(json_path, output[0] if len(output) == 1 else output)


def _register_data_commands() -> None:
    from greenmachine.tui.commands.data import (data_check_command, data_import_benchmark_command, data_import_cifar_command,
                                      data_import_nats_command)

    data_app.command("check")(user_errors(data_check_command))
    data_app.command("import-nats")(user_errors(data_import_nats_command))
    data_app.command("import-benchmark")(user_errors(data_import_benchmark_command))
    data_app.command("import-cifar")(user_errors(data_import_cifar_command))


_register_data_commands()


def _register_proxy_commands() -> None:
    from greenmachine.tui.commands.proxy import proxies_command, score_command

    app.command("proxies")(user_errors(proxies_command))
    app.command("score")(user_errors(score_command))


_register_proxy_commands()


def _register_search_command() -> None:
    from greenmachine.tui.commands.search import search_command

    app.command("search")(user_errors(search_command))


_register_search_command()


def _register_summary_command() -> None:
    from greenmachine.tui.commands.repeat import summary_command

    app.command("summary")(user_errors(summary_command))


_register_summary_command()


def main() -> None:  # pragma: no cover - console entry point helper
    """Entry point for ``python -m greenmachine.tui.cli``."""
    app()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
