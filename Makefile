# The two commands of the README:
#   make demo   install citynet and run the whole pipeline on synthetic data (embedded store)
#   make test   install the test dependencies (Chromium, the Neo4j 5.26 server) and run every test
PY ?= python3
DEMO_DIR ?= citynet-demo

.PHONY: install demo test-deps test lint bench references

install:
	$(PY) -m pip install --quiet -e .

demo: install
	$(PY) -m citynet demo $(DEMO_DIR)

test-deps:
	$(PY) -m pip install --quiet -e ".[test]"
	bash scripts/install-test-deps.sh

test: test-deps
	$(PY) -m ruff check .
	$(PY) -m pytest

bench: install
	$(PY) -m bench.etl
	$(PY) -m bench.load
	$(PY) -m bench.metrics

# Reference numbers from the R packages (needs R: bash ../shared/r-reference/install.sh); CI uses the stored JSON
references:
	R_LIBS=$${R_LIBS:-$$HOME/.cache/r-reference} Rscript tests/references/references.R
