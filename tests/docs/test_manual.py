"""The user's manual (``docs/``): its Python examples run, its generated parts render.

Every fenced block marked ``python`` in a manual page is run, the blocks of one page in order
in one namespace (as a reader would paste them), in a temporary folder with its own probe
cache. Blocks fenced as ``py`` are shown, not run: they start long designs, need a GPU or a Ray
cluster, or a run directory. ``mkdocs build --strict`` itself runs in CI (``.ci/run``); the
generators of ``docs/hooks/generated.py`` are checked here without MkDocs installed.
"""

from __future__ import annotations

import importlib.util
import re
import runpy
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
FENCE = re.compile(r"^```(\S*)[^\n]*\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def python_blocks(page: Path) -> list[str]:
    """The runnable blocks of a page: fenced ```python (not ```py, not other languages)."""
    return [body for language, body in FENCE.findall(page.read_text(encoding="utf-8")) if language == "python"]


PAGES = sorted(page for page in DOCS.rglob("*.md") if python_blocks(page))


def test_the_manual_has_runnable_examples():
    assert len(PAGES) >= 4, PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(DOCS)))
def test_python_blocks_run(page, tmp_path, monkeypatch, module_probe_cache):
    """The page's python blocks, one after the other, as one script (a reader pasting them)."""
    script = tmp_path / (page.stem.replace("-", "_") + "_examples.py")
    script.write_text("\n\n".join(f"# python block {number} of {page.relative_to(REPO)}\n{block}"
                                   for number, block in enumerate(python_blocks(page), 1)), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    runpy.run_path(str(script), run_name="__main__")


def test_the_readme_commands_are_the_manuals():
    fresh = re.compile(r"```bash\n(.*?)```", re.DOTALL)
    readme = fresh.findall((REPO / "README.md").read_text(encoding="utf-8"))[:2]
    manual = fresh.findall((DOCS / "getting-started.md").read_text(encoding="utf-8"))[:2]
    assert readme == manual and "gm run quick" in readme[0] and "pytest -q" in readme[1]


@pytest.fixture(scope="module")
def generated():
    spec = importlib.util.spec_from_file_location("manual_generated", DOCS / "hooks" / "generated.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_reference_has_every_command(generated):
    import typer

    from greenmachine.tui.cli import app

    text = generated.cli_reference()
    group = typer.main.get_command(app)
    context = group.context_class(group, info_name="gm")
    for name in group.list_commands(context):
        assert f"## `gm {name}" in text, name
    assert "`--seeds <str>`" in text and "## `gm data check`" in text


def test_generated_tables_name_what_the_code_registers(generated):
    from greenmachine.probe.registry import statistic_names
    from greenmachine.proxies import shipped_proxy_names

    statistics, proxies = generated.statistics_table(), generated.proxies_table()
    assert all(f"`{name}`" in statistics for name in statistic_names())
    assert all(f"`{name}`" in proxies for name in shipped_proxy_names())
    assert "`evolution.population`" in generated.profile_keys_table()
    assert "`quick`" in generated.profiles_table() and "`sum`" in generated.operators_table()


def test_a_marker_becomes_its_part_and_an_unknown_one_fails(generated):
    page = type("Page", (), {"file": type("File", (), {"src_path": "x.md"})()})()
    assert "| `quick` |" in generated.on_page_markdown("a\n<!-- gm:profiles -->\nb", page, None, None)
    with pytest.raises(ValueError, match="unknown generated part 'nope'"):
        generated.on_page_markdown("<!-- gm:nope -->", page, None, None)
