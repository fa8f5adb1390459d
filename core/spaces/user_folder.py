"""A user's Python file sees its own folder, as ``python file.py`` would, without leaking it.

Called by :func:`greenmachine.spaces.custom.load_function`, which imports the user's model factories
(``gm score --model FILE.py:FACTORY``) and custom-space builders (``benchmark.builder``). A
model file in the layout of a typical model repository imports a module beside it
(``from models import *`` with a ``models/`` package next to the file); Python finds it
when the file is run as a script because the script's folder is first on ``sys.path``.

:func:`script_folder` gives the same view while the file loads and while its functions
run, then undoes it: the folder leaves ``sys.path`` again, and the modules imported from
inside the folder during the block leave ``sys.modules`` (the loaded code keeps its own
references to them), so a later ``import models`` elsewhere (another model file's sibling
package, or the user's own code) does not get this folder's ``models``. A sibling whose
name is a module already imported from elsewhere (``import torch`` with a ``torch/``
folder beside the file) still resolves to the imported one, as Python's module cache
decides.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from pathlib import Path
from typing import Any, Callable, Iterator


def _inside(path: str | None, folder: Path) -> bool:
    if not path:
        return False
    try:
        Path(path).resolve().relative_to(folder)
    except (ValueError, OSError):
        return False
    return True


def _from_folder(module: Any, folder: Path) -> bool:
    """Whether ``module`` was loaded from a file (or is a namespace package) inside ``folder``.

    Reads the module's import spec, not its attributes (some modules answer any attribute).
    """
    spec = getattr(module, "__spec__", None)
    if spec is None:
        return False
    origin = spec.origin if isinstance(getattr(spec, "origin", None), str) else None
    if origin is not None and _inside(origin, folder):
        return True
    locations = getattr(spec, "submodule_search_locations", None)
    try:
        locations = [str(location) for location in locations] if locations is not None else []
    except TypeError:
        return False
    return bool(locations) and all(_inside(location, folder) for location in locations)


@contextlib.contextmanager
def script_folder(folder: Path, keep: tuple[str, ...] = ()) -> Iterator[None]:
    """Make ``folder`` importable first on ``sys.path`` for the block, then undo it.

    Parameters
    ----------
    folder : Path
        The folder of the user's file.
    keep : tuple of str
        Module names to leave in ``sys.modules`` even though they come from ``folder``
        (the user's file itself, registered under its own unique name).
    """
    folder = Path(folder).resolve()
    entry = str(folder)
    before = set(sys.modules)
    sys.path.insert(0, entry)
    try:
        yield
    finally:
        try:
            sys.path.remove(entry)
        except ValueError:  # the user's code removed it itself
            pass
        for name in set(sys.modules) - before - set(keep):
            module = sys.modules.get(name)
            if module is not None and _from_folder(module, folder):
                del sys.modules[name]


def in_script_folder(function: Callable[..., Any], folder: Path) -> Callable[..., Any]:
    """``function`` wrapped so that each call runs inside :func:`script_folder` (lazy sibling imports work)."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with script_folder(folder):
            return function(*args, **kwargs)

    return wrapper


__all__ = ["in_script_folder", "script_folder"]
