# Two entry points for a new machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
LOWEST := .venv-lowest
LOWEST_TESTS := tests/unit_tests
export LITELLM_LOCAL_MODEL_COST_MAP := True
TEST_ARGS ?=

.PHONY: demo test lint format bench lock record clean system-deps counts docs

$(BIN)/python:
	$(PYTHON) -m venv $(VENV) || python3 -m venv $(VENV)

$(UV): $(BIN)/python
	$(BIN)/python -m pip install --quiet uv==$(UV_VERSION)

# Runtime + emulator only: what a user of the library needs for the demo. `install`, not
# `sync`: a venv that already has the dev extras keeps them.
$(VENV)/.runtime: $(UV) requirements.lock pyproject.toml
	$(UV) pip install --quiet --python $(BIN)/python -r requirements.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# Everything the suite needs (litellm, langchain-tests, linters).
$(VENV)/.dev: $(UV) requirements-dev.lock pyproject.toml
	$(UV) pip sync --quiet --python $(BIN)/python requirements-dev.lock
	$(UV) pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

# The lowest supported versions (pyproject's lower bounds): the unit tests run here too.
$(LOWEST)/.synced: $(UV) requirements-lowest.lock pyproject.toml
	test -x $(LOWEST)/bin/python || $(PYTHON) -m venv $(LOWEST) || python3 -m venv $(LOWEST)
	$(UV) pip sync --quiet --python $(LOWEST)/bin/python requirements-lowest.lock
	$(UV) pip install --quiet --python $(LOWEST)/bin/python --no-deps -e .
	touch $@

demo: $(VENV)/.runtime
	$(BIN)/python -m langchain_openrouter_fallback._demo

system-deps:
	@command -v redis-server >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: $(VENV)/.dev $(LOWEST)/.synced system-deps lint
	$(BIN)/mkdocs build --strict
	$(BIN)/python -m pytest $(TEST_ARGS)
	$(LOWEST)/bin/python -m pytest -q $(LOWEST_TESTS)

# The documentation site (mkdocs.yml, docs/) into site/; --strict fails on any warning (never add
# --quiet: it hides the warnings strict counts).
docs: $(VENV)/.dev
	$(BIN)/mkdocs build --strict

format: $(VENV)/.dev
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Figures for README and notes (faults, recorded interactions, tests), printed, never typed.
counts: $(VENV)/.dev
	$(BIN)/python -m tests.counts --tests

bench: $(VENV)/.dev
	$(BIN)/python -m benchmarks

# Re-record the chat model's cassettes (cassettes/chat_model/<origin>/): against live OpenRouter
# when OPENROUTER_API_KEY is set, otherwise against the local emulator. Replays need no key.
record: $(VENV)/.dev
	$(BIN)/python -m pytest tests/cassettes/test_chat_model.py --record-mode=rewrite $(TEST_ARGS)

# Re-resolve the pinned locks after editing pyproject.toml.
lock: $(UV)
	$(UV) pip compile --quiet pyproject.toml --python-version 3.11 --extra emulator -o requirements.lock
	$(UV) pip compile --quiet pyproject.toml --python-version 3.11 --extra dev --overrides dev-overrides.txt -o requirements-dev.lock
	$(UV) pip compile --quiet pyproject.toml --python-version 3.11 --extra emulator --extra test --resolution lowest-direct -o requirements-lowest.lock

clean:
	rm -rf $(VENV) $(LOWEST) .mypy_cache .ruff_cache .pytest_cache
