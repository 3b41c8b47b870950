"""Tool binding and structured output for OpenAI-compatible chat models (OpenRouter's dialect)."""

from __future__ import annotations

from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.runnables import RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from langchain_core.language_models import LanguageModelInput
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.runnables import Runnable
    from langchain_core.tools import BaseTool

__all__ = ["StructuredMethod", "tool_choice_param", "tools_payload", "with_structured_output"]

StructuredMethod = Literal["function_calling", "json_schema", "json_mode"]


def tools_payload(
    tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
    *,
    strict: bool | None = None,
) -> list[dict[str, Any]]:
    """Any LangChain tool definition -> OpenAI ``tools`` entries."""
    return [convert_to_openai_tool(tool, strict=strict) for tool in tools]


def tool_choice_param(
    choice: dict[str, Any] | str | bool | None,  # noqa: FBT001 - LangChain's own spelling
    *,
    names: list[str],
) -> Any:
    """Normalise LangChain's ``tool_choice`` spellings to OpenAI's."""
    if choice is None or choice is False:
        return None
    if choice is True or choice == "any":
        return "required"
    if isinstance(choice, str) and choice in names:
        return {"type": "function", "function": {"name": choice}}
    if isinstance(choice, str) and choice not in {"auto", "none", "required"}:
        msg = f"tool_choice {choice!r} names no bound tool (bound: {', '.join(names)})"
        raise ValueError(msg)
    return choice


def _schema_name(schema: Any) -> str:
    if isinstance(schema, dict):
        return str(schema.get("title") or schema.get("name") or "output")
    return str(getattr(schema, "__name__", "output"))


def _json_parser(schema: Any, *, pydantic_schema: bool) -> Runnable[Any, Any]:
    if pydantic_schema:
        return PydanticOutputParser(pydantic_object=schema)
    return JsonOutputParser()


def _bind(
    model: BaseChatModel, schema: Any, method: StructuredMethod, *, strict: bool | None
) -> tuple[Runnable[LanguageModelInput, AIMessage], Runnable[Any, Any]]:
    pydantic_schema = isinstance(schema, type) and is_basemodel_subclass(schema)
    if method == "function_calling":
        tool = convert_to_openai_tool(schema, strict=strict)
        name = tool["function"]["name"]
        trace = {"kwargs": {"method": method}, "schema": tool}
        bound = model.bind_tools(
            [schema], tool_choice=name, strict=strict, ls_structured_output_format=trace
        )
        if pydantic_schema:
            return bound, PydanticToolsParser(tools=[schema], first_tool_only=True)
        return bound, JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
    if method == "json_schema":
        json_schema = convert_to_json_schema(schema)
        response_format = {
            "type": "json_schema",
            "json_schema": {
                "name": _schema_name(schema),
                "schema": json_schema,
                "strict": bool(strict),
            },
        }
        trace = {"kwargs": {"method": method}, "schema": json_schema}
    else:
        response_format = {"type": "json_object"}
        trace = {"kwargs": {"method": method}, "schema": schema}
    bound = model.bind(response_format=response_format, ls_structured_output_format=trace)
    return bound, _json_parser(schema, pydantic_schema=pydantic_schema)


def with_structured_output(
    model: BaseChatModel,
    schema: dict[str, Any] | type | None,
    *,
    method: StructuredMethod = "function_calling",
    include_raw: bool = False,
    strict: bool | None = None,
) -> Runnable[LanguageModelInput, Any]:
    """Bind the request shape for ``method`` and attach the matching parser."""
    if schema is None and method != "json_mode":
        msg = f"schema is required for method={method!r}"
        raise ValueError(msg)
    bound, parser = _bind(model, schema, method, strict=strict)
    if not include_raw:
        return bound | parser
    parse_or_none = RunnablePassthrough.assign(
        parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
    ).with_fallbacks(
        [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
    )
    return RunnableMap(raw=bound) | parse_or_none
