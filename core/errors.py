"""Error types of the engine.

Every error the user can cause (bad profile, bad arch string, missing data file, corrupt
cache) is a :class:`GMError` subclass whose message is one clear line; the CLI catches
``GMError`` and prints it without a traceback. What the system refuses (a read-only or full
disk, a file where a folder should be) stays an ``OSError`` up to the CLI, which prints it
as one line through :func:`os_error_line`.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping


class GMError(Exception):
    """Base class of user-facing errors: the message is one line, shown as is."""


class GMWarning(UserWarning):
    """Base class of warnings for the user (one line each; the CLI prints ``gm: warning: ...``).

    Core never prints: it issues these through :mod:`warnings` and goes on.
    """


class DataFileError(GMError):
    """A data file is missing or malformed."""


class ProfileError(GMError):
    """A profile file or an override is invalid (message names file and key)."""


class ArchStringError(GMError, ValueError):
    """An architecture string is malformed (also a ``ValueError``)."""


class CacheError(GMError):
    """A cache entry is corrupt or unreadable."""


class ArgumentError(GMError):
    """A bad argument of a core function: the line names the argument, and a front end may name it its own way.

    Core says what is wrong and which argument (the keyword a Python caller wrote, e.g.
    ``batch_size``), never which command-line flag to pass; the ``gm`` command line renders the
    same line with its options (``--batch-size``) through :meth:`render`
    (:func:`greenmachine.tui.commands.common.user_errors`).

    Parameters
    ----------
    template : str
        The message, the arguments written as positional fields ``{0}``, ``{1}``, ... and every
        other value as a named field, e.g. ``"{0} {text}: seed {seed} is given twice"``.
    *arguments : str
        The argument names, in field order.
    **values
        The named fields' values (formatted once, so braces in a value are kept as they are).
    """

    def __init__(self, template: str, *arguments: str, **values: Any) -> None:
        self.template = template
        self.arguments = arguments
        self.values = values
        super().__init__(self.render({}))

    def render(self, names: Mapping[str, str]) -> str:
        """The line with each argument called by ``names`` (an argument ``names`` lacks keeps its own name)."""
        return self.template.format(*(names.get(argument, argument) for argument in self.arguments), **self.values)

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        # pickled whole (between processes), not rebuilt from the rendered line
        return functools.partial(type(self), self.template, *self.arguments, **self.values), ()


def os_error_line(error: OSError) -> str:
    """One line for an operating-system error (a read-only or full disk, a path that is a file).

    Called by the ``gm`` command line (:func:`greenmachine.tui.commands.common.user_errors`) and the run controller
    (:func:`error_line`), so that every command reports a refused read or write
    the same way: the path, the system's reason and, for a full or read-only disk, what to do.

    Parameters
    ----------
    error : OSError
        The error as the system raised it (``errno``, ``strerror``, ``filename``).

    Returns
    -------
    str
        E.g. ``cannot write /runs/x/profile.toml: Read-only file system (choose a writable
        folder: the output folder, probe.cache_dir or GM_CACHE_DIR)``.
    """
    import errno

    reason = error.strerror or " ".join(str(error).split()) or type(error).__name__
    path = error.filename
    if path is not None and error.filename2 is not None:
        path = f"{path} -> {error.filename2}"
    hint = ""
    if error.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)):
        hint = " (free some space and run the command again; a stopped run continues with gm run --resume)"
    elif error.errno == errno.EROFS:
        hint = " (choose a writable folder: the output folder, probe.cache_dir or GM_CACHE_DIR)"
    verb = "cannot write" if error.errno in (errno.ENOSPC, errno.EROFS, getattr(errno, "EDQUOT", errno.ENOSPC)) else "cannot use"
    if path is None:
        return f"{verb} a file: {reason}{hint}"
    return f"{verb} {path}: {reason}{hint}"


def error_line(error: BaseException) -> str:
    """One line for an error: a ``GMError`` as is, an ``OSError`` as :func:`os_error_line`
    says it, anything else with its type."""
    if isinstance(error, OSError):
        return os_error_line(error)
    lines = str(error).strip().splitlines()
    text = lines[0] if lines else ""
    if isinstance(error, GMError) and text:
        return text
    return f"{type(error).__name__}: {text}" if text else type(error).__name__
