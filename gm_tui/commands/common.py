"""What every ``gm`` command shares: one error line per user error, and small printing helpers.

:mod:`greenmachine.tui.cli` wraps every command in :func:`user_errors` when it registers it;
the command modules of :mod:`greenmachine.tui.commands` import the rest. Nothing here imports
core or torch at module level, so ``gm --help`` stays instant.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Callable, Optional

import typer


def fail(message: str, code: int = 2) -> None:
    """Print ``gm: error: message`` on stderr and end the command with exit status ``code``."""
    typer.echo(f"gm: error: {message}", err=True)
    raise typer.Exit(code)


def _show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """Print a GreenMachine warning (``greenmachine.errors.GMWarning``) as one ``gm: warning:`` line."""
    typer.echo(f"gm: warning: {' '.join(str(message).split())}", err=True)


def option_names(command: Callable) -> dict[str, str]:
    """A command's options by parameter name, e.g. ``{"batch_size": "--batch-size"}``.

    Read from the command's signature as typer reads it (an option declared without a name
    is ``--`` and the parameter's name with dashes). Core names a bad argument by its keyword
    (:class:`greenmachine.errors.ArgumentError`); the command whose option carried it names the
    option instead.
    """
    from typer.models import OptionInfo
    from typer.utils import get_params_from_function

    names = {}
    for name, parameter in get_params_from_function(command).items():
        if isinstance(parameter.default, OptionInfo):
            flags = [flag for declaration in parameter.default.param_decls or ()
                     for flag in declaration.split("/") if flag.startswith("--")]
            names[name] = flags[0] if flags else "--" + name.replace("_", "-")
    return names


def user_errors(command: Callable) -> Callable:
    """Turn ``GMError``, a refused read or write (``OSError``: a read-only or full disk) and a
    ``sys.exit`` in user code into one line and exit 2 (Ctrl-C: 130).

    A bad argument core names (:class:`greenmachine.errors.ArgumentError`) is named by the
    command's option that carried it (``batch_size`` -> ``--batch-size``). Warnings core issues
    for the user (``greenmachine.errors.GMWarning``: degenerate scores, an undefined statistic)
    are printed as one ``gm: warning: ...`` line each on stderr.
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        import warnings

        from greenmachine.errors import ArgumentError, GMError, GMWarning, os_error_line

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("default", GMWarning)
                previous = warnings.showwarning

                def show(message, category, *rest, **named):
                    if issubclass(category, GMWarning):
                        _show_warning(message, category, *rest, **named)
                    else:
                        previous(message, category, *rest, **named)

                warnings.showwarning = show
                return command(*args, **kwargs)
        except ArgumentError as error:
            fail(error.render(option_names(command)))
        except GMError as error:
            fail(str(error))
        except OSError as error:
            fail(os_error_line(error))
        except KeyboardInterrupt:
            fail("interrupted", 130)
        except SystemExit as error:
            # gm's own exits are typer.Exit; a SystemExit here comes from user code (a model file, a
            # builder), whose exit status must not pass for one of gm's (3: stopped, 130: interrupted)
            fail(f"{_exit_origin(error)} called sys.exit({error.code!r}); a model file or builder must return "
                 "or raise, not end gm")

    wrapper.reports_user_errors = True  # marks a wrapped command (tests/cli check every registered one)
    return wrapper


def _exit_origin(error: BaseException) -> str:
    """``file:line`` of the innermost frame that raised ``error`` (``user code`` when unknown)."""
    trace = error.__traceback__
    if trace is None:
        return "user code"
    while trace.tb_next is not None:
        trace = trace.tb_next
    return f"{trace.tb_frame.f_code.co_filename}:{trace.tb_lineno}"


def probe_sink() -> Callable[[Any], None]:
    """The event sink of a headless command: probe progress and warnings on stderr."""
    from greenmachine.tui.headless import HeadlessReporter

    return HeadlessReporter()


def tau_text(value: Optional[float]) -> str:
    """A Kendall tau or Spearman rho to four decimals (``nan`` when undefined)."""
    return "nan" if value is None else f"{value:.4f}"


def write_json(path: Optional[Path], data: Any) -> None:
    """Write ``data`` as JSON to ``path`` (a ``--json`` option; nothing when None), atomically."""
    if path is not None:
        from greenmachine.rundir.directory import atomic_write_json

        try:
            atomic_write_json(path, data)
        except OSError as error:
            fail(f"cannot write {path}: {error.strerror or error}")
