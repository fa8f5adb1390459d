"""What every figure of a run needs: the run's data, read once through ``RunDirectory``,
its context line (space, datasets, sample sizes, sampling mode, seeds) and the saver.

Used by the figure modules of ``greenmachine.report.figures`` (called by the engine at the end of a run and
by ``gm plot``). Imports matplotlib only inside functions, with the Agg backend.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from greenmachine.rundir.directory import (
    BEST_PROXY_FILE, COST_FRONT_FILE, FIGURES_FOLDER, HALL_OF_FAME_FILE, RunDirectory,
)

#: Colours used by every figure (colour-blind safe, Okabe-Ito).
EVOLVED_COLOUR = "#0072B2"
BASELINE_COLOUR = "#D55E00"
VALIDATION_COLOUR = "#009E73"
MUTED_COLOUR = "#999999"


@dataclass
class RunFigureData:
    """One run's data for its figures.

    Attributes
    ----------
    directory : RunDirectory
        The run directory.
    profile : Profile
        The run's profile (the context of every figure).
    generations : list of GenerationDone
        The last event of every generation number, in order.
    energy : list of EnergyRow
        Every energy span.
    hall_of_fame : list of HallOfFameRow
        Empty when the run wrote none (it did not complete).
    best_size : int or None
        Size of the chosen proxy (``best_proxy.json``), when written.
    best_formula : str
        Its (simplified) formula, shortened to 60 characters; '' when not written.
    test_scores : list of TestScoreRow
        Empty for a run made before test scores were saved.
    problems : list of str
        Corrupt lines of ``events.jsonl`` that were skipped (one message each).
    cost_front : list of (HallOfFameRow, bool)
        The cost-front candidates and whether each is on the front (``cost_front.csv``);
        empty when the run wrote none.
    """

    directory: RunDirectory
    profile: Any
    generations: list = field(default_factory=list)
    energy: list = field(default_factory=list)
    hall_of_fame: list = field(default_factory=list)
    best_size: int | None = None
    best_formula: str = ""
    test_scores: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    cost_front: list = field(default_factory=list)

    @classmethod
    def load(cls, run_dir: Path) -> "RunFigureData":
        """Read a run directory (a missing or corrupt required file is one GMError line)."""
        from greenmachine.events import GenerationDone

        directory = RunDirectory(run_dir)
        profile = directory.read_profile()
        by_generation, problems = {}, []
        for event in directory.read_events(problems=problems):
            if isinstance(event, GenerationDone):
                by_generation[int(event.generation)] = event
        data = cls(directory, profile, [by_generation[g] for g in sorted(by_generation)], directory.read_energy(),
                   problems=problems)
        if directory.file(HALL_OF_FAME_FILE).is_file():
            data.hall_of_fame = directory.read_hall_of_fame()
        if directory.file(BEST_PROXY_FILE).is_file():
            best = directory.read_best_proxy()
            data.best_size = best["size"] if isinstance(best.get("size"), int) else None
            formula = best.get("simplified") or best.get("formula") or ""
            data.best_formula = formula if len(formula) <= 60 else formula[:57] + "..."
        if directory.has_test_scores():
            data.test_scores = directory.read_test_scores()
        if directory.file(COST_FRONT_FILE).is_file():
            data.cost_front = directory.read_cost_front()
        return data

    def sampling_label(self) -> str:
        """``stratified (equal_width, 10 strata)`` or ``random``."""
        sampling = self.profile.sampling
        if sampling.mode == "stratified":
            return f"stratified ({sampling.stratification}, {sampling.strata} strata)"
        return sampling.mode

    def context(self, dataset: str | None = None, sample: str | None = None) -> str:
        """The context line of a figure: space, dataset(s), n, sampling mode, seeds.

        ``sample`` names the one sample the figure shows (``test``); otherwise the three
        sample sizes are given.
        """
        profile, sampling = self.profile, self.profile.sampling
        datasets = dataset or ", ".join(profile.benchmark.datasets)
        if sample is None:
            sizes = f"n = {sampling.search}/{sampling.validation}/{sampling.test} (search/validation/test)"
        else:
            sizes = f"{sample} n = {getattr(sampling, sample)}"
        return (f"{profile.space_name.upper()} · {datasets} · {sizes} · {self.sampling_label()} · "
                f"seed {sampling.seed} (sampling), {profile.evolution.seed} (evolution)")


def new_figure(width: float, height: float, ncols: int = 1, **options: Any) -> tuple[Any, Any]:
    """A matplotlib figure and its axes on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg", force=True)
    matplotlib.rcParams["svg.fonttype"] = "none"  # SVG text stays text (searchable, selectable)
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), layout="constrained")
    axes = figure.subplots(1, ncols, **options)
    return figure, axes


def set_titles(figure: Any, title: str, context: str, caption: str = "") -> None:
    """The figure's title, its context line under it and an optional caption at the bottom."""
    # about 11 characters per inch at this size: wrap the context line between its parts
    width = max(40, int(figure.get_figwidth() * 11))
    lines: list[str] = []
    for part in context.split(" · "):
        if lines and len(lines[-1]) + 3 + len(part) <= width:
            lines[-1] += " · " + part
        else:
            lines.append(part)
    figure.suptitle(title + "\n" + "\n".join(lines), fontsize=10)
    if caption:
        figure.supxlabel(caption, fontsize=7.5, color="#444444")


def save(figure: Any, directory: RunDirectory, stem: str) -> list[Path]:
    """Write ``figures/<stem>.png`` and ``.svg``; return both paths."""
    folder = directory.file(FIGURES_FOLDER)
    folder.mkdir(parents=True, exist_ok=True)
    png, svg = folder / f"{stem}.png", folder / f"{stem}.svg"
    figure.savefig(png, dpi=150, metadata={"Software": None})
    figure.savefig(svg, metadata={"Date": None})
    return [png, svg]
