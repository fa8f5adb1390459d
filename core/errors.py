"""Error types of the engine.

Every error the user can cause (bad profile, bad arch string, missing data file, corrupt
cache) is a :class:`GMError` subclass whose message is one clear line; the CLI catches
``GMError`` and prints it without a traceback.
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
