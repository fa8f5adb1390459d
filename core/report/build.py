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
from greenmachine.rundir.directory import RunDirectory



def energy_summary(rows: Sequence[Any], probe_counts: Mapping[str, Any], meter_info: Mapping[str, Any]) -> dict:
    """Summarise energy spans per phase.

    Parameters
    ----------
    rows : sequence of EnergyRow
        Every finished span (:meth:`greenmachine.rundir.directory.RunDirectory.read_energy`), each with its
        ``phase`` (``probe``, ``generation``, ``evaluation``, ``run``); a resumed run has
        one ``run`` span per part, and the summary adds them all up.
    probe_counts : mapping
        ``done`` (networks handled) and ``hits`` (cache hits) of the probe phase, and the
        ``workers`` / ``machines`` that probed (default 1 / 1).
    meter_info : mapping
        The meter's ``describe()`` (methods, machine, country).
    """
    readings = [(row.phase, row) for row in rows]
    def total(phase: str, key: str = "energy_joules") -> float | None:
        values = [getattr(r, key) for p, r in readings if p == phase]
        if not values or any(v is None for v in values):
            return None
        return float(sum(values))

    phases = {}
    for phase in ("probe", "generation", "evaluation", "run"):
        spans = [r for p, r in readings if p == phase]
        if not spans:
            continue
        phases[phase] = {
            "spans": len(spans),
            "duration_s": float(sum(r.duration_s for r in spans)),
            "energy_joules": total(phase),
            "co2_grams": total(phase, "co2_grams"),
        }
    inner = [phases[name] for name in ("probe", "generation", "evaluation") if name in phases]
    if "run" in phases and inner:
        # What the run spent outside its phases: loading data, sampling, writing events.
        run = phases["run"]
        energies = [row["energy_joules"] for row in inner]
        co2 = [row["co2_grams"] for row in inner]
        phases["outside phases"] = {
            "spans": 0,
            "duration_s": max(0.0, run["duration_s"] - sum(row["duration_s"] for row in inner)),
            "energy_joules": None if run["energy_joules"] is None or None in energies
            else max(0.0, run["energy_joules"] - sum(energies)),
            "co2_grams": None if run["co2_grams"] is None or None in co2 else max(0.0, run["co2_grams"] - sum(co2)),
        }
        phases["run"] = phases.pop("run")  # keep the whole run last
    generations = [r.energy_joules for p, r in readings if p == "generation" and r.energy_joules is not None]
    done = int(probe_counts.get("done", 0))
    hits = int(probe_counts.get("hits", 0))
    computed = done - hits
    probe_energy = phases.get("probe", {}).get("energy_joules")
    per_network = probe_energy / computed if probe_energy is not None and computed > 0 else None
    return {
        "phases": phases,
        "total_joules": phases.get("run", {}).get("energy_joules"),
        "total_wh": None if phases.get("run", {}).get("energy_joules") is None else phases["run"]["energy_joules"] / 3600.0,
        "co2_grams": phases.get("run", {}).get("co2_grams"),
        "per_generation_joules": {
            "mean": sum(generations) / len(generations) if generations else None,
            "max": max(generations) if generations else None,
            "count": len(generations),
        },
        "networks_probed": computed,
        "cache_hits": hits,
        "per_network_probe_joules": per_network,
        "avoided_by_cache_joules": per_network * hits if per_network is not None else None,
        "avoided_note": "cache hits x mean measured probe energy per computed network"
        if per_network is not None
        else "no network computed in this run: per-network energy unknown",
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


METRIC_LABELS = {"kendall": "Kendall τ", "weighted_kendall": "weighted Kendall τ (top-weighted fitness)"}
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
    """The top-of-ranking cells of one proxy row: P@1%, P@5%, P@10%, top-1 accuracy, top-1 rank.

    A row written before these figures existed (an old report) shows dashes.
    """
    from greenmachine.stats.top_metrics import PRECISION_KEYS

    cells = [_fmt(row.get(key), 2) for key in PRECISION_KEYS.values()]
    cells.append(_fmt(row.get("top1_accuracy"), 2))
    rank = row.get("top1_rank")
    cells.append("–" if rank is None else (f"{rank:.0f}" if float(rank).is_integer() else f"{rank:.1f}"))
    return cells


def top_note(result: Mapping[str, Any]) -> str:
    """One line saying what the top-of-ranking columns of a sample's table mean (and their sizes)."""
    sizes = result.get("top_sizes")
    size_text = f" ({' / '.join(str(v) for v in sizes.values())} of the {result.get('n')} networks)" if sizes else ""
    return (f"P@k%: share of the k % best-scored networks{size_text} that are among the k % most accurate; "
            "top-1: true accuracy and rank (1 = best) of the network each proxy scores highest; "
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
    lines.append(
        f"Per generation: mean {_energy(generation.get('mean'))}, max {_energy(generation.get('max'))} "
        f"over {generation.get('count', 0)} generations."
    )
    lines.append(
        f"Probe: {energy.get('networks_probed')} networks computed, {energy.get('cache_hits')} cache hits; "
        f"per network {_energy(energy.get('per_network_probe_joules'))}; "
        f"avoided by the cache ≈ {_energy(energy.get('avoided_by_cache_joules'))} ({energy.get('avoided_note')})."
    )
    lines.append(f"Total: {_energy(energy.get('total_joules'))}, {_fmt(energy.get('co2_grams'), 4)} g CO2-eq.")
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
            "| proxy | Kendall τ | Spearman ρ | P@1% | P@5% | P@10% | top-1 acc | top-1 rank |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
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


def rebuild_report(run_dir: Path) -> tuple[dict, str]:
    """Rebuild ``report.json``'s energy part from ``energy.csv`` and re-render ``report.md``.

    Reads only through :class:`greenmachine.rundir.directory.RunDirectory`; a missing, corrupt or wrongly
    shaped file is one :class:`greenmachine.errors.GMError` line.

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
            counts = {"done": old.get("networks_probed", 0) + old.get("cache_hits", 0), "hits": old.get("cache_hits", 0)}
            info = {"methods": old.get("methods", {}), "country": old.get("country"), **old.get("machine", {})}
            report["energy"] = energy_summary(directory.read_energy(), counts, info)
        from greenmachine.report.figures import figure_links

        return report, render_markdown(report, figure_links(run_dir))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise GMError(f"{directory.file(rundir.REPORT_JSON_FILE)} is not a complete GreenMachine report "
                      f"({type(error).__name__}: {error})") from None
