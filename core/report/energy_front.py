"""The energy–quality front: Kendall τ against probe energy per network, for every baseline
computed alone by the passes it needs and every designed proxy by the passes its formula needs.

Input: evaluations as ``gm eval PROXY ... --json FILE`` writes them
(:func:`greenmachine.evaluation.evaluate.evaluate_saved_proxy`: the proxy's τ and every
baseline's τ on the same networks). Evaluations of one (space, dataset) make one panel; a
baseline's τ is the mean over the panel's evaluations (their samples differ only by the
networks each proxy's own run left out) and its range is kept. Costs per network come from
the measured pass costs (:func:`greenmachine.probe.costs.probe_cost`): the structure pass plus
every pass the scorer's statistics need, seconds measured, joules as the cost table says
(estimated where there is no RAPL). A point is on the front when no cheaper-or-equal scorer
has a higher τ.

Called by ``gm proxies --plot`` (:mod:`greenmachine.tui.commands.proxy`): :func:`energy_front_panels`,
:func:`panel_lines`, :func:`draw_energy_front`. Never prints.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from greenmachine.errors import GMError


def _proxy_statistics(source: str) -> tuple[str, set[str]]:
    """The proxy's name and the statistics its formula reads, from the evaluation's ``source``."""
    from greenmachine.proxies import load_proxy, shipped_proxy_names

    path = Path(source)
    name = path.stem if path.suffix == ".json" else path.name
    if path.stem == "best_proxy" and path.parent.name:
        name = path.parent.name
    if not path.exists():
        if path.stem not in shipped_proxy_names():
            raise GMError(f"the evaluated proxy file {source} is gone: the passes it needs cannot be told")
        source = path.stem
    return name, set(load_proxy(source).statistics)


def _cost_note(space: str) -> str:
    from greenmachine.probe.costs import space_costs

    return space_costs(space).describe()


def front_names(points: Sequence[Mapping[str, Any]]) -> set[str]:
    """Names of the points with a cost that no cheaper-or-equal point beats on τ."""
    ordered = sorted((p for p in points if p["joules"] is not None), key=lambda p: (p["joules"], -p["tau"]))
    best, kept = float("-inf"), set()
    for point in ordered:
        if point["tau"] > best:
            kept.add(point["name"])
            best = point["tau"]
    return kept


def energy_front_panels(evaluations: Sequence[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """One panel per (space, dataset) of the evaluations: every scorer's τ, cost and front membership.

    Parameters
    ----------
    evaluations : sequence of mapping
        ``gm eval --json`` results (keys ``space``, ``dataset``, ``n``, ``proxy`` with ``source``
        and ``kendall_tau``, ``proxies`` with each baseline's ``kendall_tau``).

    Returns
    -------
    dict
        ``{"space/dataset": {"n": [n of each evaluation], "points": [...]}}``; a point has
        ``name``, ``kind`` (``designed`` or ``baseline``), ``tau`` (a baseline's: the mean over
        the evaluations, with ``range``), ``seconds``, ``joules`` (per network; ``None`` where
        the cost table has no energy), ``passes`` and ``front``; points by increasing energy.

    Raises
    ------
    GMError
        An evaluation without the keys above, a proxy file that is gone, or a space without
        measured pass costs.
    """
    from greenmachine.baselines.published import BASELINES
    from greenmachine.probe.costs import probe_cost

    panels: dict[tuple[str, str], dict[str, Any]] = {}
    for number, evaluation in enumerate(evaluations, start=1):
        try:
            space, dataset, n = str(evaluation["space"]), str(evaluation["dataset"]), int(evaluation["n"])
            proxy, baselines = evaluation["proxy"], evaluation["proxies"]
            source = str(proxy["source"])
        except (KeyError, TypeError, ValueError) as error:
            raise GMError(f"evaluation {number} is not a gm eval result (missing {error})") from None
        panel = panels.setdefault((space, dataset), {"designed": [], "baselines": {}, "n": []})
        panel["n"].append(n)
        name, statistics = _proxy_statistics(source)
        if proxy.get("kendall_tau") is not None:
            cost = probe_cost(statistics, space)
            panel["designed"].append({"name": name, "kind": "designed", "tau": float(proxy["kendall_tau"]),
                                      "seconds": cost.seconds, "joules": cost.joules, "passes": list(cost.passes)})
        for baseline, row in baselines.items():
            if baseline in BASELINES and isinstance(row, Mapping) and row.get("kendall_tau") is not None:
                panel["baselines"].setdefault(baseline, []).append(float(row["kendall_tau"]))
    result: dict[str, dict[str, Any]] = {}
    for (space, dataset), panel in sorted(panels.items()):
        points = list(panel["designed"])
        for baseline, taus in panel["baselines"].items():
            cost = probe_cost([BASELINES[baseline].statistic], space)
            points.append({"name": baseline, "kind": "baseline", "tau": sum(taus) / len(taus),
                           "range": [min(taus), max(taus)], "seconds": cost.seconds, "joules": cost.joules,
                           "passes": list(cost.passes)})
        on_front = front_names(points)
        for point in points:
            point["front"] = point["name"] in on_front
        points.sort(key=lambda p: (float("inf") if p["joules"] is None else p["joules"], -p["tau"]))
        result[f"{space}/{dataset}"] = {"n": panel["n"], "points": points}
    return result


def panel_lines(panels: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The panels as text tables (scorer, kind, passes, s/network, J/network, τ, on the front)."""
    lines: list[str] = []
    for title, panel in panels.items():
        designed = sum(point["kind"] == "designed" for point in panel["points"])
        lines += ["", f"{title}: n = {min(panel['n'])}-{max(panel['n'])} networks per evaluation, {designed} designed "
                  "proxies (τ on each one's own evaluation), baselines: mean τ over the evaluations",
                  f"{'scorer':24s} {'kind':9s} {'passes':32s} {'s/net':>7s} {'J/net':>7s} {'τ':>7s}  front"]
        for point in panel["points"]:
            joules = "–" if point["joules"] is None else f"{point['joules']:.2f}"
            lines.append(f"{point['name']:24s} {point['kind']:9s} {'+'.join(point['passes']):32s} "
                         f"{point['seconds']:7.3f} {joules:>7s} {point['tau']:7.4f}  {'*' if point['front'] else ''}")
    return lines


def draw_energy_front(panels: Mapping[str, Mapping[str, Any]], out: Path) -> Path:
    """Write the figure, one panel per (space, dataset), to ``out`` (``.png`` or ``.svg``)."""
    try:
        import matplotlib.ticker
    except ImportError:
        raise GMError("drawing figures needs matplotlib (pip install 'matplotlib>=3.7')") from None
    from greenmachine.report.figures.context import BASELINE_COLOUR, EVOLVED_COLOUR, new_figure

    if out.suffix.lower() not in (".png", ".svg"):
        raise GMError(f"the figure file must end in .png or .svg, got {out.name}")
    figure, axes = new_figure(5.5 * len(panels), 4.4, ncols=len(panels), squeeze=False)
    for axis, (title, panel) in zip(axes[0], panels.items()):
        for point in panel["points"]:
            if point["joules"] is None:
                continue
            designed = point["kind"] == "designed"
            axis.scatter(point["joules"], point["tau"], marker="*" if designed else "o", s=140 if designed else 40,
                         color=EVOLVED_COLOUR if designed else BASELINE_COLOUR, zorder=3)
            axis.annotate(point["name"], (point["joules"], point["tau"]), fontsize=7, xytext=(3, 3),
                          textcoords="offset points")
        line = [p for p in panel["points"] if p["front"]]
        axis.step([p["joules"] for p in line], [p["tau"] for p in line], where="post", color=EVOLVED_COLOUR, alpha=0.5)
        axis.set_xscale("log")
        axis.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        axis.set_xlabel("probe energy per network, J (log scale)")
        axis.set_ylabel("Kendall τ")
        axis.set_title(f"{title} (n = {min(panel['n'])}-{max(panel['n'])})")
        axis.grid(alpha=0.3)
    figure.text(0.01, 0.005, "pass costs: " + "; ".join(sorted({_cost_note(title.split("/")[0]) for title in panels})),
                fontsize=7, ha="left", va="bottom")
    figure.get_layout_engine().set(rect=(0, 0.04, 1, 0.96))
    out.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(out, dpi=120, metadata={"Software": None} if out.suffix.lower() == ".png" else {"Date": None})
    return out


__all__ = ["draw_energy_front", "energy_front_panels", "front_names", "panel_lines"]
