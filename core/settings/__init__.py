"""Experiment profiles: the settings dataclasses and TOML loading (:mod:`.profile`), per-key checks
(:mod:`.checks`) and the (space, dataset) tasks of a profile (:mod:`.tasks`).
"""
