"""Braille drawing shared by the terminal plots (tau per generation, search score, test scatter).

Each character cell holds a 2x4 grid of Unicode braille dots, so a plot of ``w`` x ``h``
cells has ``2w`` x ``4h`` dots. :class:`BrailleCanvas` maps data coordinates to dots, draws
lines (Bresenham) and points in a colour per series, and returns one :class:`rich.text.Text`
per character row; the widgets add their legend and axes.
"""

from __future__ import annotations

import math
from typing import Iterable, Sequence

from rich.text import Text

#: Bit of each dot (column 0..1, row 0..3) of a braille cell (U+2800 + bits).
DOT = {(0, 0): 0x01, (0, 1): 0x02, (0, 2): 0x04, (1, 0): 0x08, (1, 1): 0x10, (1, 2): 0x20, (0, 3): 0x40, (1, 3): 0x80}


def line_dots(x0: int, y0: int, x1: int, y1: int) -> list[tuple[int, int]]:
    """Bresenham line between two dot coordinates (inclusive)."""
    points = []
    dx, dy = abs(x1 - x0), -abs(y1 - y0)
    sx, sy = (1 if x0 < x1 else -1), (1 if y0 < y1 else -1)
    error = dx + dy
    while True:
        points.append((x0, y0))
        if x0 == x1 and y0 == y1:
            return points
        doubled = 2 * error
        if doubled >= dy:
            error += dy
            x0 += sx
        if doubled <= dx:
            error += dx
            y0 += sy


class BrailleCanvas:
    """A ``width`` x ``height`` cell canvas over the data box ``x_range`` x ``y_range``.

    Values outside the box are clamped to its edge; a later series drawn on a cell takes
    the cell's colour.
    """

    def __init__(self, width: int, height: int, x_range: tuple[float, float], y_range: tuple[float, float]) -> None:
        self.width, self.height = max(width, 1), max(height, 1)
        self.x_low, self.x_high = x_range
        self.y_low, self.y_high = y_range
        self.cells = [[0] * self.width for _ in range(self.height)]
        self.owner: list[list[str | None]] = [[None] * self.width for _ in range(self.height)]

    def to_dot(self, x: float, y: float) -> tuple[int, int]:
        """Dot coordinates of the data point ``(x, y)`` (y grows downwards on screen)."""
        dots_w, dots_h = 2 * self.width, 4 * self.height
        x_span = self.x_high - self.x_low
        y_span = self.y_high - self.y_low
        x_fraction = 0.0 if x_span <= 0 else (x - self.x_low) / x_span
        y_fraction = 0.5 if y_span <= 0 else (y - self.y_low) / y_span
        column = round(min(max(x_fraction, 0.0), 1.0) * (dots_w - 1))
        row = round((1.0 - min(max(y_fraction, 0.0), 1.0)) * (dots_h - 1))
        return column, row

    def set_dot(self, column: int, row: int, colour: str) -> None:
        """Light one dot in ``colour``."""
        cell_row, cell_column = row // 4, column // 2
        self.cells[cell_row][cell_column] |= DOT[(column % 2, row % 4)]
        self.owner[cell_row][cell_column] = colour

    def polyline(self, points: Iterable[tuple[float, float]], colour: str) -> None:
        """Join consecutive finite points with lines; a non-finite point breaks the line."""
        previous = None
        for x, y in points:
            if not (math.isfinite(x) and math.isfinite(y)):
                previous = None
                continue
            dot = self.to_dot(x, y)
            for column, row in (line_dots(*previous, *dot) if previous else [dot]):
                self.set_dot(column, row, colour)
            previous = dot

    def points(self, points: Iterable[tuple[float, float]], colour: str) -> None:
        """Draw each finite point as a 2x2 block of dots (a lone point stays visible)."""
        dots_w = 2 * self.width
        for x, y in points:
            if not (math.isfinite(x) and math.isfinite(y)):
                continue
            column, row = self.to_dot(x, y)
            for dot_column in (column, min(column + 1, dots_w - 1)):
                for dot_row in (row, max(row - 1, 0)):
                    self.set_dot(dot_column, dot_row, colour)

    def rows(self, default_colour: str = "") -> list[Text]:
        """The canvas as one text per character row."""
        result = []
        for cells, owners in zip(self.cells, self.owner):
            text = Text()
            for bits, colour in zip(cells, owners):
                text.append(chr(0x2800 + bits) if bits else " ", style=(colour or default_colour) if bits else "")
            result.append(text)
        return result


def padded_range(values: Sequence[float], minimum_span: float, clamp: tuple[float, float] | None = None,
                 empty: tuple[float, float] = (0.0, 1.0)) -> tuple[float, float]:
    """A y range around the finite ``values`` with an 8 % margin, at least ``minimum_span`` wide."""
    finite = [value for value in values if math.isfinite(value)]
    if not finite:
        return empty
    low, high = min(finite), max(finite)
    span = max(high - low, minimum_span)
    low, high = low - 0.08 * span, high + 0.08 * span
    if high - low < minimum_span:
        middle = (high + low) / 2
        low, high = middle - minimum_span / 2, middle + minimum_span / 2
    if clamp is not None:
        low, high = max(low, clamp[0]), min(high, clamp[1])
    return low, high


def with_y_axis(rows: Sequence[Text], high: float, low: float, axis_width: int, number_format: str) -> Text:
    """Prefix each plot row with a y axis labelled at the top, bottom (and middle when tall)."""
    count = len(rows)
    labels = {0: high, count - 1: low}
    if count >= 5:
        labels[(count - 1) // 2] = (high + low) / 2
    text = Text(no_wrap=True, overflow="crop")
    for index, row in enumerate(rows):
        label = f"{format(labels[index], number_format)} ┤" if index in labels else "│"
        text.append(label.rjust(axis_width), style="grey50")
        text.append_text(row)
        text.append("\n")
    return text
