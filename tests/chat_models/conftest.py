"""Chat-model tests use the shared emulator fixtures from tests/conftest.py."""

from __future__ import annotations

from tests.conftest import KEY

__all__ = ["KEY"]
