"""The one lifecycle of every run and search (:mod:`greenmachine.run.lifecycle`).

First the lifecycle alone, on a fake meter and a temporary run directory (no probing): the
event log and the caller's sink see the same events, each stopped span is one energy row,
an error ends the log with a failed ``RunFinished``, an abort first closes the open spans.
Then its two users: a ``gm run`` (a one-task run on the toy space of ``tests/toy_space.py``,
20 networks probed once into a module cache) and a ``gm search`` (the ``random`` guide on the
TSS table, no comparison: nothing probed) start and end their logs the same way, completed or failed.
"""

from __future__ import annotations

import pytest

from greenmachine.energy.testing import FakeMeter
from greenmachine.events import EnergySample, ListSink, LogMessage, RunFinished, RunStarted, SearchProgress
from greenmachine.run.lifecycle import RunLifecycle
from greenmachine.rundir.directory import (
    ENERGY_FILE, EVENTS_FILE, PROFILE_FILE, REPORT_JSON_FILE, REPORT_MD_FILE, SEARCH_FILE, RunDirectory,
)


def _logged(directory: RunDirectory) -> list[dict]:
    return [event.to_dict() for event in directory.read_events()]


def _energy_rows(directory: RunDirectory) -> list[tuple[str, str]]:
    return [(row.span, row.phase) for row in directory.read_energy()]


def _end(event) -> tuple:
    """A ``RunFinished`` without its time."""
    assert isinstance(event, RunFinished)
    return event.status, event.run_dir, event.message


def _spans(events) -> list[tuple[str, str]]:
    return [(event.span, event.phase) for event in events if isinstance(event, EnergySample)]


# -- the lifecycle alone --------------------------------------------------------------------------


def test_a_completed_run_logs_every_event_once_and_each_span_as_one_energy_row(tmp_path):
    sink, meter = ListSink(), FakeMeter()
    with RunLifecycle(sink, meter) as lifecycle:
        directory = RunDirectory.open_or_create(tmp_path / "run", tmp_path, "unused")
        lifecycle.open(directory)
        lifecycle.sink(LogMessage(level="info", message="working"))
        span = lifecycle.start_span("probe", "probe")
        meter.clock.advance(2.0)
        lifecycle.stop_span(span)
        lifecycle.stop_span(lifecycle.run_span)
        lifecycle.finish("completed", "done")
    assert [type(event) for event in sink.events] == [LogMessage, EnergySample, EnergySample, RunFinished]
    assert _logged(directory) == [event.to_dict() for event in sink.events]
    assert _energy_rows(directory) == [("probe", "probe"), ("run", "run")] == _spans(sink.events)
    assert directory.read_energy()[0].duration_s == pytest.approx(2.0)
    assert _end(sink.events[-1]) == ("completed", str(directory.path), "done")
    assert meter.open_spans() == []
    meter.start("still open")  # a plain meter stays the caller's: the lifecycle did not close it


def test_an_error_mid_run_ends_the_log_with_a_failed_run_finished(tmp_path):
    from greenmachine.energy import MeterStartup

    sink, startup = ListSink(), MeterStartup(False)
    directory = RunDirectory(tmp_path / "run")
    with pytest.raises(RuntimeError, match="broke"):
        with RunLifecycle(sink, startup) as lifecycle:
            directory.path.mkdir()
            lifecycle.open(directory, "interrupted; not used")
            lifecycle.stop_span(lifecycle.start_span("probe", "probe"))
            lifecycle.start_span("generation-1", "generation")
            raise RuntimeError("broke")
    assert [_end(event) for event in sink.of_type(RunFinished)] == [("failed", str(directory.path), "RuntimeError: broke")]
    # finished spans keep their rows; the log is closed and reads back whole
    assert _energy_rows(directory) == [("probe", "probe")]
    assert _logged(directory) == [event.to_dict() for event in sink.events]
    with pytest.raises(RuntimeError, match="closed"):
        startup.result().start("after")  # the run owned the meter and closed it


def test_an_abort_closes_the_open_spans_innermost_first_then_fails_the_run(tmp_path):
    sink = ListSink()
    directory = RunDirectory.open_or_create(tmp_path / "run", tmp_path, "unused")
    with pytest.raises(KeyboardInterrupt):
        with RunLifecycle(sink, FakeMeter()) as lifecycle:
            lifecycle.open(directory, "interrupted; continue somehow")
            lifecycle.start_span("generation-1", "generation")
            raise KeyboardInterrupt
    assert _spans(sink.events) == [("generation-1", "generation"), ("run", "run")] == _energy_rows(directory)
    assert _end(sink.events[-1]) == ("failed", str(directory.path), "interrupted; continue somehow")


def test_an_error_before_the_log_opens_writes_nothing(tmp_path):
    sink, meter = ListSink(), FakeMeter()
    with pytest.raises(ValueError):
        with RunLifecycle(sink, meter):
            raise ValueError("no data")
    assert sink.events == [] and list(tmp_path.iterdir()) == []


def test_a_disk_that_refuses_the_last_event_leaves_the_first_error(tmp_path):
    def refusing(event):
        if isinstance(event, RunFinished):
            raise OSError(28, "No space left on device")

    with pytest.raises(RuntimeError, match="broke"):
        with RunLifecycle(refusing, FakeMeter()) as lifecycle:
            lifecycle.open(RunDirectory.open_or_create(tmp_path / "run", tmp_path, "unused"))
            raise RuntimeError("broke")


def test_a_meter_that_cannot_start_writes_nothing(tmp_path):
    from greenmachine.energy import EnergyMeterError, MeterStartup

    with pytest.raises(EnergyMeterError, match="country"):
        with RunLifecycle(ListSink(), MeterStartup(True, "XXX", gpu=False)):
            raise AssertionError("not reached")
    assert list(tmp_path.iterdir()) == []


# -- its users: gm run and gm search -------------------------------------------------------------


@pytest.fixture(scope="module")
def toy_cache(tmp_path_factory):
    from greenmachine.spaces import register_space, unregister_space
    from toy_space import ToySpace, write_table

    folder = tmp_path_factory.mktemp("toy")
    register_space(ToySpace(write_table(folder / "toy.csv.gz", seed=0)))
    yield folder / "cache"
    unregister_space("toy")


def _run(cache, out, sink):
    from greenmachine.run.factory import make_controller
    from greenmachine.settings.profile import profile_from_mapping

    profile = profile_from_mapping({
        "name": "toy-run",
        "benchmark": {"space": "toy", "datasets": ["cifar10"]},
        "sampling": {"mode": "random", "search": 10, "validation": 10, "test": 10, "seed": 0},
        "probe": {"batch_size": 8, "seed": 0, "workers": 1, "cache_dir": str(cache)},
        "evolution": {"population": 8, "generations": 2, "seed": 0, "elitism": 1},
        "energy": {"enabled": False},
        "export": {"simplify_timeout": 0.5},
    }, source="toy-run")
    make_controller(profile, sink, run_dir=out, meter=FakeMeter()).run()


def _search(cache, out, sink):
    from greenmachine.search import SearchSettings, run_search

    run_search(SearchSettings(proxy="random", budget=5, compare_seeds=0, energy=False, figures=False, workers=1,
                              cache_dir=str(cache)), sink, out=out, meter=FakeMeter())


def _break_the_end(kind, monkeypatch):
    """Make the last phase (the run's evaluation, the search's accuracy look-up) fail."""
    def broken(*args, **kwargs):
        raise RuntimeError("lookup broke")

    if kind == "run":
        from greenmachine.run.controller import RunController

        monkeypatch.setattr(RunController, "_evaluate_best", broken)
    else:
        import greenmachine.search.result as result

        monkeypatch.setattr(result, "network_row", broken)


@pytest.fixture(autouse=True)
def no_figures(monkeypatch):
    """Figures are drawn at a run's end and tested elsewhere; here they would only cost time."""
    from greenmachine.run.controller import RunController

    monkeypatch.setattr(RunController, "_draw_figures", lambda self: None)


@pytest.mark.parametrize("kind", ["run", "search"])
def test_a_run_and_a_search_start_and_end_their_logs_alike(kind, toy_cache, tmp_path):
    sink, out = ListSink(), tmp_path / kind
    (_run if kind == "run" else _search)(toy_cache, out, sink)
    directory = RunDirectory(out)
    assert _logged(directory) == [event.to_dict() for event in sink.events]
    first, last_span, last = sink.events[0], sink.events[-2], sink.events[-1]
    assert isinstance(first, RunStarted) and first.run_dir == str(out)
    assert isinstance(last_span, EnergySample) and (last_span.span, last_span.phase) == ("run", "run")
    assert _end(last) == ("completed", str(out), f"report: {out / REPORT_MD_FILE}")
    assert _spans(sink.events) == _energy_rows(directory) and len(_energy_rows(directory)) >= 3
    for name in (PROFILE_FILE, EVENTS_FILE, ENERGY_FILE, REPORT_JSON_FILE, REPORT_MD_FILE):
        assert directory.file(name).is_file(), name
    assert directory.is_search() == (kind == "search")
    if kind == "search":
        assert directory.read_search_settings()["budget"] == 5 and directory.file(SEARCH_FILE).is_file()


@pytest.mark.parametrize("kind", ["run", "search"])
def test_a_run_and_a_search_that_fail_mid_way_end_alike(kind, toy_cache, tmp_path, monkeypatch):
    sink, out = ListSink(), tmp_path / kind
    _break_the_end(kind, monkeypatch)
    with pytest.raises(RuntimeError, match="lookup broke"):
        (_run if kind == "run" else _search)(toy_cache, out, sink)
    directory = RunDirectory(out)
    assert _logged(directory) == [event.to_dict() for event in sink.events]
    assert _end(sink.events[-1]) == ("failed", str(out), "RuntimeError: lookup broke")
    # the spans that ended have their rows; the failed evaluation and the run span do not
    rows = _energy_rows(directory)
    assert rows == _spans(sink.events) and rows and ("run", "run") not in rows
    assert all(phase != "evaluation" for _, phase in rows)
    assert not directory.is_completed()


def test_an_aborted_search_closes_its_spans_as_an_aborted_run_does(toy_cache, tmp_path):
    sink, out = ListSink(), tmp_path / "search"

    def abort_while_searching(event):
        sink(event)
        if isinstance(event, SearchProgress):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        _search(toy_cache, out, abort_while_searching)
    directory = RunDirectory(out)
    assert _energy_rows(directory) == [("search", "search"), ("run", "run")] == _spans(sink.events)
    status, _, message = _end(sink.events[-1])
    assert status == "failed" and message.startswith("interrupted")
