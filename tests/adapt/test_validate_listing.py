"""``openrouter-fallback validate`` lists per-link adaptation and budget risks."""

from __future__ import annotations

from langchain_openrouter_fallback._cli.main import main

CHAIN = """\
name: budget
max_cost: 0.05
params: {seed: 7, max_tokens: 20000}
models:
  - meta-llama/llama-3.3-70b-instruct:free
  - openai/gpt-4o-mini
  - anthropic/claude-haiku-4.5
  - anthropic/claude-opus-4
  - amazon/nova-lite-v1
  - nousresearch/hermes-4-405b
"""


def test_validate_lists_what_each_link_is_sent(tmp_path, capsys):
    """Structured output route, tool_choice, max_tokens ceiling and dropped params per link."""
    path = tmp_path / "budget.yaml"
    path.write_text(CHAIN)
    main(["validate", str(path)])
    out = capsys.readouterr().out
    lines = {line.split(":", 1)[0].strip(): line for line in out.splitlines()}
    assert (
        "json_schema native; max_tokens <= 16,384; params.max_tokens 20000 -> 16384"
        in (lines["openai/gpt-4o-mini"])
    )
    assert (
        "json_schema via a forced tool; max_tokens <= 64,000; params.seed 7 -> dropped"
        in (lines["anthropic/claude-haiku-4.5"])
    )
    nova = lines["amazon/nova-lite-v1"]
    assert "json_schema via a tool (asked in words); tool_choice asked in words" in nova
    assert "params.max_tokens 20000 -> 5120" in nova
    assert (
        "json_schema via json_object + schema instructions" in lines["nousresearch/hermes-4-405b"]
    )


def test_validate_warns_about_free_to_paid_and_links_max_cost_rules_out(tmp_path, capsys):
    """A :free primary falling back to paid links is flagged, as is Opus under $0.05."""
    path = tmp_path / "budget.yaml"
    path.write_text(CHAIN)
    assert 1 == main(["validate", "--strict", str(path)])
    out = capsys.readouterr().out
    assert (
        "warning: meta-llama/llama-3.3-70b-instruct:free is free but falls back to paid links "
        "(openai/gpt-4o-mini, anthropic/claude-haiku-4.5, anthropic/claude-opus-4, "
        "amazon/nova-lite-v1, nousresearch/hermes-4-405b)"
    ) in out
    assert "warning: anthropic/claude-opus-4: worst case $1.50" in out
    assert "max_cost $0.05 skips it" in out
    paid_only = tmp_path / "paid.yaml"
    paid_only.write_text("name: p\nmodels: [openai/gpt-4o-mini, anthropic/claude-haiku-4.5]\n")
    assert 0 == main(["validate", "--strict", str(paid_only)])
