# helpline — the two commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test check lint format bench clean rasa-sdk rasa36

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e ".[dev]"
	touch $(STAMP)

## Start the server on http://127.0.0.1:8000 (web chat at /, consoles at /console): builds the database
## and the NLU model when missing. Telegram / Zalo start when their settings are in the environment.
run: $(STAMP)
	$(BIN)/helpline serve

## Run the whole test suite (lint, types, import rules, unit, integration, conversation, browser tests,
## and the custom-action tests against a real rasa-sdk server in its own environment).
test: $(STAMP) rasa-sdk
	bash scripts/install-browser.sh
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest -q -n 2 --dist loadfile --durations=15

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

## The benchmarks of benchmarks/README.md (several minutes; results in benchmarks/results/).
bench: $(STAMP)
	taskset -c 0 $(BIN)/python -m benchmarks.bench_kb
	taskset -c 0 $(BIN)/python -m benchmarks.bench_engine
	$(BIN)/python -m benchmarks.bench_nlu
	$(BIN)/python -m benchmarks.bench_rest
	$(BIN)/python -m benchmarks.bench_console

## rasa-sdk in its own virtual environment (var/rasa-sdk): tests/integration/test_rasa_sdk_server.py runs
## a real action server with it (it pins websockets, ruamel.yaml, protobuf and sanic, so not in .venv).
rasa-sdk:
	test -x var/rasa-sdk/bin/python || $(PYTHON) -m venv var/rasa-sdk
	test -f var/rasa-sdk/.installed || (var/rasa-sdk/bin/pip install -q "rasa-sdk==3.11.2" && touch var/rasa-sdk/.installed)

## Rasa 3.6.21 itself in var/rasa36 (about 2.7 GB; it needs a Python 3.10, RASA_PYTHON): the export test then
## runs `rasa data validate` on what `helpline rasa export` writes (skipped without it).
RASA_PYTHON ?= $(firstword $(wildcard $(HOME)/.pyenv/versions/3.10.*/bin/python) python3.10)
rasa36:
	test -x var/rasa36/bin/rasa || $(RASA_PYTHON) -m venv var/rasa36
	test -x var/rasa36/bin/rasa || var/rasa36/bin/pip install -q "rasa==3.6.21"

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache
