# Everything a fresh clone needs: `make demo` runs the main job, `make test` runs lint and tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KINESIS_SERVER := tools/local-kinesis/node_modules/.bin/kinesalite

.PHONY: help venv jars kinesis-server setup lint test test-fast demo bench-efo docs clean

help:
	@echo "make demo   - run the demo job: Kinesis stream -> PyFlink -> Kinesis stream, on a local server"
	@echo "make test   - lint (ruff, mypy) and all tests, end-to-end jobs included"
	@echo "make jars   - fetch the connector jars with Maven into jars/ and verify them"
	@echo "make docs   - regenerate docs/configuration.md from the key tables"
	@echo "make bench-efo - put-to-receive latency, POLLING vs EFO, on kinesis-mock"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

jars/.fetched: jars/manifest.toml $(VENV)/.installed
	$(PY) -m pyflink_kinesis.jars fetch --maven --dest jars
	touch $@

jars: jars/.fetched

$(KINESIS_SERVER): tools/local-kinesis/package-lock.json
	npm ci --prefix tools/local-kinesis --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

kinesis-server: $(KINESIS_SERVER)

setup: venv jars/.fetched $(KINESIS_SERVER)

lint: venv
	$(PY) -m ruff check pyflink_kinesis tests demo bench
	$(PY) -m mypy

test: setup lint
	$(PY) -m pytest -ra

test-fast: venv
	$(PY) -m pytest -ra -m "not e2e and not jvm"

demo: setup
	$(PY) demo/kinesis_to_kinesis.py

bench-efo: setup
	$(PY) bench/efo_latency.py

docs: venv
	$(PY) -m pyflink_kinesis.config.docs > docs/configuration.md

clean:
	rm -rf $(VENV) tools/local-kinesis/node_modules jars/*.jar jars/.fetched .mypy_cache .ruff_cache .pytest_cache
