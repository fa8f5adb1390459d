"""Zero-cost NAS: a proxy guides a search over a benchmark space (``gm search``).

Called by ``gm search`` and the tests. Parts: :mod:`greenmachine.search.strategies` (sampling and
aging evolution, which see only indices and scores), :mod:`greenmachine.search.guides` (proxy,
baselines, random; probing shared through the cache), :mod:`greenmachine.search.hardware`
(HW-NAS-Bench costs, constraints, Pareto fronts), :mod:`greenmachine.search.result` (true accuracies
looked up after the search, the report) and :mod:`greenmachine.search.run` (the whole run, into a
run directory).

The package is callable: ``greenmachine.search(proxy, budget=100)`` is the Python API's
:func:`greenmachine.api.search` (:class:`greenmachine.callable_package.CallablePackage`).
"""

import sys

from greenmachine.callable_package import CallablePackage
from greenmachine.search.run import SEARCH_FILE, SearchSettings, plan_search, run_search

sys.modules[__name__].__class__ = CallablePackage

__all__ = ["SEARCH_FILE", "SearchSettings", "plan_search", "run_search"]
