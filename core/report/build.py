"""Run reports: ``report.json`` (data) and ``report.md`` (the same, for people).

Called by the engine at the end of a run (:func:`build_report` takes every input
explicitly) and by ``gm report RUN_DIR``, which rebuilds both from the run directory alone
(``report.json``'s data part and ``energy.csv``, read through ``greenmachine.rundir.directory.RunDirectory``). Every figure carries its context: sample sizes, sampling mode, seeds,
ground-truth columns and how energy was obtained (measured or estimated).
"""

from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any, Mapping, Sequence

from greenmachine.rundir import directory as rundir
from greenmachine.spaces import get_space
from greenmachine.errors import GMError
from greenmachine.report.figures import draw_run_figures, figure_links
from greenmachine.rundir.directory import RunDirectory



def run_parts(rows: Sequence[Any]) -> list[list[Any]]:
    """Split a run's energy rows into its parts (the start, then each resume), in order.

    A part's rows are written as its spans end: its ``probe`` span first (every part probes
    first), its ``run`` span last. A part killed before its end (SIGKILL, a power cut) has
    no ``run`` row, so a part begins at each ``probe`` row and ends after each ``run`` row.
    """
    parts: list[list[Any]] = []
    current: list[Any] = []
    for row in rows:
        if row.phase == "probe" and current:
            parts.append(current)
            current = []
        current.append(row)
        if row.phase == "run":
            parts.append(current)
            current = []
    if current:
        parts.append(current)
    return parts


def _sum(rows: Sequence[Any], key: str) -> float | None:
    values = [getattr(row, key) for row in rows]
    return None if any(value is None for value in values) else float(sum(values))


def energy_summary(rows: Sequence[Any], probe_counts: Mapping[str, Any], meter_info: Mapping[str, Any]) -> dict:
    """Summarise energy spans per phase.

    Parameters
    ----------
    rows : sequence of EnergyRow
        Every finished span (:meth:`greenmachine.rundir.directory.RunDirectory.read_energy`), each with its
        ``phase`` (``probe``, ``generation``, ``evaluation``, ``run``). A resumed run has
        one part per start (:func:`run_parts`): the total adds each part's ``run`` span, and
        for a part killed before its end (no ``run`` row) the phase rows it wrote.
    probe_counts : mapping
        ``done`` (networks handled) and ``hits`` (cache hits) of the probe phase, and the
        ``workers`` / ``machines`` that probed (default 1 / 1); optionally ``networks``,
        ``computed`` and ``unmetered`` (:meth:`greenmachine.rundir.directory.RunDirectory.probe_counts`), so
        that networks one part of the run probed are not counted as cache hits of another.
    meter_info : mapping
        The meter's ``describe()`` (methods, machine, country).
    """
    inner_phases = ("probe", "generation", "evaluation")
    phases = {}
    for phase in (*inner_phases, "run"):
        spans = [row for row in rows if row.phase == phase]
        if not spans:
            continue
        phases[phase] = {
            "spans": len(spans),
            "duration_s": float(sum(row.duration_s for row in spans)),
            "energy_joules": _sum(spans, "energy_joules"),
            "co2_grams": _sum(spans, "co2_grams"),
        }
    # The whole run: each part's run span; a part killed before its end has none, and counts
    # with the phase rows it wrote (its time outside them is not metered).
    covered, killed = [], []
    for part in run_parts(rows):
        run_rows = [row for row in part if row.phase == "run"]
        inner = [row for row in part if row.phase in inner_phases]
        if run_rows:
            covered.append((run_rows, inner))
        elif inner:
            killed.append(inner)
    unfinished = [row for part in killed for row in part]
    whole = [row for run_rows, _ in covered for row in run_rows] + unfinished
    if "run" in phases or unfinished:
        phases.pop("run", None)
        inside = [row for _, inner in covered for row in inner]
        if covered and inside:
            # What the finished parts spent outside their phases: loading data, sampling, writing events.
            outside = {"spans": 0, "duration_s": 0.0, "energy_joules": 0.0, "co2_grams": 0.0}
            for run_rows, inner in covered:
                outside["duration_s"] += max(0.0, sum(r.duration_s for r in run_rows) - sum(r.duration_s for r in inner))
                for key in ("energy_joules", "co2_grams"):
                    run_value, inner_value = _sum(run_rows, key), _sum(inner, key)
                    outside[key] = (None if outside[key] is None or run_value is None or inner_value is None
                                    else outside[key] + max(0.0, run_value - inner_value))
            phases["outside phases"] = outside
        phases["run"] = {  # the whole run last
            "spans": sum(len(run_rows) for run_rows, _ in covered),
            "duration_s": float(sum(row.duration_s for row in whole)),
            "energy_joules": _sum(whole, "energy_joules"),
            "co2_grams": _sum(whole, "co2_grams"),
        }
    generation_rows = [row for row in rows if row.phase == "generation"]
    generations = [row.energy_joules for row in generation_rows if row.energy_joules is not None]
    done = int(probe_counts.get("done", 0))
    hits = int(probe_counts.get("hits", 0))
    # networks the run probed itself (in any part), and the ones a cache it did not fill served
    computed = int(probe_counts.get("computed", done - hits))
    hits = max(0, int(probe_counts.get("networks", done)) - computed)
    unmetered = min(computed, int(probe_counts.get("unmetered", 0)))
    metered = computed - unmetered
    probe_energy = phases.get("probe", {}).get("energy_joules")
    per_network = probe_energy / metered if probe_energy is not None and metered > 0 else None
    if per_network is not None:
        avoided_note = "cache hits x mean measured probe energy per computed network"
    elif computed:
        avoided_note = "no probe energy measured for the networks computed: per-network energy unknown"
    else:
        avoided_note = "no network computed in this run: per-network energy unknown"
    run = phases.get("run", {})
    return {
        "phases": phases,
        "total_joules": run.get("energy_joules"),
        "total_wh": None if run.get("energy_joules") is None else run["energy_joules"] / 3600.0,
        "co2_grams": run.get("co2_grams"),
        "per_generation_joules": {
            "mean": sum(generations) / len(generations) if generations else None,
            "max": max(generations) if generations else None,
            "count": len(generations),
            "spans": len(generation_rows),
        },
        "networks_probed": computed,
        "cache_hits": hits,
        "unmetered_networks": unmetered,
        "unfinished_parts": len(killed),
        "per_network_probe_joules": per_network,
        "avoided_by_cache_joules": per_network * hits if per_network is not None else None,
        "avoided_note": avoided_note,
        "contributors": contributors(probe_counts),
        "methods": dict(meter_info.get("methods", {})),
        "country": meter_info.get("country"),
        "machine": {
            "cpu_model": meter_info.get("cpu_model") or platform.processor(),
            "cpu_count": meter_info.get("cpu_count"),
            "gpu_models": list(meter_info.get("gpu_models", [])),
            "gpu_status": meter_info.get("gpu_status"),
        },
    }


def contributors(probe_counts: Mapping[str, Any]) -> dict[str, Any]:
    """How many machines and probe workers contributed, and what the energy figures cover.

    One meter runs per machine: the driver's meter is machine-wide (codecarbon's CPU and RAM
    estimates and RAPL cover every process of the machine; NVML the GPUs the process sees),
    so the workers of a local pool are inside it and are not counted again. Probe workers on
    other machines (Ray) are outside it.
    """
    workers = int(probe_counts.get("workers", 1) or 1)
    machines = int(probe_counts.get("machines", 1) or 1)
    if machines <= 1:
        note = (f"one machine: its meter covers all {workers} probe worker(s) (machine-wide figures, "
                "no per-worker meters, so nothing is counted twice)")
    else:
        note = (f"{machines} machines: the figures cover the machine that ran the run only; the probe "
                f"work of the other {machines - 1} machine(s) is not in these totals")
    return {"machines": machines, "workers": workers, "note": note}


def build_report(
    *,
    run_dir: Path,
    profile: Any,
    samples: Any,
    device: str,
    probe_counts: Mapping[str, int],
    generations: int,
    best: Any,
    test_results: Mapping[str, Any],
    energy: Mapping[str, Any],
    validation_results: Mapping[str, Any] | None = None,
) -> dict:
    """Collect the data part of ``report.json``.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    profile : Profile
        The run's profile.
    samples : Samples
        The search / validation / test samples.
    device : str
        The torch device the run probed on.
    probe_counts : mapping
        ``done`` and ``hits`` of the probe phase, over every part of the run.
    generations : int
        Generations evaluated.
    best : HallOfFameRow
        The final proxy (its ``simplified`` text, when set, goes into the report).
    test_results : mapping
        Per dataset, :func:`greenmachine.evaluation.evaluate.evaluate_sample` on the test sample.
    energy : mapping
        :func:`energy_summary` of every energy span of the run.
    validation_results : mapping, optional
        Per dataset, :func:`greenmachine.evaluation.evaluate.evaluate_sample` on the validation sample (the
        report's ``validation`` part; runs made before it was added have none).
    """
    space = profile.space_name
    stratified = samples.mode == "stratified"
    best_proxy = {
        "formula": best.formula,
        "size": int(best.size),
        "search_tau": float(best.search_tau),
        "validation_tau": float(best.validation_tau),
        "tree": dict(best.tree),
        # what search_tau / validation_tau are: Kendall tau-b, or the top-weighted tau
        "fitness_metric": str(getattr(getattr(profile, "fitness", None), "metric", "kendall")),
    }
    if best.simplified:
        best_proxy["simplified"] = best.simplified
    return {
        "run_dir": str(run_dir),
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "profile": profile.to_dict(),
        "space": space,
        "datasets": list(profile.benchmark.datasets),
        "ground_truth_columns": {d: get_space(space).metric_columns[d] for d in profile.benchmark.datasets},
        "ground_truth_note": get_space(space).ground_truth_note,
        "sampling": {
            "mode": samples.mode,
            "stratification": samples.stratification if stratified else None,
            "strata": samples.strata if stratified else None,
            "seed": samples.seed,
            "stratified_on": profile.benchmark.datasets[0],
            "sizes": {"search": len(samples.search), "validation": len(samples.validation), "test": len(samples.test)},
            "description": samples.describe(),
            **(samples.sampling_record() if hasattr(samples, "sampling_record") else {}),
        },
        "probe": {
            "batch_size": profile.probe.batch_size,
            "seed": profile.probe.seed,
            "device": device,
            "bank_version": _bank_version(),
            "networks": int(probe_counts.get("done", 0)),
            "cache_hits": int(probe_counts.get("hits", 0)),
        },
        "evolution": {"population": profile.evolution.population, "generations": int(generations),
                      "seed": profile.evolution.seed},
        "best_proxy": best_proxy,
        "test": dict(test_results),
        **({} if validation_results is None else {"validation": dict(validation_results)}),
        "energy": dict(energy),
    }


METRIC_LABELS = {"kendall": "Kendall τ", "weighted_kendall": "weighted Kendall τ (top-weighted fitness)",
                 "kendall_top": "Kendall τ pulled towards −1 by the best-scored tenth's share below the median (top-guarded fitness)"}
"""How report.md names each ``fitness.metric`` (what the best proxy's search / validation figures are)."""


def _bank_version() -> str:
    try:
        from greenmachine.probe import BANK_VERSION

        return str(BANK_VERSION)
    except ImportError:  # pragma: no cover - probe always present in practice
        return "unknown"


def _test_sampling(sampling: Mapping[str, Any]) -> str:
    """How the test sample was drawn: the labelled draw's test, else the samples' mode and seed."""
    if sampling.get("labels"):
        return f"{sampling['test_sampling']}; designed from {sampling['labels']} labelled networks"
    return (sampling["mode"] + (f", {sampling['stratification']} strata" if sampling["mode"] == "stratified" else "")
            + f", seed {sampling['seed']}")


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def top_cells(row: Mapping[str, Any]) -> list[str]:
    """The top-of-ranking cells of one proxy row: P@1%, P@5%, P@10%, top-1 accuracy, top-1 rank, top-10 < median.

    A row written before these figures existed (an old report) shows dashes.
    """
    from greenmachine.stats.top_metrics import PRECISION_KEYS

    cells = [_fmt(row.get(key), 2) for key in PRECISION_KEYS.values()]
    cells.append(_fmt(row.get("top1_accuracy"), 2))
    cells.append(_count(row.get("top1_rank")))
    cells.append(_count(row.get("top10_below_median")))
    return cells


def _count(value: Any) -> str:
    """A rank or count that may be an expected value over ties: ``12``, ``9.5`` or a dash."""
    if value is None:
        return "–"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"


def top_note(result: Mapping[str, Any]) -> str:
    """One line saying what the top-of-ranking columns of a sample's table mean (and their sizes)."""
    sizes = result.get("top_sizes")
    size_text = f" ({' / '.join(str(v) for v in sizes.values())} of the {result.get('n')} networks)" if sizes else ""
    return (f"P@k%: share of the k % best-scored networks{size_text} that are among the k % most accurate; "
            "top-1: true accuracy and rank (1 = best) of the network each proxy scores highest; "
            "top-10 < median: how many of the 10 best-scored networks are less accurate than the median network; "
            "NaN/inf scores rank last; ties count as their expected value.")


def _energy(joules: float | None) -> str:
    if joules is None:
        return "not measured"
    if joules >= 3600:
        return f"{joules / 3600:.3f} Wh ({joules:.0f} J)"
    return f"{joules:.2f} J ({joules / 3600 * 1000:.3f} mWh)"


def render_energy(energy: Mapping[str, Any]) -> list[str]:
    """Markdown lines of the energy report."""
    lines = ["## Energy", ""]
    methods = energy.get("methods", {})
    lines.append("How obtained: " + "; ".join(f"{part}: {how}" for part, how in methods.items()))
    machine = energy.get("machine", {})
    gpus = ", ".join(machine.get("gpu_models") or []) or f"none ({machine.get('gpu_status')})"
    lines.append(f"Machine: {machine.get('cpu_model')} ({machine.get('cpu_count')} logical CPUs); GPU: {gpus}")
    lines.append(f"CO2-eq uses the carbon intensity of country {energy.get('country') or '–'}.")
    who = energy.get("contributors")
    if who:
        lines.append(f"Probe workers: {who['workers']} on {who['machines']} machine(s); {who['note']}.")
    lines.append("")
    lines.append("| phase | spans | duration (s) | energy | CO2-eq (g) |")
    lines.append("|---|---:|---:|---:|---:|")
    for phase, row in energy.get("phases", {}).items():
        lines.append(
            f"| {phase} | {row['spans'] or '–'} | {row['duration_s']:.2f} | {_energy(row['energy_joules'])} | {_fmt(row['co2_grams'], 4)} |"
        )
    generation = energy.get("per_generation_joules", {})
    lines.append("")
    metered, spans = generation.get("count", 0), generation.get("spans", generation.get("count", 0))
    if metered:
        lines.append(f"Per generation: mean {_energy(generation.get('mean'))}, max {_energy(generation.get('max'))} "
                     f"over {metered} generations.")
    else:
        lines.append(f"Per generation: not measured ({spans} generations, energy metering off)." if spans
                     else "Per generation: no generation ran.")
    unmetered = int(energy.get("unmetered_networks") or 0)
    killed = (f" ({unmetered} of them in a part of the run killed while probing: no energy row covers them, "
              f"so the totals leave them out)" if unmetered else "")
    lines.append(
        f"Probe: {energy.get('networks_probed')} networks computed{killed}, {energy.get('cache_hits')} cache hits "
        f"(networks an earlier run had probed); per network {_energy(energy.get('per_network_probe_joules'))}; "
        f"avoided by the cache ≈ {_energy(energy.get('avoided_by_cache_joules'))} ({energy.get('avoided_note')})."
    )
    lines.append(f"Total: {_energy(energy.get('total_joules'))}, {_fmt(energy.get('co2_grams'), 4)} g CO2-eq.")
    unfinished = int(energy.get("unfinished_parts") or 0)
    if unfinished:
        lines.append(f"{unfinished} part(s) of the run were killed before their end (no run span): the total adds "
                     "the phases they finished; their time outside phases and the phase in progress are not metered.")
    return lines


def render_markdown(report: Mapping[str, Any], figures: Sequence[tuple[str, str]] = ()) -> str:
    """Render ``report.md`` from the data of ``report.json``.

    ``figures`` are ``(caption, path relative to the run directory)`` pairs, embedded at the end.
    """
    sampling = report["sampling"]
    probe = report["probe"]
    evolution = report["evolution"]
    best = report["best_proxy"]
    lines = [
        f"# GreenMachine run — {report['profile']['name']}",
        "",
        f"Space **{report['space']}**, datasets {', '.join(report['datasets'])}; "
        f"ground truth {', '.join(report['ground_truth_columns'].values())}.",
        report["ground_truth_note"],
        "",
        f"Sampling: {sampling['description']} (strata on {sampling['stratified_on']} accuracy).",
        f"Probe: batch {probe['batch_size']}, seed {probe['seed']}, device {probe['device']}, "
        f"statistic bank {probe['bank_version']}, {probe['networks']} network probes ({probe['cache_hits']} cache hits).",
        f"Evolution: population {evolution['population']}, {evolution['generations']} generations, seed {evolution['seed']}.",
        "",
        "## Best proxy (chosen on validation)",
        "",
        "```",
        best.get("simplified") or best["formula"],
        "```",
        "",
        f"Size {best['size']}; {METRIC_LABELS.get(best.get('fitness_metric', 'kendall'), 'Kendall τ')} "
        f"search {best['search_tau']:.4f}, validation {best['validation_tau']:.4f}.",
    ]
    if best.get("simplified") and best.get("simplified") != best["formula"]:
        lines += ["", "Unsimplified tree:", "", "```", best["formula"], "```"]
    for dataset, result in report["test"].items():
        lines += [
            "",
            f"## Held-out test sample — {dataset} (n = {result['n']}, {_test_sampling(sampling)})",
            "",
            "| proxy | Kendall τ | Spearman ρ | P@1% | P@5% | P@10% | top-1 acc | top-1 rank | top-10 < median |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
            f"| **evolved** | **{result['evolved']['kendall_tau']:.4f}** | **{result['evolved']['spearman_rho']:.4f}** | "
            + " | ".join(f"**{cell}**" for cell in top_cells(result["evolved"])) + " |",
        ]
        ranked = sorted(
            result["baselines"].items(),
            key=lambda item: -(item[1]["kendall_tau"] if item[1]["kendall_tau"] is not None else -2.0),
        )
        for name, values in ranked:
            lines.append(f"| {name} | {_fmt(values['kendall_tau'], 4)} | {_fmt(values['spearman_rho'], 4)} | "
                         + " | ".join(top_cells(values)) + " |")
        lines += ["", top_note(result)]
    from greenmachine.report.cost_front import render_cost
    from greenmachine.report.multitask import render_cells

    lines += render_cells(report)
    cost = render_cost(report.get("probe_cost"))
    lines += [""] + render_energy(report["energy"]) + [""] + (cost + [""] if cost else [])
    if figures:
        lines += ["## Figures", ""]
        for caption, path in figures:
            lines += [f"![{caption}]({path})", "", f"*{caption}* ([SVG]({path[:-4]}.svg))", ""]
    return "\n".join(lines)


def _check_energy_rows(directory: RunDirectory, rows: Sequence[Any], old: Mapping[str, Any]) -> None:
    """Refuse an ``energy.csv`` with fewer spans than the report was built from (emptied or cut short)."""
    recorded = sum(int(row.get("spans") or 0) for name, row in (old.get("phases") or {}).items()
                   if isinstance(row, Mapping) and name != "outside phases")
    path = directory.file(rundir.ENERGY_FILE)
    if not rows and recorded:
        raise GMError(f"{path} has no rows, but report.json's energy table was built from {recorded} spans: "
                      "not rewriting the report (restore energy.csv, or delete it to keep the recorded table)")
    if len(rows) < recorded:
        raise GMError(f"{path} has {len(rows)} rows, fewer than the {recorded} spans report.json's energy table "
                      "was built from: not rewriting the report (restore energy.csv, or delete it to keep the "
                      "recorded table)")


def rebuild_report(run_dir: Path) -> tuple[dict, str]:
    """Rebuild ``report.json``'s energy part from ``energy.csv`` and re-render ``report.md``.

    Reads only through :class:`greenmachine.rundir.directory.RunDirectory`; a missing, corrupt or wrongly
    shaped file is one :class:`greenmachine.errors.GMError` line, and so is an ``energy.csv`` with
    fewer rows than the spans the report was built from (emptied or cut short); a missing
    ``energy.csv`` keeps the recorded energy table.

    Returns
    -------
    (dict, str)
        The report data and its Markdown.
    """
    directory = RunDirectory(run_dir)
    report = directory.read_report()
    try:
        old = report.get("energy", {})
        if directory.file(rundir.ENERGY_FILE).exists():
            rows = directory.read_energy()
            _check_energy_rows(directory, rows, old)
            computed, hits = old.get("networks_probed", 0), old.get("cache_hits", 0)
            counts = {"done": computed + hits, "hits": hits, "computed": computed, "networks": computed + hits,
                      "unmetered": old.get("unmetered_networks", 0), **old.get("contributors", {})}
            info = {"methods": old.get("methods", {}), "country": old.get("country"), **old.get("machine", {})}
            report["energy"] = energy_summary(rows, counts, info)
        return report, render_markdown(report, figure_links(run_dir))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise GMError(f"{directory.file(rundir.REPORT_JSON_FILE)} is not a complete GreenMachine report "
                      f"({type(error).__name__}: {error})") from None


def draw_and_embed(run_dir: Path, skipped: list[str] | None = None) -> list[Path]:
    """Draw the run's figures, then re-render ``report.md`` (when the run has a report) to embed them.

    Called by the run controller at the end of a run and by ``gm plot RUN_DIR``.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    skipped : list of str, optional
        Receives one line per figure family that could not be drawn.

    Returns
    -------
    list of Path
        The figure files written.
    """
    files = draw_run_figures(run_dir, skipped)
    directory = RunDirectory(run_dir)
    if directory.is_completed():
        report = directory.read_report()
        try:
            markdown = render_markdown(report, figure_links(run_dir))
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise GMError(f"{directory.file(rundir.REPORT_JSON_FILE)} is not a complete GreenMachine report "
                          f"({type(error).__name__}: {error})") from None
        directory.write_report(report, markdown)
    return files
