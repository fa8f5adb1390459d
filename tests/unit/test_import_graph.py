"""scripts/import_graph.py: the package imports only downward, and the script sees planted cycles.

The first test holds the repository to the layer order that ``core/__init__.py`` declares: no
import back up, no module cycle, and only the one cycle between files the layout allows (the
probe registry that registers its statistics). The others
check the script on tiny synthetic trees, so a broken measure cannot pass the first test.
"""

import importlib.util
import subprocess
import sys
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
SCRIPT = REPOSITORY / "scripts" / "import_graph.py"


def _load_script():
    spec = importlib.util.spec_from_file_location("import_graph", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


graph = _load_script()


def _write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


#: A package ``pkg`` (folder ``src/``) with ``pkg.ui`` (folder ``ui/``) on top; ``low`` reads
#: ``high`` back inside a function, and two files of the sub-folder ``sub`` read each other.
TINY = {
    "setup.py": 'from setuptools import setup\nsetup(package_dir={"pkg": "src", "pkg.ui": "ui"})\n',
    "src/__init__.py": '"""Tiny.\n\nData flows: a + b -> c (not an order).\n\n    ui -> high -> low, sub\n"""\n',
    "src/high.py": "from . import low\nfrom pkg.sub import a\n",
    "src/low.py": "def late():\n    from pkg.high import low\n",
    "src/sub/__init__.py": "",
    "src/sub/a.py": "from pkg.sub import b\n",
    "src/sub/b.py": "import pkg.sub.a\n",
    "ui/__init__.py": "",
    "ui/cli.py": "import os\nfrom pkg import high\nfrom .. import ui\n",
    "tests/test_x.py": "from pkg import low\nfrom pkg.ui import cli\n",
}


def test_repository_imports_only_downward():
    package = graph.read_package(graph.Tree(REPOSITORY))
    measures = graph.measure(package, "working tree")
    assert measures.order is not None, "core/__init__.py's docstring no longer declares the layer order"
    assert len(measures.graph.modules) > 20 and measures.layer_count > 5
    assert measures.back_up == [], "\n".join(
        f"{source} -> {target}: {graph._where(measures.graph.edges[source, target])}"
        for source, target in measures.back_up)
    assert measures.cycles == [], measures.cycles
    assert [sorted(cycle) for cycle in measures.file_cycles] == [
        ["greenmachine.probe.registry", "greenmachine.probe.statistics"]], measures.file_cycles
    package.split = True  # the command line's files as modules: still nothing back up
    assert graph.measure(package, "working tree, split").back_up == []


def test_planted_cycle_and_back_up_found(tmp_path):
    _write(tmp_path, TINY)
    measures = graph.measure(graph.read_package(graph.Tree(tmp_path)), "tiny")
    assert measures.graph.modules == ["pkg", "pkg.high", "pkg.low", "pkg.sub", "pkg.ui"]
    assert measures.order == [["ui"], ["high"], ["low", "sub"]]
    assert measures.back_up == [("pkg.low", "pkg.high")]
    assert measures.undeclared == ["pkg"]
    assert measures.cycles == [["pkg.high", "pkg.low"]]
    assert sorted(measures.file_cycles) == [["pkg.high", "pkg.low"], ["pkg.sub.a", "pkg.sub.b"]]
    assert measures.graph.edges["pkg.low", "pkg.high"][0].in_function
    assert measures.layer_count == 3  # sub; the high/low cycle; ui
    assert measures.summary() == "tiny: 5 modules, 3 layers, 4 imports, 1 back up, 1 cycle (2 between files)"


def test_split_counts_the_other_roots_files(tmp_path):
    _write(tmp_path, TINY)
    measures = graph.measure(graph.read_package(graph.Tree(tmp_path), split=True), "tiny")
    assert measures.graph.modules == ["pkg", "pkg.high", "pkg.low", "pkg.sub", "pkg.ui", "pkg.ui.cli"]
    assert ("pkg.ui.cli", "pkg.ui") in measures.graph.edges  # the relative ``from .. import ui``
    assert measures.back_up == [("pkg.low", "pkg.high")]


def test_without_declared_order_cycle_edges_count(tmp_path):
    _write(tmp_path, {**TINY, "src/__init__.py": '"""Tiny, no order."""\n'})
    measures = graph.measure(graph.read_package(graph.Tree(tmp_path)), "tiny")
    assert measures.order is None
    assert measures.back_up == [("pkg.high", "pkg.low"), ("pkg.low", "pkg.high")]
    assert len(measures.fewest) == 1


def test_revision_read_from_git(tmp_path, capsys):
    _write(tmp_path, TINY)
    git = ["git", "-C", str(tmp_path), "-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "tiny"], check=True)
    (tmp_path / "src" / "low.py").write_text("")  # the working tree no longer has the cycle
    assert graph.main(["--root", str(tmp_path), "--rev", "HEAD"]) == 0
    assert capsys.readouterr().out.startswith("HEAD: 5 modules, 3 layers, 4 imports, 1 back up, 1 cycle")
    assert graph.main(["--root", str(tmp_path), "--names", "src=pkg,ui=pkg.ui"]) == 0
    assert capsys.readouterr().out.startswith("working tree: 5 modules, 3 layers, 3 imports, 0 back up, 0 cycles")


def test_bad_input_one_line(tmp_path, capsys):
    assert graph.main(["--root", str(tmp_path), "--names", "src"]) == 2
    assert capsys.readouterr().err.strip() == "import_graph: --names: 'src' is not FOLDER=NAME"
    assert graph.main(["--root", str(tmp_path), "--rev", "HEAD"]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
