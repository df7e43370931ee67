# Everything a fresh clone needs: `make demo` runs the main job, `make test` runs lint and tests.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
KINESIS_SERVER := tools/local-kinesis/node_modules/.bin/kinesalite
JAVA_MODULE := jars/pyflink-kinesis-java
JAVA_JAR := pyflink_kinesis/_jars/pyflink-kinesis-java-0.1.0.jar
GLUE_MODULE := jars/pyflink-kinesis-glue-java
GLUE_JAR := pyflink_kinesis/_jars/pyflink-kinesis-glue-0.1.0.jar
# Quix Streams (the Python-native alternative in `make bench`) and the Kafka broker it needs.
QUIX := tools/quix

.PHONY: help venv jars kinesis-server setup lint test test-fast demo bench bench-source bench-efo bench-quix bench-quotas bench-firehose bench-exactly-once soak-exactly-once docs clean

help:
	@echo "make demo       - run the demo job: Kinesis stream -> PyFlink -> Kinesis stream, on a local server"
	@echo "make test       - lint (ruff, mypy) and all tests, end-to-end jobs included (about 30 min)"
	@echo "make test-fast  - the tests that start no JVM (a minute)"
	@echo "make lint       - ruff and mypy"
	@echo "make setup      - virtualenv, jars, our Java modules, the local Kinesis servers"
	@echo "make venv       - the virtualenv in .venv with pyflink-kinesis installed editable"
	@echo "make jars       - fetch the connector jars with Maven into jars/, verify them, build our Java modules"
	@echo "make kinesis-server - install the pinned kinesalite and kinesis-mock into tools/local-kinesis"
	@echo "make docs       - regenerate docs/configuration.md from the key tables"
	@echo "make bench      - throughput, latency and start-up of ours vs raw boto3, PyFlink's built-in wrappers and Quix Streams, the FLIP-27 source vs the consumer, keyed sinks, AWS quotas, the exactly-once sink (~155 min)"
	@echo "make bench-source - FLIP-27 KinesisStreamsSource vs FlinkKinesisConsumer: backlog drains, start-up, latency (~25 min); merged into make bench's results"
	@echo "make bench-efo  - put-to-receive latency, POLLING vs EFO, on kinesis-mock"
	@echo "make bench-quotas - Flink sink and source under AWS's per-shard quotas (kinesalite's quota mode, ~25 min)"
	@echo "make bench-firehose - Firehose sink records/s next to the Kinesis sink and moto's ceiling (~3 min)"
	@echo "make bench-exactly-once - the exactly-once sink next to the at-least-once aggregated sink: latency, records/s, quota share; the de-duplicating reader's state (~15 min)"
	@echo "make soak-exactly-once - 200,000 records through an exactly-once producer and a de-duplicating consumer job under injected faults and two producer failures; fails on any loss or copy"
	@echo "make bench-quix - set up Quix Streams and Kafka for make bench"
	@echo "make clean      - remove the virtualenv, fetched and built jars, node_modules, caches"

$(VENV)/.installed: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $@

venv: $(VENV)/.installed

jars/.fetched: jars/manifest.toml $(VENV)/.installed
	$(PY) -m pyflink_kinesis jars fetch --maven --dest jars --extra glue --extra firehose
	touch $@

# Our own Java classes: built and unit-tested with Maven, then copied where jars.py finds them.
$(JAVA_JAR): $(JAVA_MODULE)/pom.xml $(shell find $(JAVA_MODULE)/src -type f)
	mvn -q -B -f $(JAVA_MODULE)/pom.xml package
	mkdir -p $(@D)
	cp $(JAVA_MODULE)/target/$(@F) $@

$(GLUE_JAR): $(GLUE_MODULE)/pom.xml $(shell find $(GLUE_MODULE)/src -type f)
	mvn -q -B -f $(GLUE_MODULE)/pom.xml package
	mkdir -p $(@D)
	cp $(GLUE_MODULE)/target/$(@F) $@

jars: jars/.fetched $(JAVA_JAR) $(GLUE_JAR)

$(KINESIS_SERVER): tools/local-kinesis/package-lock.json
	npm ci --prefix tools/local-kinesis --omit=optional --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

kinesis-server: $(KINESIS_SERVER)

setup: venv jars/.fetched $(JAVA_JAR) $(GLUE_JAR) $(KINESIS_SERVER)

lint: venv
	$(PY) -m ruff check pyflink_kinesis tests demo bench hatch_build.py
	$(PY) -m mypy

test: setup lint
	$(PY) -m pytest -ra --durations=25

test-fast: venv
	$(PY) -m pytest -ra -m "not e2e and not jvm"

demo: setup
	$(PY) demo/kinesis_to_kinesis.py

# Writes docs/benchmarks/{efo_latency,keyed_sink,exactly_once,performance}.json, performance.png and
# docs/performance.md (which shows them all); run it on a quiet machine.
# Quix Streams in its own virtualenv (every package pinned), and Kafka's jars from Maven Central
# (checksums enforced by -C); bench/perf_quix.py starts a broker from them for each Quix run.
$(QUIX)/venv/.installed: $(QUIX)/requirements.txt
	test -x $(QUIX)/venv/bin/python || $(PYTHON) -m venv $(QUIX)/venv
	$(QUIX)/venv/bin/python -m pip install --quiet --upgrade pip
	$(QUIX)/venv/bin/python -m pip install --quiet -r $(QUIX)/requirements.txt
	touch $@

$(QUIX)/kafka-lib/.fetched: $(QUIX)/pom.xml
	mvn -q -B -C -f $(QUIX)/pom.xml org.apache.maven.plugins:maven-dependency-plugin:3.6.1:copy-dependencies \
		-DincludeScope=runtime -DoutputDirectory=$(CURDIR)/$(QUIX)/kafka-lib
	touch $@

bench-quix: $(QUIX)/venv/.installed $(QUIX)/kafka-lib/.fetched

bench: setup bench-quix
	$(PY) -m bench.performance --no-docs
	$(PY) bench/efo_latency.py
	$(PY) -m bench.keyed_sink
	$(PY) -m bench.aws_quotas
	$(PY) -m bench.firehose
	$(PY) -m bench.exactly_once
	$(PY) -m bench.perf_report

# Only the FLIP-27 source and FlinkKinesisConsumer cells of `make bench`: replaces the
# flip27_source block of docs/benchmarks/performance.json, keeps every other figure.
bench-source: setup
	$(PY) -m bench.performance --only flip27

bench-efo: setup
	$(PY) bench/efo_latency.py

bench-quotas: setup
	$(PY) -m bench.aws_quotas
	$(PY) -m bench.perf_report

bench-firehose: setup
	$(PY) -m bench.firehose
	$(PY) -m bench.perf_report

bench-exactly-once: setup
	$(PY) -m bench.exactly_once
	$(PY) -m bench.perf_report

soak-exactly-once: setup
	$(PY) -m bench.soak_exactly_once

docs: venv
	$(PY) -m pyflink_kinesis config > docs/configuration.md

clean:
	rm -rf $(VENV) tools/local-kinesis/node_modules jars/*.jar jars/.fetched $(JAVA_MODULE)/target $(GLUE_MODULE)/target \
		pyflink_kinesis/_jars $(QUIX)/venv $(QUIX)/kafka-lib .mypy_cache .ruff_cache .pytest_cache
