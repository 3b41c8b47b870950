"""Amounts of USD as people read them, from a whole budget down to a fraction of a cent."""

from __future__ import annotations

import math

__all__ = ["usd"]

_SIGNIFICANT = 3


def usd(amount: float) -> str:
    """``$12.30``, ``$0.05``, ``$0.000123``, ``$0.0000001``: as many decimals as the amount needs.

    Three significant digits (at least two decimals, trailing zeros dropped beyond them),
    never scientific notation, and a non-zero amount never rounds to ``$0.00``.
    """
    if amount == 0:
        return "$0.00"
    if not math.isfinite(amount):
        return f"${amount}"
    magnitude = math.floor(math.log10(abs(amount)))
    decimals = max(2, _SIGNIFICANT - 1 - magnitude)
    whole, _, fraction = f"{abs(amount):,.{decimals}f}".partition(".")
    fraction = fraction.rstrip("0").ljust(2, "0")
    sign = "-" if amount < 0 else ""
    return f"{sign}${whole}.{fraction}"
