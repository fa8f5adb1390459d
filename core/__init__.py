"""GreenMachine engine: benchmarks, networks, probe, proxy language, evolution, energy.

Nothing in ``core`` prints or imports Textual; the CLI and TUI in ``greenmachine.tui`` consume it.
Data flows one way: benchmark + images -> probe (cached statistics) -> proxy formulas ->
fitness (Kendall tau) -> evolution -> run directory -> reporters.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``greenmachine.load_proxy`` and ``greenmachine.Proxy`` load :mod:`greenmachine.proxies` on first use."""
    if name in ("load_proxy", "Proxy", "shipped_proxy_names"):
        from greenmachine import proxies

        return getattr(proxies, name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")
