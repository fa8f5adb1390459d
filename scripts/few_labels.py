"""Test τ of proxies designed from N labelled networks, against N, with every baseline as a reference.

For one profile (its space and first dataset) and every N of ``--labels``, runs the few-label
design ``gm run PROFILE --labels N --seeds ...`` (one repeat folder per N, resumable: rerun
the same command to continue), then scores every designed proxy and every bank baseline on
the *same* test networks (:mod:`greenmachine.repeats.few_labels`): a uniform random sample of
``--test`` networks drawn before the labels, or, with ``--test all``, every network outside
the largest labelled set. The labelled sets are nested (one sampling seed: the 25 labels are
among the 50, ...), and no labelled network of any N is a test network. The test τ chooses
nothing; the "baseline chosen on the N labels" is the bank baseline with the best τ on the N
labelled networks, what a user with those labels would pick without a designed proxy.

Writes ``OUT/few_labels.json`` (every number with its context), ``OUT/few_labels.md`` (the
tables printed) and ``OUT/few_labels.png`` / ``.svg`` (test τ against N, mean ± sd over the
evolution seeds and each seed, the baselines as horizontal lines).

Usage::

    python scripts/few_labels.py tss-cifar10 --labels 25,50,100,200,400 --seeds 0,1,2 --test 2000 \\
        --population 200 --generations 30 --out runs/few-labels-tss

``--mode`` is the labelled draw (default ``random``: a user with a new space does not know the
accuracy of unlabelled networks, so cannot stratify on it; ``profile`` keeps the profile's).
CPU cost: the probe of every labelled and test network (TSS about 0.5 s a network on one
core), then ``len(labels) x len(seeds)`` evolutions on cached statistics.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from greenmachine.errors import GMError  # noqa: E402
from greenmachine.events import LogMessage, ProbeProgress, RunFinished, RunStarted  # noqa: E402

JSON_FILE, MARKDOWN_FILE, FIGURE_STEM = "few_labels.json", "few_labels.md", "few_labels"
#: ``--test all``: the largest accepted ``sampling.test``, more than any space has, so every
#: N's test is the rest of the space (and the common test is what the largest N leaves).
ALL_TEST = 1_000_000


class QuietSink:
    """Progress on stderr: each run's start and end, the probe every 10 %, log lines."""

    def __init__(self) -> None:
        self._decile = -1

    def __call__(self, event) -> None:
        if isinstance(event, RunStarted):
            self._decile = -1
            print(f"  run {event.run_dir}: {event.sampling_mode}; search/validation/test "
                  f"{event.sample_sizes['search']}/{event.sample_sizes['validation']}/{event.sample_sizes['test']}, "
                  f"evolution seed {event.seed}", file=sys.stderr, flush=True)
        elif isinstance(event, ProbeProgress):
            decile = 10 * event.done // max(event.total, 1)
            if decile != self._decile:
                self._decile = decile
                print(f"    probe {event.done}/{event.total} ({event.cache_hits} cached, "
                      f"{event.networks_per_second:.2f} net/s)", file=sys.stderr, flush=True)
        elif isinstance(event, RunFinished):
            print(f"    {event.status}: {event.message}", file=sys.stderr, flush=True)
        elif isinstance(event, LogMessage) and event.level != "debug":
            print(f"  {event.level}: {event.message}", file=sys.stderr, flush=True)


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("profile", help="profile name or .toml path (its space and first dataset)")
    parser.add_argument("--labels", required=True, help="numbers of labelled networks, e.g. 25,50,100,200,400")
    parser.add_argument("--seeds", default="0,1,2", help="evolution seeds (default 0,1,2)")
    parser.add_argument("--test", default=None,
                        help="test sample size (a uniform random sample drawn before the labels), or 'all' "
                             "(every network outside the largest labelled set); default the profile's sampling.test")
    parser.add_argument("--mode", default="random", choices=("random", "stratified", "profile"),
                        help="how the labelled networks are drawn (default random; profile: the profile's mode)")
    parser.add_argument("--sampling-seed", type=int, default=None, help="seed of the draws (default the profile's)")
    parser.add_argument("--population", type=int, default=None, help="evolution.population (default the profile's)")
    parser.add_argument("--generations", type=int, default=None, help="evolution.generations (default the profile's)")
    parser.add_argument("--workers", type=int, default=None, help="probe.workers (default the profile's)")
    parser.add_argument("--no-energy", action="store_true", help="do not meter energy (energy.enabled = false)")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="SECTION.KEY=VALUE",
                        help="any other profile override (repeatable)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default runs/few-labels-<profile>)")
    return parser.parse_args(argv)


def study_overrides(arguments: argparse.Namespace) -> list[str]:
    """The profile overrides the options stand for (then the user's ``--set`` values)."""
    overrides = []
    if arguments.test is not None:
        test = ALL_TEST if arguments.test == "all" else arguments.test
        overrides.append(f"sampling.test={test}")
    if arguments.mode != "profile":
        overrides.append(f"sampling.mode={arguments.mode}")
    for key, value in (("sampling.seed", arguments.sampling_seed), ("evolution.population", arguments.population),
                       ("evolution.generations", arguments.generations), ("probe.workers", arguments.workers)):
        if value is not None:
            overrides.append(f"{key}={value}")
    if arguments.no_energy:
        overrides.append("energy.enabled=false")
    for text in arguments.overrides:
        if text.split("=", 1)[0].strip() in ("sampling.labels", "evolution.seed"):
            raise GMError(f"--set {text!r}: the labels come from --labels and the evolution seeds from --seeds")
    return overrides + list(arguments.overrides)


def run_designs(plan, seeds, out: Path, sink, meter) -> dict[int, list[Path]]:
    """Run (or resume) ``gm run --labels N --seeds ...`` for every N; return the run directories."""
    from greenmachine.repeats.runner import RepeatPlan, RepeatRunner, prepare_folder

    runs = {}
    for count in plan.counts:
        repeat = RepeatPlan(plan.profile_for(count), tuple(seeds), (plan.profile.probe.seed,))
        folder = out / f"labels-{count}"
        prepare_folder(folder, repeat)
        print(f"few-labels: N={count} ({repeat.describe()}) in {folder}", file=sys.stderr, flush=True)
        summary = RepeatRunner(repeat, folder, sink, meter=meter).run()
        if not (summary or {}).get("complete"):
            raise GMError(f"the runs of N={count} did not all complete (rerun the same command to resume)")
        runs[count] = [folder / combination.name for combination in repeat.combinations()]
    return runs


def _tau(value) -> str:
    return "–" if value is None else f"{value:.3f}"


def render_tables(data: dict) -> list[str]:
    """The Markdown tables: test τ per N, and every baseline on the same test networks."""
    context = data["context"]
    evolution = data["evolution"]
    lines = [
        f"# Design from few labels — {context['space']} / {context['dataset']}",
        "",
        f"Ground truth: {data['ground_truth']}. Labelled networks drawn {context['labelled_mode']} "
        f"(sampling seed {context['sampling_seed']}, nested: {'yes' if context['nested'] else 'no'}); each N split "
        "two thirds search / a third validation (at least 5). "
        f"Test: {context['test']['how']}. Probe batch {data['probe']['batch_size']}, seed {data['probe']['seed']}, "
        f"bank {data['probe']['bank_version']}. Evolution: population {evolution['population']}, "
        f"{evolution['generations']} generations, seeds {', '.join(map(str, evolution['seeds']))}.",
        "",
        f"| N | search / validation | designed proxy, test τ mean ± sd (n seeds) | min – max | "
        f"baseline chosen on the N labels: test τ |",
        "|---:|---:|---:|---:|---|",
    ]
    for row in data["per_labels"].values():
        stats = row["test_tau"]
        taus = [seed["test_tau"] for seed in row["seeds"]]
        spread = f"{min(taus):.3f} – {max(taus):.3f}" if taus else "–"
        sd = "–" if stats["sd"] is None else f"{stats['sd']:.3f}"
        chosen = row["baseline_chosen_on_labels"]
        chosen_text = "–" if chosen is None else f"{chosen['name']}: {_tau(chosen['test_tau'])}"
        lines.append(f"| {row['labels']} | {row['search_n']} / {row['validation_n']} | "
                     f"{_tau(stats['mean'])} ± {sd} ({stats['n']}) | {spread} | {chosen_text} |")
    lines += ["", f"Every bank baseline on the same {context['test']['n']} test networks (reference lines):", "",
              "| baseline | Kendall τ | Spearman ρ |", "|---|---:|---:|"]
    ranked = sorted(data["baselines"].items(), key=lambda item: -(item[1]["kendall_tau"]
                                                                  if item[1]["kendall_tau"] is not None else -2))
    for name, row in ranked:
        lines.append(f"| {name} | {_tau(row['kendall_tau'])} | {_tau(row['spearman_rho'])} |")
    if data.get("energy"):
        lines += ["", f"Cost on this machine: {data['energy']}."]
    return lines


def draw_figure(data: dict, stem: Path) -> list[Path]:
    """Test τ against N (mean ± sd and each seed), every baseline as a horizontal line."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    context, evolution = data["context"], data["evolution"]
    rows = list(data["per_labels"].values())
    counts = [row["labels"] for row in rows]
    figure, axes = plt.subplots(figsize=(9.5, 5.2))
    ranked = sorted(((name, row["kendall_tau"]) for name, row in data["baselines"].items()
                     if row["kendall_tau"] is not None), key=lambda item: -item[1])
    colours = plt.get_cmap("tab20")
    for number, (name, tau) in enumerate(ranked):
        axes.axhline(tau, color=colours(number % 20), linestyle="--", linewidth=1.0, label=f"{name} {tau:.3f}")
    means = [row["test_tau"]["mean"] for row in rows]
    sds = [row["test_tau"]["sd"] or 0.0 for row in rows]
    axes.errorbar(counts, means, yerr=sds, color="#0072B2", marker="o", linewidth=2.2, capsize=4, zorder=5,
                  label="designed from N labels (mean ± sd)")
    for row in rows:
        taus = [seed["test_tau"] for seed in row["seeds"] if seed["test_tau"] is not None]
        axes.scatter([row["labels"]] * len(taus), taus, color="#0072B2", s=12, alpha=0.5, zorder=6)
    chosen = [(row["labels"], row["baseline_chosen_on_labels"]["test_tau"]) for row in rows
              if row["baseline_chosen_on_labels"] and row["baseline_chosen_on_labels"]["test_tau"] is not None]
    if chosen:
        axes.plot(*zip(*chosen), color="#D55E00", marker="s", linewidth=1.5, zorder=4,
                  label="baseline chosen on the N labels")
    axes.set_xscale("log")
    axes.set_xticks(counts)
    axes.set_xticklabels([str(count) for count in counts])
    axes.minorticks_off()
    axes.set_xlabel("N labelled networks (two thirds search, a third validation)")
    axes.set_ylabel(f"Kendall τ on the test networks (n = {context['test']['n']})")
    axes.set_title(f"{context['space']} / {context['dataset']}: proxy designed from N labels", fontsize=11)
    figure.text(0.01, 0.01,
                f"labels drawn {context['labelled_mode']}, sampling seed {context['sampling_seed']}, nested; "
                f"test: {context['test']['mode']} (n={context['test']['n']}); evolution seeds "
                f"{','.join(map(str, evolution['seeds']))}, population {evolution['population']} x "
                f"{evolution['generations']} generations; probe batch {data['probe']['batch_size']}",
                fontsize=7, color="#555555")
    axes.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=7, frameon=False)
    axes.grid(alpha=0.3)
    figure.tight_layout(rect=(0, 0.04, 1, 1))
    paths = [stem.with_suffix(".png"), stem.with_suffix(".svg")]
    for path in paths:
        figure.savefig(path, dpi=150)
    plt.close(figure)
    return paths


def main(argv=None) -> int:
    arguments = parse_arguments(argv)
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.energy import make_meter
    from greenmachine.evaluation.evaluate import resolve_device
    from greenmachine.repeats.few_labels import energy_summary, parse_counts, plan_study, score_runs
    from greenmachine.files import atomic_write_json
    from greenmachine.probe import BANK_VERSION
    from greenmachine.repeats.runner import parse_seed_list
    from greenmachine.rundir.directory import atomic_write_text
    from greenmachine.settings.profile import load_profile

    counts = parse_counts(arguments.labels)
    seeds = parse_seed_list(arguments.seeds, "--seeds")
    profile = load_profile(arguments.profile, study_overrides(arguments))
    plan = plan_study(profile, counts)
    out = arguments.out or REPO / "runs" / f"few-labels-{profile.name}"
    out.mkdir(parents=True, exist_ok=True)
    print(f"few-labels: {profile.space_name}/{plan.dataset}, N = {', '.join(map(str, counts))}, evolution seeds "
          f"{arguments.seeds}; test {plan.test_description()}; no labelled network is a test network; "
          f"labelled sets nested: {plan.nested}", file=sys.stderr, flush=True)
    started = time.time()
    sink = QuietSink()
    meter = make_meter(profile.energy.enabled, profile.energy.country)
    try:
        runs = run_designs(plan, seeds, out, sink, meter)
    finally:
        meter.close()
    scored = score_runs(plan, runs, sink, resolve_device(profile.probe.device))
    data = {
        "kind": "greenmachine-few-labels",
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "command": " ".join(["python", "scripts/few_labels.py", *(argv if argv is not None else sys.argv[1:])]),
        "profile": profile.name,
        "ground_truth": load_benchmark(profile.space_name).metric_columns[plan.dataset],
        "context": plan.context(),
        "probe": {"batch_size": profile.probe.batch_size, "seed": profile.probe.seed, "bank_version": str(BANK_VERSION)},
        "evolution": {"population": profile.evolution.population, "generations": profile.evolution.generations,
                      "seeds": list(seeds)},
        "energy": energy_summary(scored["per_labels"]),
        "seconds": round(time.time() - started, 1),
        **scored,
    }
    atomic_write_json(out / JSON_FILE, data)
    lines = render_tables(data)
    atomic_write_text(out / MARKDOWN_FILE, "\n".join(lines) + "\n")
    figures = draw_figure(data, out / FIGURE_STEM)
    print("\n".join(lines))
    print(f"\nwrote {out / JSON_FILE}, {out / MARKDOWN_FILE}, {', '.join(str(path) for path in figures)}",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except GMError as error:
        print(f"few_labels: error: {error}", file=sys.stderr)
        sys.exit(2)
