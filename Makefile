# blueprint: developer and CI entry points (GNU make >= 4.3).
#
#   make demo     check the dev, staging and prod environments
#   make test     run the test suite (extra pytest args: make test PYTEST_ARGS="-k loader -x")
#   make bench    run the benchmarks
#   make golden   regenerate the pytest-regressions golden files, then re-run to show they pass
#   make lock     re-resolve requirements/*.in into hash-pinned requirements/*.txt
#   make clean    remove build/ and both virtualenvs
#
# Two virtualenvs, each installed from a hash-pinned lock file:
#   .venv          the project (editable) and its test tools      <- requirements/project.txt
#   .venv-checkov  checkov alone, run as a subprocess               <- requirements/checkov.txt
# checkov installs a module named `hcl2` that clashes with python-hcl2, hence its own venv.
# Each venv is recreated from scratch only when its lock file changes (stamp files inside the
# venv); a pyproject.toml change only re-runs the editable install. pip's cache is reused.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DELETE_ON_ERROR:
.DEFAULT_GOAL := help
MAKEFLAGS += --no-builtin-rules

PYTHON ?= python3
VENV := .venv
CHECKOV_VENV := .venv-checkov
PROJECT_LOCK := requirements/project.txt
CHECKOV_LOCK := requirements/checkov.txt
ENVS := dev staging prod
PYTEST_ARGS ?=
# Extra pip-compile args for `make lock`, e.g. LOCK_ARGS=--upgrade or
# LOCK_ARGS="--upgrade-package jinja2". Without them, existing pins are kept where still valid.
LOCK_ARGS ?=
PIP_TOOLS_VERSION := 7.6.2
LOCK_VENV := build/pip-tools

export PIP_DISABLE_PIP_VERSION_CHECK := 1

# blueprint finds checkov (in its own venv) through this variable.
# Override on the command line: make test BLUEPRINT_CHECKOV=/path/to/checkov
demo test bench golden: export BLUEPRINT_CHECKOV := $(CURDIR)/$(CHECKOV_VENV)/bin/checkov

# Run a pip command, dropping the harmless "Location 'file:///opt/pypi...' is ignored" warnings
# this machine's pip configuration causes. Keeps pip's exit status (pipefail); every other
# line still reaches stderr.
pip_filtered = { $(1) 2>&1 1>&3 3>&- | { grep -v "^WARNING: Location 'file:///opt/pypi" || true; } >&2; } 3>&1

# The lock files are resolved for CPython 3.11 (requires-python = ">=3.11,<3.12").
check_python = $(PYTHON) -c 'import sys; sys.exit(sys.version_info[:2] != (3, 11))' \
	|| { echo "error: $(PYTHON) must be CPython 3.11 (set PYTHON=...)" >&2; exit 1; }

.PHONY: help demo test bench golden clean lock $(VENV) $(CHECKOV_VENV)

help:
	@sed -n '3,9s/^#   //p' $(firstword $(MAKEFILE_LIST))

# ---------------------------------------------------------------- virtualenvs

$(VENV): $(VENV)/.project-stamp
$(CHECKOV_VENV): $(CHECKOV_VENV)/.deps-stamp

$(VENV)/.deps-stamp: $(PROJECT_LOCK)
	@$(check_python)
	rm -rf $(VENV)
	$(PYTHON) -m venv --prompt blueprint $(VENV)
	@echo "pip install --require-hashes -r $<"
	@$(call pip_filtered,$(VENV)/bin/python -m pip install -q --require-hashes -r $<)
	touch $@

$(VENV)/.project-stamp: $(VENV)/.deps-stamp pyproject.toml
	@echo "pip install --no-deps --no-build-isolation -e ."
	@$(call pip_filtered,$(VENV)/bin/python -m pip install -q --no-deps --no-build-isolation -e .)
	touch $@

$(CHECKOV_VENV)/.deps-stamp: $(CHECKOV_LOCK)
	@$(check_python)
	rm -rf $(CHECKOV_VENV)
	$(PYTHON) -m venv --prompt checkov $(CHECKOV_VENV)
	@echo "pip install --require-hashes -r $<"
	@$(call pip_filtered,$(CHECKOV_VENV)/bin/python -m pip install -q --require-hashes -r $<)
	touch $@

# ---------------------------------------------------------------- entry points

# Stops at the first failing environment; the recipe exits with blueprint's exit code
# (make itself then exits 2, as it does for any failed recipe).
demo: $(VENV) $(CHECKOV_VENV)
	@for env in $(ENVS); do \
	  echo "==> blueprint check --env $$env"; \
	  $(VENV)/bin/blueprint check --env $$env || exit $$?; \
	done

# pytest exit code 5 means "no tests collected": it stays a failure, with a message.
test: $(VENV) $(CHECKOV_VENV)
	@rc=0; $(VENV)/bin/python -m pytest $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "error: pytest collected no tests (exit 5)" >&2; fi; \
	exit $$rc

bench: $(VENV) $(CHECKOV_VENV)
	$(VENV)/bin/python tests/benchmarks/bench.py

# --force-regen rewrites the golden files that differ and fails those tests (exit 1), so exit 1
# is expected on the first pass; anything else (2 interrupted, 3 internal, 4 usage, 5 no tests)
# is an error. The second pass must then be green.
golden: $(VENV) $(CHECKOV_VENV)
	@rc=0; $(VENV)/bin/python -m pytest tests --force-regen -q $(PYTEST_ARGS) || rc=$$?; \
	if [ $$rc -gt 1 ]; then echo "error: pytest --force-regen exited $$rc" >&2; exit $$rc; fi
	$(VENV)/bin/python -m pytest tests -q $(PYTEST_ARGS)

clean:
	rm -rf build $(VENV) $(CHECKOV_VENV)

# ---------------------------------------------------------------- lock files

# Resolves against PyPI alone: PIP_CONFIG_FILE=/dev/null and no PIP_FIND_LINKS keep this
# machine's local mirrors, find-links and global constraint file out of the resolution, and
# --no-emit-index-url/--no-emit-find-links keep machine paths out of the lock files.
# --allow-unsafe pins setuptools/wheel (needed by --no-build-isolation) with hashes.
lock:
	@$(check_python)
	rm -rf $(LOCK_VENV)
	$(PYTHON) -m venv $(LOCK_VENV)
	@$(call pip_filtered,$(LOCK_VENV)/bin/python -m pip install -q pip-tools==$(PIP_TOOLS_VERSION))
	@for name in project checkov; do \
	  echo "pip-compile requirements/$$name.in -> requirements/$$name.txt"; \
	  env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null CUSTOM_COMPILE_COMMAND="make lock" \
	    $(LOCK_VENV)/bin/pip-compile --quiet --resolver=backtracking \
	      --generate-hashes --allow-unsafe --strip-extras \
	      --no-emit-index-url --no-emit-find-links $(LOCK_ARGS) \
	      --output-file requirements/$$name.txt requirements/$$name.in; \
	done
