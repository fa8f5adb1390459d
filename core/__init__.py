"""GreenMachine: energy-aware automatic design of zero-cost NAS proxies (import name ``greenmachine``).

The package is the folder ``core/`` of the repository; ``greenmachine.tui`` (``gm_tui/``) is the
command line and Textual app, the only part that prints. Folders name the layers; each imports
only from the ones below it:

    tui, api -> search, repeats -> run -> evolution, evaluation, report -> export, rundir, sampling
    -> proxies, baselines, settings -> probe -> benchmark -> proxy, spaces -> stats, energy, datadir
    -> events, errors, files, callable_package

Data flows one way: benchmark + images -> probe (cached statistics) -> proxy formulas ->
fitness (Kendall tau) -> evolution -> run directory -> reporters.

The Python API sits on top, beside the command line, over the same code (:mod:`greenmachine.api`)::

    import greenmachine as gm
    result = gm.design("quick")                  # gm run quick
    gm.evaluate(result, dataset="cifar100")      # gm eval RUN_DIR --dataset cifar100
    gm.search(result, budget=100)                # gm search --proxy RUN_DIR --budget 100
    gm.baselines("quick")                        # gm baselines quick
    gm.load_proxy("tss-cifar10").score(model, images, labels)
"""

from greenmachine.callable_package import CallablePackage

__version__ = "0.1.0"

#: The Python API (:mod:`greenmachine.api`), loaded on first use so ``import greenmachine`` stays light.
_API = ("design", "resume", "evaluate", "make_profile", "Design", "Scores", "SearchResult", "RunInterrupted")
#: API functions named like a sub-package: the sub-package is callable (see :class:`CallablePackage`).
_CALLABLE_PACKAGES = ("search", "baselines")
_PROXIES = ("load_proxy", "Proxy", "shipped_proxy_names")

__all__ = [*_API, *_CALLABLE_PACKAGES, *_PROXIES, "CallablePackage", "__version__"]


def __getattr__(name: str):
    """``greenmachine.design`` (and the rest of :mod:`greenmachine.api`), ``greenmachine.search`` and
    ``greenmachine.baselines``, and ``greenmachine.load_proxy`` load their modules on first use."""
    if name in _API:
        from greenmachine import api

        return getattr(api, name)
    if name in _CALLABLE_PACKAGES:
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    if name in _PROXIES:
        from greenmachine import proxies

        return getattr(proxies, name)
    raise AttributeError(f"module 'greenmachine' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
