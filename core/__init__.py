"""GreenMachine: energy-aware automatic design of zero-cost NAS proxies (import name ``greenmachine``).

The package is the folder ``core/`` of the repository; ``greenmachine.tui`` (``gm_tui/``) is the
command line and Textual app, the only part that prints. Folders name the layers; each imports
only from the ones below it:

    tui -> search, repeats -> run -> evolution, evaluation, report -> export, rundir, sampling
    -> proxies, baselines, settings -> probe -> benchmark -> proxy, spaces -> stats, energy, datadir
    -> events, errors, files

Data flows one way: benchmark + images -> probe (cached statistics) -> proxy formulas ->
fitness (Kendall tau) -> evolution -> run directory -> reporters.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``greenmachine.load_proxy`` and ``greenmachine.Proxy`` load :mod:`greenmachine.proxies` on first use."""
    if name in ("load_proxy", "Proxy", "shipped_proxy_names"):
        from greenmachine import proxies

        return getattr(proxies, name)
    raise AttributeError(f"module 'greenmachine' has no attribute {name!r}")
