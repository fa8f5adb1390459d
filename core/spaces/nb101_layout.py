"""The layout of a NAS-Bench-101 network: stem, stacks and the channels of a cell's vertices.

Light constants and one rule shared by :mod:`greenmachine.spaces.nb101` (the space, which
re-exports them) and :mod:`greenmachine.spaces.nb101_network` (the PyTorch modules), so that the
network module does not import the space module that loads it.
"""

from __future__ import annotations

from typing import Sequence

STEM_CHANNELS = 128
"""Channels of the stem and of the first stack (the others have 256 and 512)."""

STACKS = 3
CELLS_PER_STACK = 3


def vertex_channels(in_channels: int, out_channels: int, matrix: Sequence[Sequence[int]]) -> list[int]:
    """Channels of every vertex of a pruned cell (NAS-Bench-101's rule).

    The output's channels are divided among the vertices that feed it (the first ones get
    one more when the division is not even); every other interior vertex gets the largest
    channel count of the interior vertices it feeds; the input keeps ``in_channels``.

    Parameters
    ----------
    in_channels, out_channels : int
        Channels of the cell's input and output.
    matrix : sequence of sequence of int
        The pruned adjacency matrix.

    Returns
    -------
    list of int
        One count per vertex.
    """
    count = len(matrix)
    channels = [0] * count
    channels[0], channels[-1] = in_channels, out_channels
    if count == 2:
        return channels
    output = count - 1
    feeding = [vertex for vertex in range(1, output) if matrix[vertex][output]]
    share, remainder = divmod(out_channels, len(feeding))
    for position, vertex in enumerate(feeding):
        channels[vertex] = share + (1 if position < remainder else 0)
    for vertex in range(output - 2, 0, -1):
        if not matrix[vertex][output]:
            channels[vertex] = max(channels[target] for target in range(vertex + 1, output) if matrix[vertex][target])
    return channels
