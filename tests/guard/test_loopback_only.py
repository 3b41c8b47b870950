"""The suite cannot reach beyond loopback: pytest-socket refuses before any packet leaves."""

from __future__ import annotations

import socket

import httpx
import pytest
from pytest_socket import SocketConnectBlockedError

DOCUMENTATION_ADDRESS = "192.0.2.1"
"""TEST-NET-1 (RFC 5737): never routed, reserved for documentation."""


def test_connect_to_a_documentation_address_is_refused():
    """A raw connect to TEST-NET-1 raises in the guard, before the real connect()."""
    with (
        socket.socket() as sock,
        pytest.warns(UserWarning, match=r"192\.0\.2\.1"),  # even a swallowed refusal is seen
        pytest.raises(SocketConnectBlockedError),
    ):
        sock.connect((DOCUMENTATION_ADDRESS, 80))


def test_http_clients_are_refused_too():
    """httpx (what the chat model uses) hits the same guard."""
    with pytest.warns(UserWarning, match="socket"), pytest.raises(SocketConnectBlockedError):
        httpx.get(f"http://{DOCUMENTATION_ADDRESS}/", timeout=1)


def test_loopback_is_allowed():
    """127.0.0.1 passes the guard (the emulator and redis tests rely on it)."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=5):
            pass
