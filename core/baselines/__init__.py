"""Baselines beside an evolved proxy: the published zero-cost proxies computed from the probe's statistics
(:mod:`.published`) and the reference implementations as their authors released them (:mod:`.reference`).
"""
