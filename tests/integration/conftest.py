"""Shared set-up of the integration layer (whole runs): the ``no_figures`` fixture.

Every completed run draws its figures (about one CPU second per tiny run). A drawing failure
is only a warning event, never a failed run, so a test that reads neither the figures nor the
warnings of its runs checks nothing through them; such tests (resume, cache hits, energy
totals, fitness metrics) ask for ``no_figures``. ``test_figures.py`` and the tests that read
warnings or compare every file of a run keep drawing.
"""

from __future__ import annotations

import pytest


@pytest.fixture
def no_figures(monkeypatch):
    """Runs started by this test draw no figures (``draw_and_embed`` does nothing)."""
    import greenmachine.report.build

    monkeypatch.setattr(greenmachine.report.build, "draw_and_embed", lambda run_dir, skipped=None: [])
