"""GreenMachine engine: benchmarks, networks, probe, proxy language, evolution, energy.

Nothing in ``core`` prints or imports Textual; the CLI and TUI in ``gm_tui`` consume it.
Data flows one way: benchmark + images -> probe (cached statistics) -> proxy formulas ->
fitness (Kendall tau) -> evolution -> run directory -> reporters.
"""

__version__ = "0.1.0"
