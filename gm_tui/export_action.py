"""The TUI's export action: write the best proxy in every format into the run directory.

Called by :class:`greenmachine.tui.app.GreenMachineApp` (key ``e``). Uses :mod:`greenmachine.export`
(simplified text, LaTeX, a Python module and JSON); without it, the proxy's JSON tree and
formula text go to :data:`EXPORT_FALLBACK_FILE`.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any, Iterator

EXPORT_FALLBACK_FILE = "exported_best.txt"


EXPORT_SUFFIXES = {"text": "txt", "latex": "tex", "python": "py", "json": "json"}


@contextlib.contextmanager
def _sympy_unicode() -> Iterator[None]:
    """Turn on sympy's Unicode pretty symbols while exporting.

    sympy decides from ``sys.stdout.encoding`` at first use; inside a running Textual app
    stdout is Textual's capture, sympy falls back to ASCII and its ASCII tables lack the
    summation sign (``KeyError: 'sum'`` from ``greenmachine.export.to_text``).
    """
    try:
        from sympy.printing.pretty.pretty_symbology import pretty_use_unicode
    except ImportError:
        yield
        return
    previous = pretty_use_unicode(True)
    try:
        yield
    finally:
        pretty_use_unicode(previous)


def export_best(run_dir: Path, best: Any) -> str:
    """Export the best proxy of ``run_dir``; return a line saying where it went.

    Uses ``greenmachine.export`` (simplified text, LaTeX, a Python module and JSON, written as
    ``<run_dir>/exported_best.{txt,tex,py,json}``): ``export_run`` when the run wrote its
    ``best_proxy.json``, else ``export_proxy`` on the tree of the last ``NewBest`` event.
    Without ``greenmachine.export`` the proxy's JSON tree and formula text go to
    ``<run_dir>/exported_best.txt``.
    """
    from greenmachine.rundir.directory import BEST_PROXY_FILE

    run_dir = Path(run_dir)
    try:
        from greenmachine import export as formulas
    except ImportError:
        formulas = None
    if formulas is not None:
        if (run_dir / BEST_PROXY_FILE).is_file() and hasattr(formulas, "export_run"):
            def export(fmt: str) -> str:
                return formulas.export_run(run_dir, fmt)
        elif hasattr(formulas, "export_proxy"):
            from greenmachine.proxy.tree import tree_from_dict

            tree = tree_from_dict(getattr(best, "tree"))

            def export(fmt: str) -> str:
                return formulas.export_proxy(tree, fmt)
        else:
            export = None  # type: ignore[assignment]
        if export is not None:
            written = []
            with _sympy_unicode():
                for fmt, suffix in EXPORT_SUFFIXES.items():
                    text = export(fmt)
                    target = run_dir / f"exported_best.{suffix}"
                    target.write_text(text if text.endswith("\n") else text + "\n", encoding="utf-8")
                    written.append(suffix)
            return f"exported the best proxy to {run_dir}/exported_best.{{{','.join(written)}}}"
    target = run_dir / EXPORT_FALLBACK_FILE
    tree = getattr(best, "tree", None)
    body = [
        f"formula: {getattr(best, 'formula', '')}",
        f"size: {getattr(best, 'size', '')}",
        f"search_tau: {getattr(best, 'search_tau', '')}",
        f"validation_tau: {getattr(best, 'validation_tau', '')}",
        f"generation: {getattr(best, 'generation', '')}",
        "tree:",
        json.dumps(tree, indent=2, default=str),
    ]
    target.write_text("\n".join(body) + "\n", encoding="utf-8")
    return f"exported the best proxy to {target}"
