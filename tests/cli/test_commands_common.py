"""What every command shares (:mod:`greenmachine.tui.commands.common`): one error line per user error,
and a bad argument named by the option that carried it.

Core names a bad argument by its keyword (:class:`greenmachine.errors.ArgumentError`, what a
Python caller wrote); ``user_errors`` renders the same line with the command's option.
"""

from __future__ import annotations

import pickle
from typing import Annotated, Optional

import pytest
import typer
from typer.testing import CliRunner

from greenmachine.errors import ArgumentError, GMError
from greenmachine.tui.cli import app
from greenmachine.tui.commands.common import option_names, user_errors

runner = CliRunner()


def _command(error: Exception):
    """A command of a throw-away app that raises ``error``, with options named and unnamed."""

    def command(
        batch_size: Annotated[Optional[int], typer.Option("--batch-size")] = None,
        probe_seed: Annotated[Optional[int], typer.Option()] = None,
        energy: Annotated[bool, typer.Option("--energy/--no-energy")] = True,
        source: Annotated[Optional[str], typer.Argument()] = None,
    ) -> None:
        raise error

    return command


def _run(error: Exception):
    throwaway = typer.Typer()
    throwaway.command("fail")(user_errors(_command(error)))
    throwaway.command("other")(lambda: None)  # two commands: "fail" stays a subcommand
    return runner.invoke(throwaway, ["fail"])


def test_option_names_follow_typer():
    assert option_names(_command(GMError())) == {"batch_size": "--batch-size", "probe_seed": "--probe-seed",
                                                 "energy": "--energy"}


@pytest.mark.parametrize("error, python_line, command_line", [
    (ArgumentError("{0} must be at least 1", "batch_size"), "batch_size must be at least 1",
     "--batch-size must be at least 1"),
    (ArgumentError("give either {0} or {1}, not both", "probe_seed", "energy"), "give either probe_seed or energy, not both",
     "give either --probe-seed or --energy, not both"),
    # an argument the command has no option for keeps its keyword; braces in a value stay as they are
    (ArgumentError("{0} {value}: not a source", "source", value=repr("{a}")), "source '{a}': not a source",
     "source '{a}': not a source"),
])
def test_a_bad_argument_is_named_by_the_commands_option(error, python_line, command_line):
    assert str(error) == python_line
    result = _run(error)
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"gm: error: {command_line}"]


def test_an_argument_error_crosses_processes_whole():
    error = pickle.loads(pickle.dumps(ArgumentError("{0} {text}: seed 0 is given twice", "seeds", text="'0,0'")))
    assert isinstance(error, ArgumentError) and error.render({"seeds": "--seeds"}) == "--seeds '0,0': seed 0 is given twice"


def test_core_names_the_keyword_gm_the_option():
    from greenmachine.evaluation.evaluate import evaluate_saved_proxy

    with pytest.raises(ArgumentError) as caught:
        evaluate_saved_proxy("tss-cifar10", lambda event: None, n=5)
    assert str(caught.value) == "n must be at least 10"
    result = runner.invoke(app, ["eval", "tss-cifar10", "--n", "5"])
    assert result.exit_code == 2 and result.output.strip() == "gm: error: --n must be at least 10"


@pytest.mark.parametrize("arguments, keyword_line, option_line", [
    (["--budget", "0"], "budget must be an integer >= 1, got 0", "--budget must be an integer >= 1, got 0"),
    (["--budget", "5", "--compare-seeds", "1", "--compare-budget", "0"],
     "compare_budget must be an integer >= 1, got 0", "--compare-budget must be an integer >= 1, got 0"),
])
def test_a_search_names_its_bad_setting_by_keyword_or_option(arguments, keyword_line, option_line):
    from greenmachine.search.run import SearchSettings, plan_search

    keywords = {"budget": 0} if arguments[1] == "0" else {"budget": 5, "compare_seeds": 1, "compare_budget": 0}
    with pytest.raises(ArgumentError) as caught:
        plan_search(SearchSettings(proxy="naswot", space="tss", dataset="cifar10", **keywords))
    assert str(caught.value) == keyword_line
    result = runner.invoke(app, ["search", "--proxy", "naswot", "--space", "tss", "--dataset", "cifar10",
                                 "--no-energy", *arguments])
    assert result.exit_code == 2 and result.output.strip() == f"gm: error: {option_line}"
