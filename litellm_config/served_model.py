"""The proxy callback that makes a response's ``model`` the model id that served.

Generated configs load it by import path::

    litellm_settings:
      callbacks: [litellm_config.served_model.handler]

Why it is needed (litellm 1.103.7, ``proxy/common_request_processing.py``): the proxy
restamps every response's ``model`` with the name the client asked for
(``_override_openai_response_model``, and ``_restamp_streaming_chunk_model`` for chunks), except
after a fallback, where a JSON response keeps the upstream's model but stream chunks get the
fallback's *model group* (``myapp/fallback``). So depending on the path a client saw the
chain's name, a link label, or a model id. The one switch that skips every restamp is the
request metadata flag ``RETURN_RAW_MODEL_NAME_METADATA_KEY`` (``_should_return_raw_model_name``);
only the complexity router sets it, and no config setting does, so this pre-call hook sets it
on every request. The link label stays in ``x-litellm-model-id`` (the deployment id).

This module imports litellm; nothing else in ``litellm_config`` imports it.
"""

from __future__ import annotations

from typing import Any

from litellm.constants import RETURN_RAW_MODEL_NAME_METADATA_KEY
from litellm.integrations.custom_logger import CustomLogger

__all__ = ["ServedModel", "handler"]


class ServedModel(CustomLogger):
    """Marks every proxy request so its response keeps the served model id."""

    async def async_pre_call_hook(
        self,
        user_api_key_dict: Any,  # noqa: ARG002 - LiteLLM's hook signature
        cache: Any,  # noqa: ARG002 - LiteLLM's hook signature
        data: dict[str, Any],
        call_type: Any,  # noqa: ARG002 - LiteLLM's hook signature
    ) -> dict[str, Any]:
        """Set the raw-model-name flag in the request's metadata (both places LiteLLM reads)."""
        for key in ("metadata", "litellm_metadata"):
            bucket = data.get(key)
            if isinstance(bucket, dict):
                bucket[RETURN_RAW_MODEL_NAME_METADATA_KEY] = True
        if not isinstance(data.get("metadata"), dict):
            data["metadata"] = {RETURN_RAW_MODEL_NAME_METADATA_KEY: True}
        return data


handler = ServedModel()
"""The instance ``litellm_settings.callbacks`` names."""
