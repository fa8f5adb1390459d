"""GreenMachine engine: benchmarks, networks, probe, proxy language, evolution, energy.

Nothing in ``core`` prints or imports Textual; the CLI and TUI in ``gm_tui`` consume it.
Data flows one way: benchmark + images -> probe (cached statistics) -> proxy formulas ->
fitness (Kendall tau) -> evolution -> run directory -> reporters.
"""

__version__ = "0.1.0"


def __getattr__(name: str):
    """``core.load_proxy`` and ``core.Proxy`` load :mod:`core.proxies` on first use."""
    if name in ("load_proxy", "Proxy", "shipped_proxy_names"):
        from core import proxies

        return getattr(proxies, name)
    raise AttributeError(f"module 'core' has no attribute {name!r}")
