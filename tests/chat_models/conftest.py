"""Chat-model tests use the shared emulator fixtures from tests/conftest.py."""

from __future__ import annotations

import pytest

from tests.conftest import KEY

__all__ = ["KEY"]

NEEDS_INTERNET = {
    # langchain-tests downloads its test image; test_image_inputs_local sends one made here.
    "test_standard.py::TestChatOpenRouterFallbackIntegration::test_image_inputs",
}
"""Inherited standard tests that reach beyond loopback (they cannot be overridden: the suite's
own check allows only xfail overrides). Marked here, deselected by tests/conftest.py."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.nodeid.split("/")[-1] in NEEDS_INTERNET:
            item.add_marker(pytest.mark.internet)
