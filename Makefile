# Two commands for a newcomer: `make demo` and `make test`. Everything else is optional.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 3000
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv test lint demo local bench lock clean

help:
	@echo "make demo    - start the local stack, send the sample webhooks, show what Go Shops got, the DLQ and a replay"
	@echo "make test    - the whole test suite (unit, integration over moto server and the sandbox, template)"
	@echo "make local   - serve the adapter at http://127.0.0.1:$(PORT)/webhooks/{platform}/{tenant} (TENANTS_FILE, GOSHOPS_BASE_URL)"
	@echo "make bench   - figures and ratios for each stage against its floor"
	@echo "make lint    - ruff and cfn-lint"
	@echo "make lock    - move constraints.txt to the newest versions requirements-dev.txt allows (then make test)"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "make: $(PYTHON) is older than Python 3.11: run with PYTHON=python3.11 (or newer)"; exit 1; }
	$(PYTHON) -m venv $(VENV)

# Reinstalled only when the requirements change. constraints.txt holds every version to what the
# suite last passed with.
$(VENV)/.installed: requirements-dev.txt src/requirements.txt constraints.txt pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -r requirements-dev.txt
	@# setuptools' notice about folders named like a package: none is, at the top of this repository.
	PYTHONWARNINGS="ignore:Editable installation" $(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

venv: $(VENV)/.installed

test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check src tools tests
	$(BIN)/cfn-lint template.yaml

demo: venv
	$(BIN)/adapterctl demo

local: venv
	$(BIN)/adapterctl local --port $(PORT)

bench: venv
	$(BIN)/python -m adapterctl.bench

# Resolved afresh in a scratch virtualenv, so nothing the current one holds is carried over.
lock:
	rm -rf .venv-lock
	$(PYTHON) -m venv .venv-lock
	.venv-lock/bin/python -m pip install --quiet --upgrade pip
	.venv-lock/bin/python -m pip install --quiet -r requirements-dev.txt
	{ sed '/^[^#]/,$$d' constraints.txt; .venv-lock/bin/python -m pip freeze --exclude-editable; } > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf .venv-lock

clean:
	rm -rf $(VENV) .venv-lock .pytest_cache .hypothesis build .aws-sam
