"""Test-wide settings: probe in-process unless a test asks for workers.

``probe.workers = 0`` (the default) means every usable CPU; the suite probes tiny samples,
where starting a process pool costs more than it saves, so ``GM_PROBE_WORKERS=1`` makes that
default one worker here (and in the ``gm`` subprocesses the tests start). Tests of the pool
and of Ray give ``workers`` explicitly. Statistics are identical either way
(``tests/test_executors.py``).
"""

import os

os.environ.setdefault("GM_PROBE_WORKERS", "1")
