"""Plain-text tables for the command line: columns as wide as their longest cell.

Widths are terminal columns, not characters: wide East Asian characters and emoji take two,
combining marks and zero-width joiners none, so labels in any script stay aligned.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["display_width", "plural", "table"]

_ZERO_WIDTH = frozenset({"Mn", "Me", "Cf"})  # combining marks, variation selectors, ZWJ
_WIDE = frozenset({"W", "F"})


def plural(count: int, noun: str) -> str:
    """``1 link``, ``2 links``."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def display_width(text: str) -> int:
    """Terminal columns ``text`` takes (``"模型"`` and ``"🚀"`` take 2 each, ``"é"`` 1)."""
    if text.isascii():
        return len(text)
    return sum(
        0 if unicodedata.category(char) in _ZERO_WIDTH
        else 2 if unicodedata.east_asian_width(char) in _WIDE
        else 1
        for char in text
    )  # fmt: skip


def _pad(cell: str, side: str, width: int) -> str:
    fill = " " * max(0, width - display_width(cell))
    return fill + cell if side == ">" else cell + fill


def table(rows: Sequence[Sequence[str]], align: str, *, indent: str = "  ") -> list[str]:
    """Lines of ``rows`` (the first is the header); ``align`` holds ``<`` or ``>`` per column.

    The last column is not padded, so a long last cell never widens the others.
    """
    widths = [max(display_width(row[i]) for row in rows) for i in range(len(align))]
    widths[-1] = 0
    lines = []
    for row in rows:
        cells = [
            _pad(cell, side, width) for cell, side, width in zip(row, align, widths, strict=True)
        ]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines
