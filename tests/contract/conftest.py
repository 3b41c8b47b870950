"""OpenRouter's official Python SDK as the judge of the wire contract (a dev-only dependency).

The SDK is generated from OpenRouter's OpenAPI description; its pydantic models are the
published contract. It runs here against the real emulator over 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from openrouter import OpenRouter
from openrouter.components import ChatRequest
from openrouter.types import UnrecognizedInt, UnrecognizedStr
from pydantic import BaseModel

from langchain_openrouter_fallback.emulator import Emulator
from tests.conftest import KEY


@pytest.fixture
def sdk(emu: Emulator) -> Iterator[OpenRouter]:
    """An SDK client pointed at the emulator; no SDK-side retries, so one call = one request."""
    with OpenRouter(api_key=KEY, server_url=emu.base_url, retry_config=None) as client:
        yield client


def unrecognised(value: Any, path: str = "") -> list[str]:
    """Paths where the SDK fell back to ``Unrecognized*`` (a value outside its enums)."""
    if isinstance(value, UnrecognizedStr | UnrecognizedInt):
        return [f"{path}={value!r}"]
    if isinstance(value, BaseModel):
        return [
            hit
            for name in type(value).model_fields
            for hit in unrecognised(getattr(value, name), f"{path}.{name}")
        ]
    if isinstance(value, list | tuple):
        return [hit for i, item in enumerate(value) for hit in unrecognised(item, f"{path}[{i}]")]
    if isinstance(value, dict):
        return [hit for k, item in value.items() for hit in unrecognised(item, f"{path}.{k}")]
    return []


def judged(model: BaseModel) -> BaseModel:
    """``model`` after checking every enum value in it is one the SDK knows."""
    assert [] == unrecognised(model)
    return model


def validate_request(body: dict[str, Any]) -> ChatRequest:
    """Validate a request body against the SDK's ``ChatRequest``, unknown keys rejected.

    The SDK's own models ignore unknown keys; ``extra="forbid"`` at validation time applies
    to every nested model, so a field OpenRouter does not define fails here.
    """
    request = ChatRequest.model_validate(body, extra="forbid")
    assert [] == unrecognised(request)
    return request
