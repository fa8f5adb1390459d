"""NAS-Bench-Macro: arch strings, canonical forms and networks (search space ``macro``).

Called by :mod:`greenmachine.spaces` (the registry), which the benchmark loader, the probe, the
importers, the search and the CLI use to read the ground truth, validate arch strings and
build untrained networks.

NAS-Bench-Macro (Su et al., "Prioritized Architecture Sampling with Monte-Carlo Tree
Search", CVPR 2021) trains every network of a MobileNetV2-style macro space on CIFAR-10. An
arch string is 8 digits, one per searchable layer in three stages of 2, 3 and 3 layers:

* ``0`` identity; in the first layer of a stage, which halves the resolution and doubles the
  channels, a 1x1 convolution (stride 2) + BatchNorm;
* ``1`` MobileNetV2 inverted residual block, expansion 3, kernel 3;
* ``2`` MobileNetV2 inverted residual block, expansion 6, kernel 5.

A block is pointwise conv-BN-ReLU (to ``expansion x`` input channels), depthwise conv-BN-ReLU
(the block's stride), pointwise conv-BN; it adds its input where the stride is 1 and the
channels match. The network: stem 3x3 conv (32 channels)-BN-ReLU at full resolution, the 8
layers (64, 128, 256 channels), head 1x1 conv to 1280-BN-ReLU, global average pooling,
linear classifier. Every activation is an ``nn.ReLU`` module (not in-place), so the probe's
activation hooks see every one. Written from the benchmark's description
(``shared/data/PROVENANCE.md`` §6); the parameter count of every network equals the
benchmark's (``scripts/check_space_params.py``).

Identity layers after the first layer of a stage are true identities, so moving them to the
stage's end gives the same network: the benchmark's 6,561 keys are 3,969 distinct networks,
and equivalent keys carry identical records (copies, not separate trainings). The table of
this space has one row per distinct network, its arch in **canonical form** (inside each
stage the first layer as is, then the other layers' blocks in order, then their
identities); :meth:`MacroArch.canonical` maps any key to it.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from greenmachine.errors import ArchStringError, DataFileError
from greenmachine.spaces.base import SearchSpace
from greenmachine.spaces.json_tables import finite_number, number_text, read_json
from greenmachine.spaces.macro_layout import (  # noqa: F401  (re-exported)
    STAGE_LAYERS,
    LAYER_COUNT,
    STEM_CHANNELS,
    HEAD_CHANNELS,
    IDENTITY,
    BLOCKS,
    CHOICE_NAMES,
    RUNS,
    stage_of_layer,
)

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


@dataclass(frozen=True)
class MacroArch:
    """A parsed NAS-Bench-Macro arch: one choice per layer.

    Attributes
    ----------
    choices : tuple of int
        Eight digits in 0..2 (see the module docstring).
    """

    choices: tuple[int, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "choices", tuple(int(choice) for choice in self.choices))
        if len(self.choices) != LAYER_COUNT or any(choice not in (0, 1, 2) for choice in self.choices):
            raise ArchStringError(f"invalid NAS-Bench-Macro choices {self.choices!r}: need "
                                  f"{LAYER_COUNT} values in 0..2")

    def to_string(self) -> str:
        """Return the 8-digit arch string, e.g. ``"12011200"``."""
        return "".join(str(choice) for choice in self.choices)

    def canonical(self) -> "MacroArch":
        """Return the equivalent arch with the identities of each stage moved to its end.

        The first layer of a stage stays (its identity is a strided 1x1 convolution); in
        the other layers an identity is a true identity, so moving it changes nothing.
        """
        canonical: list[int] = []
        start = 0
        for count in STAGE_LAYERS:
            first, rest = self.choices[start], self.choices[start + 1:start + count]
            blocks = [choice for choice in rest if choice != IDENTITY]
            canonical += [first, *blocks] + [IDENTITY] * (len(rest) - len(blocks))
            start += count
        return MacroArch(tuple(canonical))

    @property
    def is_canonical(self) -> bool:
        """Whether the arch is in canonical form (the form the table lists)."""
        return self.canonical() == self


def parse_macro_arch(text: str) -> MacroArch:
    """Parse and validate a NAS-Bench-Macro arch string.

    Parameters
    ----------
    text : str
        Eight digits in 0..2 (surrounding whitespace is ignored); any key of the benchmark,
        canonical or not.

    Returns
    -------
    MacroArch

    Raises
    ------
    ArchStringError
        Not a string, or not 8 digits in 0..2.
    """
    if not isinstance(text, str):
        raise ArchStringError(f"NAS-Bench-Macro arch string must be a str, got {type(text).__name__}: {text!r}")
    stripped = text.strip()
    if len(stripped) != LAYER_COUNT or any(character not in "012" for character in stripped):
        raise ArchStringError(f"invalid NAS-Bench-Macro arch string {stripped!r}: expected {LAYER_COUNT} digits "
                              "in 0..2 (0 identity, 1 MBConv e3 k3, 2 MBConv e6 k5)")
    return MacroArch(tuple(int(character) for character in stripped))


def macro_parameter_count(arch: MacroArch | str, num_classes: int = 10) -> int:
    """Count the parameters of :func:`build_macro_network` without building it.

    Same convention as :func:`greenmachine.spaces.cost.count_parameters` (BatchNorm weight and bias
    counted, running statistics not) and as the benchmark's ``params``.

    Parameters
    ----------
    arch : MacroArch or str
        The arch.
    num_classes : int
        Classifier outputs.

    Returns
    -------
    int
        Number of scalar parameters.
    """
    if isinstance(arch, str):
        arch = parse_macro_arch(arch)

    def conv_bn(in_channels: int, out_channels: int, kernel_size: int, groups: int = 1) -> int:
        return kernel_size * kernel_size * in_channels // groups * out_channels + 2 * out_channels

    total = conv_bn(3, STEM_CHANNELS, 3)
    channels = STEM_CHANNELS
    for choice, (_stage, first) in zip(arch.choices, stage_of_layer()):
        out_channels = channels * 2 if first else channels
        if choice == IDENTITY:
            total += conv_bn(channels, out_channels, 1) if first else 0
        else:
            expansion, kernel = BLOCKS[choice]
            hidden = channels * expansion
            total += conv_bn(channels, hidden, 1) + conv_bn(hidden, hidden, kernel, groups=hidden)
            total += conv_bn(hidden, out_channels, 1)
        channels = out_channels
    total += conv_bn(channels, HEAD_CHANNELS, 1)
    return total + HEAD_CHANNELS * num_classes + num_classes


def build_macro_network(arch: MacroArch | str, num_classes: int = 10) -> "nn.Module":
    """Build the untrained NAS-Bench-Macro network of an arch.

    Parameters
    ----------
    arch : MacroArch or str
        The arch (a string is parsed with :func:`parse_macro_arch`).
    num_classes : int
        Classifier outputs.

    Returns
    -------
    torch.nn.Module
        ``forward`` maps ``(batch, 3, H, W)`` images to logits ``(batch, num_classes)``. Its
        Conv2d/Linear layers are registered in the order the forward pass runs them.
    """
    from greenmachine.spaces.macro_network import MacroNetwork

    if isinstance(arch, str):
        arch = parse_macro_arch(arch)
    return MacroNetwork(arch.choices, num_classes)


TABLE_FILE = "nasbench_macro_cifar10.json.gz"
"""The benchmark's JSON (``nas-bench-macro_cifar10.json``), gzipped."""

GROUND_TRUTH_COLUMN = "test_acc_mean"
RUN_COLUMNS = tuple(f"test_acc_run{run}" for run in range(RUNS))
PARAMS_COLUMN = "params_M"
TABLE_COLUMNS = ("index", "arch", GROUND_TRUTH_COLUMN, *RUN_COLUMNS, "test_acc_std", PARAMS_COLUMN, "params",
                 "flops_M", "equivalent_keys")
"""Columns of the table :meth:`MacroSearchSpace.table_rows` makes of the JSON file."""


def macro_table_rows(benchmark: Any, where: str) -> tuple[list[str], list[list[str]]]:
    """Turn the decoded benchmark JSON into one row per distinct network.

    Parameters
    ----------
    benchmark : object
        ``{arch: {test_acc: [3 floats], mean_acc, std, params, flops}}`` as decoded.
    where : str
        The file, for error messages.

    Returns
    -------
    (list of str, list of list of str)
        :data:`TABLE_COLUMNS` and the rows, sorted by canonical arch string: ``arch``
        canonical, ``test_acc_mean`` the mean of the three runs (checked against the file's
        ``mean_acc``), ``test_acc_run0..2`` the runs, ``test_acc_std`` the file's ``std``,
        ``params_M`` the file's ``params`` in millions, ``params`` as in the file,
        ``flops_M`` the file's ``flops`` in millions, ``equivalent_keys`` how many keys of
        the file are this network.

    Raises
    ------
    DataFileError
        Not an object of arch keys, a malformed key or record, a mean that is not the mean
        of the runs, or equivalent keys whose records differ.
    """
    if not isinstance(benchmark, dict) or not benchmark:
        raise DataFileError(f"{where} is not a JSON object of NAS-Bench-Macro archs")
    groups: dict[str, list[str]] = {}
    records: dict[str, dict[str, Any]] = {}
    for key, record in benchmark.items():
        try:
            canonical = parse_macro_arch(key).canonical().to_string()
        except ArchStringError as exc:
            raise DataFileError(f"{where}: {exc}") from None
        if key.strip() != key:
            raise DataFileError(f"{where}: arch key {key!r} has surrounding spaces")
        entry = f"{where}: arch {key}"
        if not isinstance(record, dict):
            raise DataFileError(f"{entry} is not a JSON object")
        runs = record.get("test_acc")
        if not isinstance(runs, list) or len(runs) != RUNS:
            raise DataFileError(f"{entry}: 'test_acc' must list {RUNS} accuracies")
        values = [finite_number(value, f"{entry} test_acc[{run}]") for run, value in enumerate(runs)]
        mean = sum(values) / len(values)
        stated = finite_number(record.get("mean_acc"), f"{entry} mean_acc")
        if abs(mean - stated) > 1e-6:
            raise DataFileError(f"{entry}: mean_acc {stated!r} is not the mean of test_acc ({mean!r})")
        params = finite_number(record.get("params"), f"{entry} params")
        if params <= 0 or params != int(params):
            raise DataFileError(f"{entry}: params {record.get('params')!r} is not a positive whole number")
        summary = {"runs": values, "mean": mean, "std": finite_number(record.get("std"), f"{entry} std"),
                   "params": int(params), "flops": finite_number(record.get("flops"), f"{entry} flops")}
        group = groups.setdefault(canonical, [])
        if group and records[canonical] != summary:
            raise DataFileError(f"{where}: archs {group[0]} and {key} are the same network (canonical "
                                f"{canonical}) but their records differ")
        group.append(key)
        records[canonical] = summary
    rows = []
    for index, arch in enumerate(sorted(records)):
        summary = records[arch]
        rows.append([str(index), arch, number_text(summary["mean"]), *map(number_text, summary["runs"]),
                     number_text(summary["std"]), number_text(summary["params"] / 1e6), str(summary["params"]),
                     number_text(summary["flops"] / 1e6), str(len(groups[arch]))])
    return list(TABLE_COLUMNS), rows


class MacroSearchSpace(SearchSpace):
    """NAS-Bench-Macro on CIFAR-10: 3,969 distinct MobileNetV2-style networks, all trained.

    Ground truth: ``test_acc_mean``, CIFAR-10 test accuracy (best over 50 epochs), mean of
    three training runs; the runs are kept as ``test_acc_run0..2`` (seed 0 against seed 1
    agree at Kendall tau 0.880, about the ceiling of any predictor).
    """

    name = "macro"
    title = "NAS-Bench-Macro"
    size = 3969
    datasets = ("cifar10",)
    table_file = TABLE_FILE
    arch_column = "arch"
    layers_in_registration_order = True
    metric_columns = MappingProxyType({"cifar10": GROUND_TRUTH_COLUMN})
    params_columns = MappingProxyType({"cifar10": PARAMS_COLUMN})
    ground_truth_note = ("NAS-Bench-Macro ground truth: test_acc_mean, CIFAR-10 test accuracy (best of 50 epochs), "
                         "mean of 3 training runs.")
    caveat = ("NAS-Bench-Macro ground truth: CIFAR-10 test accuracy, best over 50 epochs, mean of 3 training runs "
              "(the benchmark's definition); run 0 against run 1 agree at Kendall tau 0.880.")

    def parse(self, text: str) -> MacroArch:
        """Parse an arch string (see :func:`parse_macro_arch`); any key, canonical or not."""
        return parse_macro_arch(text)

    def build(self, arch: MacroArch | str, dataset: str) -> "nn.Module":
        """Build the network of ``arch`` with the head of ``dataset``."""
        info = self.dataset(dataset)
        parsed = parse_macro_arch(arch) if isinstance(arch, str) else arch
        if not isinstance(parsed, MacroArch):
            raise ArchStringError(f"expected a NAS-Bench-Macro arch, got {parsed!r}")
        return build_macro_network(parsed, info.num_classes)

    def parameter_count(self, arch: MacroArch | str, dataset: str) -> int:
        """Count parameters without building the network (:func:`macro_parameter_count`)."""
        parsed = parse_macro_arch(arch) if isinstance(arch, str) else arch
        return macro_parameter_count(parsed, self.dataset(dataset).num_classes)

    def mutate(self, arch: str, rng) -> str:
        """Change the choice of one layer, and return the canonical form of the result.

        The result is always another network: changing one layer changes the blocks of its
        stage or their number.
        """
        choices = list(parse_macro_arch(arch).choices)
        layer = int(rng.integers(len(choices)))
        others = [choice for choice in range(len(CHOICE_NAMES)) if choice != choices[layer]]
        choices[layer] = others[int(rng.integers(len(others)))]
        return MacroArch(tuple(choices)).canonical().to_string()

    def table_rows(self, path) -> tuple[list[str], list[list[str]]]:
        """Read the benchmark's JSON (gzipped) into one row per distinct network (:func:`macro_table_rows`)."""
        from pathlib import Path

        path = Path(path)
        return macro_table_rows(read_json(path), f"data file {path.name!r} in {path.parent}")


MACRO = MacroSearchSpace()
"""The registered NAS-Bench-Macro space."""

from greenmachine.spaces.registry import register_space  # noqa: E402

register_space(MACRO)
