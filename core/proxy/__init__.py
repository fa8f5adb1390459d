"""The proxy language: operators, typed expression trees, random trees, batched evaluation.

``greenmachine.proxy.operators`` (registry), ``greenmachine.proxy.tree`` (nodes, JSON and sympy forms),
``greenmachine.proxy.generate`` (random trees), ``greenmachine.proxy.evaluate`` (population scores).
Used by ``greenmachine.evolution``, the engine, the formula export and the TUI.
"""
