# Two entry points for a new machine: `make demo` and `make test` (see README.md).
PYTHON ?= python3.11
# The other CPythons `make test` runs on: pyenv's (this machine and CI have both), or name them
# (`make test PYTHON313=/usr/bin/python3.13`).
PYTHON312 ?= $(shell pyenv prefix 3.12 2>/dev/null)/bin/python3.12
PYTHON313 ?= $(shell pyenv prefix 3.13 2>/dev/null)/bin/python3.13
VENV := .venv
BIN := $(VENV)/bin
UV := $(BIN)/uv
UV_VERSION := 0.13.9
export LITELLM_LOCAL_MODEL_COST_MAP := True
TEST_ARGS ?=

.PHONY: demo test test-dev test-lowest test-py312 test-py313 lint format bench lock record clean \
	system-deps counts docs

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

# The other environments, .venv-<name> from requirements-<name>.lock (`make lock` writes them all):
#   lowest  CPython 3.11 at pyproject's lower bounds   py312, py313  the newest releases there
#   bench   `make bench`'s peers (the bench extra, which cannot share the dev environment)
python_for_lowest = $(PYTHON)
python_for_py312 = $(PYTHON312)
python_for_py313 = $(PYTHON313)
python_for_bench = $(PYTHON)

.venv-%/.synced: $(UV) requirements-%.lock pyproject.toml
	@$(python_for_$*) -c '' 2>/dev/null || { echo "no Python for .venv-$*: '$(python_for_$*)'" \
		"(pyenv install it, or set PYTHON/PYTHON312/PYTHON313)" >&2; exit 1; }
	test -x $(@D)/bin/python || $(python_for_$*) -m venv $(@D)
	$(UV) pip sync --quiet --python $(@D)/bin/python requirements-$*.lock
	$(UV) pip install --quiet --python $(@D)/bin/python --no-deps -e .
	touch $@

demo: $(VENV)/.runtime
	$(BIN)/python -m langchain_openrouter_fallback._cli.demo

system-deps:
	@command -v redis-server >/dev/null 2>&1 || { \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; }

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# `make test`: lint, then one lane per environment. A lane fails on any pytest exit but 0, so
# one that collects nothing (exit 5) stops the run like a failure.
test: lint docs test-dev test-lowest test-py312 test-py313

# The whole suite on the dev lock (CPython 3.11).
test-dev: $(VENV)/.dev system-deps
	$(BIN)/python -m pytest $(TEST_ARGS)

# The oldest and the newest supported: unit tests, the LiteLLM Router/proxy tests (the plugin
# on the oldest LiteLLM it accepts, and on CPython 3.12/3.13), the stand-in tests and the
# OpenTelemetry tests (the oldest API and SDK the `otel` extra accepts).
LANE_TESTS := tests/unit_tests tests/litellm_config tests/standin tests/telemetry
test-lowest test-py312 test-py313: test-%: .venv-%/.synced system-deps
	.venv-$*/bin/python -m pytest -q $(LANE_TESTS)

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

# In its own environment, where every peer benchmarks/compare.py runs is installed.
bench: .venv-bench/.synced
	.venv-bench/bin/python -m benchmarks

# Re-record the chat model's cassettes (cassettes/chat_model/<origin>/): against live OpenRouter
# when OPENROUTER_API_KEY is set, otherwise against the local emulator. Replays need no key.
record: $(VENV)/.dev
	$(BIN)/python -m pytest tests/cassettes/test_chat_model.py --record-mode=rewrite $(TEST_ARGS)

# Re-resolve every lock after editing pyproject.toml (a dependency the suite needs goes in an
# extra that `dev` includes). Each lock holds the newest releases its extras allow that were
# uploaded before LOCK_AS_OF, whatever the locks held before: the same pyproject.toml always
# gives the same locks. Move LOCK_AS_OF to move them.
LOCK_AS_OF := 2026-12-07T00:00:00Z
LOCK := $(UV) pip compile --quiet --upgrade --exclude-newer $(LOCK_AS_OF) \
	--custom-compile-command "make lock" pyproject.toml
LANE_EXTRAS := --extra emulator --extra litellm --extra test
lock: $(UV)
	$(LOCK) --python-version 3.11 --extra emulator -o requirements.lock
	$(LOCK) --python-version 3.11 --extra dev -o requirements-dev.lock
	$(LOCK) --python-version 3.11 $(LANE_EXTRAS) --resolution lowest-direct -o requirements-lowest.lock
	$(LOCK) --python-version 3.12 $(LANE_EXTRAS) -o requirements-py312.lock
	$(LOCK) --python-version 3.13 $(LANE_EXTRAS) -o requirements-py313.lock
	$(LOCK) --python-version 3.11 --extra bench -o requirements-bench.lock

clean:
	rm -rf $(VENV) .venv-lowest .venv-py312 .venv-py313 .venv-bench .mypy_cache .ruff_cache \
		.pytest_cache
