"""The export-format registry (``greenmachine.export.formats.FORMATS``) and the operators' Python forms."""

from __future__ import annotations

import importlib.util
import json
import pkgutil

import pytest
import sympy
import torch
from typer.testing import CliRunner

import greenmachine.export.formats as formats
from greenmachine import export
from greenmachine.errors import GMError
from greenmachine.export.formats import ExportFormat, ExportFormatError, register_format, unregister_format
from greenmachine.proxy import operators as ops
from greenmachine.proxy.tree import Apply, LayerStatistic, NetworkStatistic


def _write_names(records, results):
    return "\n".join(f"{record.label}: {export.one_line(result.expression)}" for record, result in zip(records, results))


def test_shipped_formats_in_listing_order_one_module_each():
    assert list(export.FORMATS) == ["text", "latex", "python", "json"]
    assert {f.suffix for f in export.FORMATS.values()} == {"txt", "tex", "py", "json"}
    modules = {m.name for m in pkgutil.iter_modules(formats.__path__) if not m.name.startswith("_")}
    registered_by = {f.write.__module__.rsplit(".", 1)[-1] for f in export.FORMATS.values()}
    assert registered_by == modules == set(export.FORMATS)
    with pytest.raises(TypeError):
        export.FORMATS["yaml"] = export.FORMATS["text"]  # read-only view


def test_registration_validates_and_refuses_duplicates():
    good = dict(name="names_only", suffix="txt", description="labels and one-line formulas", position=50,
                write=_write_names)
    with pytest.raises(ExportFormatError, match="already registered"):
        register_format(ExportFormat(**{**good, "name": "latex"}))
    for change, message in [({"name": "Names"}, "full words"), ({"suffix": ".txt"}, "suffix"),
                            ({"description": " "}, "description"), ({"position": "1"}, "position"),
                            ({"write": lambda records: ""}, "write must take")]:
        with pytest.raises(ExportFormatError, match=message):
            register_format(ExportFormat(**{**good, **change}))
        assert "names_only" not in export.FORMATS
    assert issubclass(ExportFormatError, GMError)


def test_a_new_format_is_usable_everywhere_once_registered(tmp_path):
    from greenmachine.tui.cli import app

    register_format(ExportFormat(name="names_only", suffix="txt", description="labels and one-line formulas",
                                 position=5, write=_write_names))
    try:
        assert list(export.FORMATS)[0] == "names_only"  # position orders the listing
        tree = Apply("mean", (LayerStatistic("snip"),))
        assert export.export_proxy(tree, "names_only", 1.0) == "proxy: mean_l(snip[l])"
        (tmp_path / "best_proxy.json").write_text(json.dumps({"tree": tree.to_dict()}), encoding="utf-8")
        result = CliRunner().invoke(app, ["export", str(tmp_path), "--format", "names_only"])
        assert result.exit_code == 0, result.output
        assert result.output.strip() == "best proxy: mean_l(snip[l])"
    finally:
        unregister_format("names_only")
    with pytest.raises(GMError, match=r"unknown export format 'names_only' \(choose one of: text, latex, python, json\)"):
        export.export_proxy(Apply("mean", (LayerStatistic("snip"),)), "names_only")


# --------------------------------------------------------------------------- operators' Python forms


def _operator(name, python, needs=(), arity=1):
    return ops.Operator(
        name=name, arity=arity, kind=ops.ELEMENTWISE, input_types=(ops.ANY,) * arity, output_type=ops.PROMOTE,
        torch_function=(lambda x: torch.sign(x)) if arity == 1 else (lambda a, b: torch.sign(a * b)),
        sympy_function=(lambda x: sympy.sign(x)) if arity == 1 else (lambda a, b: sympy.sign(a * b)),
        display="f({0})" if arity == 1 else "f({0}, {1})", description="test",
        python_source=python, python_needs=tuple(needs),
    )


def test_every_shipped_operator_carries_a_python_form():
    assert set(export.python_operator_names()) == set(ops.operator_names())
    for operator in ops.operators():
        assert operator.python_source.startswith(f"def _{operator.name}(")
        for need in operator.python_needs:
            assert need in ops.PYTHON_SUPPORT or need in ops.operator_names()


@pytest.mark.parametrize(
    "python,needs,arity,message",
    [
        ("def _other(x):\n    return x\n", (), 1, "must be one 'def _sign_of"),
        ("def _sign_of(x, y):\n    return x\n", (), 1, "must take 1 positional"),
        ("def _sign_of(x):\n    return _sign(x)\n", (), 1, "uses '_sign'"),
        ("def _sign_of(x):\n    import os\n    return x\n", (), 1, "must not import"),
        ("def _sign_of(x):\n    return x +\n", (), 1, "does not parse"),
        ("def _sign_of(x):\n    return _sign(x)\n", ("_nothing",), 1, "neither a registered operator"),
        ("", ("_sign",), 1, "python_needs without a Python form"),
    ],
)
def test_malformed_python_forms_are_refused(python, needs, arity, message):
    with pytest.raises(ops.OperatorRegistrationError, match=message):
        ops.register(_operator("sign_of", python, needs, arity))
    assert "sign_of" not in ops.operator_names()


def test_a_new_operator_exports_with_its_own_python_form(tmp_path):
    ops.register(_operator("sign_of", "def _sign_of(x):\n    return _sign(x)\n", ("_sign",)))
    try:
        tree = Apply("sum", (Apply("sign_of", (LayerStatistic("snip"),)),))
        source = export.to_python_module(tree, statistic_docs_={})
        assert "def _sign_of(x):" in source and "def _sign(x):" in source
        spec = importlib.util.spec_from_file_location("gm_exported_sign_of", tmp_path / "sign_of.py")
        (tmp_path / "sign_of.py").write_text(source, encoding="utf-8")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert module.proxy_score({"snip": [2.0, -3.0, 0.0, 5.0]}, {}) == 1.0
    finally:
        ops.unregister("sign_of")
    ops.register(_operator("sign_of", ""))  # an operator without a Python form registers...
    try:
        with pytest.raises(GMError, match="no standard-library form of operator 'sign_of'"):
            export.to_python_module(Apply("sign_of", (NetworkStatistic("naswot"),)), statistic_docs_={})
        assert "sign_of" not in export.python_operator_names()
    finally:
        ops.unregister("sign_of")
