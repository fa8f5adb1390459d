"""Pilot tests of the TUI on ``gm search`` run directories, of watching a run still being
written, of the test scatter on a replayed run and of the hall of fame's formula width.

Run directories are written through the project's own writer (``RunDirectory.open_writer``,
``write_test_scores``, the search settings as ``gm search`` stores them); the screens are
driven through the typed messages of :mod:`greenmachine.tui.messages`. No data files are needed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from rich.console import Console
from rich.text import Text
from textual.widgets import RichLog

from greenmachine.events import (
    EnergySample, HallOfFameUpdated, LogMessage, NetworkFound, ProbeProgress, RunFinished, RunStarted, SearchProgress,
)
from greenmachine.rundir.directory import SEARCH_FILE, RunDirectory, TestScoreRow, atomic_write_json
from greenmachine.search import SearchSettings
from greenmachine.tui import messages
from greenmachine.tui.app import create_app
from greenmachine.tui.screens import RunScreen, SearchScreen, TestScatterScreen
from greenmachine.tui.widgets import EnergyPanel, FoundNetwork, HallOfFameTable, ProbeProgress as ProbeWidget, ScorePlot
from greenmachine.tui.widgets import SearchTable

ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"
#: The headline search's best score after each batch of 4 networks.
HEADLINE = [(4, 310.5), (8, 312.25), (12, 312.25), (16, 318.0)]
COMPARISON = {"naswot": [301.0, 305.5], "random": [0.91, 0.97]}


def energy(span: str, phase: str, joules: float) -> EnergySample:
    return EnergySample(span=span, phase=phase, duration_s=2.0, energy_joules=joules, co2_grams=joules / 1e4,
                        cpu_joules=joules, ram_joules=None, gpu_joules=None, gpu_mean_watts=None,
                        methods={"cpu": "estimated (codecarbon CPU-load model)"})


def search_events(run_dir: Path) -> list:
    """What ``gm search --proxy naswot --budget 16 --compare-seeds 2 --compare-budget 8`` emits, in order."""
    events = [RunStarted(run_dir=str(run_dir), profile_name="search-evolution", space="tss", datasets=("cifar10",),
                         sampling_mode="evolution", sample_sizes={"budget": 16, "compare_budget": 8, "compare_seeds": 2},
                         seed=0, device="cpu")]
    for done, score in HEADLINE:
        events.append(ProbeProgress(done=done, total=32, cache_hits=0, networks_per_second=4.0, eta_seconds=1.0))
        events.append(SearchProgress(guide="naswot", seed=0, evaluated=done, budget=16, best_score=score))
    events.append(energy("search", "search", 40.0))
    for seed in (0, 1):
        for guide, scores in COMPARISON.items():
            events.append(SearchProgress(guide=guide, seed=seed, evaluated=8, budget=8, best_score=scores[seed]))
    events += [energy("comparison", "comparison", 20.0),
               NetworkFound(guide="naswot", seed=0, budget=16, index=1234, arch=ARCH, score=318.0, accuracy=93.12,
                            rank=412, rank_feasible=412),
               LogMessage(level="info", message=f"found {ARCH}: true accuracy 93.12, rank 412 of 15625"),
               energy("evaluation", "evaluation", 4.0), energy("run", "run", 70.0)]
    return events


def write_search_dir(folder: Path, events: list) -> RunDirectory:
    """A search run directory as ``gm search`` lays it out: ``search.json`` and ``events.jsonl``."""
    directory = RunDirectory(folder)
    folder.mkdir(parents=True, exist_ok=True)
    settings = SearchSettings(proxy="naswot", budget=16, strategy="evolution", compare_seeds=2, compare_budget=8)
    atomic_write_json(directory.file(SEARCH_FILE), dataclasses.asdict(settings))
    writer = directory.open_writer()
    for event in events:
        writer(event)
    writer.close()
    return directory


async def wait_for(pilot, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not reached in time"
        await pilot.pause(0.02)


def log_text(screen) -> str:
    return "\n".join(strip.text for strip in screen.query_one("#log", RichLog).lines)


def test_search_directory_is_told_apart(tmp_path: Path):
    assert not RunDirectory(tmp_path).is_search()
    write_search_dir(tmp_path, [])
    assert RunDirectory(tmp_path).is_search()


async def test_replay_of_a_search_directory_opens_the_search_screen(tmp_path: Path):
    run_dir = tmp_path / "moved-here"
    events = search_events(tmp_path / "written-there") + [RunFinished(status="completed", run_dir=str(run_dir))]
    write_search_dir(run_dir, events)
    app = create_app(open_run_dir=run_dir)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen) and "replayed" in log_text(app.screen))
        screen = app.screen
        assert app.view is screen and screen.header.status == "completed (replay)"
        assert screen.run_dir == str(run_dir)  # the folder opened, not the one the events name
        plot = screen.query_one(ScorePlot)
        assert plot.guide == "naswot" and plot.guides == ["naswot", "random"]
        assert plot.series[("naswot", 0, 16, 0)] == HEADLINE
        assert [points for key, points in plot.series.items() if key[2] == 8 and key[0] == "naswot"] == [
            [(8, 301.0)], [(8, 305.5)]]
        picture = str(plot.render())
        assert any(0x2800 < ord(c) <= 0x28FF for c in picture) and "headline seed 0 best 318 (16/16)" in picture
        table = screen.query_one(SearchTable)
        assert table.table_rows[0] == ("naswot (headline)", "0", "16/16", "318", "93.12", "412")
        assert [row[:4] for row in table.table_rows[1:]] == [("naswot", "2 (0..1)", "16/16", "303.2"),
                                                             ("random", "2 (0..1)", "16/16", "0.94")]
        found = screen.query_one(FoundNetwork)
        assert found.found["arch"] == ARCH and found.found["accuracy"] == 93.12
        shown = app.export_screenshot()
        assert "93.12" in shown and "|nor_conv_3x3~0|+|" in shown
        panel = screen.query_one(EnergyPanel)
        assert panel.per_phase_joules == {"search": 40.0, "comparison": 20.0, "evaluation": 4.0}
        assert panel.total_sample is not None and panel.total_sample.energy_joules == 70.0
        probe = screen.query_one(ProbeWidget)
        assert (probe.done, probe.total) == (16, 32)
        await pilot.press("g")  # the next guide's searches
        assert plot.guide == "random" and "guide random" in str(plot.border_title)
        await pilot.press("g")
        assert plot.guide == "naswot"


async def test_search_screen_shows_the_messages_it_receives(tmp_path: Path):
    """Progress and a found network posted as messages (as the live sink does) reach the widgets."""
    run_dir = tmp_path / "run"
    write_search_dir(run_dir, search_events(run_dir)[:1])
    app = create_app(open_run_dir=run_dir)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen) and app.state == "watching")
        screen = app.screen
        screen.post_message(messages.message_for(
            SearchProgress(guide="synflow", seed=3, evaluated=5, budget=10, best_score=2.5e30)))
        screen.post_message(messages.message_for(
            SearchProgress(guide="synflow", seed=3, evaluated=10, budget=10, best_score=4.0e30)))
        screen.post_message(messages.EngineNetworkFound(NetworkFound(
            guide="synflow", seed=3, budget=10, index=7, arch=ARCH, score=4.0e30, accuracy=91.5, rank=2000,
            rank_feasible=1500)))
        await wait_for(pilot, lambda: screen.query_one(FoundNetwork).found.get("accuracy") == 91.5)
        plot = screen.query_one(ScorePlot)
        assert plot.series[("synflow", 3, 10, 0)] == [(5, 2.5e30), (10, 4.0e30)]
        assert screen.query_one(SearchTable).table_rows == [("synflow (headline)", "3", "10/10", "4e+30", "91.50", "2000")]
        assert "synflow seed 3: scored 10 networks, best score 4e+30" in log_text(screen)
        assert "1500" in app.export_screenshot()  # the rank under the constraint differs: shown


async def test_a_run_still_being_written_is_watched(tmp_path: Path):
    run_dir = tmp_path / "run"
    events = search_events(run_dir)
    directory = write_search_dir(run_dir, events[:3])
    app = create_app(open_run_dir=run_dir)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: app.state == "watching" and "watching for more" in log_text(app.view))
        screen = app.view
        assert screen.header.status == "watching"
        plot = screen.query_one(ScorePlot)
        assert plot.series == {("naswot", 0, 16, 0): HEADLINE[:1]}
        writer = directory.open_writer()  # the search goes on in "another process"
        for event in events[3:]:
            writer(event)
        line = json.dumps(RunFinished(status="completed", run_dir="x").to_dict()) + "\n"
        with open(directory.file("events.jsonl"), "a", encoding="utf-8") as stream:
            stream.write(line[:20])  # a line being written: not read yet
        await wait_for(pilot, lambda: screen.query_one(FoundNetwork).found.get("arch") == ARCH)
        assert plot.series[("naswot", 0, 16, 0)] == HEADLINE and screen.final_status is None
        with open(directory.file("events.jsonl"), "a", encoding="utf-8") as stream:
            stream.write(line[20:])
        writer.close()
        await wait_for(pilot, lambda: screen.header.status == "completed (replay)")
        assert "replayed" in log_text(screen) and "skipped" not in log_text(screen)


async def test_test_scatter_of_a_replayed_run_directory(tmp_path: Path):
    """A replayed (and moved) evolution run: t opens the test scatter from its test_scores.csv."""
    run_dir = tmp_path / "moved-here"
    directory = RunDirectory(run_dir)
    run_dir.mkdir()
    directory.write_test_scores([TestScoreRow("cifar10", i, f"|a~{i}|", 50.0 + i, float(i), {"naswot": float(i % 7)})
                                 for i in range(20)])
    writer = directory.open_writer()
    for event in (RunStarted(run_dir="runs/elsewhere", profile_name="quick", space="tss", datasets=("cifar10",),
                             sampling_mode="stratified", sample_sizes={"search": 6, "validation": 4, "test": 20},
                             seed=0, device="cpu"),
                  RunFinished(status="completed", run_dir="runs/elsewhere")):
        writer(event)
    writer.close()
    app = create_app(open_run_dir=run_dir)
    async with app.run_test(size=(140, 40)) as pilot:
        await wait_for(pilot, lambda: "replayed" in log_text(app.run_screen))
        assert isinstance(app.screen, RunScreen)
        # the footer shows the key (it is drawn a refresh after the replay's last log line)
        await wait_for(pilot, lambda: "Test scatter" in app.export_screenshot().replace("&#160;", " "), timeout=10.0)
        await wait_for(pilot, lambda: "press t" in log_text(app.run_screen))  # prepared in a worker thread
        assert len(app.run_screen.test_scores) == 20
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TestScatterScreen))
        await pilot.pause(0.2)
        evolved = app.screen.query_one("#scatter-evolved")
        assert evolved.legend == "evolved proxy: Kendall τ = 1.000" and len(evolved.points) == 20
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, RunScreen))


FORTY = "log(|naswot| + snip) * fisher_total + 0.5"


async def test_hall_of_fame_table_shows_whole_formulas_at_140_columns():
    long = "(sum((snip * activation_standard_deviation)) + log(|naswot| + synflow_per_layer_total))"
    app = create_app("quick", autostart=False)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.run_screen
        rows = ({"size": 5, "tau_search": 0.8, "tau_validation": 0.7, "formula": FORTY},
                {"size": 9, "tau_search": 0.85, "tau_validation": 0.75, "formula": long})
        screen.post_message(messages.EngineHallOfFameUpdated(HallOfFameUpdated(rows=rows)))
        await pilot.pause(0.3)
        table = screen.query_one(HallOfFameTable)
        assert len(FORTY) == 41 and table.formula_width >= len(FORTY)
        shown = app.export_screenshot().replace("&#160;", " ")
        assert FORTY in shown  # the ~40-character formula whole, on one line of the table
        wrapped = [line.plain.rstrip() for line in Text(long).wrap(Console(), table.formula_width)]
        assert len(wrapped) >= 2 and all(line in shown for line in wrapped)  # the long one on its row's lines


class FinishingController:
    """Stand-in for ``greenmachine.run.controller.RunController``: starts and completes at once."""

    def __init__(self, profile, sink) -> None:
        self.profile, self.sink = profile, sink

    def run(self) -> str:
        self.sink(RunStarted(run_dir="runs/new", profile_name=self.profile.name, space="tss", datasets=("cifar10",),
                             sampling_mode="random", sample_sizes={"search": 6, "validation": 4, "test": 4}, seed=0,
                             device="cpu"))
        self.sink(RunFinished(status="completed", run_dir="runs/new"))
        return "runs/new"

    def request_stop(self) -> None:
        pass

    def pause(self) -> None:
        pass

    def resume(self) -> None:
        pass


async def test_a_run_started_from_the_search_screen_shows_on_the_run_screen(tmp_path: Path):
    from greenmachine.tui.screens import ProfilePickerScreen

    run_dir = tmp_path / "run"
    write_search_dir(run_dir, search_events(run_dir) + [RunFinished(status="completed", run_dir=str(run_dir))])
    app = create_app(open_run_dir=run_dir, controller_factory=FinishingController)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen) and "replayed" in log_text(app.screen))
        await pilot.press("l")
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePickerScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state == "completed")
        assert app.screen is app.run_screen and app.view is app.run_screen
        assert app.run_screen.header.info["profile"] == app.profile_name
        assert "run completed: runs/new" in log_text(app.run_screen)


# -- the score plot draws a step curve per search --------------------------------------------------------


def plot_rows(plot: ScorePlot, width: int, height: int) -> list[str]:
    """The plot's canvas rows (no legend, axis or x labels) as it draws at ``width`` x ``height``."""
    lines = plot.picture(width, height).plain.splitlines()
    return [line[12:] for line in lines[len(plot._legend(plot.shown())):-1]]


def test_step_points_hold_each_best_until_the_next_network_that_raised_it():
    from greenmachine.tui.widgets.score_plot import step_points

    assert step_points([(1, 5.0), (4, 7.0), (10, 7.0)]) == [(1, 5.0), (4, 5.0), (4, 7.0), (10, 7.0), (10, 7.0)]
    assert step_points([(3, 2.0)]) == [(3, 2.0)]
    corners = step_points([(1, float("nan")), (2, 1.0), (5, 3.0)])  # no best yet: no step into the first
    assert corners[1:] == [(2, 1.0), (5, 1.0), (5, 3.0)]


def test_headline_search_is_a_step_curve(tmp_path: Path):
    """Best 10 after the first network, 30 after the last of 20: flat at 10 to the end, then one step up."""
    plot = ScorePlot()
    plot.add_progress("naswot", 0, 1, 20, 10.0)
    plot.add_progress("naswot", 0, 20, 20, 30.0)
    for width, height in ((60, 14), (80, 20)):
        canvas = plot_rows(plot, width, height)
        lit = [row for row, line in enumerate(canvas) if line.strip()]
        top, bottom = lit[0], lit[-1]
        last = len(canvas[top].rstrip()) - 1
        # the first best holds along the lowest lit row up to the last network (a line would rise at once) ...
        assert canvas[bottom].rstrip()[-1] != " " and canvas[bottom].strip().count(" ") == 0
        assert len(canvas[bottom].strip()) >= 0.9 * (last + 1)
        # ... and the step is one column, lit from that row to the highest one
        assert all(canvas[row][last] != " " for row in range(top, bottom + 1))


def test_comparison_search_with_the_headline_key_is_its_own_series():
    plot = ScorePlot()
    table_like = [("naswot", 0, 1, 25, 3.0), ("naswot", 0, 25, 25, 4.0),  # the headline search
                  ("naswot", 0, 1, 25, 3.0), ("naswot", 0, 25, 25, 4.0),  # comparison seed 0: same key
                  ("naswot", 1, 2, 25, 1.0), ("naswot", 1, 25, 25, 2.0)]
    for guide, seed, evaluated, budget, score in table_like:
        plot.add_progress(guide, seed, evaluated, budget, score)
    assert list(plot.series) == [("naswot", 0, 25, 0), ("naswot", 0, 25, 1), ("naswot", 1, 25, 0)]
    assert all(points == sorted(points) for points in plot.series.values())
    legend = "\n".join(line.plain for line in plot._legend(plot.shown()))
    assert "headline seed 0 best 4 (25/25)" in legend and "2 searches (seeds 0..1, budget 25) best 2..4" in legend


async def test_search_table_tells_a_comparison_with_the_headline_key_apart(tmp_path: Path):
    run_dir = tmp_path / "run"
    write_search_dir(run_dir, search_events(run_dir)[:1])
    app = create_app(open_run_dir=run_dir)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, SearchScreen) and app.state == "watching")
        screen = app.screen
        for seed, evaluated, score in ((0, 5, 1.0), (0, 25, 2.0), (0, 25, 2.0), (1, 25, 3.0)):
            screen.post_message(messages.message_for(
                SearchProgress(guide="naswot", seed=seed, evaluated=evaluated, budget=25, best_score=score)))
        table = screen.query_one(SearchTable)
        await wait_for(pilot, lambda: len(table.table_rows) == 2 and table.table_rows[1][1] == "2 (0..1)")
        assert table.table_rows[0][:4] == ("naswot (headline)", "0", "25/25", "2")
        assert table.table_rows[1][:4] == ("naswot", "2 (0..1)", "50/50", "2.5")
