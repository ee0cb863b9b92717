# The two commands of the README:
#   make demo   install citynet into .venv and run the whole pipeline on synthetic data (embedded store)
#   make test   install the test dependencies (Chromium, the Neo4j 5.26 server) and run every test
# Both create the virtual environment .venv with `python3 -m venv` first, so they work where the system
# Python refuses `pip install` (PEP 668 "externally-managed-environment", e.g. Debian 12).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
DEMO_DIR ?= citynet-demo

.PHONY: venv install demo test-deps test lint bench references

venv: $(PY)

$(PY):
	@$(PYTHON) -m venv $(VENV) || { echo "error: '$(PYTHON) -m venv $(VENV)' failed"; \
	  echo "  fix: on Debian/Ubuntu install the venv module: sudo apt-get install python3-venv"; exit 2; }
	$(PY) -m pip install --quiet --upgrade pip

# -qq: errors still print; setuptools' notice for every editable install of a package-dir layout
# ("Please be careful with folders ... with the same name as your package") does not.
install: $(PY)
	$(PY) -m pip install -qq -e .

demo: install
	$(PY) -m citynet demo $(DEMO_DIR)

test-deps: $(PY)
	$(PY) -m pip install -qq -e ".[test]"
	PY=$(PY) bash scripts/install-test-deps.sh

# Two worker processes (pytest-xdist), each test file whole on one of them: its module fixtures (stores,
# corpora) built once; each worker starts its own Neo4j server. Files go out in collection order, the longest
# first (tests/conftest.py LONGEST_FIRST), so the workers end together. TEST_WORKERS=0 runs in one process.
TEST_WORKERS ?= 2

test: test-deps
	$(PY) -m ruff check .
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder

lint: $(PY)
	$(PY) -m ruff check .

bench: install
	$(PY) -m bench.etl
	$(PY) -m bench.load
	$(PY) -m bench.metrics

# Reference numbers from the R packages (needs R: bash ../shared/r-reference/install.sh); CI uses the stored JSON
references:
	R_LIBS=$${R_LIBS:-$$HOME/.cache/r-reference} Rscript tests/references/references.R
	R_LIBS=$${R_LIBS:-$$HOME/.cache/r-reference} Rscript tests/references/designs.R
	R_LIBS=$${R_LIBS:-$$HOME/.cache/r-reference} Rscript tests/references/conley_ppml.R
	R_LIBS=$${R_LIBS:-$$HOME/.cache/r-reference} Rscript tests/references/honestdid.R
