"""What a finished run shows: ``report.json`` / ``report.md`` (:mod:`.build`), the multi-task parts
(:mod:`.multitask`), the cost-aware front (:mod:`.cost_front`) and the figures (:mod:`.figures`).
"""
