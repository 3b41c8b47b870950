r"""A local OpenRouter-compatible server with scriptable faults, for drills and tests.

Usage::

    from langchain_openrouter_fallback.emulator import Emulator

    with Emulator(scenario="examples/scenarios/status-errors.yaml") as emu:
        emu.base_url  # "http://127.0.0.1:<port>/api/v1"
        ...  # point a client at it (any Bearer key is accepted)
        emu.log  # [LogEntry(time, method, path, headers, body, status, model, provider, ...)]
        emu.set_scenario({"faults": []})  # swap at run time

    async with Emulator() as emu:
        ...  # same, from async code

    app = create_app(scenario=...)  # plain ASGI app, e.g. for httpx.ASGITransport(app=app)

From the shell: ``openrouter-fallback emulate --port 8080 --scenario FILE``. Control endpoints:
``GET /_emulator/log``, ``GET|POST /_emulator/scenario`` (YAML or JSON body),
``POST /_emulator/reset``.

Wire behaviour (see ``NOTES.md``): ``POST /api/v1/chat/completions`` (JSON or SSE) and
``GET /api/v1/models`` (the bundled catalog). Missing ``Bearer`` key -> 401; missing
``messages``, more than 3 ``models``, unknown ``provider`` keys or model ids -> 400. Candidates
are ``model`` then ``models``; each model's providers are filtered by ``provider.only``,
``ignore``, ``order``, ``allow_fallbacks`` and ``max_price`` (``sort`` is accepted; all
emulated providers are equal, so it keeps the default order). A scripted error fails over to
the next provider, then the next model (401/402 do not); the last error is returned. A
prompt estimated (characters / 4) above the model's context length gets OpenRouter's 400.
SSE streams send ``: OPENROUTER PROCESSING`` keep-alives, content chunks, a finish chunk, a
usage chunk (always, as OpenRouter does) and ``data: [DONE]``.

Replies are deterministic and never derived from prompt text: a fixed sentence naming the
serving model and provider; tool calls when ``tool_choice`` is ``"required"`` or names a
function (arguments generated from the tool's JSON schema); a schema-valid JSON document for
``response_format``; or what the scenario's ``scripted:`` section says. A request whose last
message is a ``tool`` result always gets text.

Assistant prefill: a request whose last message is ``assistant`` asks the model to continue
that text. When it starts the reply the model would give (scripted or default), only the rest
is sent (streamed or whole); otherwise the prefill is ignored and the whole reply is sent. A
model with ``prefill: false`` rejects such requests with OpenRouter's provider-error 400
(``"Provider returned error"``, ``metadata.raw`` holding Anthropic's ``This model does not
support assistant message prefill...``), failing over like a scripted error.

Scenario format (YAML/JSON; unknown keys are errors)::

    seed: 42                      # seeds generation ids and `probability` faults
    padding: 2                    # leading "\n         \n" blocks on JSON bodies
    framing: close                # chunked | content-length | close (body ends with the
                                  #   connection); default: SSE chunked, JSON with a length
    stream: {keepalives_before: 2, keepalive_every: 0, chunks: 4, keepalive_interval: 0.5,
             chunk_interval: 0}   # seconds between data chunks (token pacing)
    models:                       # key: model id, or "*" for every model
      openai/gpt-4o-mini:
        served_as: openai/gpt-4o-mini-2024-07-18   # default: catalog canonical slug
        providers: [OpenAI, Azure]                 # default: derived from the vendor
        latency: 0.05                              # seconds before headers
        context_length: 4000                       # overrides the catalog
        prefill: false                             # 400 for a trailing assistant message
        scripted:                                  # answers written by the author
          reply: "Hello from the script"
          tool_calls: [{name: weather, arguments: {city: Paris}}]  # arguments optional
          reasoning: "Let me think"                # SCRIPTED reasoning: deltas before the
                                                   #   content, or beside a whole message
    faults:                       # model-specific faults first, then "*"/unfiltered, in order
      - model: openai/gpt-4o-mini # filters (all optional, AND-ed): model, provider,
        provider: OpenAI          #   attempts: [1, 2] (n-th request to the model),
        attempts: [1]             #   every: 3, probability: 0.2, flap: {down: 10, up: 10}
        error: 503                # ONE effect (none = error 503):
                                  #   error: <status> | context_length |
                                  #     {status, message, metadata, metadata_style:
                                  #      legacy|current, retry_after, context_tokens}
                                  #   latency: 1.5 | hang: true | reset: true
                                  #   slow_first_token: 5 | forever (keep-alives; JSON
                                  #     bodies get whitespace blocks instead)
                                  #   stall_after: 3 | cut_after: 3   (data chunks)
                                  #   midstream_error: {after, code, message, finish_reason}
                                  #     (default code 502, finish_reason null, as on the wire)
                                  #   malformed_chunk: {after} | missing_done: true
                                  #   error_200: true | json (a JSON body even for a
                                  #     stream request) | choices_null: true
                                  #   answer: {content, refusal, finish_reason: stop|
                                  #     length|content_filter} (SCRIPTED: a well-formed,
                                  #     billed 200 that is no use; what `accept` rejects)

Only error effects fail over; every other effect is delivered by the provider it hits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from langchain_openrouter_fallback._lazy import lazy_getattr

if TYPE_CHECKING:
    from langchain_openrouter_fallback.emulator._app import EmulatorApp, create_app
    from langchain_openrouter_fallback.emulator._scenario import (
        ErrorSpec,
        Fault,
        ModelBehaviour,
        Scenario,
        ScenarioError,
        ScriptedAnswer,
        load_scenario,
        parse_scenario,
    )
    from langchain_openrouter_fallback.emulator._server import Emulator
    from langchain_openrouter_fallback.emulator._state import EmulatorState, LogEntry

__all__ = [
    "Emulator",
    "EmulatorApp",
    "EmulatorState",
    "ErrorSpec",
    "Fault",
    "LogEntry",
    "ModelBehaviour",
    "Scenario",
    "ScenarioError",
    "ScriptedAnswer",
    "create_app",
    "load_scenario",
    "parse_scenario",
]

# Loaded on first access: the ``emulate`` command's ``--help`` needs no server stack.
__getattr__ = lazy_getattr(
    __name__,
    {
        "Emulator": "_server",
        "EmulatorApp": "_app",
        "create_app": "_app",
        "EmulatorState": "_state",
        "LogEntry": "_state",
        **dict.fromkeys(
            ["ErrorSpec", "Fault", "ModelBehaviour", "Scenario", "ScenarioError",
             "ScriptedAnswer", "load_scenario", "parse_scenario"],
            "_scenario",
        ),
    },
)  # fmt: skip
