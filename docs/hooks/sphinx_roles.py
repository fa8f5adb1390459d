"""Griffe extension for the manual's API reference: Sphinx roles in docstrings become code spans.

Named in ``mkdocs.yml`` (the mkdocstrings handler's ``extensions``). GreenMachine's docstrings
are NumPy style and name other objects with Sphinx roles (``:func:`evaluate```,
``:class:`~greenmachine.proxies.Proxy```); mkdocstrings renders Markdown, where a role would
show as raw text. Each role becomes a code span of its target (the last part with ``~``), so
the docstrings stay as they are for ``help()`` and the manual reads cleanly.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:py:)?[a-z]+:`(~?)([^`<]+?)(?:\s*<([^>]+)>)?`")


def code_span(match: re.Match) -> str:
    """The code span of one role: ``:func:`~a.b.c``` -> ```c```, ``:mod:`a.b``` -> ```a.b```."""
    short, target = match.group(1), (match.group(2) or "").strip()
    return f"`{target.rsplit('.', 1)[-1] if short else target}`"


class SphinxRoles(griffe.Extension):
    """Rewrite the Sphinx roles of every docstring griffe loads."""

    def on_instance(self, *, obj: Any, **kwargs: Any) -> None:
        """Called for every module, class, function and attribute."""
        if obj.docstring is not None:
            obj.docstring.value = ROLE.sub(code_span, obj.docstring.value)
