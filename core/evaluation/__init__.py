"""Scoring a proxy and the baselines on a sample of networks (:mod:`.evaluate`), for one task or several
(:mod:`.tasks`); what a probe cost on this machine (:mod:`.probe_cost`).
"""
