"""Formula export: simplify a proxy's sympy form under a time limit, then write it as
unicode text, LaTeX, a standalone Python module, or JSON.

The package's modules:

* :mod:`greenmachine.export.forms` -- the sympy forms of proxies: parsing, inspection, display
  helpers and the one-line text (:func:`one_line`);
* :mod:`greenmachine.export.simplify` -- :func:`simplify_expression` / :func:`simplify_many`, run by
  the time-limited process of :mod:`greenmachine.export.worker`, with the checks a simplified form
  must pass;
* :mod:`greenmachine.export.formats` -- the :data:`FORMATS` registry, one module per format
  (``text``, ``latex``, ``python``, ``json``): adding a format is adding one module there;
* :mod:`greenmachine.export.records` -- :class:`ProxyRecord`, :func:`export_records`,
  :func:`export_proxy`, :func:`simplified_text(s) <simplified_texts>`;
* :mod:`greenmachine.export.source` -- reading a run directory's proxies (:func:`export_run`).

Called by ``gm export`` (:func:`export_run`), the engine (:func:`simplified_texts` fills
``report.md``'s formula and the hall of fame's ``simplified`` column), the TUI's export
action (:func:`export_run`, :func:`export_proxy`) and the tests. Importing it imports
neither sympy nor torch. Never prints.
"""

from greenmachine.export.forms import free_layer_terms, one_line, parse_srepr
from greenmachine.export.formats import FORMATS, ExportFormat, ExportFormatError, get_format, register_format
from greenmachine.export.formats.json import to_json
from greenmachine.export.formats.latex import to_latex
from greenmachine.export.formats.python import python_operator_names, statistic_docs, to_python_module
from greenmachine.export.formats.text import to_text
from greenmachine.export.records import ProxyRecord, export_proxy, export_records, simplified_text, simplified_texts
from greenmachine.export.simplify import (
    DEFAULT_TIMEOUT,
    VERIFY_RELATIVE_TOLERANCE,
    SimplifyResult,
    same_numbers,
    simplify_expression,
    simplify_many,
)
from greenmachine.export.source import export_run, load_proxies, run_timeout

__all__ = [
    "DEFAULT_TIMEOUT", "FORMATS", "VERIFY_RELATIVE_TOLERANCE", "ExportFormat", "ExportFormatError",
    "ProxyRecord", "SimplifyResult", "export_proxy", "export_records", "export_run", "free_layer_terms",
    "get_format", "load_proxies", "one_line", "parse_srepr", "python_operator_names", "register_format",
    "run_timeout", "same_numbers", "simplified_text", "simplified_texts", "simplify_expression",
    "simplify_many", "statistic_docs", "to_json", "to_latex", "to_python_module", "to_text",
]
