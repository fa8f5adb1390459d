"""``gm search``: strategies, hardware constraints, guides, the run directory, bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from typer.testing import CliRunner

from greenmachine.errors import GMError
from greenmachine.search import SearchSettings, run_search
from greenmachine.search.guides import ScoreBank, resolve_guide
from greenmachine.search.hardware import HardwareError, load_hardware, parse_constraint, pareto_front
from greenmachine.search.strategies import evolution_search, run_strategy, sample_search
from greenmachine.spaces import get_space

pytestmark = pytest.mark.skipif(not os.environ.get("GM_DATA_DIR"), reason="needs GM_DATA_DIR")

SIZE = 15625


def _tss_neighbour():
    from greenmachine.benchmark.tables import load_benchmark

    space = get_space("tss")
    benchmark = load_benchmark(space)
    return lambda index, rng: benchmark.index_of(space.mutate(benchmark.arch(index), rng))


def _by_index(indices):
    """A scorer that knows nothing but the index: higher index, higher score."""
    return np.asarray(indices, dtype=np.float64)


# -- strategies ------------------------------------------------------------------------------


def test_sample_is_deterministic_per_seed_and_returns_the_best_scored():
    feasible = np.ones(SIZE, dtype=bool)
    first = run_strategy("sample", feasible, 30, 4, _by_index)
    again = run_strategy("sample", feasible, 30, 4, _by_index)
    other = run_strategy("sample", feasible, 30, 5, _by_index)
    assert np.array_equal(first.evaluated, again.evaluated)
    assert not np.array_equal(first.evaluated, other.evaluated)
    assert len(set(first.evaluated.tolist())) == 30
    assert first.chosen == first.evaluated.max()
    assert np.array_equal(first.chosen_after, np.maximum.accumulate(first.evaluated))  # the best so far
    smaller = run_strategy("sample", feasible, 10, 4, _by_index)
    assert np.array_equal(smaller.evaluated, first.evaluated[:10])  # a smaller budget: a prefix


def test_evolution_is_deterministic_climbs_and_counts_every_scored_network():
    feasible = np.ones(SIZE, dtype=bool)
    neighbour = _tss_neighbour()
    calls = []

    def scorer(indices):
        calls.append(len(indices))
        return _by_index(indices)

    trace = evolution_search(feasible, 60, np.random.default_rng(1), scorer, neighbour, population=10, sample_size=3)
    again = evolution_search(feasible, 60, np.random.default_rng(1), _by_index, neighbour, population=10, sample_size=3)
    assert np.array_equal(trace.evaluated, again.evaluated)
    assert trace.budget == 60 and sum(calls) == 60 and calls[0] == 10
    assert trace.chosen == trace.evaluated[np.argmax(trace.scores)]
    # the fitness rewards high indices: evolution beats its random initial population
    assert trace.scores.max() > trace.scores[:10].max()


def test_mutation_changes_exactly_one_choice():
    rng = np.random.default_rng(0)
    tss, sss = get_space("tss"), get_space("sss")
    arch = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|nor_conv_1x1~1|none~2|"
    for _ in range(50):
        child = tss.parse(tss.mutate(arch, rng)).operations
        assert sum(a != b for a, b in zip(child, tss.parse(arch).operations)) == 1
        channels = sss.parse(sss.mutate("8:16:24:32:64", rng)).channels
        assert sum(a != b for a, b in zip(channels, (8, 16, 24, 32, 64))) == 1


def test_the_strategy_never_sees_an_accuracy(monkeypatch, tmp_path):
    """True accuracy is read only after every search ended (checked on the call order)."""
    import greenmachine.search.run as search_run
    from greenmachine.benchmark.tables import Benchmark

    order = []
    real_accuracy, real_strategy = Benchmark.accuracy, search_run.run_strategy
    monkeypatch.setattr(Benchmark, "accuracy", lambda self, dataset: order.append("accuracy") or real_accuracy(self, dataset))
    monkeypatch.setattr(search_run, "run_strategy", lambda *a, **k: order.append("search") or real_strategy(*a, **k))
    run_search(SearchSettings(proxy="random", budget=5, compare_seeds=0, energy=False, figures=False),
               lambda event: None, out=tmp_path / "run")
    assert order.count("search") == 1 and order.index("accuracy") > order.index("search")
    import inspect

    for function in (sample_search, evolution_search, run_strategy):
        assert not any("acc" in name for name in inspect.signature(function).parameters)


# -- hardware ---------------------------------------------------------------------------------


def test_constraint_filters_candidates_and_unmeasured_networks_fail_it():
    table = load_hardware(get_space("tss"), "cifar10")
    energy = table.metric("edgegpu_energy")
    mask = parse_constraint("edgegpu_energy<=10").mask(table)
    assert mask.any() and not mask.all()
    assert np.all(energy[mask] <= 10) and np.all(~(energy[~mask] <= 10))
    assert np.array_equal(parse_constraint("cifar10_edgegpu_energy < 10").mask(table), energy < 10)
    latency = table.metric("edgetpu_latency")
    assert np.isnan(latency).any()  # the all-none cell has -1 in the source
    assert not parse_constraint("edgetpu_latency>=-5").mask(table)[np.isnan(latency)].any()
    trace = run_strategy("sample", mask, 40, 0, _by_index)
    assert mask[trace.evaluated].all()
    evolved = run_strategy("evolution", mask, 40, 0, _by_index, _tss_neighbour(), 10, 3)
    assert mask[evolved.evaluated].all()


def test_pareto_front():
    score = np.array([1.0, 3.0, 2.0, 5.0, np.nan, 4.0])
    cost = np.array([1.0, 2.0, 2.0, 5.0, 0.1, 6.0])
    assert pareto_front(score, cost).tolist() == [0, 1, 3]


@pytest.mark.parametrize("text", ["edgegpu_energy=10", "edgegpu_energy<=", "<=3", "edgegpu_energy<=ten", "", "a<=inf"])
def test_malformed_constraint(text):
    with pytest.raises(HardwareError, match="constraint"):
        parse_constraint(text)


# -- guides -------------------------------------------------------------------------------------


def test_score_bank_probes_each_network_once_for_every_guide():
    from greenmachine.stats.table import NetworkStatistics, StatisticTable

    class FakePhase:
        def __init__(self):
            self.asked = []

        def table(self, indices, dataset):
            self.asked.append(list(indices))
            return StatisticTable.from_networks([
                NetworkStatistics(("a",), {"weight_mean": np.array([1.0])},
                                  {"parameter_count": float(i), "naswot": float(-i)}) for i in indices])

    phase = FakePhase()
    guides = [resolve_guide("params"), resolve_guide("naswot"), resolve_guide("random")]
    bank = ScoreBank(phase, "cifar10", guides)
    assert bank.scorer(guides[0], 0)(np.array([3, 1])).tolist() == [3.0, 1.0]
    assert bank.scorer(guides[1], 0)(np.array([1, 3, 7])).tolist() == [-1.0, -3.0, -7.0]
    assert phase.asked == [[1, 3], [7]]
    random_scores = bank.scorer(guides[2], 0)(np.array([1, 3]))
    assert phase.asked == [[1, 3], [7]] and random_scores.shape == (2,)


# -- the run directory and bad input --------------------------------------------------------------


def test_run_directory_contract(tmp_path):
    from greenmachine.events import NetworkFound, RunFinished, RunStarted, SearchProgress
    from greenmachine.rundir.directory import RunDirectory

    out = tmp_path / "run"
    run_search(SearchSettings(proxy="random", budget=8, strategy="evolution", constraint="edgegpu_energy<=20",
                              objective="edgegpu_latency", compare_seeds=0, energy=False), lambda event: None, out=out)
    directory = RunDirectory(out)
    assert directory.is_run_directory() and directory.is_completed()
    assert directory.read_profile().benchmark.space == "tss"
    events = directory.read_events()
    assert isinstance(events[0], RunStarted) and isinstance(events[-1], RunFinished)
    assert events[-1].status == "completed"
    assert any(isinstance(e, SearchProgress) for e in events)
    found = [e for e in events if isinstance(e, NetworkFound)]
    report = directory.read_report()
    assert found[0].accuracy == report["found"]["accuracy"] and found[0].rank == report["found"]["rank"]
    assert report["found"]["rank_feasible"] <= report["found"]["rank"]
    assert report["optimum"]["feasible"]["accuracy"] <= report["optimum"]["space"]["accuracy"]
    assert {row.phase for row in directory.read_energy()} >= {"search", "evaluation", "run"}
    assert report["hardware"]["front"] and all(row["cost"] <= 20 * 10 for row in report["hardware"]["front"])
    for name in ("search_budget", "search_pareto"):
        assert (out / f"{name}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"<svg" in (out / f"{name}.svg").read_bytes()[:2000]
    assert "search_pareto.png" in (out / "report.md").read_text()
    assert json.loads((out / "search.json").read_text())["budget"] == 8


@pytest.mark.parametrize("changes, message", [
    ({"proxy": "no-such-proxy"}, "no proxy"),
    ({"budget": 0}, "budget must be an integer >= 1"),
    ({"budget": SIZE + 1}, "larger than"),
    ({"constraint": "edgegpu_energy<=1"}, "no network"),
    ({"constraint": "edgegpu_power<=1"}, "unknown hardware metric"),
    ({"objective": "watts"}, "unknown hardware metric"),
    ({"constraint": "edgegpu_energy=10"}, "malformed constraint"),
    ({"strategy": "annealing"}, "unknown strategy"),
    ({"dataset": "mnist"}, "unknown dataset"),
])
def test_bad_settings_fail_before_anything_is_written(tmp_path, changes, message):
    settings = {"proxy": "random", "budget": 5, "compare_seeds": 0, "energy": False, **changes}
    with pytest.raises(GMError, match=message):
        run_search(SearchSettings(**settings), lambda event: None, out=tmp_path / "run")
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize("arguments, message", [
    (["--proxy", "nope"], "no proxy"),
    (["--proxy", "random", "--budget", "0"], "--budget"),
    (["--proxy", "random", "--constraint", "edgegpu_energy=<3"], "malformed constraint"),
    (["--proxy", "random", "--objective", "watts"], "unknown hardware metric"),
    (["--proxy", "random", "--space", "sss", "--constraint", "a<=1"], "no hardware cost table"),
])
def test_cli_bad_input_is_one_line(arguments, message):
    from greenmachine.tui.cli import app

    result = CliRunner().invoke(app, ["search", *arguments, "--no-energy"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "Traceback" not in result.output


def test_cli_search_writes_json(tmp_path):
    from greenmachine.tui.cli import app

    result = CliRunner().invoke(app, ["search", "--proxy", "random", "--budget", "4", "--compare-seeds", "0",
                                      "--no-energy", "--out", str(tmp_path / "run"), "--json", str(tmp_path / "r.json")])
    assert result.exit_code == 0, result.output
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["found"]["arch"] in result.output and data["settings"]["budget"] == 4


async def test_tui_replays_a_search_run_directory(tmp_path):
    """``gm tui --open`` on a real search run: the search screen shows its searches and the report's network."""
    import time as clock

    from textual.widgets import RichLog

    from greenmachine.rundir.directory import RunDirectory
    from greenmachine.tui.app import create_app
    from greenmachine.tui.screens import SearchScreen
    from greenmachine.tui.widgets import FoundNetwork, ScorePlot

    out = tmp_path / "run"
    run_search(SearchSettings(proxy="random", budget=6, strategy="evolution", compare_seeds=0, energy=False,
                              figures=False), lambda event: None, out=out)
    report = RunDirectory(out).read_report()
    app = create_app(open_run_dir=out)
    async with app.run_test(size=(120, 36)) as pilot:
        deadline = clock.monotonic() + 60
        text = ""
        while "replayed" not in text:
            assert clock.monotonic() < deadline, text
            await pilot.pause(0.05)
            if isinstance(app.screen, SearchScreen):
                text = "\n".join(strip.text for strip in app.screen.query_one("#log", RichLog).lines)
        assert "found" in text and "true accuracy" in text.replace("\n", " ") and app.is_running
        screen = app.screen
        assert screen.header.status == "completed (replay)"
        found = screen.query_one(FoundNetwork).found
        assert found["arch"] == report["found"]["arch"] and found["space_size"] == SIZE
        progress = [event for event in RunDirectory(out).read_events() if type(event).__name__ == "SearchProgress"]
        assert screen.query_one(ScorePlot).series[("random", 0, 6, 0)] == [(e.evaluated, e.best_score) for e in progress]
        assert progress[-1].evaluated == 6


@pytest.mark.slow
def test_probed_guides_share_the_cache(tmp_path):
    """A baseline-guided search probes real networks; the comparison guides reuse them."""
    from greenmachine.rundir.directory import RunDirectory

    out = tmp_path / "run"
    run_search(SearchSettings(proxy="params", budget=3, compare_seeds=2, compare_budget=2, energy=False,
                              figures=False, cache_dir=str(tmp_path / "cache")), lambda event: None, out=out)
    report = RunDirectory(out).read_report()
    # sampling: seed 0's comparison networks are a prefix of the headline's, so 3 + 2 networks in all
    assert report["probe"]["networks_probed"] == 5
    # the expected total counted each guide's probes; the progress still ends at 5 of 5
    progress = [e for e in RunDirectory(out).read_events() if type(e).__name__ == "ProbeProgress"]
    assert progress[0].total > 5 and (progress[-1].done, progress[-1].total) == (5, 5)
    assert set(report["comparison"]["guides"]) == {"params", "naswot", "synflow", "random"}
    from greenmachine.benchmark.tables import load_benchmark

    benchmark = load_benchmark("tss")
    assert report["found"]["accuracy"] == benchmark.accuracy("cifar10")[report["found"]["index"]]


@pytest.mark.slow  # six searches with their comparisons (~15 s)
def test_every_search_reports_each_step_of_its_best_score_so_far(tmp_path):
    """Headline and comparison searches alike: one event per network that raised the best, then the end."""
    from greenmachine.events import ListSink, SearchProgress

    sink = ListSink()
    run_search(SearchSettings(proxy="params", budget=12, strategy="sample", compare_seeds=2, compare_budget=12,
                              energy=False, figures=False, cache_dir=str(tmp_path / "cache")), sink,
               out=tmp_path / "run")
    searches: list[list] = []
    for event in sink.of_type(SearchProgress):
        if not searches or event.evaluated <= searches[-1][-1].evaluated:
            searches.append([])  # networks scored only grow within a search
        searches[-1].append(event)
    compared = [(events[0].guide, events[0].seed) for events in searches[1:]]
    guides = {guide for guide, _ in compared}
    assert "params" in guides and "random" in guides
    assert sorted(compared) == sorted((guide, seed) for guide in guides for seed in (0, 1))  # each once
    for events in searches:
        assert events[-1].evaluated == events[-1].budget == 12
        steps = [event.best_score for event in events]
        assert steps == sorted(steps) and len(set(steps[:-1])) == len(steps) - 1  # each step raised the best
    # the headline search (seed 0) and the comparison's seed-0 search of the same guide are the same search
    assert [(e.evaluated, e.best_score) for e in searches[0]] == [(e.evaluated, e.best_score) for e in searches[1]]
