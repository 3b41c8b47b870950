"""The package's logger: silent unless the application configures logging.

Attempt failures are logged as warnings. A library adds only a ``NullHandler``: without one,
a script that configured no logging would print them through Python's last-resort handler.
"""

from __future__ import annotations

import logging

__all__ = ["logger"]

logger = logging.getLogger("langchain_openrouter_fallback")
logger.addHandler(logging.NullHandler())
