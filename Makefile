# Two commands set up a fresh Debian machine and do the job:
#   make run    poller + dashboard on http://127.0.0.1:8501 (SQLite in data/)
#   make test   the whole test suite (installs Debian chromium for the browser tests)
# Both are idempotent: a second call installs nothing and starts at once.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
ARGS   ?=

.PHONY: run test bench chromium clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# stamps: reinstall only when pyproject.toml changes
$(VENV)/.run-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e .
	touch $@

$(VENV)/.test-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test]'
	touch $@ $(VENV)/.run-deps

run: $(VENV)/.run-deps
	$(BIN)/escalation-watch run $(ARGS)

chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian chromium for the browser tests"; \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; }

test: $(VENV)/.test-deps chromium
	$(BIN)/python -m pytest -n 2 --dist loadgroup $(ARGS)

bench: $(VENV)/.test-deps
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[test,bench]'
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache
