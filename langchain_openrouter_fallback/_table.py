"""Plain-text tables for the command line: columns as wide as their longest cell."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["plural", "table"]


def plural(count: int, noun: str) -> str:
    """``1 link``, ``2 links``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def table(rows: Sequence[Sequence[str]], align: str, *, indent: str = "  ") -> list[str]:
    """Lines of ``rows`` (the first is the header); ``align`` holds ``<`` or ``>`` per column.

    The last column is not padded, so a long last cell never widens the others.
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(align))]
    widths[-1] = 0
    lines = []
    for row in rows:
        cells = [
            f"{cell:{side}{width}}" for cell, side, width in zip(row, align, widths, strict=True)
        ]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines
