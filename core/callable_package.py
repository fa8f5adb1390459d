"""A sub-package that is also an API function of the same name (ground floor).

Used by :mod:`greenmachine.search` and :mod:`greenmachine.baselines`, which set
:class:`CallablePackage` on themselves, and re-exported by :mod:`greenmachine`. It imports the
API only when called, so nothing below the API depends on it.
"""

from __future__ import annotations

import importlib
import types


class CallablePackage(types.ModuleType):
    """A sub-package that is also an API function of the same name.

    ``greenmachine.search`` and ``greenmachine.baselines`` are packages (the zero-cost NAS, the
    published proxies) and, called, the Python API's :func:`greenmachine.api.search` and
    :func:`greenmachine.api.baselines`: ``greenmachine.search(proxy, budget=100)``. Each of the two
    packages sets this class on itself, so importing it changes nothing else.
    """

    def __call__(self, *args, **kwargs):
        """Call the API function of this package's name (see :mod:`greenmachine.api`)."""
        api = importlib.import_module("greenmachine.api")
        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)
