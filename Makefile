# wikidrop developer entry points. `make demo` and `make test` are the README's first two commands.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
export PYTHONPATH := $(CURDIR):$(CURDIR)/plugins

.PHONY: venv test lint format lock demo up down status clean

# `make demo DUMP=path/to/export.xml.bz2` runs the demo on that dump instead of samples/.
DUMP ?=

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(VENV)/bin/pip install -q uv
	# Byte-compile at install: with PYTHONDONTWRITEBYTECODE set, every process would recompile Beam.
	$(VENV)/bin/uv pip install -q --compile-bytecode --python $(PY) -r requirements.txt
	$(VENV)/bin/uv pip install -q --python $(PY) --no-deps -e .
	touch $@

test: venv
	$(PY) -m pytest

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: venv
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

lock: venv
	$(VENV)/bin/uv pip compile -q --python $(PY) requirements.in -o requirements.txt

demo: venv
	$(PY) scripts/demo.py $(if $(DUMP),--dump "$(DUMP)")

up: venv
	$(PY) scripts/devstack.py up

down:
	$(PY) scripts/devstack.py down

status:
	$(PY) scripts/devstack.py status

# Forget all local state (buckets, mirror, Airflow DB, notices) after stopping the stack.
clean: down
	rm -rf var
