"""One decision, read three ways: the structured-output route per link (adapt, validate, lint)."""

from __future__ import annotations

import pytest

import litellm_config
from langchain_openrouter_fallback import FallbackChain
from langchain_openrouter_fallback._decisions.adapt_report import adaptation_lines
from langchain_openrouter_fallback._decisions.plan import plan
from langchain_openrouter_fallback._definition.catalog import Catalog
from langchain_openrouter_fallback.decisions import structured_output_route

SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "Weather", "schema": SCHEMA}}
ROUTE_WORDS = {
    "native": "json_schema native",
    "tool": "json_schema via a",
    "json_object": "json_schema via json_object",
    "unsupported": "json_schema impossible",
}


@pytest.mark.parametrize(
    ("parameters", "route"),
    [
        ({"structured_outputs", "tools", "response_format"}, "native"),
        ({"tools", "response_format"}, "tool"),
        ({"tools"}, "tool"),
        ({"response_format"}, "json_object"),
        ({"temperature"}, "unsupported"),
    ],
)
def test__structured_output_route(parameters, route):
    """Native beats a tool, a tool beats JSON mode; none of them is unsupported."""
    assert route == structured_output_route(frozenset(parameters))


def _sent_route(step) -> str:
    """The route as the adapted body shows it."""
    if step.skip:
        return "unsupported"
    if step.schema_tool:
        return "tool"
    return "json_object" if step.body["response_format"]["type"] == "json_object" else "native"


def test_adaptation_listing_and_linter_agree_on_every_catalog_model():
    """For each model of the bundled catalog, the body sent, ``validate``'s line and the LiteLLM
    linter's label name the same route."""
    catalog = Catalog.bundled()
    models = [m["id"] for m in catalog.raw_models if "/" in m["id"] and ":" not in m["id"]]
    checked = set()
    for model in models:
        info = catalog.get(model)
        try:
            chain = FallbackChain.model_validate({"name": "r", "models": [model]})
        except ValueError:
            continue  # an id the chain grammar refuses (e.g. upper case); nothing to compare
        route = structured_output_route(info.supported_parameters)
        (step,) = plan(
            chain, [{"role": "user", "content": "hi"}], {"response_format": JSON_SCHEMA}, catalog
        )
        assert route == _sent_route(step), model
        assert ROUTE_WORDS[route] in adaptation_lines(chain, catalog)[1], model
        linted = any(f"{model} ({route})" in w for w in litellm_config.lint(chain))
        assert linted == (route != "native"), model
        checked.add(route)
    assert set(ROUTE_WORDS) == checked
