"""A toy third search space for the tests: plain CNNs of a few widths, depths and kernels.

Used by ``tests/integration/test_toy_space.py`` to show that a new space is one module (this one) plus
its table: the benchmark loader, the probe, evolution, ``gm eval`` and ``gm baselines``
run on it without any change elsewhere. The table is written by :func:`write_table` with
made-up accuracies (a smooth function of size plus seeded noise), so the numbers mean
nothing beyond the test.
"""

from __future__ import annotations

import csv
import gzip
import itertools
import re
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np
import torch
from torch import nn

from greenmachine.errors import ArchStringError
from greenmachine.spaces import SearchSpace

WIDTHS = (4, 8, 12, 16)
DEPTHS = (1, 2, 3, 4)
KERNELS = (1, 3, 5, 7)
_PATTERN = re.compile(r"w(\d+)-d(\d+)-k(\d+)")


@dataclass(frozen=True)
class ToyArch:
    """Width, depth and kernel size of a toy CNN."""

    width: int
    depth: int
    kernel: int

    def __str__(self) -> str:
        return f"w{self.width}-d{self.depth}-k{self.kernel}"


class ToyNetwork(nn.Module):
    """Stem, ``depth`` Conv-BN-ReLU blocks, global average pooling, linear head."""

    def __init__(self, arch: ToyArch, num_classes: int) -> None:
        super().__init__()
        # The head is registered first on purpose: registration order is not forward order.
        self.head = nn.Linear(arch.width, num_classes)
        self.stem = nn.Conv2d(3, arch.width, 3, padding=1, bias=False)
        blocks = []
        for _ in range(arch.depth):
            blocks += [nn.Conv2d(arch.width, arch.width, arch.kernel, padding=arch.kernel // 2, bias=False),
                       nn.BatchNorm2d(arch.width), nn.ReLU()]
        self.body = nn.Sequential(*blocks)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        features = self.body(self.stem(images))
        return self.head(features.mean(dim=(2, 3)))


class ToySpace(SearchSpace):
    """The toy space; its table lives wherever the test wrote it."""

    name = "toy"
    title = "toy CNN space"
    size = None
    datasets = ("cifar10",)
    table_file = "toy_space.csv.gz"
    arch_column = "arch"
    metric_columns = MappingProxyType({"cifar10": "cifar10"})
    ground_truth_note = "toy ground truth: made-up accuracies for tests."
    caveat = "made-up accuracies (tests only)"

    def __init__(self, table: Path) -> None:
        self.table = Path(table)

    def table_path(self) -> Path:
        return self.table

    def parse(self, text: str) -> ToyArch:
        match = _PATTERN.fullmatch(text.strip()) if isinstance(text, str) else None
        if match is None:
            raise ArchStringError(f"invalid toy arch string {text!r}: expected w<width>-d<depth>-k<kernel>")
        arch = ToyArch(*(int(group) for group in match.groups()))
        if arch.width not in WIDTHS or arch.depth not in DEPTHS or arch.kernel not in KERNELS:
            raise ArchStringError(f"invalid toy arch string {text!r}: value out of range")
        return arch

    def build(self, arch, dataset: str) -> nn.Module:
        info = self.dataset(dataset)
        parsed = self.parse(arch) if isinstance(arch, str) else arch
        return ToyNetwork(parsed, info.num_classes)


def write_table(path: Path, seed: int = 0) -> Path:
    """Write the toy table (64 networks) with made-up accuracies to ``path``."""
    rng = np.random.default_rng(seed)
    rows = []
    for index, (width, depth, kernel) in enumerate(itertools.product(WIDTHS, DEPTHS, KERNELS)):
        accuracy = 40 + 8 * np.log2(width) + 4 * depth - 1.5 * abs(kernel - 3) + rng.normal(0, 1.5)
        rows.append([index, str(ToyArch(width, depth, kernel)), f"{min(max(accuracy, 0), 100):.3f}"])
    with gzip.open(path, "wt", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["index", "arch", "cifar10"])
        writer.writerows(rows)
    return path
