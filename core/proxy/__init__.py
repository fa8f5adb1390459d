"""The proxy language: operators, typed expression trees, random trees, batched evaluation.

``core.proxy.operators`` (registry), ``core.proxy.tree`` (nodes, JSON and sympy forms),
``core.proxy.generate`` (random trees), ``core.proxy.evaluate`` (population scores).
Used by ``core.evolution``, the engine, the formula export and the TUI.
"""
