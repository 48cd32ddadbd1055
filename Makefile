# labelops — `make help` lists the targets. Everything installs into ./.venv and
# repo-local folders; nothing is installed system-wide.
SHELL := /bin/bash
.DEFAULT_GOAL := help

# Python 3.11 (pyproject: >=3.11,<3.12): python3.11 when it is on PATH, else python3 (checked below)
PYTHON ?= $(shell command -v python3.11 2>/dev/null || echo python3)
VENV   := .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip
LABELOPS := $(VENV)/bin/labelops

SPARK_PROVIDER := apache-airflow-providers-apache-spark==6.3.4
# uv installs the same pinned set as pip (identical `pip freeze`) in ~30 s instead of ~80 s
# on a cold cache (2 cores). `make setup INSTALLER=pip` uses plain pip instead.
UV_VERSION := 0.13.9
INSTALLER  ?= uv
UV     := $(VENV)/bin/uv

# Airflow must never fall back to ~/airflow: its home lives in the repo (git-ignored).
export AIRFLOW_HOME := $(CURDIR)/.airflow
export AIRFLOW__CORE__DAGS_FOLDER := $(CURDIR)/dags
export AIRFLOW__CORE__LOAD_EXAMPLES := False
export PYSPARK_PYTHON := $(CURDIR)/$(PY)

DEMO_START ?= 2026-01-05
DEMO_DAYS  ?= 7
DEMO_DIR   ?= demo
DEMO_JUDGMENTS ?= 100000
DEMO_RUNNER ?= in-process
PYTEST_ARGS ?=

INSTALLED := $(VENV)/.installed
JARS      := infra/jars/.fetched
AIRFLOW_DB := $(AIRFLOW_HOME)/airflow.db

.PHONY: help setup jars airflow-home demo test test-fast lint bench cluster-up cluster-down lock clean distclean

help: ## list targets
	@awk 'BEGIN{FS=":.*## "} /^[a-zA-Z_-]+:.*## /{printf "  \033[1m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

$(INSTALLED): pyproject.toml infra/constraints.txt
	@command -v java >/dev/null || { echo "Java 17 is required (java not on PATH)"; exit 1; }
	@test -x $(PY) || { $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' 2>/dev/null \
	  || { echo "labelops needs Python 3.11 ('$(PYTHON)' is $$($(PYTHON) --version 2>&1 | head -1)):" \
	       "make setup PYTHON=/path/to/python3.11"; exit 1; }; $(PYTHON) -m venv $(VENV); }
ifeq ($(INSTALLER),uv)
	$(PIP) install -q --disable-pip-version-check uv==$(UV_VERSION)
	$(UV) pip install --python $(PY) -q -c infra/constraints.txt --config-settings editable_mode=compat -e '.[dev]'
	$(UV) pip install --python $(PY) -q --no-deps $(SPARK_PROVIDER)
	@# pyspark ships only as a source archive: where the index's cache headers make uv fetch it anew,
	@# every fresh clone adds a 1.4 GB build to uv's cache (60 GB over a week of clones here, until the
	@# disk filled). Prune drops outdated builds and unused entries (~6 s); a failed prune is harmless.
	-$(UV) cache prune -q
else
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -c infra/constraints.txt --config-settings editable_mode=compat -e '.[dev]'
	$(PIP) install -q --no-deps $(SPARK_PROVIDER)
endif
	@touch $@

$(JARS): $(INSTALLED) infra/delta_jars.py infra/spark_defaults.py
	$(PY) -m infra.delta_jars
	@touch $@

$(AIRFLOW_DB): $(INSTALLED)
	$(PY) -m infra.airflow_home

# The jar fetch (Maven) and the Airflow DB (SQLite migrations) need only the venv: side by side.
setup: $(INSTALLED) ## create .venv, install pinned deps, fetch Delta jars, prepare .airflow
	@$(MAKE) --no-print-directory -s -j2 $(JARS) $(AIRFLOW_DB)

jars: $(JARS) ## fetch Delta jars from Maven Central into infra/jars

airflow-home: $(AIRFLOW_DB) ## create the repo-local Airflow home and its SQLite DB

demo: setup ## generate DEMO_DAYS days of exports and run the daily DAG for each day
	$(LABELOPS) demo --start $(DEMO_START) --days $(DEMO_DAYS) --dir $(DEMO_DIR) --judgments-per-day $(DEMO_JUDGMENTS) --runner $(DEMO_RUNNER)

test: setup ## the whole suite (unit + end-to-end), as CI runs it
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup ## unit tests only (no spark-submit / Airflow runs)
	$(PY) -m pytest -m "not e2e" $(PYTEST_ARGS)

lint: setup ## ruff
	$(VENV)/bin/ruff check .

bench: setup ## all benchmarks, ~40 min on 2 cores (each prints one JSON line last)
	$(PY) bench/ingest.py --judgments 1000000
	$(PY) bench/confidence.py
	$(PY) bench/allocation.py
	$(PY) bench/features.py
	$(PY) bench/pipeline_day.py

cluster-up: setup ## start a local Spark standalone master + worker (spark://127.0.0.1:7077)
	$(PY) -m infra.local_cluster up

cluster-down: ## stop the local Spark standalone cluster
	$(PY) -m infra.local_cluster down

lock: ## regenerate infra/constraints.txt from the current .venv
	$(PIP) freeze --exclude-editable | grep -v -E '^(apache-airflow-providers-apache-spark|labelops|uv)==' \
	  | sed '1i # Full transitive lock for `make setup` (pip install -c). Regenerate with `make lock`.' > infra/constraints.txt

clean: ## remove demo output, lakehouse and caches (keeps .venv, jars, Airflow DB)
	rm -rf $(DEMO_DIR) lakehouse spark-warehouse .pytest_cache
	find . -name __pycache__ -type d -prune -not -path './.venv/*' -exec rm -rf {} +

distclean: clean ## also remove .venv, jars and the Airflow home
	rm -rf $(VENV) infra/jars infra/spark-defaults.conf $(AIRFLOW_HOME)
