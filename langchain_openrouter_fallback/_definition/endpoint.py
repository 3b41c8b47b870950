"""Endpoint URLs: what can stand for an OpenRouter-compatible ``base_url`` on the command line."""

from __future__ import annotations

import argparse

__all__ = ["http_url", "url_problem"]


def url_problem(url: str) -> str | None:
    """Why ``url`` cannot be an endpoint (``None``: it can): only ``http(s)://host...``."""
    from urllib.parse import urlsplit  # noqa: PLC0415

    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"{url} is not a URL ({exc})"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url} is not an http(s) URL"
    return None


def http_url(text: str) -> str:
    """``argparse`` type of an endpoint option (``--base-url``, ``--api-base``)."""
    problem = url_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text
