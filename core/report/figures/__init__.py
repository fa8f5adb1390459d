"""The figures of a run (matplotlib, Agg backend), written as PNG and SVG into its
``figures/`` folder: τ per generation, energy per phase and generation, the held-out test
scatter, the hall of fame's size against τ, and the cost front (validation τ against probe
energy per network).

Called by the engine at the end of a run (``greenmachine.run.controller``; a failure there is a warning
event, never a failed run) and by ``gm plot RUN_DIR`` (both through :func:`greenmachine.report.build.draw_and_embed`). Everything is read through
:class:`greenmachine.rundir.directory.RunDirectory`; matplotlib is imported only when a figure is drawn, so
importing this package is cheap.
"""

from __future__ import annotations

from pathlib import Path

from greenmachine.report.figures import cost_front, energy, hall_of_fame, tau, test_scatter
from greenmachine.rundir.directory import FIGURES_FOLDER, RunDirectory

#: Every figure family, in report order: (module with STEM, CAPTION and draw).
FAMILIES = (tau, energy, test_scatter, hall_of_fame, cost_front)


def draw_run_figures(run_dir: Path, skipped: list[str] | None = None) -> list[Path]:
    """Draw every figure of a run that its files allow.

    Parameters
    ----------
    run_dir : Path
        The run directory.
    skipped : list of str, optional
        Receives one line per figure that could not be drawn, saying why, and one per
        corrupt line of ``events.jsonl`` that was skipped.

    Returns
    -------
    list of Path
        The PNG and SVG files written.

    Raises
    ------
    GMError
        ``run_dir`` is not a run directory, or one of its files is corrupt.
    """
    from greenmachine.errors import GMError
    from greenmachine.report.figures.context import RunFigureData

    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise GMError("drawing figures needs matplotlib (pip install 'matplotlib>=3.7')") from None
    data = RunFigureData.load(run_dir)
    if skipped is not None:
        skipped += [f"events: {problem} (skipped)" for problem in data.problems]
    for _, path in _figure_files(run_dir):  # a redraw leaves no stale figure behind
        path.unlink()
        path.with_suffix(".svg").unlink(missing_ok=True)
    files: list[Path] = []
    for family in FAMILIES:
        result = family.draw(data)
        if isinstance(result, str):
            if skipped is not None:
                skipped.append(f"{family.STEM}: {result}")
        else:
            files += result
    return files


def _figure_files(run_dir: Path) -> list[tuple[str, Path]]:
    """``(caption, PNG path)`` of every figure present in the run's ``figures/``, in report order."""
    folder = RunDirectory(run_dir).file(FIGURES_FOLDER)
    found = []
    for family in FAMILIES:
        for png in sorted(folder.glob(f"{family.STEM}*.png")) if folder.is_dir() else ():
            stem = png.stem
            # only test_scatter has one figure per dataset (test_scatter_<dataset>)
            if stem == family.STEM or stem.startswith(family.STEM + "_") and family is test_scatter:
                suffix = stem[len(family.STEM) + 1:]
                found.append((family.CAPTION + (f" — {suffix}" if suffix else ""), png))
    return found


def figure_links(run_dir: Path) -> list[tuple[str, str]]:
    """``(caption, relative PNG path)`` of every figure present in the run's ``figures/``."""
    return [(caption, f"{FIGURES_FOLDER}/{png.name}") for caption, png in _figure_files(run_dir)]

