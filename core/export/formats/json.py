"""JSON export format: the proxy tree with its formulas and τ, in the ``best_proxy.json`` layout.

``greenmachine.proxy.tree.tree_from_dict(data["tree"])`` rebuilds the tree. One proxy gives one
JSON object, several give a list.

Registered as the ``json`` format in :mod:`greenmachine.export.formats` (imported by that
package); :func:`to_json` is also called by the tests. Never prints.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from greenmachine.export.forms import one_line
from greenmachine.export.formats import ExportFormat, register_format


def to_json(tree, **fields: Any) -> str:
    """JSON text of a tree in the ``best_proxy.json`` layout.

    Parameters
    ----------
    tree : Node
        The proxy.
    **fields
        Further fields, after ``tree``, ``formula`` and ``size``.

    Returns
    -------
    str
        ``greenmachine.proxy.tree.tree_from_dict(data["tree"])`` rebuilds the tree.
    """
    data = {"tree": tree.to_dict(), "formula": str(tree), "size": tree.size}
    data.update(fields)
    return json.dumps(data, indent=2, allow_nan=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")



def write_json(records: Sequence, results: Sequence) -> str:
    """Each proxy's own fields plus tree, formulas, simplification note, size and τ.

    Parameters
    ----------
    records : sequence of ProxyRecord
        The proxies with their τ (``fields`` come first, e.g. ``best_proxy.json``'s).
    results : sequence of SimplifyResult
        Their simplification results (same order).

    Returns
    -------
    str
        One JSON object for one proxy, else a list, indented by 2.
    """
    items = []
    for record, result in zip(records, results):
        data = dict(record.fields)
        data.update({"tree": record.tree.to_dict(), "formula": str(record.tree),
                     "simplified": one_line(result.expression), "simplification": result.note,
                     "size": record.tree.size, "search_tau": record.search_tau,
                     "validation_tau": record.validation_tau, "test_tau": dict(record.test_tau)})
        items.append(data)
    return json.dumps(items[0] if len(items) == 1 else items, indent=2, default=_json_default)


register_format(ExportFormat(name="json", suffix="json", description="proxy tree, formulas and τ as JSON",
                             position=40, write=write_json))
