"""Cost-aware proxies: the pass-cost table, each formula's probe cost, the optional cost term
of the fitness (``evolution.cost_weight``), the cost front, its figure and its run file."""

from __future__ import annotations

import random
import xml.etree.ElementTree as ElementTree

import pytest
import torch

from greenmachine.report.cost_front import cheapest_within, pareto_front, render_cost
from greenmachine.errors import GMError, ProfileError
from greenmachine.evolution import Evolution
from greenmachine.probe import costs
from greenmachine.probe.costs import ProbeCost, probe_cost, proxy_cost_rows, space_costs, write_space_costs
from greenmachine.probe.registry import PASSES
from greenmachine.rundir.directory import RunDirectory
from greenmachine.rundir.rows import HallOfFameRow
from greenmachine.settings.profile import Profile, profile_from_mapping

torch.set_num_threads(1)

#: A made-up table: distinct powers of two make every sum of passes tell which passes it has.
PASS_JOULES = {"structure": 1.0, "main": 32.0, "synflow": 2.0, "noise": 8.0, "grasp": 64.0}


@pytest.fixture
def table_path(tmp_path):
    path = tmp_path / "pass_costs.json"
    passes = {name: {"seconds_per_network": joules / 10, "joules_per_network": joules}
              for name, joules in PASS_JOULES.items()}
    context = {"batch": 16, "threads": 1, "networks": 8, "energy_method": {"cpu": "estimated (model)"}}
    write_space_costs("tss", passes, {"seconds_per_network": 4.0, "joules_per_network": 40.0}, context, path)
    return path


def test_probe_cost_sums_the_passes_a_formula_needs(table_path):
    cost = probe_cost({"synflow"}, "tss", table_path)
    assert cost.passes == ("structure", "synflow")
    assert cost.joules == PASS_JOULES["structure"] + PASS_JOULES["synflow"]
    assert cost.seconds == pytest.approx((PASS_JOULES["structure"] + PASS_JOULES["synflow"]) / 10)
    # structure statistics alone cost the structure pass only; several passes add up
    assert probe_cost({"parameter_count"}, "tss", table_path).passes == ("structure",)
    assert probe_cost({"zen_score", "synflow_total"}, "tss", table_path).joules == 1.0 + 2.0 + 8.0
    # the non-finite counter reads every statistic of the default bank: every default pass
    every = probe_cost({"non_finite_value_count"}, "tss", table_path)
    assert every.passes == tuple(sorted({"structure", "main", "synflow", "noise"}))
    assert probe_cost({"grasp"}, "tss", table_path).joules == 1.0 + 64.0


def test_probe_cost_errors_are_one_clear_line(table_path):
    with pytest.raises(GMError, match="no measured pass costs for space 'sss'.*bench_passes.py --space sss --write"):
        probe_cost({"synflow"}, "sss", table_path)
    with pytest.raises(GMError, match="unknown statistic"):
        probe_cost({"not_a_statistic"}, "tss", table_path)
    broken = table_path.with_name("broken.json")
    broken.write_text('{"spaces": {"tss": {"passes": {"main": {"seconds_per_network": 1}}}}}')
    with pytest.raises(GMError, match="lacks the pass"):
        probe_cost({"synflow"}, "tss", broken)


def test_the_shipped_table_has_every_pass_with_its_context():
    for space in ("tss", "sss"):
        table = space_costs(space)
        assert set(PASSES) <= set(table.passes)
        assert all(seconds >= 0 and joules is not None and joules >= 0 for seconds, joules in table.passes.values())
        assert table.context["batch"] == 16 and table.context["threads"] == 1
        assert "bench_passes.py" in table.context["command"] and table.context["date"]
        assert table.energy_label in ("estimated", "measured")


def test_shipped_proxy_costs_against_the_whole_bank():
    from greenmachine.proxies import shipped_proxies

    rows = proxy_cost_rows(shipped_proxies())
    assert {row["name"] for row in rows} == {proxy.name for proxy in shipped_proxies()}
    for row in rows:
        table = space_costs(row["space"])
        assert row["joules"] == pytest.approx(sum(table.passes[name][1] for name in row["passes"]))
        assert row["joules_ratio"] == pytest.approx(row["joules"] / table.bank[1])


# -- the cost term of the fitness ------------------------------------------------------------------

@pytest.fixture(scope="module")
def problem(synthetic_problem):
    """The shared synthetic problem (tests/conftest.py: 80 search / 40 validation networks)."""
    return synthetic_problem


def fake_cost(tree) -> ProbeCost:
    """network_statistic_02 (part of the signal) needs an expensive pass; the rest are cheap."""
    layer, network = tree.statistics()
    passes = {"structure"} | {"main" if name == "network_statistic_02" else "synflow" for name in layer | network}
    return ProbeCost(0.0, sum(PASS_JOULES[name] for name in passes), tuple(sorted(passes)))


def _evolve(problem, settings, probe_cost=None):
    search, search_target, validation, validation_target = problem
    evolution = Evolution(settings, [search], [search_target], [validation], [validation_target], probe_cost=probe_cost)
    while not evolution.finished:
        evolution.step()
    return evolution


def _settings(**evolution):
    base = {"population": 24, "generations": 6, "seed": 1}
    return profile_from_mapping({"evolution": {**base, **evolution}}, "test").evolution


def test_cost_weight_zero_is_bit_identical(problem):
    before = _evolve(problem, _settings())  # no setting, no cost (the code path of earlier runs)
    after = _evolve(problem, _settings(cost_weight=0.0), fake_cost)
    assert [e.to_row() for e in after.hall_of_fame()] == [e.to_row() for e in before.hall_of_fame()]
    assert [(e.search_tau, e.validation_tau) for e in after.hall_of_fame()] == \
        [(e.search_tau, e.validation_tau) for e in before.hall_of_fame()]
    assert after.population == before.population and after.best().tree == before.best().tree
    # the cost front's extra candidates come only with a probe cost
    assert len(after.cost_candidates()) >= len(after.hall_of_fame()) == len(before.cost_candidates())


def test_cost_weight_selects_cheaper_formulas(problem):
    free = _evolve(problem, _settings(), fake_cost)
    cheap = _evolve(problem, _settings(cost_weight=0.02), fake_cost)

    def mean_joules(evolution):
        return sum(fake_cost(tree).joules for tree in evolution.population) / len(evolution.population)

    assert fake_cost(cheap.best().tree).joules < fake_cost(free.best().tree).joules
    assert mean_joules(cheap) < mean_joules(free)
    with pytest.raises(GMError, match="cost_weight > 0 needs the probe cost"):
        _evolve(problem, _settings(cost_weight=0.02))


def test_resume_keeps_the_cost_candidates(problem):
    import json

    search, search_target, validation, validation_target = problem
    settings = _settings(cost_weight=0.01, generations=5)
    whole = _evolve(problem, settings, fake_cost)
    first = Evolution(settings, [search], [search_target], [validation], [validation_target], probe_cost=fake_cost)
    for _ in range(2):
        first.step()
    state = json.loads(json.dumps(first.state_dict()))
    resumed = Evolution.from_state_dict(state, settings, [search], [search_target], [validation], [validation_target],
                                        probe_cost=fake_cost)
    while not resumed.finished:
        resumed.step()
    assert [e.to_row() for e in resumed.cost_candidates()] == [e.to_row() for e in whole.cost_candidates()]
    assert resumed.best().tree == whole.best().tree


@pytest.mark.parametrize("value, message", [
    (-0.1, "evolution.cost_weight must be >= 0"),
    ("cheap", "evolution.cost_weight must be a number"),
    (2.0, "evolution.cost_weight must be <= 1.0"),
])
def test_bad_cost_weight_is_one_clear_error(value, message):
    with pytest.raises(ProfileError, match=message) as caught:
        profile_from_mapping({"evolution": {"cost_weight": value}}, "profile.toml")
    assert "\n" not in str(caught.value)


def test_cost_weight_without_a_table_is_one_clear_error(monkeypatch, tmp_path):
    monkeypatch.setattr(costs, "COSTS_FILE", tmp_path / "none.json")
    with pytest.raises(ProfileError, match="cost_weight > 0: no measured pass costs for space 'tss'"):
        profile_from_mapping({"evolution": {"cost_weight": 0.01}}, "profile.toml")
    assert profile_from_mapping({"evolution": {"cost_weight": 0.0}}, "profile.toml").evolution.cost_weight == 0.0


# -- the front, its file and its figure --------------------------------------------------------------

def _rows(count=40, seed=0):
    rng = random.Random(seed)
    return [HallOfFameRow(size=rng.randint(1, 12), search_tau=round(rng.random(), 4), validation_tau=round(rng.random(), 2),
                          formula=f"formula_{i}", probe_passes=("structure",), probe_seconds=0.1,
                          probe_joules=rng.choice([1.0, 3.0, 9.0, 33.0, 41.0]), probe_energy="estimated")
            for i in range(count)]


def test_pareto_front_is_non_dominated_and_covers_the_rest():
    rows = _rows()
    front = pareto_front(rows)

    def dominates(a, b):
        return (a.probe_joules <= b.probe_joules and a.validation_tau >= b.validation_tau
                and (a.probe_joules < b.probe_joules or a.validation_tau > b.validation_tau))

    assert front and all(not dominates(other, row) for row in front for other in rows)
    assert all(any(dominates(row, other) or row.validation_tau == other.validation_tau
                   and row.probe_joules == other.probe_joules for row in front) for other in rows if other not in front)
    assert [row.probe_joules for row in front] == sorted(row.probe_joules for row in front)


def test_cheapest_within_the_margin_uses_validation_tau():
    rows = _rows(seed=3)
    chosen = cheapest_within(rows, 0.01)
    best = max(row.validation_tau for row in rows)
    near = [row for row in rows if row.validation_tau >= best - 0.01]
    assert chosen in near and chosen.probe_joules == min(row.probe_joules for row in near)
    assert cheapest_within([]) is None


def test_cost_front_file_round_trip_and_figure(tmp_path):
    rows = _rows(12, seed=5)
    directory = RunDirectory(tmp_path)
    directory.write_cost_front(rows, pareto_front(rows))
    back = directory.read_cost_front()
    assert [row for row, _ in back] == rows
    assert [row for row, on in back if on] == pareto_front(rows)
    from greenmachine.report.figures import cost_front
    from greenmachine.report.figures.context import RunFigureData

    data = RunFigureData(directory, Profile(), hall_of_fame=rows[:3], best_size=rows[0].size, cost_front=back)
    files = cost_front.draw(data)
    png, svg = files
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 10_000
    text = svg.read_text()
    assert ElementTree.fromstring(text).tag.endswith("svg") and "estimated" in text
    assert "no cost_front.csv" in cost_front.draw(RunFigureData(directory, Profile()))


def test_old_hall_of_fame_rows_have_no_cost(tmp_path):
    row = HallOfFameRow.from_csv_row({"size": "3", "tau_search": "0.5", "tau_validation": "0.4", "formula": "zico"},
                                     "old.csv")
    assert row.probe_joules is None and row.probe_passes == ()
    with pytest.raises(GMError, match="not a hall-of-fame row"):
        HallOfFameRow.from_csv_row({"size": "3", "tau_search": "0.5", "tau_validation": "0.4", "formula": "zico",
                                    "probe_joules_per_network": "-1"}, "bad.csv")


def test_report_section_names_the_cheapest_with_test_tau():
    cost = {"energy_label": "estimated", "measured": "TSS cifar10, batch 16", "command": "bench", "probe_batch": 16,
            "bank": {"seconds_per_network": 1.0, "joules_per_network": 30.0}, "cost_weight": 0.0, "margin": 0.01,
            "candidates": 2, "hall_of_fame": [], "front": [],
            "best": {"formula": "zico", "size": 1, "validation_tau": 0.8, "joules_per_network": 20.0,
                     "seconds_per_network": 0.7, "passes": ["main"], "test_tau": {"cifar10": 0.75}},
            "cheapest_within": {"formula": "synflow", "size": 1, "validation_tau": 0.795, "joules_per_network": 3.0,
                                "seconds_per_network": 0.1, "passes": ["structure", "synflow"],
                                "test_tau": {"cifar10": 0.7}}}
    text = "\n".join(render_cost(cost))
    assert "`synflow`" in text and "test τ cifar10 0.7000" in text and "3.00 J" in text and "estimated" in text
