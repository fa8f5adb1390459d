"""Numbers of many networks: the statistic table, rank correlations (fitness), their aggregate over tasks, normalisation.

The ground floor of the engine's arithmetic: imported by the probe, the proxy language, evolution and
evaluation; it imports nothing of GreenMachine but :mod:`greenmachine.errors`.
"""
