"""The summary of a repeat folder: mean ± sd of every Kendall tau over evolution and probe seeds.

Called by :class:`greenmachine.repeats.runner.RepeatRunner` (after its runs, or when interrupted) and by
``gm summary DIR`` (``greenmachine.tui.commands.repeat``), and the tests. It reads each run only
through :class:`greenmachine.rundir.directory.RunDirectory` (``report.json``) and writes ``summary.json`` and
``summary.md`` into the folder. The combinations are those of the folder's ``plan.json``;
a folder without one (run directories gathered by hand) is summarised over the run
directories directly inside it, which must then differ only in their seeds.

Every figure states its context: the profile, space, datasets and ground truth, the sample
sizes and sampling mode, the probe batch, the seeds, the statistic bank and how energy was
obtained; every mean ± sd gives its n (runs), and the sd is the sample sd (n - 1).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

from greenmachine.errors import GMError
from greenmachine.files import atomic_write_json, atomic_write_text
from greenmachine.repeats.plan import PLAN_FILE, comparable_settings, read_plan
from greenmachine.rundir.directory import REPORT_JSON_FILE, RunDirectory

SUMMARY_JSON_FILE = "summary.json"
SUMMARY_MD_FILE = "summary.md"
SUMMARY_KIND = "greenmachine-seed-summary"
EVOLVED = "evolved"
#: The field reports at least this many evolution seeds x probe seeds.
FIELD_MINIMUM = (3, 2)


def mean_and_sd(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Mean, sample sd (n - 1) and n of the defined values (``None`` and NaN are left out).

    The sd is ``None`` below two values; the mean is ``None`` with none.
    """
    defined = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    n = len(defined)
    mean = sum(defined) / n if n else None
    sd = math.sqrt(sum((v - mean) ** 2 for v in defined) / (n - 1)) if n >= 2 else None
    return {"mean": mean, "sd": sd, "n": n}


def energy_label(methods: Mapping[str, str]) -> str:
    """Short label of how a run's energy was obtained: ``measured``, ``estimated``, a mix, or ``not measured``."""
    kinds: dict[str, list[str]] = {}
    for part, how in sorted(methods.items()):
        word = str(how).split(" ", 1)[0]
        if word not in ("absent", "not", ""):  # measured, estimated (or a test meter's fake)
            kinds.setdefault(word, []).append(part)
    if not kinds:
        return "not measured"
    if len(kinds) == 1:
        return next(iter(kinds))
    return "; ".join(f"{word}: {', '.join(parts)}" for word, parts in sorted(kinds.items()))


def _combinations(folder: Path) -> tuple[list[tuple[str, int, int]], Any]:
    """(name, evolution seed, probe seed) of every planned combination, and the plan (or None)."""
    if (folder / PLAN_FILE).is_file():
        plan = read_plan(folder)
        return [(c.name, c.evolution_seed, c.probe_seed) for c in plan.combinations()], plan
    found = []
    for path in sorted(p for p in folder.iterdir() if p.is_dir()):
        directory = RunDirectory(path)
        if directory.is_run_directory():
            profile = directory.read_profile()
            found.append((path.name, profile.evolution.seed, profile.probe.seed))
    if not found:
        raise GMError(f"{folder} holds no {PLAN_FILE} and no run directories: nothing to summarise")
    if len({seeds[1:] for seeds in found}) < len(found):
        names = [name for name, *seeds in found if sum(1 for _, *other in found if other == seeds) > 1]
        raise GMError(f"{folder}: {', '.join(names)} have the same evolution and probe seeds")
    found.sort(key=lambda item: (item[1], item[2]))
    return found, None


def _run_row(name: str, evolution_seed: int, probe_seed: int, directory: RunDirectory) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "evolution_seed": evolution_seed, "probe_seed": probe_seed, "run_dir": name}
    if not directory.is_run_directory():
        row["status"] = "not started"
        return row
    if not directory.is_completed():
        row["status"] = "incomplete (stopped or interrupted; rerun to resume)"
        return row
    report = directory.read_report()
    path = directory.file(REPORT_JSON_FILE)
    try:
        profile, probe, best = report["profile"], report["probe"], report["best_proxy"]
        if (profile["evolution"]["seed"], probe["seed"]) != (evolution_seed, probe_seed):
            raise GMError(f"{path}: the run's seeds (evolution {profile['evolution']['seed']}, probe {probe['seed']}) "
                          f"are not those of {name}")
        validation = report.get("validation")
        # a multi-task run's cells hold each task's validation tau (evolved and best baseline)
        cells = {cell["task"]: cell for cell in report.get("cells") or []}
        datasets = list(report["datasets"])
        row.update(status="complete", formula=best.get("simplified") or best["formula"], size=int(best["size"]),
                   fitness_validation_tau=best["validation_tau"], report=report,
                   validation={}, test={})
        for dataset in datasets:
            test = report["test"][dataset]
            row["test"][dataset] = {EVOLVED: test["evolved"]["kendall_tau"],
                                    **{k: v["kendall_tau"] for k, v in test["baselines"].items()}}
            if validation is not None:
                part = validation[dataset]
                row["validation"][dataset] = {EVOLVED: part["evolved"]["kendall_tau"],
                                              **{k: v["kendall_tau"] for k, v in part["baselines"].items()}}
            elif dataset in cells:
                cell = cells[dataset]
                row["validation"][dataset] = {EVOLVED: cell["evolved"]["validation_tau"],
                                              cell["best_baseline"]["name"]: cell["best_baseline"]["validation_tau"]}
            elif len(datasets) == 1:  # a run made before the report had its validation part
                row["validation"][dataset] = {EVOLVED: best["validation_tau"]}
        energy = report["energy"]
        row["energy"] = {"joules": energy.get("total_joules"),
                         "duration_s": energy.get("phases", {}).get("run", {}).get("duration_s"),
                         "label": energy_label(energy.get("methods", {})), "methods": dict(energy.get("methods", {}))}
    except (KeyError, TypeError, AttributeError, ValueError) as error:
        raise GMError(f"{path} is not a complete GreenMachine report ({type(error).__name__}: {error})") from None
    return row


def _context(folder: Path, rows: list[dict[str, Any]], plan: Any) -> dict[str, Any]:
    """What every figure depends on, from the reports (the plan's profile, or a run's, where no run finished)."""
    reports = [row["report"] for row in rows if row["status"] == "complete"]
    evolution_seeds = sorted({row["evolution_seed"] for row in rows})
    probe_seeds = sorted({row["probe_seed"] for row in rows})
    if not reports:
        profile = plan.profile if plan is not None else RunDirectory(folder / rows[0]["run_dir"]).read_profile()
        return {"profile": profile.name, "space": profile.space_name, "datasets": list(profile.benchmark.datasets),
                "evolution_seeds": evolution_seeds, "probe_seeds": probe_seeds, "probe_batch_size": profile.probe.batch_size}
    first = reports[0]
    sampling = first["sampling"]

    def distinct(get) -> list[Any]:
        return sorted({str(get(report)) for report in reports})

    return {
        "profile": first["profile"]["name"],
        "space": first["space"],
        "datasets": list(first["datasets"]),
        "ground_truth_columns": dict(first["ground_truth_columns"]),
        "sampling": {"mode": sampling["mode"], "stratification": sampling.get("stratification"),
                     "strata": sampling.get("strata"), "seed": sampling["seed"], "sizes": dict(sampling["sizes"]),
                     "description": sampling["description"]},
        "probe_batch_size": first["probe"]["batch_size"],
        "devices": distinct(lambda report: report["probe"]["device"]),
        "bank_versions": distinct(lambda report: report["probe"]["bank_version"]),
        "evolution": {"population": first["evolution"]["population"], "generations": first["evolution"]["generations"]},
        "evolution_seeds": evolution_seeds,
        "probe_seeds": probe_seeds,
    }


def _check_same_settings(folder: Path, rows: list[dict[str, Any]]) -> None:
    """Finished runs must differ only in their seeds (checked on their profiles)."""
    seen: dict[str, str] = {}
    for row in rows:
        if row["status"] == "complete":
            seen.setdefault(comparable_settings(RunDirectory(folder / row["run_dir"]).read_profile()), row["name"])
    if len(seen) > 1:
        raise GMError(f"{folder}: {' and '.join(list(seen.values())[:2])} differ in settings other than their seeds; "
                      "a summary needs runs of one profile")


def summarize(folder: Path) -> dict[str, Any]:
    """Summarise a repeat folder (``summary.json``'s content; nothing written).

    Returns
    -------
    dict
        ``complete`` (every planned combination finished), ``planned``, ``finished``,
        ``missing`` (name and status of each unfinished combination), ``context``,
        ``combinations`` (per combination: seeds, status, best formula, validation and
        test Kendall tau per dataset, energy), ``statistics`` (per dataset, per proxy:
        ``validation`` and ``test`` mean / sd / n over the finished runs) and ``energy``.

    Raises
    ------
    GMError
        Not a repeat folder, a corrupt plan or report, or runs of different settings.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise GMError(f"{folder} is not a directory")
    combinations, plan = _combinations(folder)
    rows = [_run_row(name, e, p, RunDirectory(folder / name)) for name, e, p in combinations]
    _check_same_settings(folder, rows)
    context = _context(folder, rows, plan)
    done = [row for row in rows if row["status"] == "complete"]
    statistics: dict[str, Any] = {}
    for dataset in context["datasets"]:
        names = list(dict.fromkeys(name for row in done for name in row["test"].get(dataset, {})))
        statistics[dataset] = {
            name: {part: mean_and_sd([row[part].get(dataset, {}).get(name) for row in done])
                   for part in ("validation", "test")}
            for name in names
        }
    joules = [row["energy"]["joules"] for row in done]
    energy = {"per_run": mean_and_sd(joules),
              "total_joules": sum(joules) if done and None not in joules else None,
              "labels": sorted({row["energy"]["label"] for row in done}),
              "methods": sorted({"; ".join(f"{k}: {v}" for k, v in row["energy"]["methods"].items()) for row in done})}
    for row in rows:
        row.pop("report", None)
    return {
        "kind": SUMMARY_KIND,
        "folder": str(folder),
        "complete": len(done) == len(rows),
        "planned": len(rows),
        "finished": len(done),
        "missing": [{"name": row["name"], "status": row["status"]} for row in rows if row["status"] != "complete"],
        "context": context,
        "combinations": rows,
        "statistics": statistics,
        "energy": energy,
    }


def write_summary(folder: Path) -> dict[str, Any]:
    """Summarise ``folder`` and write ``summary.json`` and ``summary.md`` into it; return the summary."""
    summary = summarize(folder)
    atomic_write_json(Path(folder) / SUMMARY_JSON_FILE, summary)
    atomic_write_text(Path(folder) / SUMMARY_MD_FILE, render_summary(summary))
    return summary


def _tau(value: Any) -> str:
    return "–" if value is None else f"{value:.4f}"


def _spread(stat: Mapping[str, Any]) -> str:
    if not stat or stat["mean"] is None:
        return "–"
    sd = "–" if stat["sd"] is None else f"{stat['sd']:.4f}"
    return f"{stat['mean']:.4f} ± {sd} (n={stat['n']})"


def _joules_spread(stat: Mapping[str, Any]) -> str:
    if stat["mean"] is None:
        return "not measured"
    sd = "–" if stat["sd"] is None else f"{stat['sd']:.1f}"
    return f"{stat['mean']:.1f} ± {sd} J (n={stat['n']} runs)"


def _energy_text(joules: float | None) -> str:
    if joules is None:
        return "not measured"
    return f"{joules / 3600:.3f} Wh ({joules:.0f} J)" if joules >= 3600 else f"{joules:.1f} J"


def render_summary(summary: Mapping[str, Any]) -> str:
    """Render ``summary.md`` from :func:`summarize`'s data."""
    context = summary["context"]
    seeds_e, seeds_p = context["evolution_seeds"], context["probe_seeds"]
    lines = [f"# GreenMachine seed summary — {context['profile']}", ""]
    if summary["complete"]:
        lines.append(f"All {summary['planned']} runs finished.")
    else:
        lines.append(f"**Partial summary: {summary['finished']} of {summary['planned']} runs finished.** Missing: "
                     + "; ".join(f"{row['name']} ({row['status']})" for row in summary["missing"]) + ".")
    lines.append("")
    datasets = context["datasets"]
    line = f"Space **{context['space']}**, dataset(s) {', '.join(datasets)}"
    if "ground_truth_columns" in context:
        line += f"; ground truth {', '.join(context['ground_truth_columns'].values())}"
    lines.append(line + ".")
    sampling = context.get("sampling")
    if sampling:
        lines.append(f"Sampling: {sampling['description']} (the same samples in every run).")
    probe = f"Probe: batch {context['probe_batch_size']}"
    if "devices" in context:
        probe += f", device {', '.join(context['devices'])}, statistic bank {', '.join(context['bank_versions'])}"
    lines.append(probe + f"; probe seeds (minibatch and weights) {', '.join(map(str, seeds_p))}.")
    evolution = context.get("evolution")
    lines.append("Evolution" + (f": population {evolution['population']}, {evolution['generations']} generations"
                                if evolution else "") + f"; evolution seeds {', '.join(map(str, seeds_e))}.")
    if len(seeds_e) < FIELD_MINIMUM[0] or len(seeds_p) < FIELD_MINIMUM[1]:
        lines.append(f"Note: {len(seeds_e)} evolution seed(s) x {len(seeds_p)} probe seed(s), fewer than the "
                     f"{FIELD_MINIMUM[0]} x {FIELD_MINIMUM[1]} the field reports.")
    sizes = (sampling or {}).get("sizes", {})
    for dataset in datasets:
        lines += ["", f"## Kendall τ over runs — {dataset}", "",
                  f"Mean ± sample sd over the {summary['finished']} finished runs (n = runs with a defined τ); "
                  f"validation sample n={sizes.get('validation', '?')} networks, test sample n={sizes.get('test', '?')}.",
                  "", "| proxy | validation τ | test τ |", "|---|---:|---:|"]
        stats = summary["statistics"].get(dataset, {})
        ranked = sorted(stats.items(), key=lambda item: (item[0] != EVOLVED, -(item[1]["test"]["mean"] or -2.0)))
        for name, values in ranked:
            shown = f"**{name}**" if name == EVOLVED else name
            lines.append(f"| {shown} | {_spread(values['validation'])} | {_spread(values['test'])} |")
    lines += ["", "## Runs", "", "| run | evolution seed | probe seed | best proxy (chosen on validation) | "
              + " | ".join(f"validation τ {d} | test τ {d}" for d in datasets) + " | energy |",
              "|---|---:|---:|---|" + "---:|---:|" * len(datasets) + "---:|"]
    for row in summary["combinations"]:
        if row["status"] != "complete":
            lines.append(f"| {row['name']} | {row['evolution_seed']} | {row['probe_seed']} | {row['status']} | "
                         + " | ".join("– | –" for _ in datasets) + " | – |")
            continue
        taus = " | ".join(f"{_tau(row['validation'].get(d, {}).get(EVOLVED))} | {_tau(row['test'][d][EVOLVED])}"
                          for d in datasets)
        formula = str(row["formula"]).replace("|", "\\|")
        lines.append(f"| {row['name']} | {row['evolution_seed']} | {row['probe_seed']} | `{formula}` | {taus} | "
                     + (f"{_energy_text(row['energy']['joules'])} ({row['energy']['label']}) |"
                        if row["energy"]["joules"] is not None else "not measured |"))
    energy = summary["energy"]
    lines += ["", "## Energy", "",
              f"Per run: {_joules_spread(energy['per_run'])}; total over the finished runs: "
              f"{_energy_text(energy['total_joules'])}. Runs reuse one probe cache, so the first run of each probe "
              "seed pays for probing and later runs mostly hit the cache.",
              "How obtained: " + (" | ".join(energy["methods"]) or "–") + "."]
    return "\n".join(lines) + "\n"
