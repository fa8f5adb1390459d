"""NAS-Bench-101 (500 networks with NASLib's proxy scores): arch strings and networks (space ``nb101``).

Called by :mod:`greenmachine.spaces` (the registry), which the benchmark loader, the probe, the
importers and the CLI use to read the ground truth, validate arch strings and build
untrained networks; and by ``scripts/nb101_agreement.py``, which compares our proxy scores
with NASLib's.

NAS-Bench-101 (Ying et al., ICML 2019) is a cell space: a cell is a directed acyclic graph
of at most 7 vertices (input, up to 5 operations, output) and at most 9 edges, each
operation one of ``conv3x3-bn-relu``, ``conv1x1-bn-relu``, ``maxpool3x3``. The table of this
space is NAS-Bench-Suite-Zero's (Krishnakumar et al., NeurIPS 2022, through NASLib): 500
networks, NAS-Bench-101 validation accuracy after 108 epochs (one randomly chosen training
repeat, so a noisy target) and NASLib's scores of 11 zero-cost proxies.

An arch string is ``<21 edge bits>:<5 operation codes>``: the upper triangle of the 7x7
adjacency matrix row by row (edges 0->1, 0->2, ..., 0->6, 1->2, ..., 5->6), then the
operation of vertices 1..5, ``3`` conv3x3-bn-relu, ``1`` conv1x1-bn-relu, ``m`` maxpool3x3.
It is the matrix as the benchmark lists it, *before pruning*: vertices not on a path from
input to output are dropped when the network is built, as NAS-Bench-101 does.

The network (the paper's, from its description and the published model): stem 3x3 conv
(128 channels)-BN-ReLU; three stacks of three cells, a 2x2 max-pool (stride 2) and channel
doubling before the second and third stacks (128, 256, 512); global average pooling; a
linear classifier. In a cell, the output concatenates the vertices that feed it, their
channels dividing the cell's output channels (the first vertices get one more when the
division is not even); another vertex has the largest channel count of the vertices it
feeds. A vertex adds its inputs: an earlier vertex's output (its first channels when it has
more) or the cell input through a 1x1 conv-BN-ReLU projection; the cell input reaches the
output through a projection too, added to the concatenation. Every activation is an
``nn.ReLU`` module (not in-place).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from greenmachine.errors import ArchStringError, DataFileError
from greenmachine.spaces.base import SearchSpace
from greenmachine.spaces.json_tables import finite_number, number_text, read_json
from greenmachine.spaces.nb101_layout import CELLS_PER_STACK, STACKS, STEM_CHANNELS, vertex_channels  # noqa: F401  (re-exported)

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn

VERTICES = 7
"""Vertices of the cell's matrix: input, 5 operations, output."""

EDGES: tuple[tuple[int, int], ...] = tuple((source, target) for source in range(VERTICES)
                                           for target in range(source + 1, VERTICES))
"""The 21 (source, target) pairs of the upper triangle, in arch-string order."""

MAX_EDGES = 9
"""NAS-Bench-101's limit on the edges of a (pruned) cell."""

OPERATIONS: Any = MappingProxyType({"3": "conv3x3-bn-relu", "1": "conv1x1-bn-relu", "m": "maxpool3x3"})
"""Operation code -> NAS-Bench-101 operation name."""

NASLIB_OPERATIONS: tuple[str, ...] = ("input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu")
"""The operation indices of NASLib's keys."""


@dataclass(frozen=True)
class NB101Arch:
    """A NAS-Bench-101 cell as the benchmark lists it (before pruning).

    Attributes
    ----------
    edges : tuple of int
        21 values in {0, 1}, one per pair of :data:`EDGES`.
    operations : tuple of str
        Five operation codes (keys of :data:`OPERATIONS`) of vertices 1..5.

    Raises
    ------
    ArchStringError
        Malformed values, no path from input to output, or more than 9 edges once pruned.
    """

    edges: tuple[int, ...]
    operations: tuple[str, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "edges", tuple(self.edges))
        object.__setattr__(self, "operations", tuple(self.operations))
        if len(self.edges) != len(EDGES) or any(edge not in (0, 1) for edge in self.edges):
            raise ArchStringError(f"a NAS-Bench-101 cell needs {len(EDGES)} edge bits, got {self.edges!r}")
        if len(self.operations) != VERTICES - 2 or any(code not in OPERATIONS for code in self.operations):
            raise ArchStringError(f"a NAS-Bench-101 cell needs {VERTICES - 2} operation codes in "
                                  f"{', '.join(OPERATIONS)}, got {self.operations!r}")
        matrix, _ = self.pruned()
        if matrix is None:
            raise ArchStringError(f"NAS-Bench-101 cell {self.to_string()!r} has no path from input to output")
        edges = sum(map(sum, matrix))
        if edges > MAX_EDGES:
            raise ArchStringError(f"NAS-Bench-101 cell {self.to_string()!r} has {edges} edges once pruned; "
                                  f"the space allows {MAX_EDGES}")

    def to_string(self) -> str:
        """Return the arch string ``<21 edge bits>:<5 operation codes>``."""
        return "".join(map(str, self.edges)) + ":" + "".join(self.operations)

    def matrix(self) -> list[list[int]]:
        """Return the 7x7 adjacency matrix (``matrix[source][target]``), unpruned."""
        matrix = [[0] * VERTICES for _ in range(VERTICES)]
        for edge, (source, target) in zip(self.edges, EDGES):
            matrix[source][target] = edge
        return matrix

    def operation_names(self) -> list[str]:
        """Return the 7 vertex labels, ``input`` and ``output`` included, unpruned."""
        return ["input", *(OPERATIONS[code] for code in self.operations), "output"]

    def pruned(self) -> tuple[list[list[int]] | None, list[str] | None]:
        """Drop the vertices not on a path from input to output (as NAS-Bench-101's ``ModelSpec``).

        Returns
        -------
        (matrix, labels) or (None, None)
            The pruned adjacency matrix and vertex labels; ``(None, None)`` when the input
            does not reach the output.
        """
        matrix = self.matrix()
        reached = {0}
        frontier = [0]
        while frontier:
            vertex = frontier.pop()
            for target in range(vertex + 1, VERTICES):
                if matrix[vertex][target] and target not in reached:
                    reached.add(target)
                    frontier.append(target)
        reaching = {VERTICES - 1}
        frontier = [VERTICES - 1]
        while frontier:
            vertex = frontier.pop()
            for source in range(vertex):
                if matrix[source][vertex] and source not in reaching:
                    reaching.add(source)
                    frontier.append(source)
        kept = sorted(reached & reaching)
        if 0 not in kept or VERTICES - 1 not in kept or len(kept) < 2:
            return None, None
        labels = self.operation_names()
        return [[matrix[source][target] for target in kept] for source in kept], [labels[vertex] for vertex in kept]

    @classmethod
    def from_naslib_key(cls, key: str) -> "NB101Arch":
        """Parse a key of NASLib's NAS-Bench-101 files: ``"(49 matrix entries, 7 operation indices)"``.

        Raises
        ------
        ArchStringError
            Not 56 integers, a matrix that is not strictly upper-triangular 0/1, or
            operations that are not input, 5 of :data:`NASLIB_OPERATIONS` ``[2:]``, output.
        """
        where = f"invalid NASLib NAS-Bench-101 key {key!r}"
        text = key.strip() if isinstance(key, str) else ""
        try:
            if not (text.startswith("(") and text.endswith(")")):
                raise ValueError
            values = [int(part) for part in text[1:-1].split(",")]
        except ValueError:
            raise ArchStringError(f"{where}: expected a tuple of 56 integers") from None
        if len(values) != VERTICES * VERTICES + VERTICES:
            raise ArchStringError(f"{where}: {len(values)} integers, expected 56")
        rows = [values[source * VERTICES:(source + 1) * VERTICES] for source in range(VERTICES)]
        labels = values[VERTICES * VERTICES:]
        lower = [rows[source][target] for source in range(VERTICES) for target in range(source + 1)]
        if any(entry not in (0, 1) for row in rows for entry in row) or any(lower):
            raise ArchStringError(f"{where}: the matrix must be 0/1 and strictly upper-triangular")
        if labels[0] != 0 or labels[-1] != 1 or any(label not in (2, 3, 4) for label in labels[1:-1]):
            raise ArchStringError(f"{where}: operations must be input, 5 of maxpool3x3/conv1x1/conv3x3, output")
        codes = {name: code for code, name in OPERATIONS.items()}
        operations = tuple(codes[NASLIB_OPERATIONS[label]] for label in labels[1:-1])
        return cls(tuple(rows[source][target] for source, target in EDGES), operations)


def parse_nb101_arch(text: str) -> NB101Arch:
    """Parse and validate a NAS-Bench-101 arch string ``<21 edge bits>:<5 operation codes>``.

    Raises
    ------
    ArchStringError
        Malformed, or not a valid NAS-Bench-101 cell (no path from input to output, more
        than 9 edges once pruned).
    """
    if not isinstance(text, str):
        raise ArchStringError(f"NAS-Bench-101 arch string must be a str, got {type(text).__name__}: {text!r}")
    stripped = text.strip()
    bits, separator, codes = stripped.partition(":")
    if (not separator or len(bits) != len(EDGES) or any(bit not in "01" for bit in bits)
            or len(codes) != VERTICES - 2 or any(code not in OPERATIONS for code in codes)):
        raise ArchStringError(f"invalid NAS-Bench-101 arch string {stripped!r}: expected {len(EDGES)} edge bits, ':', "
                              f"{VERTICES - 2} operation codes (3 conv3x3, 1 conv1x1, m maxpool3x3)")
    return NB101Arch(tuple(int(bit) for bit in bits), tuple(codes))


def nb101_parameter_count(arch: NB101Arch | str, num_classes: int = 10) -> int:
    """Count the parameters of :func:`build_nb101_network` without building it.

    Convolutions have no bias; BatchNorm weight and bias are counted (running statistics
    not); the classifier has a bias.
    """
    if isinstance(arch, str):
        arch = parse_nb101_arch(arch)
    matrix, labels = arch.pruned()
    kernels = {"conv3x3-bn-relu": 3, "conv1x1-bn-relu": 1}

    def conv_bn(in_channels: int, out_channels: int, kernel: int) -> int:
        return kernel * kernel * in_channels * out_channels + 2 * out_channels

    total = conv_bn(3, STEM_CHANNELS, 3)
    in_channels = STEM_CHANNELS
    for stack in range(STACKS):
        out_channels = STEM_CHANNELS * 2 ** stack
        for _cell in range(CELLS_PER_STACK):
            channels = vertex_channels(in_channels, out_channels, matrix)
            for vertex in range(1, len(matrix)):
                if matrix[0][vertex]:
                    total += conv_bn(in_channels, channels[vertex], 1)
                if labels[vertex] in kernels:
                    total += conv_bn(channels[vertex], channels[vertex], kernels[labels[vertex]])
            in_channels = out_channels
    return total + in_channels * num_classes + num_classes


def build_nb101_network(arch: NB101Arch | str, num_classes: int = 10) -> "nn.Module":
    """Build the untrained NAS-Bench-101 network of a cell (pruned first).

    Returns
    -------
    torch.nn.Module
        ``forward`` maps ``(batch, 3, H, W)`` images to logits ``(batch, num_classes)``; its
        Conv2d/Linear layers are registered in the order the forward pass runs them.
    """
    from greenmachine.spaces.nb101_network import NB101Network

    if isinstance(arch, str):
        arch = parse_nb101_arch(arch)
    matrix, labels = arch.pruned()
    return NB101Network(matrix, labels, num_classes)


TABLE_FILE = "nb101_zc_proxies_naslib_500.json.gz"
"""NASLib's ``zc_nasbench101.json`` (NAS-Bench-Suite-Zero), gzipped."""

NASLIB_PROXIES: tuple[str, ...] = ("flops", "params", "snip", "jacov", "grad_norm", "plain", "epe_nas", "fisher",
                                   "grasp", "l2_norm", "synflow")
"""NASLib's proxy scores in the file (``flops`` in MFLOPs, ``params`` in millions)."""

GROUND_TRUTH_COLUMN = "val_accuracy"
PARAMS_COLUMN = "params_M"


def naslib_column(proxy: str) -> str:
    """The table column of one of NASLib's scores (``flops_M``, ``params_M``, ``naslib_<name>``)."""
    return {"flops": "flops_M", "params": PARAMS_COLUMN}.get(proxy, f"naslib_{proxy}")


TABLE_COLUMNS = ("index", "arch", GROUND_TRUTH_COLUMN, *(naslib_column(proxy) for proxy in NASLIB_PROXIES))
"""Columns of the table :meth:`NB101SearchSpace.table_rows` makes of the JSON file."""


def nb101_table_rows(data: Any, where: str) -> tuple[list[str], list[list[str]]]:
    """Turn NASLib's decoded JSON into one row per network, in the file's order.

    Parameters
    ----------
    data : object
        ``{"nasbench101": {"cifar10": {KEY: {val_accuracy, <11 proxies>}}}}`` as decoded.
    where : str
        The file, for error messages.

    Returns
    -------
    (list of str, list of list of str)
        :data:`TABLE_COLUMNS` and the rows: ``arch`` the key as an arch string,
        ``val_accuracy`` (percent), NASLib's scores (:func:`naslib_column`).

    Raises
    ------
    DataFileError
        Another layout, a malformed key or record, an invalid cell.
    """
    space = data.get("nasbench101") if isinstance(data, dict) else None
    networks = space.get("cifar10") if isinstance(space, dict) else None
    if not isinstance(networks, dict) or not networks:
        raise DataFileError(f"{where} is not NASLib's {{'nasbench101': {{'cifar10': {{...}}}}}} proxy file")
    rows = []
    for index, (key, record) in enumerate(networks.items()):
        try:
            arch = NB101Arch.from_naslib_key(key).to_string()
        except ArchStringError as exc:
            raise DataFileError(f"{where}: {exc}") from None
        entry = f"{where}: network {index}"
        if not isinstance(record, dict):
            raise DataFileError(f"{entry} is not a JSON object")
        values = [finite_number(record.get(GROUND_TRUTH_COLUMN), f"{entry} {GROUND_TRUTH_COLUMN}")]
        values += [finite_number(record.get(proxy), f"{entry} {proxy}") for proxy in NASLIB_PROXIES]
        rows.append([str(index), arch, *map(number_text, values)])
    return list(TABLE_COLUMNS), rows


class NB101SearchSpace(SearchSpace):
    """NAS-Bench-101 on CIFAR-10: the 500 networks NAS-Bench-Suite-Zero scored with 11 proxies.

    Ground truth: ``val_accuracy``, NAS-Bench-101 validation accuracy after 108 epochs, one
    randomly chosen training repeat (noisy: tau +- about 0.03 on 500 networks). NASLib's
    scores are kept as columns (``flops_M``, ``params_M``, ``naslib_<proxy>``).
    """

    name = "nb101"
    title = "NAS-Bench-101 (500)"
    size = 500
    datasets = ("cifar10",)
    table_file = TABLE_FILE
    arch_column = "arch"
    layers_in_registration_order = True
    metric_columns = MappingProxyType({"cifar10": GROUND_TRUTH_COLUMN})
    params_columns = MappingProxyType({"cifar10": PARAMS_COLUMN})
    ground_truth_note = ("NAS-Bench-101 ground truth: val_accuracy, CIFAR-10 validation accuracy after 108 epochs, "
                         "one training repeat (noisy).")
    caveat = ("NAS-Bench-101 ground truth: CIFAR-10 validation accuracy after 108 epochs of one randomly chosen "
              "training repeat (NAS-Bench-Suite-Zero's 500 networks); a noisy target, tau +- about 0.03.")

    def parse(self, text: str) -> NB101Arch:
        """Parse an arch string (see :func:`parse_nb101_arch`)."""
        return parse_nb101_arch(text)

    def build(self, arch: NB101Arch | str, dataset: str) -> "nn.Module":
        """Build the network of ``arch`` with the head of ``dataset``."""
        info = self.dataset(dataset)
        parsed = parse_nb101_arch(arch) if isinstance(arch, str) else arch
        if not isinstance(parsed, NB101Arch):
            raise ArchStringError(f"expected a NAS-Bench-101 arch, got {parsed!r}")
        return build_nb101_network(parsed, info.num_classes)

    def parameter_count(self, arch: NB101Arch | str, dataset: str) -> int:
        """Count parameters without building the network (:func:`nb101_parameter_count`)."""
        parsed = parse_nb101_arch(arch) if isinstance(arch, str) else arch
        return nb101_parameter_count(parsed, self.dataset(dataset).num_classes)

    def table_rows(self, path) -> tuple[list[str], list[list[str]]]:
        """Read NASLib's JSON (gzipped) into one row per network (:func:`nb101_table_rows`)."""
        from pathlib import Path

        path = Path(path)
        return nb101_table_rows(read_json(path), f"data file {path.name!r} in {path.parent}")


NB101 = NB101SearchSpace()
"""The registered NAS-Bench-101 space."""

from greenmachine.spaces.registry import register_space  # noqa: E402

register_space(NB101)
