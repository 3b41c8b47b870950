"""The JSON Schema of a chain file, for editors and CI (``openrouter-fallback schema``).

It accepts what the loader accepts: one chain, or ``chains:`` mapping names to chains; links
as objects or plain model ids. Point an editor at it with a first line such as
``# yaml-language-server: $schema=./chain.schema.json``.
"""

from __future__ import annotations

from typing import Any

from langchain_openrouter_fallback._definition.chain import FallbackChain

__all__ = ["SCHEMA_DIALECT", "document_schema"]

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def document_schema() -> dict[str, Any]:
    """The schema of a whole chain file (JSON Schema draft 2020-12)."""
    chain = FallbackChain.model_json_schema()
    defs = chain.pop("$defs", {})
    several = {
        "type": "object",
        "description": "Several chains in one file; each key is a chain's name.",
        "properties": {
            "chains": {
                "type": "object",
                "minProperties": 1,
                "additionalProperties": {"$ref": "#/$defs/FallbackChain"},
            }
        },
        "required": ["chains"],
        "additionalProperties": False,
    }
    return {
        "$schema": SCHEMA_DIALECT,
        "title": "openrouter-fallback chain file",
        "anyOf": [{"$ref": "#/$defs/FallbackChain"}, several],
        "$defs": {**defs, "FallbackChain": chain},
    }
