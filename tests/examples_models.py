"""The README's example models (``examples/models.py``), importable by the tests."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_PATH = Path(__file__).resolve().parents[1] / "examples" / "models.py"
_SPEC = importlib.util.spec_from_file_location("greenmachine_examples_models", _PATH)
_MODULE = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(_MODULE)

ResNet, VGG, candidates, resnet_with_features = (_MODULE.ResNet, _MODULE.VGG, _MODULE.candidates,
                                                  _MODULE.resnet_with_features)
