"""The run directory, the contract between the engine and every reporter: :mod:`.directory` (reading and
writing), :mod:`.rows` (its CSV row types) and :mod:`.follow` (reading ``events.jsonl`` while a run writes it).
"""
