# chatbi: `make run` opens the chat app, `make test` runs the suite (see README.md).
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DB ?= $(or $(CHATBI_DB),data/warehouse.duckdb)
PORT ?= 8501
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint demo clean

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

$(DB): | $(STAMP)
	$(VENV)/bin/chatbi init --demo --scale small --db $(DB)

demo: $(STAMP)
	$(VENV)/bin/chatbi init --demo --scale small --db $(DB)

run: $(STAMP) $(DB)
	@echo "chatbi chat app: http://127.0.0.1:$(PORT)"
	CHATBI_DB=$(DB) ANONYMIZED_TELEMETRY=False $(VENV)/bin/streamlit run streamlit_app.py \
		--server.address 127.0.0.1 --server.port $(PORT) --server.headless true \
		--browser.gatherUsageStats false

# DuckDB's nanobind bindings print harmless "leaked instance" lines at interpreter exit;
# they are filtered so pytest's summary stays the last line of the run.
test: $(STAMP)
	set -o pipefail; ANONYMIZED_TELEMETRY=False $(PY) -m pytest -q -p no:cacheprovider $(PYTEST_ARGS) 2>&1 \
		| grep -v -E '^(nanobind: | - leaked | - \.\.\. skipped remainder|See https://nanobind)'

bench: $(STAMP)
	ANONYMIZED_TELEMETRY=False $(PY) -m benchmarks.run

lint: $(STAMP)
	$(VENV)/bin/ruff check chatbi tests

clean:
	rm -rf $(VENV) data .pytest_cache
