"""Error types of the engine.

Every error the user can cause (bad profile, bad arch string, missing data file, corrupt
cache) is a :class:`GMError` subclass whose message is one clear line; the CLI catches
``GMError`` and prints it without a traceback. What the system refuses (a read-only or full
disk, a file where a folder should be) stays an ``OSError`` up to the CLI, which prints it
as one line through :func:`os_error_line`.
"""


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


def os_error_line(error: OSError) -> str:
    """One line for an operating-system error (a read-only or full disk, a path that is a file).

    Called by the ``gm`` command line (:func:`greenmachine.tui.cli.user_errors`) and the run controller
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
        folder: --out, probe.cache_dir or GM_CACHE_DIR)``.
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
        hint = " (choose a writable folder: --out, probe.cache_dir or GM_CACHE_DIR)"
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
