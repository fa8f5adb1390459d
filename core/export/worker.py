"""The simplification process: sympy runs in a separate Python process, killed at a time limit.

sympy's ``simplify`` can run for minutes, so it runs in a *separate process* (a fresh
``python`` that imports only sympy and :mod:`greenmachine.export`, whose modules import nothing
heavy) fed JSON requests on stdin. The expression travels as ``sympy.srepr`` text and is
parsed back with sympy's own parser on a fixed namespace (sympy plus the aggregation
classes); no formula text is ever passed to ``eval``. Inside the process, aggregations are
simplified *level by level* (:func:`levelwise`): each aggregation's inner per-layer
expression is simplified on its own, and at the level above the aggregation stands for an
opaque real symbol, so sympy can never move a per-layer term (``snip[l]``) out of the
aggregation that binds ``l``.

Called by :mod:`greenmachine.export.simplify` (the parent side: :class:`WorkerPool`, replies read
with a deadline) and, as ``python -c``, by the process itself (:func:`worker_main`).
Never prints in the parent; the process writes its replies to its own stdout.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Mapping

from greenmachine.export.forms import parse_srepr

TIMEOUT = object()
"""What :meth:`Worker.receive` returns when the deadline passed without a reply."""


def levelwise(expr, transform, aggregation_types: tuple[type, ...]):
    """Apply ``transform`` level by level (aggregations stand for opaque real symbols).

    Each aggregation's inner expression is transformed on its own (recursively); at the
    level above, every outermost aggregation is replaced by a real ``Dummy`` while
    ``transform`` runs, then put back. A level whose transform grew by ``count_ops``
    keeps its input.
    """
    import sympy

    outermost: list = []
    stack = [expr]
    while stack:
        node = stack.pop()
        if isinstance(node, aggregation_types):
            outermost.append(node)
        else:
            stack.extend(node.args)
    to_symbol: dict = {}
    from_symbol: dict = {}
    for aggregation in outermost:
        if aggregation in to_symbol:
            continue
        inner = levelwise(aggregation.args[0], transform, aggregation_types)
        symbol = sympy.Dummy("aggregation", real=True)
        to_symbol[aggregation] = symbol
        from_symbol[symbol] = aggregation.func(inner)
    reduced = expr.xreplace(to_symbol)
    result = transform(reduced)
    if sympy.count_ops(result) > sympy.count_ops(reduced):
        result = reduced
    return result.xreplace(from_symbol)


def worker_main() -> int:
    """Entry point of the simplification process: JSON requests on stdin, JSON lines out.

    Request: ``{"id": int, "srepr": str, "functions": [aggregation class names]}``.
    Replies (one JSON line each): ``{"id", "stage": "canonical", "srepr"}`` after the cheap
    canonicalisation (if it changed anything), then ``{"id", "stage": "simplified",
    "srepr"}`` or ``{"id", "stage": "error", "message"}``. The aggregation classes are
    stand-ins here (opaque real functions of one argument): every rewrite sympy makes of
    an unknown real function is valid for the real ones.
    """
    import sympy
    from sympy.codegen.cfunctions import log1p

    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        request = json.loads(line)
        ident = request.get("id")
        try:
            namespace: dict[str, Any] = {"log1p": log1p}
            for name in request.get("functions", []):
                if isinstance(name, str) and name.isidentifier():
                    namespace[name] = type(name, (sympy.Function,), {"nargs": 1, "is_real": True})
            aggregation_types = tuple(v for k, v in namespace.items() if k != "log1p") or (type(None),)
            expression = parse_srepr(request["srepr"], namespace)
            best = expression
            best_ops = sympy.count_ops(expression)
            for step in (sympy.powsimp, sympy.cancel):
                candidate = levelwise(best, step, aggregation_types)
                ops = sympy.count_ops(candidate)
                if ops < best_ops or (ops == best_ops and candidate != best and step is sympy.powsimp):
                    best, best_ops = candidate, ops
                    out.write(json.dumps({"id": ident, "stage": "canonical", "srepr": sympy.srepr(best)}) + "\n")
                    out.flush()
            simplified = levelwise(best, lambda e: sympy.simplify(e, ratio=1.0), aggregation_types)
            out.write(json.dumps({"id": ident, "stage": "simplified", "srepr": sympy.srepr(simplified)}) + "\n")
        except Exception as error:  # noqa: BLE001 - reported to the parent, one line
            message = f"{type(error).__name__}: {error}".splitlines()[0][:200]
            out.write(json.dumps({"id": ident, "stage": "error", "message": message}) + "\n")
        out.flush()
    return 0


_WORKER_COMMAND = "import sys\nfrom greenmachine.export.worker import worker_main\nsys.exit(worker_main())\n"
_PROJECT_ROOT = str(Path(__file__).resolve().parents[2])


class Worker:
    """One simplification process, fed requests one at a time (killed at a time limit)."""

    def __init__(self) -> None:
        environment = dict(os.environ)
        path = environment.get("PYTHONPATH")
        environment["PYTHONPATH"] = _PROJECT_ROOT + (os.pathsep + path if path else "")
        environment.setdefault("PYTHONDONTWRITEBYTECODE", "1")
        self.process = subprocess.Popen(
            [sys.executable, "-c", _WORKER_COMMAND],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
            env=environment, text=True, encoding="utf-8",
        )
        self.replies: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        try:
            for line in stream:
                try:
                    self.replies.put(json.loads(line))
                except json.JSONDecodeError:
                    continue
        except (OSError, ValueError):
            pass
        self.replies.put(None)

    def send(self, request: Mapping[str, Any]) -> None:
        """Write one request without blocking the caller (a writer thread)."""
        text = json.dumps(request) + "\n"

        def write() -> None:
            try:
                assert self.process.stdin is not None
                self.process.stdin.write(text)
                self.process.stdin.flush()
            except (OSError, ValueError):
                pass

        threading.Thread(target=write, daemon=True).start()

    def receive(self, deadline: float):
        """Next reply, ``None`` at end of output, or ``TIMEOUT`` at ``deadline``."""
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return TIMEOUT
        try:
            return self.replies.get(timeout=remaining)
        except queue.Empty:
            return TIMEOUT

    def kill(self) -> None:
        """Stop the process now."""
        try:
            self.process.kill()
        except OSError:
            pass
        self.process.wait()

    def close(self) -> None:
        """End the process politely (stdin closed), killing it if it lingers."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
        except OSError:
            pass
        try:
            self.process.wait(timeout=1.0)
        except subprocess.TimeoutExpired:
            self.kill()



class WorkerPool:
    """The simplification process in use, and optionally a warm spare.

    A process killed at a time limit is replaced by the spare (already started, so the
    next expression does not pay the start-up), and a new spare is started.
    """

    def __init__(self, spare: bool) -> None:
        self.want_spare = spare
        self.current: Worker | None = None
        self.spare: Worker | None = None

    def worker(self) -> Worker:
        """The process to use now (started if needed)."""
        if self.current is None:
            self.current, self.spare = (self.spare or Worker()), None
        if self.want_spare and self.spare is None:
            self.spare = Worker()
        return self.current

    def discard(self) -> None:
        """Kill the current process (it ran past its limit or died)."""
        if self.current is not None:
            self.current.kill()
            self.current = None

    def close(self) -> None:
        """End every process of the pool (the idle spare is simply killed)."""
        if self.current is not None:
            self.current.close()
        if self.spare is not None:
            self.spare.kill()
        self.current = self.spare = None
