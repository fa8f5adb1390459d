"""Regression tests of the bad-input and fault audit (issue 22): each row ends in one clear
error line and a non-zero exit, or in correct behaviour.

Faults are monkeypatched (an ``OSError`` with ``errno.EROFS`` or ``errno.ENOSPC`` raised by the
write function), not made with ``chmod``: the tests may run as root, where a read-only mode does
not stop a write. Runs are tiny (32 TSS networks, batch 8, 4 generations of 12 trees) and start from the
module's copy of the session's tiny probe cache (``tiny_probe_cache`` in ``tests/conftest.py``),
so their probes are cache hits; the kill tests that count computed networks use their own cache.
"""

from __future__ import annotations

import errno
import math
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenmachine.errors import CacheError, GMError, os_error_line
from greenmachine.rundir.directory import RunDirectory
from greenmachine.tui.cli import app

TINY = [
    "sampling.search=12", "sampling.validation=10", "sampling.test=10", "probe.batch_size=8",
    "evolution.population=12", "evolution.generations=4", "evolution.seed=0", "energy.enabled=false",
]
runner = CliRunner()


def sets(*extra):
    return [part for value in [*TINY, *extra] for part in ("--set", value)]


def one_error_line(result, fragment):
    """The command failed with exit 2 and one ``gm: error:`` line holding ``fragment``, no traceback."""
    assert result.exit_code == 2, (result.exit_code, result.output, result.exception)
    errors = [line for line in result.stderr.splitlines() if line.startswith("gm: error:")]
    assert len(errors) == 1, result.stderr
    assert fragment in errors[0], errors[0]
    assert "Traceback" not in result.output
    return errors[0]


@pytest.fixture(scope="module")
def cache_dir(tiny_probe_cache):
    return tiny_probe_cache


@pytest.fixture(scope="module")
def finished_run(cache_dir, tmp_path_factory):
    """One tiny completed run (it also fills the module's probe cache)."""
    out = tmp_path_factory.mktemp("runs") / "whole"
    result = runner.invoke(app, ["run", "quick", *sets(), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def refuse(error_number):
    """A stand-in for a write function that the system refuses with ``error_number``."""

    def raising(*args, **kwargs):
        raise OSError(error_number, os.strerror(error_number))

    return raising


# -- T4, T5: a read-only or full disk is one line, through one shared formatter ---------------------


def test_os_error_line_names_path_reason_and_what_to_do():
    line = os_error_line(OSError(errno.EROFS, "Read-only file system", "/runs/a/profile.toml"))
    assert line.startswith("cannot write /runs/a/profile.toml: Read-only file system")
    assert "writable folder" in line
    line = os_error_line(OSError(errno.ENOSPC, "No space left on device", "/cache/x.npz"))
    assert "No space left on device" in line and "gm run --resume" in line
    assert "\n" not in os_error_line(OSError(errno.EIO, "Input/output error"))


def test_atomic_write_names_the_file_not_its_temporary(tmp_path, monkeypatch):
    from greenmachine import files

    def mkstemp(dir, prefix, suffix):
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/{prefix}abc{suffix}")

    monkeypatch.setattr(files.tempfile, "mkstemp", mkstemp)
    with pytest.raises(OSError) as caught:
        files.atomic_write_text(tmp_path / "report.json", "{}")
    assert caught.value.errno == errno.EROFS and caught.value.filename == str(tmp_path / "report.json")


def test_read_only_run_folder_is_one_line(cache_dir, tmp_path, monkeypatch):
    from greenmachine import files

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse(errno.EROFS))
    result = runner.invoke(app, ["run", "quick", *sets(), "--out", str(tmp_path / "run")])
    line = one_error_line(result, "Read-only file system")
    assert str(tmp_path / "run" / "profile.toml") in line


def test_read_only_cache_is_one_line(tmp_path, monkeypatch):
    from greenmachine.probe import cache

    monkeypatch.setattr(cache, "atomic_writer", refuse(errno.EROFS))
    result = runner.invoke(app, ["probe", "quick", *sets(f"probe.cache_dir={tmp_path / 'cache'}")])
    one_error_line(result, "Read-only file system")


def test_read_only_search_folder_is_one_line(cache_dir, tmp_path, monkeypatch):
    from greenmachine import files

    monkeypatch.setattr(files.tempfile, "mkstemp", refuse(errno.EROFS))
    result = runner.invoke(app, ["search", "--proxy", "random", "--budget", "3", "--compare-seeds", "0",
                                 "--batch-size", "8", "--workers", "1", "--no-energy", "--out", str(tmp_path / "s")])
    one_error_line(result, "Read-only file system")


@pytest.mark.slow  # a whole run killed or stopped and resumed (~10-25 s)
def test_full_disk_mid_run_is_one_line_and_resume_matches(finished_run, tmp_path, monkeypatch):
    def full(self, state):
        raise OSError(errno.ENOSPC, "No space left on device", str(self.file("checkpoint.json")))

    out = tmp_path / "run"
    with monkeypatch.context() as patch:
        patch.setattr(RunDirectory, "write_checkpoint", full)
        result = runner.invoke(app, ["run", "quick", *sets(), "--out", str(out)])
    one_error_line(result, "No space left on device")
    assert (out / "events.jsonl").read_text().splitlines()[-1].count('"status": "failed"') == 1
    result = runner.invoke(app, ["run", "--resume", str(out)])
    assert result.exit_code == 0, result.output
    best = RunDirectory(out).read_best_proxy()["tree"]
    assert best == RunDirectory(finished_run).read_best_proxy()["tree"]


# -- T6: a cache folder that cannot be one --------------------------------------------------------


def test_cache_dir_that_is_a_file_is_one_line_and_no_run_folder(cache_dir, tmp_path):
    out = tmp_path / "run"
    result = runner.invoke(app, ["run", "quick", *sets("probe.cache_dir=/dev/null"), "--out", str(out)])
    one_error_line(result, "/dev/null is not a folder")
    assert not out.exists()


def test_cache_dir_under_proc_is_one_line():
    from greenmachine.probe.cache import prepare_cache_root

    with pytest.raises(CacheError, match="cannot create the cache folder /proc/"):
        prepare_cache_root("/proc/greenmachine-no-such-folder/cache")


@pytest.mark.parametrize("value", ['" "', '"  "', '" /tmp/cache"'])
def test_blank_cache_dir_is_refused(tmp_path, value, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["probe", "quick", "--set", f"probe.cache_dir={value}"])
    one_error_line(result, "probe.cache_dir must be a folder path")
    assert list(tmp_path.iterdir()) == []


# -- T7: a folder in a cache entry's place ---------------------------------------------------------


def test_cache_entry_that_is_a_folder_is_reported_recomputed_and_left_there(finished_run, cache_dir, tmp_path):
    import shutil

    from greenmachine.probe.cache import ProbeCache

    cache = ProbeCache(tmp_path)
    path = cache.path("tss", 5, "cifar10", 8, 0)
    path.mkdir(parents=True)
    assert cache.load("tss", 5, "cifar10", 8, 0) is None
    assert len(cache.problems) == 1 and "a folder is in its place" in cache.problems[0]
    # a whole probe with such an entry: one warning, the network recomputed, the folder kept
    copy = tmp_path / "copy"
    shutil.copytree(cache_dir, copy)
    entry = next(copy.rglob("*.npz"))
    entry.unlink()
    entry.mkdir()
    result = runner.invoke(app, ["probe", "quick", *sets(f"probe.cache_dir={copy}")])
    assert result.exit_code == 0, result.output
    assert [line for line in result.stderr.splitlines() if "a folder is in its place" in line]
    assert entry.is_dir()


# -- T2 and the empty profile -------------------------------------------------------------------------


@pytest.mark.parametrize("content", [b'name = "caf\xe9"\n', bytes(range(200, 256)), b"", b"# nothing\n\n"])
@pytest.mark.parametrize("command", ["run", "probe", "baselines", "tui"])
def test_profile_that_is_not_utf8_or_empty_is_one_line(tmp_path, content, command):
    path = tmp_path / "profile.toml"
    path.write_bytes(content)
    result = runner.invoke(app, [command, str(path)])
    one_error_line(result, "not a UTF-8 text file" if content and content[0] != ord("#") else "the profile is empty")


# -- T1, E1: the export time limit ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["nan", "inf", "1e30", "-inf", "-1"])
def test_export_timeout_out_of_range_is_one_line(finished_run, value):
    one_error_line(runner.invoke(app, ["export", str(finished_run), "--timeout", value]), "--timeout must be from 0 to")


def test_export_run_refuses_a_timeout_that_is_not_a_number_of_seconds(finished_run):
    from greenmachine.export import export_run

    for value in (math.nan, math.inf, 1e30):
        with pytest.raises(GMError, match="time limit"):
            export_run(finished_run, "text", timeout=value)
    formula = RunDirectory(finished_run).read_best_proxy()["formula"]
    assert formula in export_run(finished_run, "text", timeout=0)  # no time: the formula as it is


# -- W1, L1 and the label of gm eval ----------------------------------------------------------------


def apply(operator, *children):
    return {"kind": "apply", "operator": operator, "children": list(children)}


def proxy_file(finished_run, tmp_path, tree, name="proxy.json"):
    """The finished run's best_proxy.json with another tree (its stored texts left as they were)."""
    import json

    data = RunDirectory(finished_run).read_best_proxy()
    data["tree"] = tree
    path = tmp_path / name
    path.write_text(json.dumps(data))
    return path, data["formula"]


def evaluated(path, tmp_path):
    import json

    out = tmp_path / "eval.json"
    result = runner.invoke(app, ["eval", str(path), "--n", "10", "--json", str(out)])
    assert result.exit_code == 0, result.output
    return result, json.loads(out.read_text())


def evolved_row(stdout):
    return next(line.split() for line in stdout.splitlines() if line.strip().startswith("EVOLVED "))


def power_of_parameter_count(squarings):
    tree = {"kind": "network_statistic", "name": "parameter_count"}
    for _ in range(squarings):
        tree = apply("square", tree)
    return tree


@pytest.mark.parametrize("tree,reason", [
    (power_of_parameter_count(6), "not finite (+inf"),  # parameter_count^64
    (apply("exponential", apply("exponential", {"kind": "network_statistic", "name": "zico"})), "the same"),
])
def test_eval_of_an_overflowing_or_constant_proxy_is_undefined_with_a_warning(finished_run, tmp_path, tree, reason):
    path, _ = proxy_file(finished_run, tmp_path, tree)
    result, data = evaluated(path, tmp_path)
    assert evolved_row(result.stdout)[:3] == ["EVOLVED", "nan", "nan"]  # never the fitness's worst value -1
    assert data["proxy"]["kendall_tau"] is None and data["proxy"]["spearman_rho"] is None
    assert reason in data["proxy"]["undefined"]
    assert any(line.startswith("gm: warning:") and "undefined" in line and reason in line
               for line in result.stderr.splitlines())


def test_undefined_reason_says_which_and_how_many():
    from greenmachine.evaluation.evaluate import undefined_reason

    assert undefined_reason([1.0, 2.0, 3.0]) is None
    assert undefined_reason([1.0, math.inf, -math.inf, math.nan]) == (
        "its scores are not finite (+inf, -inf, nan: an overflow or an undefined operation) on 3 of 4 networks")
    assert undefined_reason([2.5, 2.5]) == "its scores are the same (2.5) on all 2 networks"


def test_eval_of_a_layer_typed_proxy_fails_before_probing(finished_run, tmp_path, monkeypatch):
    from greenmachine.probe.phase import ProbePhase

    def no_probing(*args, **kwargs):
        raise AssertionError("probed before checking the proxy")

    monkeypatch.setattr(ProbePhase, "table", no_probing)
    path, _ = proxy_file(finished_run, tmp_path, {"kind": "layer_statistic", "name": "snip"})
    result = runner.invoke(app, ["eval", str(path), "--n", "10"])
    one_error_line(result, "a proxy must be network-typed at its root; snip is layer-typed")


def test_eval_labels_the_proxy_by_the_tree_it_evaluated(finished_run, tmp_path):
    tree = apply("negative", {"kind": "network_statistic", "name": "parameter_count"})
    path, stored = proxy_file(finished_run, tmp_path, tree)
    result, data = evaluated(path, tmp_path)
    assert "  EVOLVED = -parameter_count" in result.stdout
    assert data["proxy"]["formula"] == "-parameter_count" and data["proxy"].get("simplified") is None
    assert any("is not its tree" in line and repr(stored) in line for line in result.stderr.splitlines())
    # the run's own file: its tree and texts agree, so no warning and its simplified text is the label
    result, data = evaluated(finished_run, tmp_path)
    assert data["warnings"] == [] and "gm: warning" not in result.stderr
    assert data["proxy"]["formula"] == RunDirectory(finished_run).read_best_proxy()["formula"]


# -- W2, W3: energy of a run killed in one part and resumed ------------------------------------------


class Killed(BaseException):
    """Stands in for SIGKILL: not an ``Exception``, so the run writes no run span and no run_finished event."""


def controller_run(run_dir, cache, kill_when=None, resume=False, stop_when=None, abort=False):
    """A tiny run (or its resume) with a fake meter; ``kill_when``/``stop_when`` an event kills/stops it
    (``abort``: ``stop_when`` raises KeyboardInterrupt, as a second Ctrl-C does)."""
    import time

    from greenmachine.energy import FakeMeter
    from greenmachine.run.factory import make_controller, resume_controller
    from greenmachine.events import ListSink
    from greenmachine.settings.profile import load_profile

    sink = ListSink()
    holder = {}

    def watch(event):
        sink(event)
        if kill_when is not None and kill_when(event):
            raise Killed
        if stop_when is not None and stop_when(event):
            if abort:
                raise KeyboardInterrupt
            holder["controller"].request_stop()

    meter = FakeMeter(clock=time.perf_counter)
    if resume:
        controller = resume_controller(run_dir, watch, meter=meter)
    else:
        controller = make_controller(load_profile("quick", [*TINY, f"probe.cache_dir={cache}"]), watch,
                                   run_dir=run_dir, meter=meter)
    holder["controller"] = controller
    try:
        controller.run()
    except Killed:
        pass
    return sink


@pytest.mark.usefixtures("no_figures")
def test_killed_in_evolution_then_resumed_totals_every_part(cache_dir, tmp_path):
    from greenmachine.events import GenerationDone
    from greenmachine.report.build import run_parts

    run_dir = tmp_path / "killed"
    controller_run(run_dir, cache_dir, kill_when=lambda e: isinstance(e, GenerationDone) and e.generation == 2)
    directory = RunDirectory(run_dir)
    assert [row.phase for row in directory.read_energy()] == ["probe", "generation", "generation"]
    controller_run(run_dir, cache_dir, resume=True)
    rows = directory.read_energy()
    first, second = run_parts(rows)
    assert [row.phase for row in first] == ["probe", "generation", "generation"]
    assert second[0].phase == "probe" and second[-1].phase == "run"
    energy = directory.read_report()["energy"]
    phase_rows = sum(row.energy_joules for row in rows if row.phase != "run")
    assert energy["total_joules"] == pytest.approx(sum(row.energy_joules for row in first) + second[-1].energy_joules)
    assert energy["total_joules"] >= phase_rows  # never only the resumed part
    assert energy["phases"]["run"]["energy_joules"] == energy["total_joules"]
    assert energy["phases"]["generation"]["spans"] == 4 and energy["unfinished_parts"] == 1
    assert "1 part(s) of the run were killed before their end" in (run_dir / "report.md").read_text()


@pytest.mark.slow  # a whole run killed or stopped and resumed (~10-25 s)
def test_killed_while_probing_then_resumed_counts_no_own_cache_hits(tmp_path):
    from greenmachine.events import ProbeProgress

    run_dir, cache = tmp_path / "killed", tmp_path / "fresh-cache"
    controller_run(run_dir, cache, kill_when=lambda e: isinstance(e, ProbeProgress) and e.done == 5)
    assert RunDirectory(run_dir).read_energy() == []  # SIGKILL while probing leaves no energy row
    controller_run(run_dir, cache, resume=True)
    energy = RunDirectory(run_dir).read_report()["energy"]
    assert energy["networks_probed"] == 32 and energy["cache_hits"] == 0
    assert energy["unmetered_networks"] == 5 and energy["avoided_by_cache_joules"] == 0
    probe = energy["phases"]["probe"]["energy_joules"]
    assert energy["per_network_probe_joules"] == pytest.approx(probe / 27)  # the 27 networks metered
    text = (run_dir / "report.md").read_text()
    assert "32 networks computed (5 of them in a part of the run killed while probing" in text
    assert "0 cache hits" in text


@pytest.mark.slow  # a whole run killed or stopped and resumed (~10-25 s)
def test_resume_after_a_stop_counts_no_own_cache_hits(tmp_path):
    from greenmachine.events import ProbeProgress

    run_dir, cache = tmp_path / "stopped", tmp_path / "fresh-cache"
    # a stop (Ctrl-C) between networks: the probe span is written, so every network is metered
    controller_run(run_dir, cache, stop_when=lambda e: isinstance(e, ProbeProgress) and e.done == 6)
    counts = RunDirectory(run_dir).probe_counts()
    assert (counts["computed"], counts["unmetered"]) == (6, 0)
    controller_run(run_dir, cache, resume=True)
    energy = RunDirectory(run_dir).read_report()["energy"]
    assert energy["networks_probed"] == 32 and energy["cache_hits"] == 0 and energy["unmetered_networks"] == 0
    assert energy["unfinished_parts"] == 0 and energy["phases"]["run"]["spans"] == 2


# -- W4: gm report with an emptied energy.csv -----------------------------------------------------------


@pytest.mark.parametrize("damage", ["empty", "header", "cut"])
def test_report_with_an_emptied_energy_file_is_refused_and_keeps_the_report(finished_run, tmp_path, damage):
    import shutil

    run_dir = Path(shutil.copytree(finished_run, tmp_path / "run"))
    energy = run_dir / "energy.csv"
    lines = energy.read_text().splitlines(keepends=True)
    energy.write_text({"empty": "", "header": lines[0], "cut": "".join(lines[:3])}[damage])
    before = (run_dir / "report.json").read_bytes(), (run_dir / "report.md").read_bytes()
    line = one_error_line(runner.invoke(app, ["report", str(run_dir)]), "not rewriting the report")
    assert "energy.csv has" in line
    assert ((run_dir / "report.json").read_bytes(), (run_dir / "report.md").read_bytes()) == before


def test_report_without_an_energy_file_keeps_the_recorded_table(finished_run, tmp_path):
    import shutil

    run_dir = Path(shutil.copytree(finished_run, tmp_path / "run"))
    recorded = RunDirectory(run_dir).read_report()["energy"]
    (run_dir / "energy.csv").unlink()
    result = runner.invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert RunDirectory(run_dir).read_report()["energy"] == recorded


def test_report_rebuilt_from_an_intact_energy_file_is_the_same(finished_run, tmp_path):
    import shutil

    run_dir = Path(shutil.copytree(finished_run, tmp_path / "run"))
    recorded = RunDirectory(run_dir).read_report()["energy"]
    result = runner.invoke(app, ["report", str(run_dir)])
    assert result.exit_code == 0, result.output
    assert RunDirectory(run_dir).read_report()["energy"] == recorded


def test_metering_off_says_not_measured_rather_than_over_0_generations(finished_run):
    text = (finished_run / "report.md").read_text()
    assert "over 0 generations" not in text
    assert "Per generation: not measured (4 generations, energy metering off)." in text


# -- W5: gm search --out an existing folder ---------------------------------------------------------------


SEARCH = ["search", "--proxy", "random", "--budget", "3", "--compare-seeds", "0", "--batch-size", "8",
          "--workers", "1", "--no-energy"]


@pytest.fixture(scope="module")
def finished_search(finished_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("searches") / "search"
    result = runner.invoke(app, [*SEARCH, "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


@pytest.mark.parametrize("which", ["finished_run", "finished_search", "a file", "a folder with a file"])
def test_search_into_an_existing_folder_is_refused_and_changes_nothing(request, tmp_path, which):
    if which == "a file":
        out = tmp_path / "file"
        out.write_text("mine\n")
    elif which == "a folder with a file":
        out = tmp_path / "folder"
        out.mkdir()
        (out / "notes.txt").write_text("mine\n")
    else:
        out = request.getfixturevalue(which)

    def contents():
        return {str(p): p.read_bytes() for p in ([out] if out.is_file() else out.rglob("*")) if p.is_file()}

    before = contents()
    line = one_error_line(runner.invoke(app, [*SEARCH, "--out", str(out)]), f"--out {out} exists and is not empty")
    assert "choose another --out" in line
    assert contents() == before


def test_search_into_an_empty_folder_is_fine(finished_run, tmp_path):
    out = tmp_path / "empty"
    out.mkdir()
    result = runner.invoke(app, [*SEARCH, "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert (out / "report.json").is_file()


# -- a model factory that calls sys.exit ----------------------------------------------------------------


@pytest.mark.parametrize("call", ["sys.exit(3)", "sys.exit(130)", "sys.exit(0)", "sys.exit()"])
def test_sys_exit_in_a_model_factory_is_an_error_not_gm_own_exit_status(tmp_path, call):
    model = tmp_path / "model.py"
    model.write_text(f"import sys\n\n\ndef build():\n    {call}\n")
    result = runner.invoke(app, ["score", "--proxy", "tss-cifar10", "--model", f"{model}:build", "--no-energy"])
    line = one_error_line(result, f"{model}:5 called sys.exit(")
    assert "must return or raise" in line


# -- an abort (a second Ctrl-C) while probing ------------------------------------------------------------


@pytest.mark.slow  # a whole run killed or stopped and resumed (~10-25 s)
def test_abort_while_probing_keeps_its_energy_rows_and_last_event(tmp_path):
    from greenmachine.events import ProbeProgress, RunFinished

    run_dir, cache = tmp_path / "aborted", tmp_path / "fresh-cache"

    with pytest.raises(KeyboardInterrupt):
        controller_run(run_dir, cache, stop_when=lambda e: isinstance(e, ProbeProgress) and e.done == 5,
                       abort=True)
    directory = RunDirectory(run_dir)
    assert [row.phase for row in directory.read_energy()] == ["probe", "run"]
    last = directory.read_events(problems=[])[-1]
    assert isinstance(last, RunFinished) and last.status == "failed" and "gm run --resume" in last.message
    controller_run(run_dir, cache, resume=True)
    energy = directory.read_report()["energy"]
    assert (energy["networks_probed"], energy["cache_hits"], energy["unmetered_networks"]) == (32, 0, 0)
    assert energy["unfinished_parts"] == 0 and energy["phases"]["run"]["spans"] == 2
