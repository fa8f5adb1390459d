"""Seeded, disjoint search / validation / test samples (:mod:`.samples`), per task (:mod:`.tasks`)."""
