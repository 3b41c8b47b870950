"""Refuses a LiteLLM older than the oldest release the proxy plugin is tested on.

The plugin leans on LiteLLM's internals (the pre-call deployment hook, ``AsyncHTTPHandler``'s
client, ``MidStreamFallbackError``'s pre-first-chunk flag), which move between releases. The
plugin imports this module before anything from litellm, so an older LiteLLM stops the proxy at
start-up (``litellm_settings.callbacks`` loads the plugin) or an in-process
``import litellm_config.proxy_plugin`` with one line naming both versions and the fix.

Tested: ``OLDEST_TESTED_LITELLM`` (pyproject's lower bound for the ``litellm`` extra, pinned by
requirements-lowest.lock) and the newest release that installs (requirements-dev.lock and the
CPython 3.12/3.13 locks); ``make test`` runs the LiteLLM proxy tests on each.

Reads installed metadata only; imports nothing from litellm.
"""

from __future__ import annotations

import re
from importlib.metadata import PackageNotFoundError, version

__all__ = ["OLDEST_TESTED_LITELLM", "check_litellm_version", "installed_litellm_version"]

OLDEST_TESTED_LITELLM = "1.103.7"
"""The oldest LiteLLM the plugin accepts: the oldest one the suite runs the proxy tests on."""

_DISTRIBUTIONS = ("litellm", "litellm-core")
"""LiteLLM ships as either; both install the ``litellm`` package."""

_PRE_RELEASE = "a|alpha|b|beta|c|rc|pre|preview|dev"
_VERSION = re.compile(rf"(\d+(?:\.\d+)*)(?:[.\-_]?({_PRE_RELEASE}))?", re.IGNORECASE)


def _release(text: str) -> tuple[tuple[int, ...], bool] | None:
    """``(release numbers without trailing zeros, is a final release)``; None if unreadable."""
    match = _VERSION.match(text.strip().removeprefix("v"))
    if match is None:
        return None
    numbers = [int(part) for part in match[1].split(".")]
    while len(numbers) > 1 and numbers[-1] == 0:
        numbers.pop()
    return tuple(numbers), match[2] is None


def installed_litellm_version() -> str | None:
    """The installed LiteLLM's version, as its metadata says; None when none is installed."""
    for name in _DISTRIBUTIONS:
        try:
            return version(name)
        except PackageNotFoundError:
            continue
    return None


def check_litellm_version(found: str | None) -> None:
    """Raise ``RuntimeError`` (one line) when ``found`` is older than the oldest tested release.

    A pre-release of the oldest tested release counts as older. A version that cannot be read
    (or no LiteLLM at all) is let through: the plugin's own imports decide.
    """
    have, oldest = _release(found or ""), _release(OLDEST_TESTED_LITELLM)
    if have is None or oldest is None or have >= oldest:
        return
    msg = (
        f"litellm_config.proxy_plugin is tested on LiteLLM {OLDEST_TESTED_LITELLM} and newer, "
        f"not on the installed LiteLLM {found}: upgrade it "
        f"(pip install 'litellm[proxy]>={OLDEST_TESTED_LITELLM}')"
    )
    raise RuntimeError(msg)


check_litellm_version(installed_litellm_version())
