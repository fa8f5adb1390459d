"""The few-label study: proxies designed from N labelled networks, all tested on one fixed test set.

Called by ``scripts/few_labels.py`` (test τ against N, with every baseline as a reference
line) and the tests. Each N is an ordinary ``gm run PROFILE --labels N --seeds ...`` repeat
folder (:mod:`greenmachine.repeats.runner`); this module plans the draws, checks them and scores the
results on the *common* test set.

The common test set is the intersection of every N's test sample (:mod:`greenmachine.sampling.few_labels`):

* when the profile's ``sampling.test`` is smaller than what each N leaves, every N's test is
  the same uniform random sample of the space (drawn before the labels), so the common test
  is that sample;
* when the test is the rest of the space, the labelled sets are nested (same sampling seed),
  so the common test is every network outside the largest labelled set.

Either way no labelled network of any N is a test network (checked), the designed proxy of
every (N, evolution seed) and every bank baseline are scored on exactly the same networks,
and the test τ chooses nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import reduce
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from greenmachine.errors import GMError
from greenmachine.sampling.few_labels import MIN_TEST, check_labels


@dataclass(frozen=True)
class LabelPlan:
    """The draws of a few-label study.

    Attributes
    ----------
    profile : Profile
        The study's profile (``sampling.labels`` is replaced per N).
    dataset : str
        The ground-truth dataset (the profile's first).
    counts : tuple of int
        The numbers of labels, increasing.
    draws : dict
        ``N -> greenmachine.sampling.samples.Samples`` of ``profile`` with ``sampling.labels = N``.
    common_test : numpy.ndarray
        Sorted indices of the test networks shared by every N.
    nested : bool
        Whether every labelled set contains the smaller ones.
    space_size : int
        Networks in the space.
    """

    profile: Any
    dataset: str
    counts: tuple[int, ...]
    draws: dict
    common_test: np.ndarray
    nested: bool
    space_size: int

    def profile_for(self, labels: int) -> Any:
        """The study's profile with ``sampling.labels = labels``."""
        return labelled_profile(self.profile, labels)

    def labelled(self, labels: int) -> np.ndarray:
        """Sorted indices of the ``labels`` labelled networks (search and validation)."""
        samples = self.draws[labels]
        return np.union1d(samples.search, samples.validation)

    def all_labelled(self) -> np.ndarray:
        """Every network labelled for some N, sorted."""
        return reduce(np.union1d, [self.labelled(n) for n in self.counts])

    def test_description(self) -> str:
        """How the common test set was drawn, with its n."""
        largest = self.draws[self.counts[-1]]
        if largest.test_mode == "rest":
            return (f"n={len(self.common_test)}: every network of the space ({self.space_size}) outside the "
                    f"{self.counts[-1]} labelled networks of the largest N (the smaller labelled sets are inside it)")
        return (f"n={len(self.common_test)}: uniform random sample of the space's {self.space_size} networks, "
                f"sampling seed {largest.seed}, drawn before the labelled networks (the same for every N)")

    def context(self) -> dict[str, Any]:
        """The sampling context of the study, for its JSON."""
        largest = self.draws[self.counts[-1]]
        return {
            "space": self.profile.space_name, "dataset": self.dataset, "space_size": self.space_size,
            "labelled_mode": largest.mode,
            "stratification": largest.stratification if largest.mode == "stratified" else None,
            "strata": largest.strata if largest.mode == "stratified" else None,
            "sampling_seed": largest.seed, "nested": self.nested,
            "test": {"n": int(len(self.common_test)), "how": self.test_description(),
                     "mode": largest.test_mode},
            "labels": {str(n): {"search": int(len(self.draws[n].search)),
                                "validation": int(len(self.draws[n].validation)),
                                "own_test_n": int(len(self.draws[n].test))} for n in self.counts},
        }


def labelled_profile(profile: Any, labels: int) -> Any:
    """``profile`` with ``sampling.labels = labels`` (checked as a profile value would be)."""
    check_labels(labels, "labels")
    if profile.sampling.mode == "stratified" and profile.sampling.strata > labels:
        raise GMError(f"labels {labels}: fewer labels than sampling.strata ({profile.sampling.strata}); "
                      "use more labels, fewer strata or sampling.mode = random")
    return dataclasses.replace(profile, sampling=dataclasses.replace(profile.sampling, labels=labels))


def parse_counts(text: str) -> tuple[int, ...]:
    """Parse ``"25,50,100"`` into distinct increasing label counts.

    Raises
    ------
    GMError
        Not a comma-separated list of whole numbers, a repeat, or a count below the minimum.
    """
    items = [item.strip() for item in str(text).split(",")]
    if not all(item.isascii() and item.isdigit() for item in items):
        raise GMError(f"labels {text!r}: expected a comma-separated list of numbers of labels, e.g. 25,50,100")
    counts = [int(item) for item in items]
    if len(set(counts)) != len(counts):
        raise GMError(f"labels {text!r}: a number of labels is given twice")
    for count in counts:
        check_labels(count, "labels")
    return tuple(sorted(counts))


def plan_study(profile: Any, counts: Sequence[int]) -> LabelPlan:
    """Draw every N's samples, the common test set, and check them (nothing is probed).

    Raises
    ------
    GMError
        A multi-task profile, a bad count, a common test set below :data:`greenmachine.sampling.few_labels.MIN_TEST`
        networks, or (never expected) a labelled network in the common test set.
    """
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.sampling.samples import draw_samples

    if profile.benchmark.tasks:
        raise GMError("the few-label study designs for one space: give a profile without benchmark.tasks")
    counts = tuple(sorted(set(int(count) for count in counts)))
    if not counts:
        raise GMError("give at least one number of labels")
    benchmark = load_benchmark(profile.space_name)
    dataset = profile.benchmark.datasets[0]
    accuracy = benchmark.accuracy(dataset)
    draws = {count: draw_samples(accuracy, labelled_profile(profile, count).sampling, str(benchmark.source))
             for count in counts}
    common = reduce(np.intersect1d, [draws[count].test for count in counts])
    labelled = [np.union1d(draws[count].search, draws[count].validation) for count in counts]
    if np.isin(common, reduce(np.union1d, labelled)).any():
        raise GMError("a labelled network is in the common test set (the draws are inconsistent)")
    if len(common) < MIN_TEST:
        raise GMError(f"the numbers of labels {', '.join(map(str, counts))} share only {len(common)} test networks "
                      f"(at least {MIN_TEST} needed)")
    nested = all(np.isin(small, large).all() for small, large in zip(labelled, labelled[1:]))
    return LabelPlan(profile, dataset, counts, draws, common, nested, len(accuracy))


def score_runs(plan: LabelPlan, runs: Mapping[int, Sequence[Any]], sink: Callable[[Any], None],
               device: str = "cpu") -> dict[str, Any]:
    """Score every run's proxy and every baseline on the common test set.

    Parameters
    ----------
    plan : LabelPlan
    runs : mapping
        ``N -> run directories`` (completed ``gm run --labels N`` runs, one per evolution seed).
    sink : callable
        Receives the probe events (the networks are cache hits after the runs).

    Returns
    -------
    dict
        ``baselines`` (every bank baseline's Kendall τ / Spearman ρ on the common test),
        ``per_labels`` (per N: each seed's test τ, search / validation τ, formula and run
        energy; mean ± sd over seeds; and the baseline a user would pick with the same N
        labels, the best on all of them, with its test τ).
    """
    from greenmachine.benchmark.tables import load_benchmark
    from greenmachine.evaluation.evaluate import ProbePhase, baseline_rows, score_proxy
    from greenmachine.proxy.tree import tree_from_dict
    from greenmachine.repeats.summary import mean_and_sd
    from greenmachine.rundir.directory import RunDirectory

    profile = plan.profile
    accuracy = load_benchmark(profile.space_name).accuracy(plan.dataset)
    everything = np.union1d(plan.common_test, plan.all_labelled())
    phase = ProbePhase(profile.space_name, profile.probe, device, sink, total=len(everything))
    try:
        table = phase.table(everything, plan.dataset)
    finally:
        phase.close()
    if table is None:
        raise GMError("probing the study's networks was stopped")
    position = {int(index): row for row, index in enumerate(everything)}
    test_table = table.subset(np.array([position[int(i)] for i in plan.common_test]))
    test_accuracy = accuracy[plan.common_test]
    baselines = baseline_rows(test_table, test_accuracy)
    per_labels = {}
    for count in plan.counts:
        labelled = plan.labelled(count)
        on_labels = baseline_rows(table.subset(np.array([position[int(i)] for i in labelled])), accuracy[labelled])
        defined = {name: row["kendall_tau"] for name, row in on_labels.items() if row["kendall_tau"] is not None}
        chosen = max(defined, key=defined.get) if defined else None
        seeds = []
        for run_dir in runs.get(count, ()):
            directory = RunDirectory(run_dir)
            saved = directory.read_best_proxy()
            report = directory.read_report()
            tree = tree_from_dict(saved["tree"], test_table.layer_statistic_names, test_table.network_statistic_names)
            scored = score_proxy(tree, test_table, test_accuracy, device, saved.get("normalise", "none"))
            energy = report.get("energy", {})
            run_test = next(iter(report["test"].values()))  # keyed by dataset (or by task when normalised)
            seeds.append({
                "evolution_seed": int(report["evolution"]["seed"]), "run_dir": str(run_dir),
                "formula": saved.get("simplified") or saved["formula"], "size": int(saved["size"]),
                "search_tau": saved["search_tau"], "validation_tau": saved["validation_tau"],
                "test_tau": scored["kendall_tau"], "test_rho": scored["spearman_rho"],
                "run_test": {"n": run_test["n"], "tau": run_test["evolved"]["kendall_tau"]},
                "energy": run_energy(energy),
            })
        per_labels[str(count)] = {
            "labels": count, "search_n": int(len(plan.draws[count].search)),
            "validation_n": int(len(plan.draws[count].validation)),
            "test_tau": mean_and_sd([seed["test_tau"] for seed in seeds]),
            "seeds": seeds,
            "baseline_chosen_on_labels": None if chosen is None else {
                "name": chosen, "labels_tau": defined[chosen], "test_tau": baselines[chosen]["kendall_tau"],
                "chosen_by": f"Kendall tau on all {count} labelled networks"},
        }
    return {"baselines": baselines, "per_labels": per_labels}


def run_energy(energy: Mapping[str, Any]) -> dict[str, Any]:
    """One run's energy split into its probe (networks not yet cached) and its design (evolution, evaluation).

    ``energy`` is a report's ``energy`` part; joules are ``None`` where energy was not metered.
    """
    from greenmachine.repeats.summary import energy_label

    phases = energy.get("phases", {})

    def total(names: Sequence[str], key: str) -> float | None:
        values = [phases[name].get(key) for name in names if name in phases]
        return None if not values or any(value is None for value in values) else float(sum(values))

    return {
        "how": energy_label(energy.get("methods", {})),
        "networks_computed": int(energy.get("networks_probed", 0)),  # computed, cache hits apart
        "probe_joules": total(["probe"], "energy_joules"), "probe_seconds": total(["probe"], "duration_s"),
        "design_joules": total(["generation", "evaluation"], "energy_joules"),
        "design_seconds": total(["generation", "evaluation"], "duration_s"),
        "run_joules": energy.get("total_joules"),
    }


def energy_summary(per_labels: Mapping[str, Any]) -> str | None:
    """One line: probe cost per computed network and design cost per run, over every run of a study."""
    records = [seed["energy"] for row in per_labels.values() for seed in row["seeds"]]
    if not records:
        return None
    how = ", ".join(sorted({record["how"] for record in records}))
    computed = sum(record["networks_computed"] for record in records)
    probe_seconds = sum(record["probe_seconds"] or 0.0 for record in records)
    probe_joules = [record["probe_joules"] for record in records if record["networks_computed"] > 0]
    design_joules = [record["design_joules"] for record in records]
    design_seconds = [record["design_seconds"] or 0.0 for record in records]
    parts = []
    if computed:
        per_network = (f"{sum(probe_joules) / computed:.1f} J and " if all(j is not None for j in probe_joules) else "")
        parts.append(f"probe: {computed} networks computed, {per_network}{probe_seconds / computed:.2f} s per network")
    design = (f"{sum(design_joules) / len(records):.0f} J and " if all(j is not None for j in design_joules) else "")
    parts.append(f"design (evolution and test evaluation): {design}{sum(design_seconds) / len(records):.1f} s "
                 f"per run, mean of {len(records)} runs")
    return "; ".join(parts) + f" (energy {how})"
