"""Headless Pilot tests of the Textual TUI (``greenmachine.tui``).

A fake controller emits a scripted event sequence from the engine's worker thread, exactly
as :class:`greenmachine.run.controller.RunController` does; one slow test runs a tiny real run.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from pathlib import Path

import pytest

from greenmachine.events import (
    EnergySample,
    GenerationDone,
    HallOfFameUpdated,
    LogMessage,
    NewBest,
    ProbeProgress,
    RunFinished,
    RunStarted,
)
from greenmachine.tui.app import create_app
from greenmachine.tui.screens import HelpScreen, ProfilePickerScreen
from greenmachine.tui.widgets import EnergyPanel, HallOfFameTable, ProbeProgress as ProbeWidget, ProxyView, TauPlot
from greenmachine.tui.widgets.proxy_view import tree_labels
from textual.widgets import RichLog

def _apply(operator, *children):
    return {"kind": "apply", "operator": operator, "children": list(children)}


# The proxy tree's JSON form (greenmachine.proxy.tree: kind / operator / name / value).
TREE = _apply(
    "add",
    _apply("sum", _apply("multiply", {"kind": "layer_statistic", "name": "snip"},
                         {"kind": "layer_statistic", "name": "activation_standard_deviation"})),
    _apply("add", _apply("logarithm", {"kind": "network_statistic", "name": "naswot"}), {"kind": "constant", "value": 0.5}),
)
FORMULA = "(sum((snip * activation_standard_deviation)) + (log(naswot) + 0.5))"
GEN_TAUS = [(0.41, 0.20, 0.38), (0.55, 0.31, 0.50), (0.62, 0.40, 0.58)]
ENERGY = [("probe", "probe", 10.0, 360.0), ("generation-1", "generation", 2.0, 36.0),
          ("generation-2", "generation", 2.0, 72.0), ("generation-3", "generation", 2.0, 36.0),
          ("evaluation", "evaluation", 1.0, 18.0)]
METHODS = {"cpu": "estimated (codecarbon CPU-load model)", "ram": "estimated (codecarbon RAM model)", "gpu": "not measured"}


def energy_event(span: str, phase: str, seconds: float, joules: float) -> EnergySample:
    return EnergySample(span=span, phase=phase, duration_s=seconds, energy_joules=joules, co2_grams=joules / 3.6e6 * 400,
                        cpu_joules=joules * 0.8, ram_joules=joules * 0.2, gpu_joules=None, gpu_mean_watts=None,
                        methods=METHODS)


class FakeController:
    """Scripted stand-in for ``greenmachine.run.controller.RunController`` (same control interface)."""

    instances: list["FakeController"] = []

    def __init__(self, profile, sink, *, probe_total: int = 6, delay: float = 0.0, fail: Exception | None = None,
                 run_dir: str = "runs/fake") -> None:
        self.profile = profile
        self.sink = sink
        self.probe_total = probe_total
        self.delay = delay
        self.fail = fail
        self.run_dir = run_dir
        self._stop = threading.Event()
        self._unpaused = threading.Event()
        self._unpaused.set()
        self.blocked = threading.Event()
        self.emitted: list = []
        self.thread_ids: set[int] = set()
        FakeController.instances.append(self)

    # control interface
    def request_stop(self) -> None:
        self._stop.set()
        self._unpaused.set()

    def pause(self) -> None:
        self._unpaused.clear()

    def resume(self) -> None:
        self._unpaused.set()

    def _emit(self, event) -> None:
        self.thread_ids.add(threading.get_ident())
        self.emitted.append(event)
        self.sink(event)

    def _checkpoint(self) -> bool:
        """Block while paused (the test watches ``blocked``); True when a stop was requested."""
        if not self._unpaused.is_set():
            self.blocked.set()
            while not self._unpaused.wait(0.01):
                pass
            self.blocked.clear()
        if self.delay:
            time.sleep(self.delay)
        return self._stop.is_set()

    def _finish(self, status: str) -> str:
        self._emit(RunFinished(status=status, run_dir=self.run_dir, message=status))
        return self.run_dir

    def run(self):
        self._emit(RunStarted(run_dir=self.run_dir, profile_name=self.profile.name, space="tss", datasets=("cifar10",),
                              sampling_mode="stratified (equal_width, 10 strata)",
                              sample_sizes={"search": 60, "validation": 40, "test": 100}, seed=0, device="cpu"))
        if self.fail is not None:
            self._emit(LogMessage(level="info", message="about to fail"))
            raise self.fail
        for done in range(1, self.probe_total + 1):
            if self._checkpoint():
                return self._finish("stopped")
            self._emit(ProbeProgress(done=done, total=self.probe_total, cache_hits=done // 2,
                                     networks_per_second=12.5, eta_seconds=(self.probe_total - done) / 12.5))
        self._emit(energy_event(*ENERGY[0]))
        for generation, (best, mean, valid) in enumerate(GEN_TAUS, start=1):
            if self._checkpoint():
                return self._finish("stopped")
            self._emit(energy_event(*ENERGY[generation]))
            self._emit(GenerationDone(generation=generation, generations=3, best_search_tau=best, mean_search_tau=mean,
                                      best_validation_tau=valid, best_size=7, best_formula=FORMULA, seconds=0.1))
            if generation in (1, 3):
                self._emit(NewBest(generation=generation, search_tau=best, validation_tau=valid, size=7,
                                   formula=FORMULA, tree=TREE))
            self._emit(HallOfFameUpdated(rows=tuple(
                {"size": size, "tau_search": best - 0.01 * size, "tau_validation": valid - 0.01 * size,
                 "formula": f"formula of size {size}"} for size in (1, 3, 7)[:generation])))
        self._emit(energy_event(*ENERGY[4]))
        self._emit(energy_event("run", "run", 17.0, 600.0))
        return self._finish("completed")


def factory(**options):
    FakeController.instances.clear()

    def make(profile, sink):
        return FakeController(profile, sink, **options)

    return make


async def wait_for(pilot, predicate, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await pilot.pause(0.02)


def log_text(app) -> str:
    return "\n".join(strip.text for strip in app.run_screen.query_one("#log", RichLog).lines)


def assert_finished_run_shown(app, gens: int = 3, expect_hof: int = 3) -> None:
    screen = app.run_screen
    plot = screen.query_one(TauPlot)
    assert plot.generations == list(range(1, gens + 1))
    assert all(len(values) == gens for values in plot.series.values())
    assert plot.series["best_search"] == [t[0] for t in GEN_TAUS[:gens]]
    assert plot.series["best_validation"] == [t[2] for t in GEN_TAUS[:gens]]
    energy = screen.query_one(EnergyPanel)
    expected_joules = sum(joules for _, _, _, joules in ENERGY)
    assert energy.cumulative_wh == pytest.approx(expected_joules / 3600)
    assert energy.per_phase_joules["generations"] == pytest.approx(144.0)
    assert energy.total_sample is not None and energy.total_sample.energy_joules == 600.0
    assert energy.method == "estimated"
    assert energy.current_watts == pytest.approx(18.0)
    proxy = screen.query_one(ProxyView)
    assert proxy.formula == FORMULA
    for name in ("snip", "activation_standard_deviation", "naswot", "sum", "logarithm", "0.5"):
        assert name in proxy.labels
    root = proxy.query_one("#proxy-tree").root.children[0]
    assert str(root.label) == "add"
    assert [str(node.label) for node in root.children] == ["sum", "add"]
    table = screen.query_one(HallOfFameTable)
    assert table.row_count == expect_hof
    assert [row[0] for row in table.hof_rows] == ["1", "3", "7"][:expect_hof]
    assert table.hof_rows[-1][3] == f"formula of size {(1, 3, 7)[expect_hof - 1]}"


async def test_fake_run_updates_every_widget():
    app = create_app("quick", controller_factory=factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state == "completed")
        screen = app.run_screen
        fake = FakeController.instances[-1]
        assert threading.main_thread().ident not in fake.thread_ids  # engine ran in the worker thread
        assert_finished_run_shown(app)
        probe = screen.query_one(ProbeWidget)
        assert (probe.done, probe.total, probe.cache_hits) == (6, 6, 3)
        assert screen.header.info["profile"] == "quick"
        assert screen.header.info["sampling_mode"].startswith("stratified")
        assert "run completed" in log_text(app)
        assert app.is_running


async def test_pause_blocks_the_engine_and_stop_ends_it_stopped():
    # one event per 50 ms: a run of 20 s unless stopped, without flooding the app with redraws
    app = create_app("quick", controller_factory=factory(probe_total=400, delay=0.05))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: FakeController.instances and len(FakeController.instances[-1].emitted) > 3)
        fake = FakeController.instances[-1]
        await pilot.press("p")
        assert app.state == "paused"
        await wait_for(pilot, fake.blocked.is_set)
        count = len(fake.emitted)
        await pilot.pause(0.3)
        assert len(fake.emitted) == count  # nothing emitted while paused
        await pilot.press("p")
        assert app.state == "running"
        await wait_for(pilot, lambda: len(fake.emitted) > count + 2)
        await pilot.press("x")
        await wait_for(pilot, lambda: app.state == "stopped")
        assert isinstance(fake.emitted[-1], RunFinished) and fake.emitted[-1].status == "stopped"
        assert app.run_screen.final_status == "stopped"
        assert app.run_screen.header.status == "stopped"
        assert app.is_running


async def test_engine_error_is_shown_and_app_keeps_running():
    app = create_app("quick", controller_factory=factory(fail=RuntimeError("probe exploded")))
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state == "failed")
        assert app.run_screen.last_error == "RuntimeError: probe exploded"
        assert "engine error: RuntimeError: probe exploded" in log_text(app)
        assert app.run_screen.header.status == "failed"
        assert any("probe exploded" in str(n.message) for n in app._notifications)
        assert app.is_running
        await pilot.press("question_mark")  # still responds to keys
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("escape")
        # a new run can start after the failure
        app.controller_factory = factory()
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == "completed")


async def test_controller_factory_error_is_shown():
    def broken(profile, sink):
        from greenmachine.errors import GMError

        raise GMError("probe.device is 'cuda' but no CUDA device is available")

    app = create_app("quick", controller_factory=broken)
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state == "failed")
        assert app.run_screen.last_error == "probe.device is 'cuda' but no CUDA device is available"
        assert app.is_running


async def test_replay_of_events_jsonl(tmp_path: Path):
    from greenmachine.events import ListSink

    sink = ListSink()
    FakeController(type("P", (), {"name": "quick"})(), sink, run_dir=str(tmp_path)).run()
    lines = [json.dumps(event.to_dict()) for event in sink.events]
    (tmp_path / "events.jsonl").write_text("\n".join(lines) + "\n{torn line", encoding="utf-8")
    app = create_app(open_run_dir=tmp_path, controller_factory=factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: "replayed" in log_text(app))
        assert_finished_run_shown(app)
        assert app.run_screen.header.status == "completed (replay)"
        assert "skipped" in log_text(app)
        assert FakeController.instances == []  # replay builds no controller
        await pilot.press("e")
        await wait_for(pilot, lambda: app.last_export is not None or "export failed" in log_text(app), timeout=120)
        assert app.last_export is not None, log_text(app)
        # greenmachine.export exports the tree of the last NewBest (no best_proxy.json here)
        exported = tmp_path / "exported_best.txt"
        assert exported.is_file() and "snip" in exported.read_text(encoding="utf-8")
        assert json.loads((tmp_path / "exported_best.json").read_text(encoding="utf-8"))
        assert "def " in (tmp_path / "exported_best.py").read_text(encoding="utf-8")
        assert "exported the best proxy" in log_text(app)


async def test_profile_picker_starts_a_run():
    app = create_app(None, controller_factory=factory())
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: isinstance(app.screen, ProfilePickerScreen))
        await pilot.press("enter")
        await wait_for(pilot, lambda: app.state == "completed")
        assert app.profile_name in ProfilePickerScreen().profiles
        assert_finished_run_shown(app)


async def test_help_panel_and_quit():
    app = create_app("quick", controller_factory=factory(), autostart=False)
    async with app.run_test(size=(100, 30)) as pilot:
        assert app.state == "idle"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        screenshot = app.export_screenshot()
        for word in ("pause", "resume", "export", "quit"):
            assert word in screenshot
        from greenmachine.tui.screens.help import KEYS

        keys = {key for key, _ in KEYS}
        assert {"?" if b.key == "question_mark" else b.key for b in app.BINDINGS} <= keys
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("s")
        await wait_for(pilot, lambda: app.state == "completed")
        await pilot.press("q")
        await pilot.pause(0.1)
    assert not app.is_running


def test_tree_labels_read_the_proxy_tree_form():
    assert tree_labels(TREE) == ["add", "sum", "multiply", "snip", "activation_standard_deviation", "add",
                                 "logarithm", "naswot", "0.5"]
    other = _apply("divide", {"kind": "layer_statistic", "name": "synflow"}, {"kind": "constant", "value": 2.0})
    assert tree_labels(other) == ["divide", "synflow", "2"]
    # a node of another form is shown as unknown, its contents are not guessed at
    assert tree_labels({"kind": "binary", "op": "div", "left": {"kind": "constant", "value": 1.0}}) == ["? (binary)"]


REAL_OVERRIDES = (
    "sampling.search=12", "sampling.validation=10", "sampling.test=10", "probe.batch_size=8",
    "evolution.population=10", "evolution.generations=2", "probe.device=cpu",
)


@pytest.mark.slow
@pytest.mark.real_data
async def test_tiny_real_run_updates_the_widgets(tmp_path: Path, monkeypatch):
    """A real ``quick`` run (32 networks) drives every widget.

    The probe cache lives in the repository's ignored ``.gm_cache/tui-test`` so that only the
    first run pays for probing (minutes on a busy CPU); later runs take seconds.
    """
    monkeypatch.chdir(tmp_path)  # the default controller writes runs/<id> under the cwd
    cache = Path(__file__).resolve().parents[2] / ".gm_cache" / "tui-test"
    overrides = REAL_OVERRIDES + (f"probe.cache_dir={json.dumps(str(cache))}",)
    app = create_app("quick", overrides=overrides)  # the real greenmachine.run.controller.RunController
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_for(pilot, lambda: app.state in ("completed", "failed", "stopped"), timeout=1800)
        screen = app.run_screen
        assert app.state == "completed", screen.last_error
        plot = screen.query_one(TauPlot)
        assert plot.generations == [1, 2]
        assert all(len(values) == 2 for values in plot.series.values())
        probe = screen.query_one(ProbeWidget)
        assert probe.done == probe.total == 32
        energy = screen.query_one(EnergyPanel)
        spans = [e for e in energy.samples if e.phase != "run"]
        assert {e.phase for e in spans} == {"probe", "generation", "evaluation"}
        assert energy.cumulative_wh == pytest.approx(sum(e.energy_joules for e in spans) / 3600)
        assert energy.method in ("measured", "estimated", "mixed")
        proxy = screen.query_one(ProxyView)
        assert proxy.formula and proxy.labels
        import greenmachine.probe  # noqa: F401 - registers the statistic bank
        from greenmachine.probe.registry import statistic_names

        leaves = [label for label in proxy.labels if label in set(statistic_names())]
        assert leaves, proxy.labels  # the tree shows the statistic names
        run_dir = Path(screen.run_dir)
        best = json.loads((run_dir / "best_proxy.json").read_text())
        assert proxy.formula == best["formula"]
        assert tree_labels(best["tree"]) == proxy.labels
        table = screen.query_one(HallOfFameTable)
        assert table.row_count >= 1
        assert (run_dir / "events.jsonl").is_file()
        assert app.is_running


LONG_FORMULA = "(sum((snip * activation_standard_deviation)) + log(|naswot| + synflow_per_layer_total))"


async def test_hall_of_fame_formula_is_readable_at_140_columns():
    from greenmachine.events import HallOfFameUpdated
    from greenmachine.tui import messages

    app = create_app("quick", controller_factory=factory(), autostart=False)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.run_screen
        rows = ({"size": 1, "tau_search": 0.8, "tau_validation": 0.7, "formula": "naswot"},
                {"size": 9, "tau_search": 0.85, "tau_validation": 0.75, "formula": LONG_FORMULA})
        screen.post_message(messages.EngineHallOfFameUpdated(HallOfFameUpdated(rows=rows)))
        await pilot.pause(0.2)
        table = screen.query_one(HallOfFameTable)
        table.focus()
        table.move_cursor(row=1)
        await pilot.pause(0.2)
        shown = str(screen.query_one("#hof-formula").render())
        assert "size 9" in shown and LONG_FORMULA in shown.replace("\n", "")
        assert LONG_FORMULA[:40] in app.export_screenshot().replace("&#160;", " ")


async def test_test_scatter_screen_after_a_finished_run(tmp_path: Path):
    from greenmachine.events import RunFinished
    from greenmachine.rundir.directory import RunDirectory, TestScoreRow
    from greenmachine.tui import messages
    from greenmachine.tui.screens import TestScatterScreen
    from greenmachine.tui.widgets import ScatterPlot

    rows = [TestScoreRow("cifar10", i, f"|a~{i}|", 50.0 + i, float(i), {"naswot": float(-i if i % 3 else i),
                                                                        "params": float(i % 5)})
            for i in range(30)]
    RunDirectory(tmp_path).write_test_scores(rows)
    app = create_app("quick", controller_factory=factory(), autostart=False)
    async with app.run_test(size=(140, 40)) as pilot:
        screen = app.run_screen
        await pilot.press("t")  # nothing to show yet: a notice, no screen
        await pilot.pause(0.1)
        assert not isinstance(app.screen, TestScatterScreen)
        screen.post_message(messages.EngineRunFinished(RunFinished(status="completed", run_dir=str(tmp_path))))
        await wait_for(pilot, lambda: len(screen.test_scores) == 30)
        await pilot.press("t")
        await wait_for(pilot, lambda: isinstance(app.screen, TestScatterScreen))
        await pilot.pause(0.2)
        evolved = app.screen.query_one("#scatter-evolved", ScatterPlot)
        baseline = app.screen.query_one("#scatter-baseline", ScatterPlot)
        assert evolved.legend == "evolved proxy: Kendall τ = 1.000"  # score = accuracy order
        assert baseline.legend.startswith("best baseline params: Kendall τ = ")
        assert len(evolved.points) == 30 and evolved.points[0] == (1.0, 50.0)
        picture = str(evolved.render())
        assert any(0x2800 < ord(c) <= 0x28FF for c in picture) and "rank 1" in picture
        await pilot.press("escape")
        await pilot.pause(0.1)
        assert not isinstance(app.screen, TestScatterScreen)
