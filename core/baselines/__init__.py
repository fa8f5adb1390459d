"""Baselines beside an evolved proxy: the published zero-cost proxies computed from the probe's statistics
(:mod:`.published`) and the reference implementations as their authors released them (:mod:`.reference`).

The package is callable: ``greenmachine.baselines("quick")`` is the Python API's
:func:`greenmachine.api.baselines` (:class:`greenmachine.callable_package.CallablePackage`).
"""

import sys

from greenmachine.callable_package import CallablePackage

sys.modules[__name__].__class__ = CallablePackage
