"""Model files behave like scripts: their own folder is importable while they load and run, then not.

``gm score --model FILE.py:FACTORY`` and custom-space builders import the user's file; a
file that imports a sibling package (``from models import *``) works from any working
directory, as ``python FILE.py`` would, and leaves neither its folder on ``sys.path`` nor
its sibling modules in ``sys.modules``: two model files each with their own ``models``
package do not see each other's.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from greenmachine.errors import GMError
from greenmachine.spaces.custom import load_function

ZOO = Path(__file__).resolve().parents[3] / "examples" / "cifar_models" / "zoo.py"


def _repository(folder: Path, width: int) -> Path:
    """A model repository: ``models/`` package, a lazy ``helpers.py``, and ``main.py`` importing them."""
    package = folder / "models"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("from models.net import Net, WIDTH\n")
    (package / "net.py").write_text(
        "import torch.nn.functional as F\nfrom torch import nn\n\n"
        f"WIDTH = {width}\n\n\n"
        "class Net(nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        self.conv = nn.Conv2d(3, WIDTH, 3, padding=1)\n"
        "        self.head = nn.Linear(WIDTH, 10)\n\n"
        "    def forward(self, x):\n"
        "        return self.head(F.relu(self.conv(x)).mean((2, 3)))\n")
    (folder / "helpers.py").write_text("def describe():\n    return 'helpers of this folder'\n")
    main = folder / "main.py"
    main.write_text("from models import *\n\n\n"
                    "def build():\n    return [Net(), Net()]\n\n\n"
                    "def width():\n    return WIDTH\n\n\n"
                    "def lazy():\n    from helpers import describe\n    return describe()\n")
    return main


def _leftovers() -> list[str]:
    return [name for name in ("models", "models.net", "helpers") if name in sys.modules]


def test_a_model_file_imports_its_sibling_package_and_leaves_no_trace(tmp_path, monkeypatch):
    main = _repository(tmp_path / "repository", 8)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    path_before = list(sys.path)
    assert not _leftovers()
    assert load_function(f"{main}:width", "model factory")() == 8
    assert load_function(f"{main}:lazy", "model factory")() == "helpers of this folder"  # imported at call time
    assert len(load_function(f"{main}:build", "model factory")()) == 2
    assert sys.path == path_before and not _leftovers()
    with pytest.raises(ModuleNotFoundError):
        __import__("models")


def test_two_model_files_with_their_own_models_package_do_not_collide(tmp_path):
    first, second = _repository(tmp_path / "a", 8), _repository(tmp_path / "b", 12)
    assert load_function(f"{first}:width", "model factory")() == 8
    assert load_function(f"{second}:width", "model factory")() == 12
    assert load_function(f"{first}:build", "model factory")()[0].conv.out_channels == 8
    assert not _leftovers()


def test_a_failing_sibling_import_is_one_line_and_leaves_no_trace(tmp_path):
    main = _repository(tmp_path / "repository", 8)
    (tmp_path / "repository" / "models" / "net.py").write_text("raise RuntimeError('broken sibling')\n")
    path_before = list(sys.path)
    with pytest.raises(GMError, match="failed to import: RuntimeError: broken sibling"):
        load_function(f"{main}:build", "model factory")
    assert sys.path == path_before and not _leftovers()


def test_gm_score_of_the_example_zoo_from_another_folder(tmp_path, monkeypatch, one_torch_thread):
    """The zoo's ``from models import *`` finds ``examples/cifar_models/models`` from any working directory.

    At batch 16 its six networks get six SWAP scores; at batch 4 SWAP saturates (at most
    2^4 = 16 distinct sign patterns of 4 samples), and ``gm score`` says so.
    """
    from greenmachine.proxy.tree import NetworkStatistic
    from greenmachine.tui.cli import app

    proxy = tmp_path / "best_proxy.json"
    proxy.write_text(json.dumps({"tree": NetworkStatistic("swap").to_dict(), "probe": {"batch_size": 16, "seed": 0}}))
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "scores.json"
    command = ["score", "--proxy", str(proxy), "--model", f"{ZOO}:all_models", "--no-energy", "--json", str(out)]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 0, result.output
    scores = json.loads(out.read_text())["scores"]
    assert len(scores) == 6 and all(score > 16 for score in scores) and len(set(scores)) == 6
    assert "warning" not in result.output and not _leftovers()
    result = CliRunner().invoke(app, [*command, "--batch", "4"])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["scores"] == [16.0] * 6
    assert "gm: warning: proxy" in result.output and "6 of 6 scores are tied at 16" in result.output
    assert "swap takes one value on all of them" in result.output
