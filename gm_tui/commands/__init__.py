"""The ``gm`` commands, one module per topic, each a thin layer over core: parse the options, call
:mod:`greenmachine`, print.

Registered, every one the same way, by :mod:`greenmachine.tui.cli`: :mod:`.run` (run, tui, report,
plot), :mod:`.evaluate` (probe, baselines, eval), :mod:`.profiles`, :mod:`.export`, :mod:`.proxy`
(proxies, score), :mod:`.search`, :mod:`.repeat` (seed repeats of ``gm run``, summary) and
:mod:`.data` (the ``gm data`` group). Shared by them: :mod:`.common` (one error line per user
error, printing helpers), :mod:`.options` (options of several commands) and :mod:`.stop` (Ctrl-C).
"""
