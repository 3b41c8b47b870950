"""``ChatOpenRouterFallback``: a LangChain chat model that runs a fallback chain on OpenRouter."""

from __future__ import annotations

import inspect
import math
import operator
import os
import threading
from collections.abc import Callable
from functools import cached_property, reduce
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast, get_args, overload

from langchain_core.callbacks.manager import ahandle_event, handle_event
from langchain_core.language_models import (
    BaseChatModel,
    LangSmithParams,
    LanguageModelInput,
    ModelProfile,
)
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.utils import secret_from_env
from langchain_core.utils.utils import _build_model_kwargs
from pydantic import (
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    model_validator,
)

from langchain_openrouter_fallback._decisions.accept import CHECKS, CheckName
from langchain_openrouter_fallback._decisions.health import (
    HealthRegistry,
    Key,
    circuit_key,
    default_registry,
    shared_registry,
)
from langchain_openrouter_fallback._decisions.learned import limits_now
from langchain_openrouter_fallback._decisions.plan import (
    CHARS_PER_TOKEN,
    estimate_tokens,
    plan,
    step_groups,
)
from langchain_openrouter_fallback._decisions.run import ChainRun
from langchain_openrouter_fallback._definition.attempt_limits import (
    AutoLimit,
    TimeLimit,
    attempt_limits,
    field_name,
    time_limit,
)
from langchain_openrouter_fallback._definition.catalog import Catalog, load_catalog
from langchain_openrouter_fallback._definition.chain import FallbackChain, StreamRecovery
from langchain_openrouter_fallback._definition.payload import merge_params, to_openai_messages
from langchain_openrouter_fallback._errors import (
    ChainValidationError,
    ErrorKind,
    UnrecoverableError,
)
from langchain_openrouter_fallback._face.executor import Executor
from langchain_openrouter_fallback._face.profile import chain_profile
from langchain_openrouter_fallback._face.structured import (
    StructuredMethod,
    tool_choice_param,
    tools_payload,
    with_structured_output,
)
from langchain_openrouter_fallback._wire.attempt import AttemptReader
from langchain_openrouter_fallback._wire.transport import Transport
from langchain_openrouter_fallback.telemetry import watch

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator, Sequence
    from contextlib import AbstractContextManager

    from langchain_core.callbacks import (
        AsyncCallbackManagerForLLMRun,
        CallbackManagerForLLMRun,
    )
    from langchain_core.load.serializable import SerializedConstructor, SerializedNotImplemented
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

    from langchain_openrouter_fallback._attempts import Attempt
    from langchain_openrouter_fallback._decisions.accept import CustomCheck

__all__ = ["ChatOpenRouterFallback"]

DEFAULT_BASE_URL = "https://openrouter.ai/api/v1"
_TRANSPORT_LOCK = threading.Lock()
_F = TypeVar("_F", bound="Callable[..., Any]")
ATTEMPT_EVENT = "openrouter_fallback_attempt"
"""Name of the LangChain custom event dispatched for every attempt."""


def _signature_once(method: _F) -> _F:
    """Precompute ``method``'s signature: ``inspect.signature`` returns ``__signature__``.

    LangChain inspects ``_generate``'s signature on every call (does it take
    ``run_manager``?); with this it is a lookup instead of a fresh inspection.
    """
    setattr(method, "__signature__", inspect.signature(method))  # noqa: B010
    return method


class ChatOpenRouterFallback(BaseChatModel):
    """OpenRouter chat model that keeps answering when models and providers fail.

    Setup:
        ``pip install langchain-openrouter-fallback`` and set ``OPENROUTER_API_KEY``.

    Key init args:
        chain: a ``FallbackChain``, a path to a chain file, or a chain dict.
        models: shorthand for a chain of these model ids (with ``mode``).
        api_key: defaults to ``$OPENROUTER_API_KEY``; a call without one (or with ``""``)
            raises ``UnrecoverableError`` (kind ``auth``) before anything is sent.
        base_url: explicit > the chain's ``base_url`` > ``$OPENROUTER_BASE_URL`` > OpenRouter.
        temperature, max_tokens, stop: request defaults (call arguments win).
        timeout, first_token_timeout, stall_timeout: limits for every link that sets none
            of its own (the link's value wins, then the chain's; defaults 60, 15 and 10 s),
            with ``models=`` or ``chain=`` alike; also per call (``llm.invoke(...,
            timeout=5)``). Seconds, more than 0 and at most one day (``MAX_SECONDS``; ``inf``
            or NaN is refused), or ``"auto"`` / :class:`AutoLimit`: learned per upstream
            from its successful attempts (:meth:`limits` shows the values now).
        stream_recovery: replaces the chain's (a per-call ``stream_recovery=`` wins).
        max_retries: retries per link, overriding the chain's retry policy.
        private_breakers: keep this instance's circuits, the latencies its ``auto`` limits
            learn from and its hedge budget to itself (default: circuits and latencies belong
            to the upstream, endpoint + model id + provider preferences, and are shared by
            every instance reaching it); ``llm.reset_breakers()`` closes the circuits.

    Instantiate:
        .. code-block:: python

            from langchain_openrouter_fallback import ChatOpenRouterFallback

            llm = ChatOpenRouterFallback(chain="chains/default.yaml")
            llm = ChatOpenRouterFallback(
                models=["openai/gpt-4o-mini", "anthropic/claude-haiku-4.5"]
            )

    Invoke:
        .. code-block:: python

            msg = llm.invoke("Hello")
            msg.response_metadata["fallback"]["served_by"]  # label of the link that answered

    Stream:
        .. code-block:: python

            for chunk in llm.stream("Hello"):
                print(chunk.text, end="")
            # failover before the first token is invisible; after it, the chain's
            # stream_recovery decides (default: StreamInterruptedError). Per call:
            llm.stream("Hello", stream_recovery="buffer")  # or "continue" / "raise"

    Async:
        ``await llm.ainvoke(...)``, ``async for chunk in llm.astream(...)``, ``abatch``.

    Tool calling:
        ``llm.bind_tools([tool], tool_choice="any")``; links whose model lacks tool support
        (per the catalog) are skipped for such requests.

    Structured output:
        ``llm.with_structured_output(Schema, method="json_schema" | "function_calling" |
        "json_mode", include_raw=False)``.

    Token counts:
        ``llm.get_num_tokens(text)`` and ``llm.get_num_tokens_from_messages(messages,
        tools=...)`` are estimates (4 characters per token, the one ``max_cost`` and context
        checks use), with no tokenizer to install.

    Token usage:
        ``msg.usage_metadata`` incl. cached (``input_token_details.cache_read``) and reasoning
        (``output_token_details.reasoning``) tokens; streams carry it on the last chunk.

    Response metadata:
        ``model_name`` (the model that served, as OpenRouter reported it), ``model_provider``
        (``"openrouter"``), ``provider`` (the upstream, e.g. ``"Amazon Bedrock"``), ``usage``,
        ``cost`` (this attempt), and ``fallback = {"chain", "served_by", "cost", "attempts"}``
        where ``cost`` is what the whole request spent (failed attempts included) and each
        attempt lists what its request was ``adapted`` to fit the link.

    Cost ceiling:
        the chain's ``max_cost`` (USD), or per call ``llm.invoke(..., max_cost=0.05)``: links
        whose worst case does not fit what is left are skipped, never sent.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True)

    chain: FallbackChain
    """The chain to run (validated; built from ``models`` when that shorthand is used)."""
    model_name: str = Field(default="", alias="model")
    """The primary model id (the first link); responses report the model that served."""
    api_key: SecretStr | None = Field(
        default_factory=secret_from_env("OPENROUTER_API_KEY", default=None),
        alias="openrouter_api_key",
    )
    """OpenRouter key; defaults to ``$OPENROUTER_API_KEY``."""
    base_url: str | None = None
    """OpenRouter-compatible endpoint (see the class docstring for precedence)."""
    temperature: float | None = None
    max_tokens: int | None = None
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    timeout: TimeLimit | None = None
    """Seconds per attempt for links (and chains) without their own ``timeout`` (default 60),
    or ``"auto"``."""
    first_token_timeout: TimeLimit | None = None
    """Streams: seconds until the first output, for links without their own (default 15), or
    ``"auto"``."""
    stall_timeout: TimeLimit | None = None
    """Streams: longest silence between outputs, for links without their own (default 10),
    or ``"auto"``."""
    stream_recovery: StreamRecovery | None = None
    """Replaces the chain's ``stream_recovery`` (a per-call ``stream_recovery=`` still wins)."""
    accept: list[CheckName | Callable[[AIMessage], str | None]] | None = None
    """Replaces the chain's ``accept`` checks: names (``non_empty``, ``no_refusal``,
    ``complete``, ``schema``) and callables ``(AIMessage) -> reason | None``; a per-call
    ``accept=`` still wins. ``["schema"]`` once here checks every ``with_structured_output``
    answer against its schema."""
    max_retries: int | None = None
    """Retries per link; ``None`` keeps the chain's retry policy (one quick retry after a 429,
    a 500/502/504 or a reset before any response byte); ``0`` turns retries off."""
    streaming: bool = False
    """Whether ``invoke`` streams under the hood."""
    app_name: str | None = None
    """Sent as ``X-OpenRouter-Title`` for OpenRouter's app attribution."""
    app_url: str | None = None
    """Sent as ``HTTP-Referer``."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other request fields (``top_p``, ``reasoning``, ``plugins``...)."""
    private_breakers: bool = False
    """Keep this instance's circuits (and what its ``auto`` limits learn, and its hedge budget)
    to itself, in this process, shared with no other instance and not with the chain's
    ``shared_state``. Default: they are shared by every instance that reaches the same upstream
    (endpoint + model id + provider preferences)."""

    _health: HealthRegistry = PrivateAttr(default_factory=default_registry)
    _transport_instance: Transport | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _build_chain(cls, values: Any) -> Any:
        if not isinstance(values, dict):
            return values
        values = dict(values)
        models = values.pop("models", None)
        mode = values.pop("mode", None)
        chain = values.get("chain")
        if chain is None:
            primary = values.get("model") or values.get("model_name")
            models = models or ([primary] if primary else None)
            if not models:
                msg = "pass chain=FallbackChain | path | dict, or models=[...]"
                raise ValueError(msg)
            chain = {"name": "default", "models": models, "mode": mode or "client"}
        if isinstance(chain, str | Path):
            chain = FallbackChain.from_file(chain)
        elif isinstance(chain, dict):
            chain = FallbackChain.model_validate(chain)
        if mode is not None and chain.mode != mode:
            chain = chain.model_copy(update={"mode": mode})
        values["chain"] = chain
        values["model"] = chain.models[0].model
        values.pop("model_name", None)
        return _build_model_kwargs(values, cls._all_field_names())

    @classmethod
    def _all_field_names(cls) -> set[str]:
        names = set(cls.model_fields)
        names.update(f.alias for f in cls.model_fields.values() if f.alias)
        return names

    # -- LangChain identity -------------------------------------------------------------

    @property
    def _llm_type(self) -> str:
        return "openrouter-fallback-chat"

    @property
    def lc_secrets(self) -> dict[str, str]:
        """The key is a secret when serialised."""
        return {"api_key": "OPENROUTER_API_KEY"}

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """Serialisable with ``langchain_core.load``."""
        return True

    def to_json(self) -> SerializedConstructor | SerializedNotImplemented:
        """Serialise with the chain as a plain document (and the key as a secret reference)."""
        serialized = super().to_json()
        if serialized.get("type") == "constructor":
            kwargs = serialized["kwargs"]  # type: ignore[typeddict-item]
            kwargs["chain"] = self.chain.model_dump(mode="json", exclude_defaults=True)
        return serialized

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "chain": self.chain.name,
            "mode": self.chain.mode,
            "models": [link.model for link in self.chain.models],
            **self._default_params,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider="openrouter",
            ls_model_name=kwargs.get("model") or self.model_name,
            ls_model_type="chat",
        )
        temperature = kwargs.get("temperature", self.temperature)
        if temperature is not None:
            params["ls_temperature"] = temperature
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        if stop or self.stop:
            params["ls_stop"] = stop or self.stop
        return params

    # -- plumbing -----------------------------------------------------------------------

    @property
    def resolved_base_url(self) -> str:
        """The endpoint requests go to."""
        return (
            self.base_url
            or self.chain.base_url
            or os.environ.get("OPENROUTER_BASE_URL")
            or DEFAULT_BASE_URL
        )

    def _private(self) -> dict[str, Any]:
        """Pydantic's store of private attributes, for reads on every call.

        ``self._health`` goes through ``BaseModel.__getattr__``, which costs ~3 us a read
        (pydantic probes the attribute for ``__get__`` by catching an AttributeError).
        """
        return cast("dict[str, Any]", self.__pydantic_private__)

    @property
    def _transport(self) -> Transport:
        # Created once, under a lock: batch() reaches here from several threads at once.
        private = self._private()
        if private["_transport_instance"] is None:
            with _TRANSPORT_LOCK:
                if private["_transport_instance"] is None:
                    private["_transport_instance"] = self._new_transport()
        transport: Transport = private["_transport_instance"]
        return transport

    def _new_transport(self) -> Transport:
        headers = {"User-Agent": "langchain-openrouter-fallback"}
        if self.api_key is not None:
            headers["Authorization"] = f"Bearer {self.api_key.get_secret_value()}"
        if self.app_name:
            headers["X-OpenRouter-Title"] = self.app_name
        if self.app_url:
            headers["HTTP-Referer"] = self.app_url
        return Transport(base_url=self.resolved_base_url, headers=headers)

    @cached_property
    def _catalog(self) -> Catalog:
        return load_catalog()

    def _resolve_model_profile(self) -> ModelProfile | None:
        """What every link of the chain guarantees, from the catalog (see ``_profile``)."""
        return chain_profile(self.chain, self._catalog)

    @property
    def _default_params(self) -> dict[str, Any]:
        return merge_params(
            {"temperature": self.temperature, "max_tokens": self.max_tokens, "stop": self.stop},
            self.model_kwargs,
        )

    @property
    def health(self) -> HealthRegistry:
        """Where breaker state lives: Redis when the chain sets ``shared_state``, else this process.

        A registry given explicitly (``_health``) or ``private_breakers`` wins over
        ``shared_state``.
        """
        private = self._private()
        health: HealthRegistry = private["_health"]
        if health is default_registry():
            if self.private_breakers:
                with _TRANSPORT_LOCK:
                    if private["_health"] is health:
                        private["_health"] = HealthRegistry()
                return cast("HealthRegistry", private["_health"])
            if self.chain.shared_state is not None:
                return shared_registry(self.chain.shared_state)
        return health

    def _circuit_keys(self) -> dict[str, Key]:
        """The circuit of each step of the chain, by step label (server mode: ``a+b+c``)."""
        endpoint = self.resolved_base_url
        return {
            "+".join(link.label for link in group): circuit_key(endpoint, group)
            for group in step_groups(self.chain)
        }

    @overload
    def breaker_state(self, *, detail: Literal[False] = False) -> dict[str, str]: ...
    @overload
    def breaker_state(self, *, detail: Literal[True]) -> dict[str, dict[str, Any]]: ...
    def breaker_state(self, *, detail: bool = False) -> dict[str, Any]:
        """Circuit-breaker state per link label (``closed``, ``open``, ``half_open``).

        A circuit belongs to the upstream (endpoint + model id + provider preferences), so
        another instance or chain calling the same upstream moves it too. With
        ``detail=True`` each label maps to ``{"state", "endpoint", "upstream", "failures",
        "open_for"}``.
        """
        health = self.health
        circuits = {
            label: (key, health.circuit(key)) for label, key in self._circuit_keys().items()
        }
        if not detail:
            return {label: circuit.state for label, (_, circuit) in circuits.items()}
        return {
            label: {
                "state": circuit.state,
                "endpoint": key[0],
                "upstream": key[1],
                "failures": circuit.failures,
                "open_for": round(circuit.open_for, 3),
            }
            for label, (key, circuit) in circuits.items()
        }

    def limits(self) -> dict[str, dict[str, dict[str, Any]]]:
        """The time limits each link's next attempt runs under, per link label.

        Each limit (``timeout``, ``first_token_timeout``, ``stall_timeout``) maps to
        ``{"seconds", "source"}``: ``link``, ``chain``, ``model`` (this chat model's setting)
        or ``default``; an ``auto`` limit's source is ``learned`` or ``cold``, with the
        ``samples`` (successful attempts of the upstream) behind it. Per-call limits and the
        chain ``deadline`` may shorten an actual attempt (its record's ``limits`` say).
        """
        health = self.health
        endpoint = self.resolved_base_url
        shown: dict[str, dict[str, dict[str, Any]]] = {}
        for group in step_groups(self.chain):
            limits = attempt_limits(
                group, chain=self.chain, timeout=self.timeout,
                first_token=self.first_token_timeout, stall=self.stall_timeout,
            )  # fmt: skip
            latency = health.latency(circuit_key(endpoint, group)) if limits.auto else {}
            entry: dict[str, dict[str, Any]] = {}
            for name, (seconds, source, samples) in limits_now(limits, latency).items():
                entry[field_name(name)] = {"seconds": seconds, "source": source}
                if samples is not None:
                    entry[field_name(name)]["samples"] = samples
            shown["+".join(link.label for link in group)] = entry
        return shown

    def reset_breakers(self) -> None:
        """Close the circuits of this chain's upstreams (in Redis too, with ``shared_state``).

        Other instances that reach the same upstreams see them closed as well; for state
        no other instance touches, build the model with ``private_breakers=True``.
        """
        self.health.forget(self._circuit_keys().values())

    def _require_key(self) -> None:
        """Refuse to send without a key: ``Bearer `` would fail every link as a network error."""
        if self.api_key is None or not self.api_key.get_secret_value().strip():
            msg = (
                f"chain {self.chain.name!r}: no OpenRouter API key (nothing was sent): pass "
                "api_key=... or set OPENROUTER_API_KEY (any non-empty value for a local emulator)"
            )
            raise UnrecoverableError(msg, attempts=[], kind=ErrorKind.AUTH, chain=self.chain.name)

    def _new_run(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        kwargs: dict[str, Any],
        *,
        streaming: bool = False,
    ) -> ChainRun[AttemptReader]:
        self._require_key()
        kwargs.pop("stream", None)
        chain = self._chain_for_call(kwargs.pop("model", None))
        chain = _with_recovery(chain, kwargs.pop("stream_recovery", None) or self.stream_recovery)
        chain = _with_max_cost(chain, kwargs.pop("max_cost", None))
        chain, custom_checks = _with_accept(chain, kwargs.pop("accept", None), self.accept)
        # Per-call limits replace the instance's (never sent upstream); a link's own still wins.
        timeout = _call_seconds(kwargs, "timeout", self.timeout)
        first_token = _call_seconds(kwargs, "first_token_timeout", self.first_token_timeout)
        stall = _call_seconds(kwargs, "stall_timeout", self.stall_timeout)
        params = merge_params(self._default_params, {"stop": stop}, kwargs)
        steps = plan(chain, to_openai_messages(messages), params, self._catalog)
        return ChainRun(
            chain,
            steps,
            registry=self.health,
            catalog=self._catalog,
            endpoint=self.resolved_base_url,
            reader=AttemptReader,
            default_timeout=timeout,
            default_first_token=first_token,
            default_stall=stall,
            max_retries=self.max_retries,
            streaming=streaming,
            custom_checks=custom_checks,
            answer_of=_answer_of,
            asked=params,
        )

    def _chain_for_call(self, model: str | None) -> FallbackChain:
        """A per-call ``model=`` replaces the primary link; the fallbacks stay.

        The replacement keeps the primary's limits and policies but is its own link, labelled
        by its model id: attempts and ``served_by`` credit the model that was asked for.
        """
        if not model or model == self.chain.models[0].model:
            return self.chain
        first, *rest = self.chain.models
        primary = first.model_copy(update={"model": model, "label": model})
        return self.chain.model_copy(update={"models": [primary, *rest]})

    def _watch(
        self, run: ChainRun[Any], *, streaming: bool = False
    ) -> AbstractContextManager[None]:
        """Report the run to OpenTelemetry while the block runs (a no-op without the API)."""
        return watch(run, circuits=self.breaker_state, streaming=streaming)

    def _executor(self, run_manager: CallbackManagerForLLMRun | None) -> Executor:
        report: Callable[[list[Attempt]], None] | None = None
        if run_manager is not None and run_manager.handlers:

            def report(attempts: list[Attempt]) -> None:
                for attempt in attempts:
                    handle_event(
                        run_manager.handlers, "on_custom_event", "ignore_custom_event",
                        ATTEMPT_EVENT, attempt.as_dict(), run_id=run_manager.run_id,
                        tags=run_manager.tags, metadata=run_manager.metadata,
                    )  # fmt: skip

        return Executor(self._transport, report=report)

    def _aexecutor(self, run_manager: AsyncCallbackManagerForLLMRun | None) -> Executor:
        if run_manager is None or not run_manager.handlers:
            return Executor(self._transport)

        async def areport(attempts: list[Attempt]) -> None:
            for attempt in attempts:
                await ahandle_event(
                    run_manager.handlers, "on_custom_event", "ignore_custom_event",
                    ATTEMPT_EVENT, attempt.as_dict(), run_id=run_manager.run_id,
                    tags=run_manager.tags, metadata=run_manager.metadata,
                )  # fmt: skip

        return Executor(self._transport, areport=areport)

    # -- generation ---------------------------------------------------------------------

    @_signature_once
    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            return _result_from_chunks(self._stream(messages, stop, run_manager, **kwargs))
        run = self._new_run(messages, stop, kwargs)
        with self._watch(run):
            message = self._executor(run_manager).invoke(run)
        return _result(message)

    @_signature_once
    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self.streaming:
            chunks = [c async for c in self._astream(messages, stop, run_manager, **kwargs)]
            return _result_from_chunks(iter(chunks))
        run = self._new_run(messages, stop, kwargs)
        with self._watch(run):
            message = await self._aexecutor(run_manager).ainvoke(run)
        return _result(message)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        run = self._new_run(messages, stop, kwargs, streaming=True)
        with self._watch(run, streaming=True):
            for chunk in self._executor(run_manager).stream(run):
                generation = ChatGenerationChunk(message=chunk)
                if run_manager is not None:
                    run_manager.on_llm_new_token(chunk.text, chunk=generation)
                yield generation

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        run = self._new_run(messages, stop, kwargs, streaming=True)
        with self._watch(run, streaming=True):
            async for chunk in self._aexecutor(run_manager).astream(run):
                generation = ChatGenerationChunk(message=chunk)
                if run_manager is not None:
                    await run_manager.on_llm_new_token(chunk.text, chunk=generation)
                yield generation

    # -- token counts -------------------------------------------------------------------

    def get_num_tokens(self, text: str) -> int:
        """Estimated tokens in ``text``: characters / 4, no tokenizer (no ``transformers``).

        The same estimate the chain uses for context checks and ``max_cost``; real counts
        differ by model, so treat it as an estimate, not a bill.
        """
        return len(text) // CHARS_PER_TOKEN

    def get_num_tokens_from_messages(
        self,
        messages: list[BaseMessage],
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool] | None = None,
    ) -> int:
        """Estimated prompt tokens of ``messages`` (and ``tools``), as ``max_cost`` counts them.

        Characters / 4 plus 4 per message, tools as their JSON (see :meth:`get_num_tokens`).
        """
        formatted = tools_payload(tools) if tools else None
        return estimate_tokens(to_openai_messages(messages), formatted)

    # -- tools and structured output ----------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        parallel_tool_calls: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind OpenAI-format tools; ``tool_choice`` accepts a name, ``"any"``, ``True``..."""
        formatted = tools_payload(tools, strict=strict)
        names = [tool["function"]["name"] for tool in formatted]
        choice = tool_choice_param(tool_choice, names=names)
        if choice is not None:
            kwargs["tool_choice"] = choice
        if parallel_tool_calls is not None:
            kwargs["parallel_tool_calls"] = parallel_tool_calls
        return super().bind(tools=formatted, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: StructuredMethod = "function_calling",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, Any]:
        """Answers parsed into ``schema`` (pydantic class, TypedDict or JSON schema)."""
        if kwargs:
            msg = f"unsupported arguments: {sorted(kwargs)}"
            raise ValueError(msg)
        return with_structured_output(
            self, schema, method=method, include_raw=include_raw, strict=strict
        )


def _with_recovery(chain: FallbackChain, stream_recovery: Any) -> FallbackChain:
    """The chain with a per-call ``stream_recovery`` (never sent upstream)."""
    if stream_recovery is None or stream_recovery == chain.stream_recovery:
        return chain
    allowed = get_args(StreamRecovery)
    if stream_recovery not in allowed:
        msg = f"stream_recovery must be one of {', '.join(allowed)}, got {stream_recovery!r}"
        raise ValueError(msg)
    return chain.model_copy(update={"stream_recovery": stream_recovery})


def _with_accept(
    chain: FallbackChain, per_call: Any, instance: Sequence[Any] | None
) -> tuple[FallbackChain, list[CustomCheck]]:
    """The chain with the per-call (else the instance's) named checks, and the callables."""
    checks = per_call if per_call is not None else instance
    if checks is None:
        return chain, []
    if isinstance(checks, str) or callable(checks):
        checks = [checks]
    names, custom = [], []
    for check in checks:
        if callable(check):
            custom.append(check)
        elif check in CHECKS:
            names.append(check)
        else:
            msg = f"accept: unknown check {check!r} (known: {', '.join(CHECKS)}, or a callable)"
            raise ChainValidationError(msg)
    return chain.model_copy(update={"accept": tuple(dict.fromkeys(names))}), custom


def _answer_of(items: list[Any]) -> AIMessage:
    """What a custom ``accept`` check is given: the whole message, or a stream's chunks joined."""
    return items[0] if len(items) == 1 else reduce(operator.add, items)  # type: ignore[no-any-return]


def _with_max_cost(chain: FallbackChain, max_cost: Any) -> FallbackChain:
    """The chain with a per-call ``max_cost`` in USD (never sent upstream)."""
    if max_cost is None:
        return chain
    if (
        isinstance(max_cost, bool)
        or not isinstance(max_cost, int | float)
        or not 0 <= max_cost < math.inf
    ):
        msg = f"max_cost must be a non-negative number of USD (not inf or nan), got {max_cost!r}"
        raise ChainValidationError(msg)
    return chain.model_copy(update={"max_cost": float(max_cost)})


def _call_seconds(
    kwargs: dict[str, Any], name: str, default: float | AutoLimit | None
) -> float | AutoLimit | None:
    """Pop a per-call time limit from ``kwargs``, validated like the field of the same name."""
    value = kwargs.pop(name, None)
    if value is None:
        return default
    try:
        return time_limit(value)
    except ValueError as exc:
        msg = f"{name}={value!r}: {exc}"
        raise ChainValidationError(msg) from None


def _result(message: AIMessage) -> ChatResult:
    meta = message.response_metadata
    llm_output = {"model_name": meta.get("model_name"), "fallback": meta.get("fallback")}
    return ChatResult(generations=[ChatGeneration(message=message)], llm_output=llm_output)


def _result_from_chunks(chunks: Iterator[ChatGenerationChunk]) -> ChatResult:
    merged: ChatGenerationChunk | None = None
    for chunk in chunks:
        merged = chunk if merged is None else merged + chunk
    if merged is None:
        msg = "stream produced no chunks"
        raise ValueError(msg)
    chunk_message = merged.message
    message = AIMessage(
        content=chunk_message.content,
        additional_kwargs=chunk_message.additional_kwargs,
        response_metadata=chunk_message.response_metadata,
        id=chunk_message.id,
        tool_calls=getattr(chunk_message, "tool_calls", []),
        invalid_tool_calls=getattr(chunk_message, "invalid_tool_calls", []),
        usage_metadata=getattr(chunk_message, "usage_metadata", None),
    )
    return _result(message)
