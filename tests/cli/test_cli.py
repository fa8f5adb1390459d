"""The gm command line: one clear error line and a non-zero exit on bad input."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from greenmachine.tui.cli import app

runner = CliRunner()


def test_profiles_lists_shipped_profiles():
    result = runner.invoke(app, ["profiles"])
    assert result.exit_code == 0
    assert "quick" in result.output and "sss-cifar100" in result.output


def test_data_check_on_real_folder_passes():
    result = runner.invoke(app, ["data", "check"])
    assert result.exit_code == 0, result.output
    assert "15625 rows" in result.output and "32768 rows" in result.output


def test_data_check_on_empty_folder_fails(tmp_path, monkeypatch):
    monkeypatch.setenv("GM_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["data", "check"])
    assert result.exit_code == 1
    assert "MISSING nats_tss.csv.gz" in result.output


@pytest.mark.parametrize(
    "arguments,fragment",
    [
        (["run", "no-such-profile"], "unknown profile 'no-such-profile'"),
        (["report", "/nonexistent/run"], "not found"),
    ],
)
def test_bad_input_is_one_line_without_traceback(arguments, fragment):
    """In a ``gm`` process of its own, as a user's terminal shows it (interpreter output included).

    One process per command (``baselines``: :func:`test_missing_data_file_is_one_line`); more bad
    input to the same commands is checked in this process below, as starting ``gm run`` costs
    about 1.8 CPU seconds (it imports torch before it reads the profile).
    """
    result = subprocess.run([sys.executable, "-m", "greenmachine.tui.cli", *arguments], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    "arguments,fragment",
    [
        (["run", "quick", "--set", "evolution.populaton=3"], "unknown key evolution.populaton"),
        (["baselines", "quick", "--set", "sampling.strata=0"], "sampling.strata must be >= 1"),
    ],
)
def test_more_bad_input_is_one_line_without_traceback(arguments, fragment, tmp_path, monkeypatch):
    """The same checks on the error stream in this process (an escaping exception would exit 1)."""
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, arguments)
    assert result.exit_code == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_data_file_is_one_line(tmp_path):
    import os

    env = dict(os.environ, GM_DATA_DIR=str(tmp_path))
    result = subprocess.run([sys.executable, "-m", "greenmachine.tui.cli", "baselines", "quick"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert "nats_tss.csv.gz" in result.stderr and str(tmp_path) in result.stderr
    assert "Traceback" not in result.stderr


def test_eval_negative_seed_is_one_line(tmp_path):
    proxy = tmp_path / "best_proxy.json"
    proxy.write_text('{"tree": {"kind": "apply", "operator": "sum", "children": [{"kind": "layer_statistic", "name": "snip"}]}}')
    result = runner.invoke(app, ["eval", str(proxy), "--seed", "-1"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gm: error:") and "seed" in lines[0]


@pytest.mark.parametrize("override", ["sampling.seed=-1", "probe.seed=-1", "evolution.parsimony=nan",
                                      "export.simplify_timeout=inf", "probe.device=cuda:abc"])
def test_run_with_a_bad_override_is_one_line(tmp_path, monkeypatch, override):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["run", "quick", "--set", override])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("gm: error:") and override.split("=")[0] in lines[0]
    assert not (tmp_path / "runs").exists()


def test_eval_of_a_too_deep_proxy_file_is_one_line(tmp_path):
    depth = 5000
    proxy = tmp_path / "best_proxy.json"
    proxy.write_text('{"tree": ' + '{"kind": "apply", "operator": "logarithm", "children": [' * depth
                     + '{"kind": "layer_statistic", "name": "snip"}' + "]}" * depth + "}")
    for command in (["eval", str(proxy)], ["export", str(proxy)]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("gm: error:") and str(proxy) in lines[0]


def test_every_command_gm_lists_is_registered_through_the_one_table():
    import typer.main

    from greenmachine.tui.cli import COMMANDS, DATA_COMMANDS, data_app

    group = typer.main.get_command(app)
    context = group.make_context("gm", [], resilient_parsing=True)
    listed = group.list_commands(context)  # what gm --help lists
    help_text = runner.invoke(app, ["--help"], env={"COLUMNS": "200"}).output
    assert all(name in help_text for name in listed)
    assert listed == [name for name, _ in COMMANDS] + ["data"]
    data_group = group.get_command(context, "data")
    assert data_group.list_commands(context) == [name for name, _ in DATA_COMMANDS]
    for typer_app, table in ((app, COMMANDS), (data_app, DATA_COMMANDS)):
        registered = typer_app.registered_commands
        assert [command.name for command in registered] == [name for name, _ in table]
        for command, (_, function) in zip(registered, table):  # each wrapped once by user_errors
            assert command.callback.reports_user_errors and command.callback.__wrapped__ is function


def test_no_command_module_imports_the_composition():
    import ast
    from pathlib import Path

    import greenmachine.tui.commands as commands

    for path in Path(commands.__file__).parent.glob("*.py"):
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                imported.add(node.module or "")
                imported.update(f"{node.module}.{alias.name}" for alias in node.names)
            elif isinstance(node, ast.Import):
                imported.update(alias.name for alias in node.names)
        assert "greenmachine.tui.cli" not in imported, path.name
