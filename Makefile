# OODA Forge: `make demo` runs the tutorial end to end; `make test` runs lint and the whole suite.
# Both create .venv if missing and (re)install when pyproject.toml changes.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
EXTRAS := ui,report,cluster,llm,dev

.PHONY: demo test lint bench validate browser clean

$(STAMP): pyproject.toml
	test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[$(EXTRAS)]"
	touch $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/wargame run tutorial --out out/tutorial --report html,pdf

# Debian's Chromium for the real-browser console test (needs root, as in CI; else the test skips).
browser:
	@command -v chromium >/dev/null 2>&1 || { [ "$$(id -u)" = 0 ] && \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) \
	  || echo "chromium not installed: the browser test will be skipped"; }

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

test: $(STAMP) browser lint
	OODA_FORGE_CACHE=$(CURDIR)/.cache $(VENV)/bin/pytest

bench: $(STAMP) validate
	$(PY) bench/run.py
	$(PY) bench/selection.py

# The land-combat model against CDB90 (needs the data: OODA_FORGE_CDB90 or ../shared/data/cdb90):
# cross-validated figures and baselines, out/validation/index.html, bench/results.json "validation".
validate: $(STAMP)
	$(PY) bench/validate.py --out out/validation

clean:
	rm -rf out .cache .pytest_cache .ruff_cache
