"""``gm proxies`` and ``gm score``: the shipped proxies, and scoring your own models.

Thin commands registered on the ``gm`` app by :mod:`greenmachine.tui.cli`: parse, call
:mod:`greenmachine.proxies`, print. Heavy imports happen inside the bodies.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


def _tau(value) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "–"


def _number(value, digits: int) -> str:
    return f"{value:.{digits}f}" if isinstance(value, (int, float)) else "–"


def proxies_command(
    plot: Annotated[Optional[Path], typer.Option(
        "--plot", help="Draw the energy-quality front (tau against probe J per network) to this .png or .svg "
                       "from the --evaluation files, and print its tables.")] = None,
    evaluation: Annotated[Optional[list[Path]], typer.Option(
        "--evaluation", help="With --plot: a gm eval --json result (repeatable); files of one space and "
                             "dataset make one panel.")] = None,
) -> None:
    """List the shipped proxies: where they come from, their measured tau, what they cost."""
    if plot is not None or evaluation:
        _plot_front(plot, evaluation or [])
        return
    from greenmachine.proxies import shipped_proxies

    proxies = shipped_proxies()
    if not proxies:
        typer.echo("no shipped proxies")
        return
    width = max(14, *(len(proxy.name) for proxy in proxies))
    typer.echo(f"{'name':{width}s} {'space':6s} {'dataset':9s} {'val τ':>6s} {'test τ':>6s} {'best baseline':>20s} "
               f"{'passes':18s} {'s/net':>6s} {'J/net':>6s}  formula")
    for proxy in proxies:
        facts = proxy.provenance
        baseline = facts.get("best_baseline") or {}
        cost = facts.get("probe_cost") or {}
        seconds = cost.get("seconds_per_network", cost.get("whole_bank_seconds_per_network"))
        joules = cost.get("joules_per_network", cost.get("whole_bank_joules_per_network"))
        passes = ",".join(sorted(proxy.passes - {"structure"})) or "structure"
        space, datasets = (("multi", f"{len(proxy.tasks)} tasks") if proxy.tasks
                           else (str(proxy.space), ",".join(proxy.datasets)))
        typer.echo(
            f"{proxy.name:{width}s} {space:6s} {datasets:9s} "
            f"{_tau(facts.get('validation_tau')):>6s} {_tau(facts.get('test_tau')):>6s} "
            f"{(str(baseline.get('name', '–')) + ' ' + _tau(baseline.get('test_tau'))):>20s} "
            f"{passes:18s} {_number(seconds, 2):>6s} {_number(joules, 1):>6s}  {proxy.formula}")
    typer.echo("τ: Kendall tau-b on the profile's samples (each proxy's provenance has the sampling, n, "
               "seeds and bank); s/net, J/net: probe cost per network as measured (energy estimated "
               "without RAPL; the provenance says how).")
    _print_pass_costs(proxies)


def _plot_front(plot: Optional[Path], files: list[Path]) -> None:
    """``gm proxies --plot``: the energy-quality front of gm eval results, as tables and a figure."""
    from greenmachine.errors import GMError
    from greenmachine.report.energy_front import draw_energy_front, energy_front_panels, panel_lines

    if plot is None:
        raise GMError("--evaluation needs --plot FILE.png (the figure to draw)")
    if not files:
        raise GMError("--plot needs one or more --evaluation files (gm eval PROXY --json FILE)")
    evaluations = []
    for path in files:
        try:
            evaluations.append(json.loads(path.read_text()))
        except FileNotFoundError:
            raise GMError(f"--evaluation {path}: no such file") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise GMError(f"--evaluation {path}: not a gm eval --json file ({error})") from None
        if not isinstance(evaluations[-1], dict):
            raise GMError(f"--evaluation {path}: not a gm eval --json file (not a JSON object)")
    panels = energy_front_panels(evaluations)
    for line in panel_lines(panels):
        typer.echo(line)
    typer.echo("* on the front: no cheaper-or-equal scorer has a higher τ. Costs per network from the measured "
               "pass costs (one thread; J estimated where the cost table says so).")
    typer.echo(f"figure: {draw_energy_front(panels, plot)}")


def _print_pass_costs(proxies) -> None:
    """Each proxy's probe cost from the measured pass-cost table, against the whole bank."""
    from greenmachine.probe.costs import COSTS_FILE, cost_tables, proxy_cost_rows

    rows = proxy_cost_rows(proxies)
    if not rows:
        return
    typer.echo("")
    width = max(14, *(len(row["name"]) for row in rows))
    typer.echo(f"{'name':{width}s} {'passes':29s} {'s/net':>6s} {'J/net':>6s} {'bank s':>6s} {'bank J':>6s} "
               f"{'s ratio':>7s} {'J ratio':>7s}")
    for row in rows:
        typer.echo(f"{row['name']:{width}s} {','.join(row['passes']):29s} {_number(row['seconds'], 3):>6s} "
                   f"{_number(row['joules'], 2):>6s} {_number(row['bank_seconds'], 3):>6s} "
                   f"{_number(row['bank_joules'], 2):>6s} {_number(row['seconds_ratio'], 2):>7s} "
                   f"{_number(row['joules_ratio'], 2):>7s}")
    tables = cost_tables()
    typer.echo(f"Probe cost per network from {COSTS_FILE.name} (the passes each formula needs against the whole "
               f"default bank):")
    for space in sorted({row["space"] for row in rows}):
        typer.echo(f"  {tables[space].describe()}; {tables[space].context.get('command')}")


def score_command(
    proxy: Annotated[str, typer.Option("--proxy", help="Shipped proxy name, best_proxy.json or run directory.")],
    model: Annotated[str, typer.Option("--model", help="FILE.py:FACTORY; FACTORY() returns an nn.Module or a list.")],
    dataset: Annotated[str, typer.Option("--dataset", help="Images come from this dataset.")] = "cifar10",
    batch: Annotated[Optional[int], typer.Option("--batch", min=1, help="Minibatch size (default: the proxy's).")] = None,
    seed: Annotated[Optional[int], typer.Option("--seed", min=0, help="Minibatch/initialisation seed (default: the proxy's).")] = None,
    device: Annotated[str, typer.Option("--device", help="auto, cpu or cuda[:N].")] = "auto",
    energy: Annotated[bool, typer.Option("--energy/--no-energy", help="Meter energy with codecarbon.")] = True,
    json_out: Annotated[Optional[Path], typer.Option("--json", help="Write the scores and cost as JSON.")] = None,
) -> None:
    """Score your own model(s) with a designed proxy, and say what it cost."""
    from greenmachine.energy import make_meter
    from greenmachine.errors import GMError
    from greenmachine.proxies import load_proxy
    from greenmachine.proxies.scoring import score_models
    from greenmachine.spaces.custom import load_function

    chosen = load_proxy(proxy)
    factory = load_function(model, "model factory")
    try:
        built = factory()
    except Exception as exc:  # the user's code: one line
        raise GMError(f"model factory {model} failed: {type(exc).__name__}: {exc}") from None
    models = list(built) if isinstance(built, (list, tuple)) else [built]
    meter = make_meter(energy)
    try:
        result = score_models(chosen, models, dataset, batch, seed, device, meter)
    finally:
        meter.close()
    for position, value in enumerate(result.scores):
        name = type(models[position]).__name__
        typer.echo(f"{position:3d} {name:24s} {value: .6g}")
    joules = "not metered" if result.joules is None else f"{result.joules:.2f} J"
    method = "; ".join(f"{part} {how}" for part, how in result.energy_methods.items()) or "durations only"
    typer.echo(f"proxy {result.proxy}: {len(models)} model(s), {result.dataset} batch {result.batch_size} "
               f"seed {result.seed}, passes {','.join(result.passes)}; {result.seconds:.2f} s, {joules} ({method})")
    if json_out is not None:
        json_out.write_text(json.dumps(result.to_dict(), indent=2) + "\n")
