"""The cost-aware front of a run: validation τ against probe energy per network.

The candidates are the hall of fame plus, for every set of probe passes the search met,
its tree with the best search τ (:meth:`greenmachine.evolution.Evolution.cost_candidates`); each
carries its probe cost (:func:`greenmachine.probe.costs.probe_cost`: the measured cost of the
passes its statistics need, per network). The front keeps the candidates no cheaper one
beats on validation τ. The report names the cheapest candidate within
:data:`TAU_MARGIN` *validation* τ of the best one (never chosen on test τ), with its test τ.

Called by the engine at the end of a run (:func:`cost_section`, written to ``report.json``
and ``cost_front.csv``), by ``greenmachine.report.build`` (:func:`render_cost`) and ``gm run``'s final
output (:func:`summary_lines`), and by the cost-front figure (:func:`pareto_front`).
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

from greenmachine.rundir.rows import HallOfFameRow

#: "Within this much validation τ of the best" when naming the cheapest proxy.
TAU_MARGIN = 0.01


def pareto_front(rows: Sequence[HallOfFameRow]) -> list[HallOfFameRow]:
    """The rows with a known cost that no cheaper-or-equal row beats on validation τ,
    by increasing energy (ties: the higher τ, then the smaller tree)."""
    costed = [row for row in rows if row.probe_joules is not None]
    ordered = sorted(costed, key=lambda row: (row.probe_joules, -row.validation_tau, row.size))
    front: list[HallOfFameRow] = []
    for row in ordered:
        if not front or row.validation_tau > front[-1].validation_tau:
            front.append(row)
    return front


def cheapest_within(rows: Sequence[HallOfFameRow], margin: float = TAU_MARGIN) -> HallOfFameRow | None:
    """The cheapest row (probe joules per network) whose validation τ is within ``margin``
    of the best validation τ among ``rows`` (ties: higher τ, then smaller tree); None when
    no row has a cost."""
    costed = [row for row in rows if row.probe_joules is not None]
    if not costed:
        return None
    best = max(row.validation_tau for row in costed)
    near = [row for row in costed if row.validation_tau >= best - margin]
    return min(near, key=lambda row: (row.probe_joules, -row.validation_tau, row.size))


def _describe(row: HallOfFameRow, test_tau: Mapping[str, float] | None = None) -> dict[str, Any]:
    data = {"formula": row.simplified or row.formula, "size": row.size, "search_tau": row.search_tau,
            "validation_tau": row.validation_tau, "passes": list(row.probe_passes),
            "seconds_per_network": row.probe_seconds, "joules_per_network": row.probe_joules}
    if test_tau is not None:
        data["test_tau"] = dict(test_tau)
    return data


def write_cost_front(directory: Any, entries: Sequence[Any], hall_of_fame: Sequence[HallOfFameRow],
                     best: HallOfFameRow, profile: Any, test_tau: Callable[[Any], Mapping[str, float]],
                     best_test_tau: Mapping[str, float]) -> dict[str, Any] | None:
    """Write ``cost_front.csv`` and return the ``probe_cost`` part of ``report.json``.

    Parameters
    ----------
    directory : RunDirectory
        The run directory.
    entries : sequence of HallOfFameEntry
        The cost-front candidates (:meth:`greenmachine.evolution.Evolution.cost_candidates`).
    hall_of_fame : sequence of HallOfFameRow
        The hall of fame's rows with their probe costs (and simplified formulas).
    best : HallOfFameRow
        The final proxy, with its probe cost.
    profile : Profile
        The run's profile (space, probe batch, ``evolution.cost_weight``).
    test_tau : callable
        ``test_tau(tree) -> {dataset: Kendall τ on the test sample}``, called for the
        cheapest proxy within :data:`TAU_MARGIN` only, after it was chosen on validation.
    best_test_tau : mapping
        The final proxy's test τ per dataset.

    Returns
    -------
    dict or None
        None (and no file) when the space has no measured pass costs.
    """
    from greenmachine.probe.costs import has_costs, space_costs

    space = profile.space_name
    if not has_costs(space) or not entries:
        return None
    table = space_costs(space)
    by_formula = {row.formula: row for row in hall_of_fame}
    trees = {str(entry.tree): entry.tree for entry in entries}
    candidates = [by_formula.get(str(entry.tree)) or HallOfFameRow.from_entry(entry, "", space) for entry in entries]
    directory.write_cost_front(candidates, pareto_front(candidates))
    cheapest = cheapest_within(candidates)
    return {
        "space": space,
        "energy_label": table.energy_label,
        "measured": table.describe(),
        "command": table.context.get("command"),
        "table_batch": table.context.get("batch"),
        "probe_batch": profile.probe.batch_size,
        "bank": {"seconds_per_network": table.bank[0], "joules_per_network": table.bank[1]},
        "cost_weight": profile.evolution.cost_weight,
        "margin": TAU_MARGIN,
        "best": _describe(best, best_test_tau),
        "cheapest_within": None if cheapest is None else _describe(
            cheapest, best_test_tau if cheapest.formula == best.formula else test_tau(trees[cheapest.formula])),
        "hall_of_fame": [_describe(row) for row in hall_of_fame],
        "front": [_describe(row) for row in pareto_front(candidates)],
        "candidates": len(candidates),
    }


def _number(value: Any, digits: int) -> str:
    return "–" if value is None else f"{value:.{digits}f}"


def _taus(values: Mapping[str, float]) -> str:
    return ", ".join(f"{dataset} {value:.4f}" for dataset, value in values.items())


def choice_line(cost: Mapping[str, Any]) -> str:
    """The sentence naming the cheapest proxy within the margin, with its test τ and cost."""
    cheapest, best, label = cost.get("cheapest_within"), cost["best"], cost["energy_label"]
    if cheapest is None:
        return "No formula has a known probe cost."
    head = f"Cheapest proxy within {cost['margin']} validation τ of the best"
    facts = (f"(size {cheapest['size']}, validation τ {cheapest['validation_tau']:.4f}, test τ "
             f"{_taus(cheapest.get('test_tau') or {})}; {_number(cheapest['seconds_per_network'], 3)} s and "
             f"{_number(cheapest['joules_per_network'], 2)} J per network, {label}; passes "
             f"{', '.join(cheapest['passes'])})")
    if cheapest["formula"] == best["formula"]:
        return f"{head}: the final proxy itself, `{cheapest['formula']}` {facts}."
    return (f"{head}: `{cheapest['formula']}` {facts}, against the final proxy's "
            f"{_number(best['joules_per_network'], 2)} J (validation τ {best['validation_tau']:.4f}, test τ "
            f"{_taus(best.get('test_tau') or {})}).")


def render_cost(cost: Mapping[str, Any] | None) -> list[str]:
    """Markdown lines of the report's probe-cost section (none when the run has none)."""
    if not cost:
        return []
    label = cost["energy_label"]
    bank = cost["bank"]
    lines = ["## Probe cost of the formulas", "",
             f"Per network, the passes each formula needs (lazy probing), from the measured pass costs: "
             f"{cost['measured']} (`{cost['command']}`); this run probed at batch {cost['probe_batch']}. "
             f"The whole bank: {_number(bank['seconds_per_network'], 3)} s, "
             f"{_number(bank['joules_per_network'], 2)} J ({label}). Fitness cost weight: {cost['cost_weight']} τ/J.",
             "", f"| size | validation τ | passes | s / network | J / network ({label}) | formula |",
             "|---:|---:|---|---:|---:|---|"]
    for row in cost["hall_of_fame"]:
        formula = row["formula"] if len(row["formula"]) <= 70 else row["formula"][:67] + "..."
        lines.append(f"| {row['size']} | {row['validation_tau']:.4f} | {', '.join(row['passes'])} | "
                     f"{_number(row['seconds_per_network'], 3)} | {_number(row['joules_per_network'], 2)} | "
                     f"`{formula}` |")
    front = ", ".join(f"{_number(row['joules_per_network'], 2)} J → τ {row['validation_tau']:.4f}"
                      for row in cost["front"])
    lines += ["", f"Cost front (validation τ against J per network, {cost['candidates']} candidates: the hall of "
                  f"fame and the best tree of each pass set): {front}.", "", choice_line(cost)]
    return lines


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """``gm run``'s closing lines on probe cost: the hall of fame's costs and the cheapest choice."""
    cost = report.get("probe_cost")
    if not cost:
        return []
    label = cost["energy_label"]
    lines = [f"hall of fame probe cost per network ({label}; {cost['measured']}):",
             f"  {'size':>4s} {'val τ':>7s} {'s/net':>6s} {'J/net':>6s}  passes / formula"]
    for row in cost["hall_of_fame"]:
        formula = row["formula"] if len(row["formula"]) <= 50 else row["formula"][:47] + "..."
        lines.append(f"  {row['size']:4d} {row['validation_tau']:7.4f} {_number(row['seconds_per_network'], 3):>6s} "
                     f"{_number(row['joules_per_network'], 2):>6s}  {','.join(row['passes'])}: {formula}")
    lines.append(choice_line(cost).replace("`", ""))
    return lines
