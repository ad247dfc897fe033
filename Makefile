# paperkg: `make demo` (install, load the seed data, serve the web UI), `make test` and `make dist`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000
DEMO_DATA ?= demo-data
VENDOR := api/static/vendor
DIST ?= dist

.PHONY: install node demo test lint bench dist clean

install: $(VENV)/.installed node

# torch is pinned first: an open range would pull a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[test]'
	touch $@

# Node packages: Neo4j's Cypher linter (tests) and cytoscape, vendored into the web UI.
node: node_modules/.installed $(VENDOR)/cytoscape.min.js

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(VENDOR)/cytoscape.min.js: node_modules/.installed
	mkdir -p $(VENDOR)
	cp node_modules/cytoscape/dist/cytoscape.min.js $@

demo: install
	PAPERKG_DATA_DIR=$(DEMO_DATA) $(BIN)/python -m ingest.demo --host $(HOST) --port $(PORT)

# mypy checks kg, ingest and api with the settings in pyproject.toml ([tool.mypy]).
# lint needs only the venv (ruff, mypy), not the node packages the tests and the web UI use.
lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/mypy

test: install
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/pytest -ra

bench: install
	for b in bench/*_bench.py bench/*_eval.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

# The sdist and wheel, into $(DIST)/. After cytoscape is vendored: the file is git-ignored, and a package
# built without it has no graph library. --no-isolation: built with this venv's setuptools, no download.
dist: $(VENV)/.installed $(VENDOR)/cytoscape.min.js
	rm -f $(DIST)/paperkg-*.whl $(DIST)/paperkg-*.tar.gz
	$(BIN)/python -m build --no-isolation --outdir $(DIST) .

clean:
	rm -rf $(VENV) node_modules $(VENDOR) $(DEMO_DATA) .pytest_cache .mypy_cache test-artifacts $(DIST)
