"""Repeated runs of one profile over evolution x probe seeds (:mod:`.runner`) and their summary (:mod:`.summary`)."""
