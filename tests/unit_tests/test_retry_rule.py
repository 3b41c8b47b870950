"""The retry-on-timeout rule reads which limit fired, a typed field, never message text."""

from __future__ import annotations

import pytest

from langchain_openrouter_fallback import ErrorKind, RetryPolicy
from langchain_openrouter_fallback._decisions.run import _retryable
from langchain_openrouter_fallback.wire import AttemptFailure

POLICY = RetryPolicy(on=frozenset({ErrorKind.TIMEOUT}))


@pytest.mark.parametrize(
    ("limit", "retried"),
    [("first_token", True), ("stall", False), ("total", False), ("connect", False)],
)
def test_only_a_missed_first_token_is_retried(limit, retried):
    """With ``timeout`` in ``retry.on``: a missed first token retries, other limits move on."""
    failure = AttemptFailure(ErrorKind.TIMEOUT, "the upstream said nothing", limit=limit)
    assert retried == _retryable(POLICY, failure)


def test_a_message_naming_first_token_does_not_make_a_stall_retryable():
    """Upstream text that happens to say ``first_token`` changes nothing."""
    failure = AttemptFailure(ErrorKind.TIMEOUT, "first_token: stalled", limit="stall")
    assert not _retryable(POLICY, failure)
