"""Faults around the run directory: bad checkpoints, interrupts, resume, corrupt files and
cache entries, and the happy paths of ``gm run``, ``gm eval``, ``gm baselines``, ``gm probe``.

The module's copy of the session's tiny probe cache (``GM_CACHE_DIR``, ``tiny_probe_cache`` in
``tests/conftest.py``) makes every run's probes cache hits; the runs are tiny (32 TSS networks,
batch 8, 4 generations of 12 trees).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenmachine.energy import FakeMeter
from greenmachine.run.factory import make_controller, resume_controller
from greenmachine.errors import GMError
from greenmachine.events import GenerationDone, ListSink, LogMessage, ProbeProgress, RunFinished
from greenmachine.rundir.directory import BEST_PROXY_FILE, CHECKPOINT_FILE, ENERGY_FILE, RunDirectory
from greenmachine.settings.profile import load_profile
from greenmachine.stats.top_metrics import TOP_KEYS
from greenmachine.tui.cli import app

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "sampling.search=12", "sampling.validation=10", "sampling.test=10", "probe.batch_size=8",
    "evolution.population=12", "evolution.generations=4", "evolution.seed=0", "energy.enabled=false",
]
runner = CliRunner()


@pytest.fixture(scope="module")
def cache_dir(tiny_probe_cache):
    return tiny_probe_cache


def tiny_profile(*extra):
    return load_profile("quick", [*TINY, *extra])


def run(run_dir, sink=None, stop_when=None):
    sink = sink or ListSink()
    holder = {}

    def watch(event):
        sink(event)
        if stop_when is not None and stop_when(event):
            holder["controller"].request_stop()

    controller = make_controller(tiny_profile(), watch, run_dir=run_dir, meter=FakeMeter(clock=time.perf_counter))
    holder["controller"] = controller
    return controller.run(), sink


def resume(run_dir, sink=None):
    sink = sink or ListSink()
    resume_controller(run_dir, sink, meter=FakeMeter(clock=time.perf_counter)).run()
    return sink


def outcome(run_dir):
    """What must not depend on interrupts: the best tree and the test taus."""
    directory = RunDirectory(run_dir)
    report = directory.read_report()
    return directory.read_best_proxy()["tree"], {d: r["evolved"] for d, r in report["test"].items()}


@pytest.fixture(scope="module")
def uninterrupted(cache_dir, tmp_path_factory):
    run_dir, _ = run(tmp_path_factory.mktemp("runs") / "whole")
    return run_dir


# -- checkpoint.json of the wrong shape ------------------------------------------------------------


def stopped_after(generation, run_dir):
    run(run_dir, stop_when=lambda e: isinstance(e, GenerationDone) and e.generation == generation)
    return run_dir


@pytest.fixture(scope="module")
def stopped_once(cache_dir, tmp_path_factory):
    """A run stopped after its first generation (copied by the tests that damage it)."""
    return stopped_after(1, tmp_path_factory.mktemp("runs") / "stopped")


def copy_of(run_dir, tmp_path):
    import shutil

    return Path(shutil.copytree(run_dir, tmp_path / "copy"))


@pytest.mark.parametrize("content", ["[1, 2, 3]", '{"evolution": 5}', "{truncated", "\xff\xfe"])
def test_unreadable_checkpoint_is_one_error_before_anything_runs(stopped_once, tmp_path, content):
    run_dir = copy_of(stopped_once, tmp_path)
    (run_dir / CHECKPOINT_FILE).write_text(content, encoding="latin-1")
    before = sorted((p.name, p.stat().st_size) for p in run_dir.iterdir())
    with pytest.raises(GMError, match="checkpoint"):
        resume_controller(run_dir, ListSink())
    assert sorted((p.name, p.stat().st_size) for p in run_dir.iterdir()) == before


@pytest.mark.parametrize(
    "damage",
    [
        lambda state: state.pop("rng"),
        lambda state: state.update(rng=[3, [1, 2], None]),
        lambda state: state.update(rng="abc"),
        lambda state: state.update(population=[{"op": "nope"}]),
        lambda state: state.update(generation="x"),
        lambda state: state.update(best_per_size=[{"tree": 1}]),
    ],
)
def test_checkpoint_of_the_wrong_shape_is_one_gm_error(stopped_once, tmp_path, damage):
    run_dir = copy_of(stopped_once, tmp_path)
    data = json.loads((run_dir / CHECKPOINT_FILE).read_text())
    damage(data["evolution"])
    (run_dir / CHECKPOINT_FILE).write_text(json.dumps(data))
    sink = ListSink()
    with pytest.raises(GMError, match="checkpoint"):
        resume(run_dir, sink)
    assert sink.of_type(RunFinished)[-1].status == "failed"


def test_truncated_checkpoint_error_is_printed_once(stopped_once, tmp_path):
    run_dir = copy_of(stopped_once, tmp_path)
    (run_dir / CHECKPOINT_FILE).write_text('{"evolution": {"format"')
    result = runner.invoke(app, ["run", "--resume", str(run_dir)])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if "checkpoint" in line]
    assert len(lines) == 1 and lines[0].startswith("gm: error:"), result.output


# -- interrupts and resume --------------------------------------------------------------------------


@pytest.mark.usefixtures("no_figures")
def test_stop_during_probe_then_resume_equals_uninterrupted(uninterrupted, tmp_path):
    run_dir = tmp_path / "probe-stop"
    _, sink = run(run_dir, stop_when=lambda e: isinstance(e, ProbeProgress) and e.done == 5)
    assert sink.of_type(RunFinished)[-1].status == "stopped"
    assert not (run_dir / CHECKPOINT_FILE).exists()
    sink = resume(run_dir)
    assert sink.of_type(RunFinished)[-1].status == "completed"
    assert any("sampling and probe" in e.message for e in sink.of_type(LogMessage))
    assert outcome(run_dir) == outcome(uninterrupted)


@pytest.mark.usefixtures("no_figures")
def test_resumed_report_counts_energy_and_time_of_every_part(uninterrupted, tmp_path):
    run_dir = stopped_after(2, tmp_path / "stopped")
    resume(run_dir)
    rows = RunDirectory(run_dir).read_energy()
    run_rows = [row for row in rows if row.phase == "run"]
    assert len(run_rows) == 2
    energy = RunDirectory(run_dir).read_report()["energy"]
    assert energy["phases"]["run"]["spans"] == 2
    assert energy["total_joules"] == pytest.approx(sum(row.energy_joules for row in run_rows), rel=1e-6)
    assert energy["phases"]["run"]["duration_s"] == pytest.approx(sum(row.duration_s for row in run_rows), rel=1e-6)
    assert energy["phases"]["generation"]["spans"] == 4
    assert energy["phases"]["probe"]["spans"] == 2
    assert RunDirectory(run_dir).read_report()["probe"]["networks"] == 64  # 32 networks, probed in each part


def test_resume_of_a_completed_run_is_refused_and_changes_nothing(uninterrupted):
    def contents():  # every file, figures/ included
        return {str(p.relative_to(uninterrupted)): p.read_bytes() for p in uninterrupted.rglob("*") if p.is_file()}

    before = contents()
    result = runner.invoke(app, ["run", "--resume", str(uninterrupted)])
    assert result.exit_code == 2
    assert "completed run" in result.output and len(result.output.strip().splitlines()) == 1
    assert contents() == before


def test_run_that_fails_on_data_leaves_no_run_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("GM_DATA_DIR", str(tmp_path / "empty"))
    run_dir = tmp_path / "never"
    with pytest.raises(GMError, match="nats_tss"):
        make_controller(tiny_profile(), ListSink(), run_dir=run_dir, meter=FakeMeter()).run()
    assert not run_dir.exists()


# -- corrupt files -----------------------------------------------------------------------------------


def test_corrupt_energy_csv_under_gm_report_is_one_line(uninterrupted, tmp_path):
    run_dir = copy_of(uninterrupted, tmp_path)
    text = (run_dir / ENERGY_FILE).read_text().splitlines()
    text[1] = text[1].replace("{", "{{oops")
    (run_dir / ENERGY_FILE).write_text("\n".join(text) + "\n")
    result = runner.invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert "energy.csv" in result.output and "corrupt" in result.output


def test_corrupt_cache_entry_is_one_warning_event_everywhere(uninterrupted, cache_dir, tmp_path):
    entries = sorted(cache_dir.rglob("*.npz"))
    entries[0].write_bytes(b"not a zip file")
    result = runner.invoke(app, ["run", "quick", *sum((["--set", o] for o in TINY), []), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    printed = [line for line in result.output.splitlines() if line.startswith("warning:") and "corrupt" in line]
    assert len(printed) == 1 and str(entries[0]) in printed[0]
    logged = [e for e in RunDirectory(tmp_path / "r").read_events() if isinstance(e, LogMessage) and e.level == "warning"]
    assert len(logged) == 1 and str(entries[0]) in logged[0].message
    asyncio.run(_assert_tui_log_shows(tmp_path / "r", logged[0].message))


async def _assert_tui_log_shows(run_dir, text):
    """The TUI's log shows the warning (replayed through the same messages as a live run)."""
    from textual.widgets import RichLog

    from greenmachine.tui.app import create_app

    app = create_app(open_run_dir=run_dir)
    async with app.run_test(size=(200, 40)) as pilot:
        def shown():
            lines = "".join(strip.text for strip in app.run_screen.query_one("#log", RichLog).lines)
            return "replayed" in lines, lines.replace(" ", "")

        deadline = time.monotonic() + 30
        while not shown()[0] and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert shown()[0]
        assert f"warning:{text}".replace(" ", "") in shown()[1]


# -- gm eval input checks ------------------------------------------------------------------------------


def test_eval_batch_size_zero_is_an_error(uninterrupted):
    result = runner.invoke(app, ["eval", str(uninterrupted), "--batch-size", "0"])
    assert result.exit_code == 2 and "--batch-size must be at least 1" in result.output


def test_eval_bad_probe_seed_is_an_error(uninterrupted):
    result = runner.invoke(app, ["eval", str(uninterrupted), "--probe-seed", "-1"])
    assert result.exit_code == 2 and "--probe-seed must be a whole number" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_eval_unknown_statistic_fails_before_probing(uninterrupted, tmp_path, monkeypatch):
    import greenmachine.probe

    saved = json.loads((uninterrupted / BEST_PROXY_FILE).read_text())
    saved["tree"] = {"kind": "network_statistic", "name": "no_such_statistic"}
    proxy = tmp_path / "proxy.json"
    proxy.write_text(json.dumps(saved))

    def never(*args, **kwargs):
        raise AssertionError("probed before checking the proxy")

    monkeypatch.setattr(greenmachine.probe, "probe_many", never)
    result = runner.invoke(app, ["eval", str(proxy), "--n", "10"])
    assert result.exit_code == 2, result.output
    assert "no_such_statistic" in result.output and len(result.output.strip().splitlines()) == 1


# -- happy paths ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_figures")
def test_gm_run_happy_path(cache_dir, tmp_path):
    result = runner.invoke(app, ["run", "quick", *sum((["--set", o] for o in TINY), []), "--out", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert str(tmp_path / "r") in result.output and "evolved tau" in result.output
    assert RunDirectory(tmp_path / "r").is_completed()


def test_gm_eval_reads_space_and_dataset_from_the_proxy(uninterrupted, tmp_path):
    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["eval", str(uninterrupted), "--n", "10", "--batch-size", "8", "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert (data["space"], data["dataset"], data["n"]) == ("tss", "cifar10", 10)
    assert -1 <= data["proxy"]["kendall_tau"] <= 1 and "naswot" in data["proxies"]
    assert "EVOLVED" in result.output
    # the top-of-ranking figures beside tau and rho: JSON keys, table columns and their note
    assert data["top_sizes"] == {"1%": 1, "5%": 1, "10%": 1}
    for row in [data["proxy"], *data["proxies"].values()]:
        assert set(TOP_KEYS) <= set(row)
        assert row["precision_at_10pct"] is None or 0 <= row["precision_at_10pct"] <= 1
    assert 1 <= data["proxy"]["top1_rank"] <= 10
    assert "P@10%" in result.output and "top-1 acc" in result.output and "(1 / 1 / 1 of the 10 networks)" in result.output


def test_gm_eval_probe_seed_scores_at_another_seed(uninterrupted, tmp_path):
    results = {}
    for option in ([], ["--probe-seed", "1"]):
        out = tmp_path / f"eval{len(option)}.json"
        result = runner.invoke(app, ["eval", str(uninterrupted), "--n", "10", "--batch-size", "8", *option,
                                     "--json", str(out)])
        assert result.exit_code == 0, result.output
        results[len(option)] = json.loads(out.read_text())
    assert results[0]["probe"]["seed"] == 0 and results[2]["probe"]["seed"] == 1
    assert "seed 1" in result.output
    # the same networks, other weights and minibatch: the statistics (so the baselines' taus) move
    assert results[0]["proxies"]["naswot"] != results[2]["proxies"]["naswot"]


def test_gm_baselines_and_probe_happy_path(cache_dir, tmp_path):
    overrides = sum((["--set", o] for o in TINY), [])
    result = runner.invoke(app, ["probe", "quick", *overrides])
    assert result.exit_code == 0, result.output
    assert "probed 32 networks (32 were cached)" in result.output
    out = tmp_path / "baselines.json"
    result = runner.invoke(app, ["baselines", "quick", *overrides, "--json", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["n"] == 10 and data["sample"] == "test" and "synflow" in data["proxies"]
    assert data["top_sizes"] == {"1%": 1, "5%": 1, "10%": 1}
    assert set(TOP_KEYS) <= set(data["proxies"]["synflow"]) and "P@5%" in result.output


# -- SIGINT and SIGKILL of a gm run process -------------------------------------------------------------


def _environment(cache_dir):
    return dict(os.environ, GM_CACHE_DIR=str(cache_dir), PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")


KILL_DURING_WRITE = """
import os, signal, sys
import json
import greenmachine.rundir.directory as rundir
real = rundir.atomic_write_json
count = {"n": 0}
def dying_write(path, data):
    if os.path.basename(str(path)) == rundir.CHECKPOINT_FILE:
        count["n"] += 1
        if count["n"] == int(os.environ["KILL_AT_CHECKPOINT"]):
            # half of the new checkpoint is in its temporary file when the process dies
            text = json.dumps(data)
            with open(os.path.join(os.path.dirname(str(path)), ".checkpoint.json.partial"), "w") as stream:
                stream.write(text[: len(text) // 2])
                stream.flush()
            os.kill(os.getpid(), signal.SIGKILL)
    return real(path, data)
rundir.atomic_write_json = dying_write  # RunDirectory.write_checkpoint writes through it
from greenmachine.tui.cli import app
sys.argv = ["gm"] + sys.argv[1:]
app()
"""


@pytest.mark.slow
def test_sigkill_during_checkpoint_write_then_resume(uninterrupted, cache_dir, tmp_path):
    run_dir = tmp_path / "killed"
    arguments = ["run", "quick", *sum((["--set", o] for o in TINY), []), "--out", str(run_dir)]
    result = subprocess.run([sys.executable, "-c", KILL_DURING_WRITE, *arguments], capture_output=True, text=True,
                            env=dict(_environment(cache_dir), KILL_AT_CHECKPOINT="3"), timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr
    state = json.loads((run_dir / CHECKPOINT_FILE).read_text())
    assert state["evolution"]["generation"] == 2  # nothing lost beyond the generation in progress
    result = subprocess.run([sys.executable, "-m", "greenmachine.tui.cli", "run", "--resume", str(run_dir)], capture_output=True,
                            text=True, env=_environment(cache_dir), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "resumed after generation 2" in result.stderr
    assert outcome(run_dir) == outcome(uninterrupted)


KILL_DURING_CACHE_WRITE = """
import os, signal, sys
import numpy as np
import greenmachine.probe.cache as cache
real = np.savez
count = {"n": 0}
def dying_savez(handle, **arrays):
    count["n"] += 1
    if count["n"] == 6:
        handle.write(b"PK\\x03\\x04 half an entry")
        handle.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real(handle, **arrays)
cache.np.savez = dying_savez
from greenmachine.tui.cli import app
sys.argv = ["gm"] + sys.argv[1:]
app()
"""


@pytest.mark.slow
def test_sigkill_during_cache_write_then_resume(uninterrupted, tmp_path):
    fresh_cache = tmp_path / "cache"
    run_dir = tmp_path / "killed"
    arguments = ["run", "quick", *sum((["--set", o] for o in TINY), []), "--out", str(run_dir)]
    result = subprocess.run([sys.executable, "-c", KILL_DURING_CACHE_WRITE, *arguments], capture_output=True,
                            text=True, env=_environment(fresh_cache), timeout=300)
    assert result.returncode == -signal.SIGKILL, result.stderr
    assert len(list(fresh_cache.rglob("*.npz"))) == 5
    result = subprocess.run([sys.executable, "-m", "greenmachine.tui.cli", "run", "--resume", str(run_dir)], capture_output=True,
                            text=True, env=_environment(fresh_cache), timeout=300)
    assert result.returncode == 0, result.stderr
    assert "5 cached" in result.stderr or "5 cached" in result.stdout
    assert outcome(run_dir) == outcome(uninterrupted)


@pytest.mark.slow
def test_ctrl_c_during_probe_of_gm_run_then_resume(uninterrupted, tmp_path):
    fresh_cache = tmp_path / "cache"
    run_dir = tmp_path / "interrupted"
    arguments = ["run", "quick", *sum((["--set", o] for o in TINY), []), "--out", str(run_dir)]
    process = subprocess.Popen([sys.executable, "-m", "greenmachine.tui.cli", *arguments], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=_environment(fresh_cache))
    deadline = time.monotonic() + 240
    while len(list(fresh_cache.rglob("*.npz"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 3, stderr
    assert f"continue with: gm run --resume {run_dir}" in stderr
    result = subprocess.run([sys.executable, "-m", "greenmachine.tui.cli", "run", "--resume", str(run_dir)], capture_output=True,
                            text=True, env=_environment(fresh_cache), timeout=300)
    assert result.returncode == 0, result.stderr
    assert outcome(run_dir) == outcome(uninterrupted)


def _descendants(pid: int) -> set[int]:
    """Every process below ``pid`` (read from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, stack = set(), [pid]
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads the process tree from /proc")
def test_sigkill_of_gm_run_while_probing_leaves_no_worker_behind(tmp_path):
    """The pool's workers end when their driver is killed; the forkserver and resource tracker then end too."""
    fresh_cache = tmp_path / "cache"
    arguments = ["run", "quick", *sum((["--set", o] for o in TINY), []), "--set", "probe.workers=2",
                 "--out", str(tmp_path / "killed")]
    process = subprocess.Popen([sys.executable, "-m", "greenmachine.tui.cli", *arguments], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=_environment(fresh_cache))
    deadline = time.monotonic() + 240
    while len(list(fresh_cache.rglob("*.npz"))) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    helpers = _descendants(process.pid)
    assert len(helpers) >= 3  # forkserver, resource tracker, workers
    process.kill()
    process.wait()
    deadline = time.monotonic() + 30
    while any(_alive(pid) for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [pid for pid in helpers if _alive(pid)]
