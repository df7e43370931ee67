"""Benchmark: sink, source and end-to-end figures of pyflink_kinesis next to the alternatives.

``make bench`` (``python -m bench.performance``) starts kinesalite and kinesis-mock on
loopback and measures, on the same server in the same run:

* sink throughput: records/s and MB/s on the server's arrival clock (``ApproximateArrival
  Timestamp``), from the first to the last record written;
* source throughput: draining a TRIM_HORIZON backlog;
* the time from ``execute`` to the first record read (Flink variants);
* put-to-read latency p50/p99 with POLLING (records stamped where the reader sees them);
* the cost of building a consumer and a sink (wall time, py4j round trips), jar resolution
  and config validation, and import times;
* a few documented settings of ours (parallelism, sink batching, polling interval).

Clients: ``ceiling`` (parallel boto3 processes, 500-record PutRecords, 10000-record
GetRecords), ``boto3_loop`` (the same calls from one process), ``ours`` (pyflink_kinesis),
``builtin`` (PyFlink's ``pyflink.datastream.connectors.kinesis`` with the same jars added by
hand) and ``quix`` (Quix Streams' Kinesis sink and source, the Python-native alternative; see
``bench.perf_quix``; skipped with the reason in the JSON when ``make bench-quix`` has not set
it up). Every figure is
min / median / max over repeats. Results go to ``docs/benchmarks/performance.json``; then
``bench.perf_report`` writes ``docs/benchmarks/performance.png`` and ``docs/performance.md``.

The FLIP-27 ``KinesisStreamsSource`` is measured next to ``FlinkKinesisConsumer`` (both of
ours) in a block of its own, ``flip27_source`` in the JSON: backlog drains on the Flink cells
and put-to-read latency, both readers in the same stretch of time on the same server.
``--only flip27`` (``make bench-source``) measures just that block and merges it into the
existing results file, keeping every other figure.

Not a test: the numbers depend on the machine and its load (the JSON records the load average
before and after). ``--quick`` runs a small smoke version (a minute or two) that checks the
harness; its numbers mean nothing.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import itertools
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from bench import perf_quix, perf_raw, perf_report
from bench.perf_common import (
    FLIP27,
    SHARDS,
    SIZES,
    Cell,
    client,
    create_stream,
    delete_stream,
    distinct_arrivals,
    read_stream,
    records_for,
    size_label,
)
from bench.perf_stats import percentile, ratio, steady_rate, summary
from pyflink_kinesis import jars
from pyflink_kinesis.config.endpoint import JSON_PROTOCOL_SYSTEM_PROPERTIES
from pyflink_kinesis.config.source import DISCOVERY_INTERVAL, SOURCE_OPTIONS
from pyflink_kinesis.testing import (
    KINESALITE_VERSION,
    KINESIS_MOCK_VERSION,
    KinesisMock,
    LocalKinesis,
    LocalKinesisServer,
)

REPO = Path(__file__).resolve().parents[1]
JSON_OUT = REPO / "docs" / "benchmarks" / "performance.json"
SCHEMA_VERSION = 1
FLINK_CLIENTS = ("ours", "builtin")
RAW_CLIENTS = ("ceiling", "boto3_loop")
#: The Python-native alternative (Quix Streams), measured where the Flink variants are.
QUIX = "quix"
OTHER_CLIENTS = (*RAW_CLIENTS, "builtin", QUIX)
#: The readers of the FLIP-27 comparison: FlinkKinesisConsumer and KinesisStreamsSource.
SOURCE_READERS = ("ours", FLIP27)
#: What ``--only`` can measure alone, and the key of the results file it replaces.
ONLY = {"flip27": "flip27_source"}
#: Milliseconds between a reader's GetRecords calls of a shard: the consumer's default
#: (flink.shard.getrecords.intervalmillis); the FLIP-27 source of connector 4.3.0 has no pause.
#: Between GetRecords calls of a shard; for the FLIP-27 source (our shard reader) only after an
#: answer without records.
POLL_INTERVAL_MS = {"ours": 200, "builtin": 200, FLIP27: 200}


@dataclass(frozen=True)
class Profile:
    """How much to measure. ``full`` is ``make bench``; ``quick`` checks the harness."""

    name: str
    sizes: tuple[int, ...]
    shards: tuple[int, ...]
    repeats: int
    #: Quix Streams costs a Kafka broker and about 20 s per run, and trails by far: fewer runs.
    quix_repeats: int
    #: The (size, shards) cells the Flink variants run on (they cost a job each).
    flink_cells: tuple[tuple[int, int], ...]
    #: The cells whose ceiling is also measured on kinesis-mock.
    mock_cells: tuple[tuple[int, int], ...]
    sink_budget_bytes: int
    sink_records: tuple[int, int]  # (min, max)
    source_budget_bytes: int
    source_records: tuple[int, int]
    ceiling_processes: int = 2
    #: Repeats of the cells only the raw clients run (they show how the server's ceiling moves
    #: with record size and shards; nothing of ours is compared there).
    raw_only_repeats: int = 3
    #: kinesis-mock is several times slower than kinesalite: smaller workloads, fewer repeats.
    mock_budget_scale: float = 0.25
    mock_repeats: int = 2
    parallelism: int = 2
    latency_size: int = 1024
    latency_shards: int = 4
    latency_rate: int = 200
    latency_seconds: float = 10.0
    latency_warm_up_s: float = 2.0
    latency_repeats: int = 2
    bundle_ms: int = 10
    tuning_repeats: int = 2
    tuning_cell: tuple[int, int] = (1024, 4)
    tuning: tuple[dict[str, Any], ...] = field(default_factory=tuple)
    #: A shorter shard discovery interval (ms) of the FLIP-27 source, drained on the tuning
    #: cell next to its default: its shards are assigned at a discovery (docs/performance.md).
    flip27_short_discovery_ms: int = 1000

    def cell(self, size: int, shards: int, direction: str, scale: float = 1.0) -> Cell:
        if direction == "sink":
            budget, (low, high) = self.sink_budget_bytes, self.sink_records
        else:
            budget, (low, high) = self.source_budget_bytes, self.source_records
        # A sink's floor is not scaled: its figure needs several PutRecords batches per writer.
        floor = low if direction == "sink" else int(low * scale)
        records = records_for(size, int(budget * scale), max(floor, int(high * scale)), floor)
        return Cell(size, shards, records)


#: Settings of ours tried on the tuning cell; "default" rows are the plain run's figures.
TUNING = (
    {"name": "sink parallelism 1", "direction": "sink", "parallelism": 1},
    {"name": "sink parallelism 4", "direction": "sink", "parallelism": 4},
    {"name": "sink max_in_flight_requests 10", "direction": "sink",
     "sink_settings": {"max_in_flight_requests": 10}},
    {"name": "sink max_batch_size 100", "direction": "sink",
     "sink_settings": {"max_batch_size": 100}},
    {"name": "source parallelism 1", "direction": "source", "parallelism": 1},
    {"name": "source parallelism 4", "direction": "source", "parallelism": 4},
    {"name": "source getrecords interval 50 ms", "direction": "source",
     "consumer_settings": {"flink.shard.getrecords.intervalmillis": "50"}},
    {"name": "source getrecords max 1000", "direction": "source",
     "consumer_settings": {"flink.shard.getrecords.maxrecordcount": "1000"}},
    {"name": "latency getrecords interval 50 ms", "direction": "latency",
     "consumer_settings": {"flink.shard.getrecords.intervalmillis": "50"}},
    # Back-to-back polling, as Quix Streams' KinesisSource does (AWS allows 5 calls/s/shard).
    {"name": "latency getrecords interval 0 ms", "direction": "latency",
     "consumer_settings": {"flink.shard.getrecords.intervalmillis": "0"}},
)

_CROSS = tuple(sorted({(s, 4) for s in SIZES} | {(1024, n) for n in SHARDS}))

PROFILES = {
    "full": Profile(
        # 5 repeats: the goals' rank-sum verdicts need them (3 against 3 can just reach p 0.05).
        name="full", sizes=SIZES, shards=SHARDS, repeats=5, quix_repeats=3,
        flink_cells=_CROSS, mock_cells=((1024, 4), (10 * 1024, 4)),
        # Runs of several seconds: the first second of a job is JIT compilation in the JVM
        # (and in kinesalite's node), which a 30,000-record run measured more than the sink.
        sink_budget_bytes=100_000_000, sink_records=(2_000, 100_000),
        source_budget_bytes=100_000_000, source_records=(2_400, 150_000),
        mock_budget_scale=0.05, tuning=TUNING,
    ),
    "quick": Profile(
        name="quick", sizes=(100, 1024), shards=(1, 4), repeats=1, quix_repeats=1,
        raw_only_repeats=1,
        flink_cells=((1024, 1),), mock_cells=((1024, 4),), tuning_cell=(1024, 1),
        sink_budget_bytes=1_000_000, sink_records=(2_000, 3_000),
        source_budget_bytes=12_000_000, source_records=(2_000, 60_000),
        latency_rate=100, latency_seconds=3.0, latency_warm_up_s=1.0, latency_repeats=1,
        mock_repeats=1,
        tuning_repeats=1, tuning=(TUNING[1], TUNING[6], TUNING[8]),
    ),
}


@dataclass
class Server:
    """A running local server and a client for it."""

    name: str
    version: str
    handle: LocalKinesisServer
    counter: Iterator[int] = field(default_factory=itertools.count)

    @property
    def endpoint(self) -> str:
        return self.handle.endpoint

    @property
    def region(self) -> str:
        return self.handle.region

    def new_stream(self, purpose: str, shards: int) -> str:
        name = f"bench-{purpose}-{next(self.counter)}"
        create_stream(client(self.endpoint, self.region), name, shards)
        return name

    def drop(self, *streams: str) -> None:
        kinesis = client(self.endpoint, self.region)
        for stream in streams:
            delete_stream(kinesis, stream)

    def address(self) -> dict[str, str]:
        """What a job process needs to reach the server with boto3."""
        return {"endpoint": self.endpoint, "region": self.region}

    def read_back(self, stream: str) -> dict[str, Any]:
        """``bench.perf_common.distinct_arrivals`` of a written stream."""
        return distinct_arrivals(read_stream(client(self.endpoint, self.region), stream))


class Steps:
    """Prints each step as it starts and keeps how long each took (saved in the JSON)."""

    def __init__(self) -> None:
        self.done: list[dict[str, Any]] = []
        self._current: tuple[str, float] | None = None

    def __call__(self, message: str) -> None:
        self.finish()
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)
        self._current = (message, time.monotonic())

    def finish(self) -> None:
        if self._current:
            name, started = self._current
            self.done.append({"step": name, "seconds": round(time.monotonic() - started, 1)})
            self._current = None


log = Steps()


# ------------------------------------------------------------------ figures from measurements


def sink_rate(stream: str, read_back: dict[str, Any], cell: Cell) -> float:
    """Records/s of a finished write, from the server's arrival times of its distinct records
    (``bench.perf_common.distinct_arrivals``)."""
    arrivals = read_back["arrivals"]
    if len(arrivals) != cell.records:
        raise RuntimeError(
            f"{stream}: {len(arrivals)} of {cell.records} distinct records arrived; the writer "
            "lost some"
        )
    return steady_rate(arrivals)


def entry(
    server: Server, cell: Cell, direction: str, client_name: str, rates: list[float],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "server": server.name, "size": cell.size, "shards": cell.shards,
        "records": cell.records, "direction": direction, "client": client_name,
        "records_per_s": summary(rates, 0),
        "mb_per_s": summary([r * cell.size / 1e6 for r in rates], 2),
        "runs": [round(r) for r in rates], **extra,
    }


# ------------------------------------------------------------------------------- raw clients


def raw_cell(
    server: Server, profile: Profile, size: int, shards: int, source_stream: str,
    scale: float = 1.0, repeats: int | None = None,
) -> list[dict[str, Any]]:
    """Ceiling and single-loop figures of one cell: sink, then draining ``source_stream``."""
    results = []
    repeats = repeats or profile.repeats
    cell = profile.cell(size, shards, "sink", scale)
    for client_name, processes in (("ceiling", profile.ceiling_processes), ("boto3_loop", 1)):
        rates, duplicates = [], []
        for _ in range(repeats):
            stream = server.new_stream("raw-sink", shards)
            perf_raw.put_parallel(server.endpoint, server.region, stream, size,
                                  cell.records, processes)
            read_back = server.read_back(stream)
            rates.append(sink_rate(stream, read_back, cell))
            duplicates.append(read_back["duplicates"])
            server.drop(stream)  # the next run meets the same server (see bench.perf_job)
        results.append(entry(server, cell, "sink", client_name, rates, processes=processes,
                             duplicates=duplicates))
    cell = profile.cell(size, shards, "source", scale)
    for client_name, processes in (("ceiling", profile.ceiling_processes), ("boto3_loop", 1)):
        rates = []
        for _ in range(repeats):
            drained = perf_raw.drain_parallel(
                server.endpoint, server.region, source_stream, processes)
            if drained["records"] != cell.records:
                raise RuntimeError(
                    f"{source_stream}: drained {drained['records']} of {cell.records}")
            rates.append(drained["rate"])
        results.append(entry(server, cell, "source", client_name, rates,
                             processes=min(processes, shards)))
    return results


def backlog(
    server: Server, profile: Profile, size: int, shards: int, scale: float = 1.0
) -> str:
    """A new stream holding the cell's source backlog."""
    stream = server.new_stream("source", shards)
    records = profile.cell(size, shards, "source", scale).records
    perf_raw.preload(server.endpoint, server.region, stream, size, records)
    return stream


# ------------------------------------------------------------------------------ Flink clients


def client_properties(server: Server, variant: str) -> dict[str, str]:
    """What a user of each variant writes against a local server."""
    properties = {
        "aws.region": server.region,
        "aws.endpoint": server.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "bench",
        "aws.credentials.provider.basic.secretkey": "bench",
    }
    if variant == "builtin":
        # pyflink_kinesis adds this for plain http:// endpoints; PyFlink's wrappers do not.
        properties["aws.http.protocol.version"] = "HTTP1_1"
    return properties


def run_job_process(
    server: Server, variant: str, tasks: list[dict[str, Any]], parallelism: int
) -> dict[str, dict[str, Any]]:
    """Run ``tasks`` in one fresh ``bench.perf_job`` process; results keyed by task id."""
    plan = {
        "variant": variant,
        "parallelism": parallelism,
        "client_properties": client_properties(server, variant),
        "jar_uris": [p.as_uri() for p in jars.resolve_jars()] if variant == "builtin" else [],
        "system_properties": JSON_PROTOCOL_SYSTEM_PROPERTIES if variant == "builtin" else {},
        "tasks": tasks,
    }
    with tempfile.TemporaryDirectory(prefix="bench-job-") as scratch:
        plan_path, out_path = Path(scratch, "plan.json"), Path(scratch, "out.json")
        log_path = Path(scratch, "job.log")
        plan_path.write_text(json.dumps(plan))
        with log_path.open("w") as job_log:
            done = subprocess.run(
                [sys.executable, "-m", "bench.perf_job", str(plan_path), str(out_path)],
                cwd=REPO, env=_clean_environment(), stdout=job_log, stderr=subprocess.STDOUT,
                timeout=1800, check=False,
            )
        if done.returncode != 0 or not out_path.exists():
            tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
            raise RuntimeError(
                f"the {variant} job process failed (exit {done.returncode}). Last lines:\n"
                f"{tail}\nThe Flink log is under .venv/lib/python3.*/site-packages/pyflink/log/"
            )
        answer = json.loads(out_path.read_text())
    if variant == "builtin" and answer.get("pyflink_kinesis_imported", True):
        raise RuntimeError("the builtin job process imported pyflink_kinesis; its figures "
                           "would not be PyFlink's own wrappers alone")
    return {r["task"]: r for r in answer["results"]}


def _clean_environment() -> dict[str, str]:
    """Our environment without what a PyFlink job puts there (see tests/support/environment)."""
    polluted = {"FLINK_HOME", "FLINK_CONF_DIR", "FLINK_LIB_DIR", "FLINK_OPT_DIR",
                "FLINK_PLUGINS_DIR", "HADOOP_CLASSPATH", "PYFLINK_GATEWAY_DISABLED"}
    return {k: v for k, v in os.environ.items() if k not in polluted}


def flink_cell(
    server: Server, profile: Profile, variant: str, size: int, shards: int,
    source_stream: str,
) -> list[dict[str, Any]]:
    """Sink and source figures of one Flink variant on one cell, all repeats in one JVM."""
    sink_cell = profile.cell(size, shards, "sink")
    source_cell = profile.cell(size, shards, "source")
    sink_streams = [server.new_stream(f"{variant}-sink", shards) for _ in range(profile.repeats)]
    tasks = [{"id": f"sink{r}", "kind": "sink", "stream": s, "size": size,
              "records": sink_cell.records, **server.address()}
             for r, s in enumerate(sink_streams)]
    tasks += source_tasks(profile, source_stream, source_cell, {})
    measured = run_job_process(server, variant, tasks, profile.parallelism)
    # The job process read each sink stream back and deleted it before its next task.
    sink_runs = [measured[f"sink{r}"] for r in range(profile.repeats)]
    sink_rates = [sink_rate(s, run, sink_cell) for s, run in zip(sink_streams, sink_runs)]
    source_runs = [measured[f"source{r}"] for r in range(profile.repeats)]
    return [
        entry(server, sink_cell, "sink", variant, sink_rates, parallelism=profile.parallelism,
              duplicates=[run["duplicates"] for run in sink_runs]),
        source_entry(server, profile, variant, source_cell, source_runs),
    ]


def source_tasks(
    profile: Profile, stream: str, cell: Cell, settings: dict[str, str]
) -> list[dict[str, Any]]:
    """``profile.repeats`` drains of the backlog in ``stream`` (ids ``source0``...)."""
    return [{"id": f"source{r}", "kind": "source", "stream": stream, "records": cell.records,
             "consumer_settings": settings} for r in range(profile.repeats)]


def source_entry(
    server: Server, profile: Profile, variant: str, cell: Cell, runs: list[dict[str, Any]],
    **extra: Any,
) -> dict[str, Any]:
    """The throughput entry of a Flink reader's drains of one backlog."""
    return entry(server, cell, "source", variant, [source_rate(run, cell) for run in runs],
                 parallelism=profile.parallelism, short_drains=short_drains(runs, cell),
                 execute_to_first_record_s=summary(
                     [run["first_at"] - run["execute_at"] for run in runs], 2), **extra)


def source_rate(run: dict[str, Any], cell: Cell) -> float:
    """Records/s of a Flink backlog drain, from the REST samples after the first record.

    The first sample that shows records marks the start; the records it already shows are
    not counted. Raises when the drain ended before a second sample could be taken.
    """
    if run["records"] < cell.records:
        raise RuntimeError(f"the source emitted {run['records']} of {cell.records} records")
    remaining = cell.records - run["first_count"]
    seconds = run["done_at"] - run["first_at"]
    if remaining <= 0 or seconds <= 0:
        raise RuntimeError(
            f"the backlog of {cell.records} records drained before a second REST sample "
            "(every record was read at the first one): raise the profile's source budget"
        )
    return float(remaining / seconds)


def short_drains(runs: list[dict[str, Any]], cell: Cell) -> int:
    """How many drains had more than half the backlog read at the first sample, or lasted
    under a second: their rates are rough."""
    return sum(1 for run in runs if cell.records - run["first_count"] < cell.records / 2
               or run["done_at"] - run["first_at"] < 1.0)


# ------------------------------------------------------------------------------- Quix Streams


class Quix:
    """Quix Streams runs, and what became of them: ``status`` ends in the JSON.

    A failure is recorded with its message and stops further Quix runs; the rest of the
    benchmark goes on.
    """

    def __init__(self) -> None:
        reason = perf_quix.unavailable()
        self.status: dict[str, Any] = {
            "name": "Quix Streams", "client": QUIX,
            "quixstreams": perf_quix.QUIXSTREAMS_VERSION, "kafka": perf_quix.KAFKA_VERSION,
            "status": "skipped" if reason else "measured", "reason": reason or "",
        }

    @property
    def on(self) -> bool:
        return bool(self.status["status"] == "measured")

    def failed(self, what: str, error: Exception) -> None:
        self.status.update(status="failed", reason=f"{what}: {error}")
        print(f"Quix Streams {what} failed; no more Quix runs:\n{error}", flush=True)

    def cell(self, server: Server, profile: Profile, size: int, shards: int,
             source_stream: str) -> list[dict[str, Any]]:
        """Sink and source figures of Quix Streams on one cell; a fresh broker per run."""
        sink_cell = profile.cell(size, shards, "sink")
        source_cell = profile.cell(size, shards, "source")
        try:
            sink_rates, duplicates = [], []
            for _ in range(profile.quix_repeats):
                stream = server.new_stream("quix-sink", shards)
                with perf_quix.kafka_broker() as broker:
                    perf_quix.sink(broker, server.endpoint, server.region, stream, size,
                                   sink_cell.records)
                read_back = server.read_back(stream)
                sink_rates.append(sink_rate(stream, read_back, sink_cell))
                duplicates.append(read_back["duplicates"])
                server.drop(stream)
            drains = []
            for _ in range(profile.quix_repeats):
                with perf_quix.kafka_broker() as broker:
                    drains.append(perf_quix.drain(broker, server.endpoint, server.region,
                                                  source_stream, source_cell.records))
        except (perf_quix.QuixError, RuntimeError, subprocess.TimeoutExpired) as error:
            self.failed(f"{size_label(size)} x {shards} shards", error)
            return []
        return [
            entry(server, sink_cell, "sink", QUIX, sink_rates, processes=1,
                  duplicates=duplicates),
            entry(server, source_cell, "source", QUIX,
                  [quix_drain_rate(d, source_cell) for d in drains], processes=1,
                  execute_to_first_record_s=summary(
                      [d["first_at"] - d["run_at"] for d in drains], 2)),
        ]

    def latency(self, server: Server, profile: Profile) -> list[dict[str, Any]]:
        runs = []
        try:
            for _ in range(profile.latency_repeats):
                stream = server.new_stream("quix-latency", profile.latency_shards)
                with perf_quix.kafka_broker() as broker:
                    reader = perf_quix.LatencyReader(broker, server.endpoint, server.region,
                                                     stream)
                    try:
                        reader.wait_reading(server.endpoint, server.region, stream,
                                            profile.latency_size)
                        produced = perf_raw.produce(
                            server.endpoint, server.region, stream, profile.latency_size,
                            profile.latency_rate, profile.latency_seconds)
                        reader.wait_for(produced, timeout_s=60)
                    finally:
                        tail = reader.stop()
                server.drop(stream)
                if len(reader.pairs) < produced:
                    raise perf_quix.QuixError(f"the Quix latency app saw {len(reader.pairs)} "
                                              f"of {produced} records:\n{tail}")
                runs.append(latency_figures(reader.pairs, profile.latency_warm_up_s))
        except (perf_quix.QuixError, subprocess.TimeoutExpired) as error:
            self.failed("latency", error)
            return []
        return [latency_entry(server, profile, QUIX, runs, poll_interval_ms=0)]


def quix_drain_rate(drain: dict[str, Any], cell: Cell) -> float:
    """Records/s of a Quix backlog drain, from its first record seen to its last."""
    if drain["records"] < cell.records:
        raise RuntimeError(f"the Quix source saw {drain['records']} of {cell.records} records")
    return float((drain["records"] - 1) / (drain["last_at"] - drain["first_at"]))


# ------------------------------------------------------------------------------------ latency


def latency_figures(pairs: list[tuple[float, float]], warm_up_s: float) -> dict[str, float]:
    """p50 / p99 / max in ms of (put, seen) pairs, without the first ``warm_up_s`` seconds."""
    start = min(put for put, _ in pairs)
    latencies = [(seen - put) * 1000 for put, seen in pairs if put - start >= warm_up_s]
    return {"p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "max_ms": max(latencies), "records": len(latencies)}


def latency_entry(
    server: Server, profile: Profile, client_name: str, runs: list[dict[str, float]],
    **extra: Any,
) -> dict[str, Any]:
    return {
        "server": server.name, "client": client_name, "size": profile.latency_size,
        "shards": profile.latency_shards, "rate_per_s": profile.latency_rate,
        "seconds": profile.latency_seconds, "warm_up_s": profile.latency_warm_up_s,
        "p50_ms": summary([r["p50_ms"] for r in runs]),
        "p99_ms": summary([r["p99_ms"] for r in runs]),
        "max_ms": summary([r["max_ms"] for r in runs]),
        "records_measured": [r["records"] for r in runs], **extra,
    }


def raw_latency(server: Server, profile: Profile) -> list[dict[str, Any]]:
    results = []
    for client_name, interval_s in (("ceiling", 0.0), ("boto3_loop", 0.2)):
        runs = []
        for _ in range(profile.latency_repeats):
            stream = server.new_stream("raw-latency", profile.latency_shards)
            pairs = perf_raw.read_latency(
                server.endpoint, server.region, stream, profile.latency_size,
                profile.latency_rate, profile.latency_seconds, interval_s)
            runs.append(latency_figures(pairs, profile.latency_warm_up_s))
            server.drop(stream)
        results.append(latency_entry(server, profile, client_name, runs,
                                     poll_interval_ms=interval_s * 1000))
    return results


def latency_task(
    server: Server, profile: Profile, task_id: str, consumer_settings: dict[str, str]
) -> tuple[dict[str, Any], list[str]]:
    stream = server.new_stream("latency", profile.latency_shards)
    out = server.new_stream("latency-out", profile.latency_shards)
    task = {"id": task_id, "kind": "latency", "stream": stream, "out_stream": out,
            **server.address(),
            "size": profile.latency_size, "rate": profile.latency_rate,
            "seconds": profile.latency_seconds, "settle_s": 1.0, "bundle_ms": profile.bundle_ms,
            "consumer_settings": consumer_settings}
    return task, [stream, out]


def flink_latency_and_construction(
    server: Server, profile: Profile, variant: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Latency figures and construction costs of one variant, in one job process."""
    tasks: list[dict[str, Any]] = [{
        "id": "construction", "kind": "construction", "stream": "bench-construction",
        "repeats": 20, "client_properties": client_properties(server, variant)}]
    streams: list[str] = []
    for r in range(profile.latency_repeats):
        task, names = latency_task(server, profile, f"latency{r}", {})
        tasks.append(task)
        streams += names
    measured = run_job_process(server, variant, tasks, profile.parallelism)
    server.drop(*streams)
    runs = latency_runs(profile, variant, measured)
    construction = {k: v for k, v in measured["construction"].items() if k != "task"}
    return latency_entry(server, profile, variant, runs,
                         poll_interval_ms=POLL_INTERVAL_MS[variant],
                         bundle_ms=profile.bundle_ms), construction


def latency_runs(
    profile: Profile, variant: str, measured: dict[str, dict[str, Any]]
) -> list[dict[str, float]]:
    """``latency_figures`` of the tasks ``latency0``... of a job process; every record put
    must have come out."""
    runs = []
    for r in range(profile.latency_repeats):
        run = measured[f"latency{r}"]
        if run["received"] < run["produced"]:
            raise RuntimeError(f"{variant} latency job: {run['received']} of "
                               f"{run['produced']} records came out")
        runs.append(latency_figures(run["pairs"], profile.latency_warm_up_s))
    return runs


# ------------------------------------------------------------------- FLIP-27 source vs consumer


def reader_drains(
    server: Server, profile: Profile, variant: str, size: int, shards: int, stream: str,
    settings: dict[str, str] | None = None,
) -> dict[str, Any]:
    """One reader's drains of the backlog in ``stream``, all repeats in one job process;
    ``settings``: more consumer or source keys."""
    cell = profile.cell(size, shards, "source")
    tasks = source_tasks(profile, stream, cell, settings or {})
    load = os.getloadavg()[0]
    measured = run_job_process(server, variant, tasks, profile.parallelism)
    return source_entry(server, profile, variant, cell, [measured[t["id"]] for t in tasks],
                        settings=settings or {}, load_average_1min=round(load, 2))


def reader_latency(server: Server, profile: Profile, variant: str) -> dict[str, Any]:
    """One reader's put-to-read latency; each run's producer starts once a probe record has
    come out of the job, so the FLIP-27 source's wait for its shards is not counted (its
    drains' start-up figure shows that wait)."""
    tasks: list[dict[str, Any]] = []
    streams: list[str] = []
    for r in range(profile.latency_repeats):
        task, names = latency_task(server, profile, f"latency{r}", {})
        tasks.append({**task, "wait_reading": True})
        streams += names
    load = os.getloadavg()[0]
    measured = run_job_process(server, variant, tasks, profile.parallelism)
    server.drop(*streams)
    return latency_entry(server, profile, variant, latency_runs(profile, variant, measured),
                         poll_interval_ms=POLL_INTERVAL_MS[variant],
                         bundle_ms=profile.bundle_ms, waited_for_reading=True,
                         load_average_1min=round(load, 2))


def compare_sources(server: Server, profile: Profile) -> dict[str, Any]:
    """The FLIP-27 ``KinesisStreamsSource`` next to ``FlinkKinesisConsumer``, both with their
    defaults from TRIM_HORIZON: drains of one backlog per Flink cell (which reader goes first
    alternates), on the tuning cell the source also with a short discovery interval, then
    latency. The JSON's ``flip27_source`` block."""
    started = time.time()
    default_discovery = SOURCE_OPTIONS.find(DISCOVERY_INTERVAL)
    assert default_discovery is not None and default_discovery.default is not None
    block: dict[str, Any] = {
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "profile": profile.name, "git_commit": git_commit(), "cpus": os.cpu_count(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "discovery_interval_ms": int(default_discovery.default),
        "short_discovery_interval_ms": profile.flip27_short_discovery_ms,
    }
    throughput = []
    for index, (size, shards) in enumerate(profile.flink_cells):
        name = f"FLIP-27 vs consumer, {size} B x {shards} shards"
        log(f"{name}: backlog")
        stream = backlog(server, profile, size, shards)
        for variant in SOURCE_READERS[::-1] if index % 2 else SOURCE_READERS:
            log(f"{name}: {variant}")
            throughput.append(reader_drains(server, profile, variant, size, shards, stream))
        if (size, shards) == profile.tuning_cell:
            log(f"{name}: {FLIP27}, discovery every {profile.flip27_short_discovery_ms} ms")
            throughput.append(reader_drains(
                server, profile, FLIP27, size, shards, stream,
                {DISCOVERY_INTERVAL: str(profile.flip27_short_discovery_ms)}))
        server.drop(stream)
    latency = []
    for variant in SOURCE_READERS:
        log(f"FLIP-27 vs consumer, latency: {variant}")
        latency.append(reader_latency(server, profile, variant))
    log.finish()
    return block | {
        "throughput": throughput, "latency": latency,
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "duration_s": round(time.time() - started),
    }


def only_flip27(profile: Profile) -> dict[str, Any]:
    """``compare_sources`` alone, on a kinesalite of its own (``--only flip27``)."""
    waited = wait_for_quiet()
    with LocalKinesis() as handle:
        block = compare_sources(Server("kinesalite", KINESALITE_VERSION, handle), profile)
    return block | {"waited_for_quiet_s": round(waited), "steps": log.done}


def print_sources(block: dict[str, Any]) -> None:
    print(f"\nKinesisStreamsSource next to FlinkKinesisConsumer (load average "
          f"{block['load_average_before']} -> {block['load_average_after']}):")
    for e in block["throughput"]:
        settings = ", ".join(f"{k}={v}" for k, v in e["settings"].items())
        print(f"  {e['size']:>6} B {e['shards']:>2} shards {e['client']:12} {settings:45} "
              f"{e['records_per_s']['median']:>9,.0f} rec/s, first record after "
              f"{e['execute_to_first_record_s']['median']:.2f} s")
    for e in block["latency"]:
        print(f"  latency {e['client']:12} p50 {e['p50_ms']['median']:.1f} ms, "
              f"p99 {e['p99_ms']['median']:.1f} ms")


# ------------------------------------------------------------------------------------- tuning


def tuning(server: Server, profile: Profile, source_stream: str) -> list[dict[str, Any]]:
    """Each tuning setting of ours on the tuning cell, in one job process."""
    size, shards = profile.tuning_cell
    sink_cell = profile.cell(size, shards, "sink")
    source_cell = profile.cell(size, shards, "source")
    tasks: list[dict[str, Any]] = []
    streams: dict[str, str] = {}
    for index, setting in enumerate(profile.tuning):
        for r in range(profile.tuning_repeats):
            task_id = f"t{index}-{r}"
            task: dict[str, Any] = {"id": task_id, "kind": setting["direction"]}
            if "parallelism" in setting:
                task["parallelism"] = setting["parallelism"]
            if setting["direction"] == "sink":  # the job process deletes its stream
                task.update(stream=server.new_stream("tune-sink", shards), size=size,
                            records=sink_cell.records, **server.address(),
                            sink_settings=setting.get("sink_settings", {}))
            elif setting["direction"] == "source":
                task.update(stream=source_stream, records=source_cell.records,
                            consumer_settings=setting.get("consumer_settings", {}))
            else:
                latency, names = latency_task(server, profile, task_id,
                                              setting.get("consumer_settings", {}))
                task = {**latency, **task}
                streams[task_id + "-in"], streams[task_id] = names
            tasks.append(task)
    measured = run_job_process(server, "ours", tasks, profile.parallelism)
    results = []
    for index, setting in enumerate(profile.tuning):
        ids = [f"t{index}-{r}" for r in range(profile.tuning_repeats)]
        row: dict[str, Any] = {"setting": setting["name"], "direction": setting["direction"],
                               "size": size, "shards": shards}
        if setting["direction"] == "sink":
            rates = [sink_rate(i, measured[i], sink_cell) for i in ids]
            row["records_per_s"] = summary(rates, 0)
        elif setting["direction"] == "source":
            row["records_per_s"] = summary([source_rate(measured[i], source_cell) for i in ids], 0)
        else:
            runs = [latency_figures(measured[i]["pairs"], profile.latency_warm_up_s)
                    for i in ids]
            row["p50_ms"] = summary([r["p50_ms"] for r in runs])
            row["p99_ms"] = summary([r["p99_ms"] for r in runs])
        results.append(row)
    server.drop(*streams.values())
    return results


# ------------------------------------------------------------------------- machine and imports


def machine() -> dict[str, Any]:
    memory_kib = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                memory_kib = int(line.split()[1])
    java = subprocess.run(["java", "-version"], capture_output=True, text=True, check=False)
    node = subprocess.run(["node", "--version"], capture_output=True, text=True, check=False)
    flink = importlib.metadata.version("apache-flink")
    connector = next(s.version for s in jars.load_manifest().jars_for(flink)
                     if s.artifact == "flink-connector-kinesis")
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(memory_kib / 1024 / 1024, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "java": (java.stderr.splitlines() or ["?"])[0],
        "node": node.stdout.strip(),
        "apache_flink": flink,
        "flink_connector_kinesis": connector,
        "pyflink_kinesis": importlib.metadata.version("pyflink-kinesis"),
        "boto3": importlib.metadata.version("boto3"),
        "kinesalite": KINESALITE_VERSION,
        "kinesis_mock": KINESIS_MOCK_VERSION,
        "git_commit": git_commit(),
    }


def git_commit() -> str:
    """The checked-out commit, ``+changes`` when the work tree differs from it."""
    commit = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
                            capture_output=True, text=True, check=False).stdout.strip()
    dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return commit + ("+changes" if dirty else "")


def import_times() -> dict[str, float]:
    """Seconds to import PyFlink's DataStream API, then pyflink_kinesis, in a fresh process."""
    script = (
        "import time, json\n"
        "t0 = time.perf_counter()\nimport pyflink.datastream\n"
        "t1 = time.perf_counter()\nimport pyflink_kinesis\n"
        "t2 = time.perf_counter()\n"
        "print(json.dumps({'pyflink_datastream_s': t1 - t0, 'pyflink_kinesis_s': t2 - t1}))\n"
    )
    runs = [json.loads(subprocess.run([sys.executable, "-c", script], capture_output=True,
                                      text=True, check=True, env=_clean_environment(),
                                      cwd=REPO).stdout) for _ in range(3)]
    return {k: round(min(r[k] for r in runs), 3) for k in runs[0]}


# --------------------------------------------------------------------------------------- run


def ratio_rows(throughput: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """ours / each other client, per server, direction and cell (medians).

    ``ours_vs_best_raw`` divides by the faster of the two raw clients: the best any raw client
    reached is the ceiling we know of (on 2 cores one process can beat several).
    """
    by_key: dict[tuple[Any, ...], dict[str, float]] = {}
    for e in throughput:
        key = (e["server"], e["direction"], e["size"], e["shards"])
        by_key.setdefault(key, {})[e["client"]] = e["records_per_s"]["median"]
    rows = []
    for (server, direction, size, shards), medians in by_key.items():
        if "ours" not in medians:
            continue
        best_raw = max(medians.get(c, 0.0) for c in RAW_CLIENTS)
        rows.append({
            "server": server, "direction": direction, "size": size, "shards": shards,
            **{f"ours_vs_{c}": ratio(medians["ours"], medians[c])
               for c in OTHER_CLIENTS if c in medians},
            "ours_vs_best_raw": ratio(medians["ours"], best_raw),
        })
    return rows


def print_ratios(rows: list[dict[str, Any]]) -> None:
    print("\nours / other (median records/s; 1.00 = as fast):")
    for row in rows:
        parts = [f"{k[len('ours_vs_'):]} {v:.2f}" for k, v in row.items()
                 if k.startswith("ours_vs_") and v is not None]
        print(f"  {row['server']:10} {row['direction']:6} {row['size']:>6} B "
              f"{row['shards']:>2} shards: " + ", ".join(parts))


def wait_for_quiet(
    max_wait_s: float = 240, poll_s: float = 10,
    load: Callable[[], tuple[float, float, float]] = os.getloadavg,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Wait (up to ``max_wait_s``) for the 1-minute load average to fall under the busy line:
    ``make bench`` may have just built the virtualenv or fetched jars. Seconds waited."""
    line = perf_report.BUSY_LOAD_PER_CPU * (os.cpu_count() or 1)
    waited = 0.0
    while load()[0] > line and waited < max_wait_s:
        print(f"waiting for the machine to settle: load {load()[0]:.2f} > {line:.2f}",
              flush=True)
        sleep(poll_s)
        waited += poll_s
    return waited


def run(profile: Profile) -> dict[str, Any]:
    waited = wait_for_quiet()
    started = time.time()
    report: dict[str, Any] = {
        "schema": SCHEMA_VERSION,
        "profile": {k: v for k, v in asdict(profile).items() if k != "tuning"}
        | {"tuning": [t["name"] for t in profile.tuning]},
        "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": machine(),
        "load_average_before": [round(x, 2) for x in os.getloadavg()],
        "waited_for_quiet_s": round(waited),
    }
    quix = Quix()
    log("import times")
    report["import_s"] = import_times()
    throughput: list[dict[str, Any]] = []
    latency: list[dict[str, Any]] = []
    with ExitStack() as stack:
        servers = {
            "kinesalite": Server("kinesalite", KINESALITE_VERSION,
                                 stack.enter_context(LocalKinesis())),
            "kinesis-mock": Server("kinesis-mock", KINESIS_MOCK_VERSION,
                                   stack.enter_context(KinesisMock(log_level="WARN"))),
        }
        main = servers["kinesalite"]
        flink_cells_done = 0
        for size, shards in itertools.product(profile.sizes, profile.shards):
            log(f"kinesalite {size} B x {shards} shards: raw clients")
            stream = backlog(main, profile, size, shards)
            compared = (size, shards) in profile.flink_cells
            throughput += raw_cell(main, profile, size, shards, stream, repeats=(
                profile.repeats if compared else profile.raw_only_repeats))
            if compared:
                # Alternate which variant goes first: the server warms up as it serves, so a
                # fixed order would favour the second.
                order = FLINK_CLIENTS[::-1] if flink_cells_done % 2 else FLINK_CLIENTS
                flink_cells_done += 1
                for variant in order:
                    log(f"kinesalite {size} B x {shards} shards: {variant}")
                    throughput += flink_cell(main, profile, variant, size, shards, stream)
                if quix.on:
                    log(f"kinesalite {size} B x {shards} shards: Quix Streams")
                    throughput += quix.cell(main, profile, size, shards, stream)
            main.drop(stream)
        mock = servers["kinesis-mock"]
        for size, shards in profile.mock_cells:
            log(f"kinesis-mock {size} B x {shards} shards: raw clients")
            scale = profile.mock_budget_scale
            stream = backlog(mock, profile, size, shards, scale)
            throughput += raw_cell(mock, profile, size, shards, stream, scale,
                                   profile.mock_repeats)
            mock.drop(stream)
        log("latency: raw clients")
        latency += raw_latency(main, profile)
        construction = {}
        for variant in FLINK_CLIENTS:
            log(f"latency and construction: {variant}")
            figures, construction[variant] = flink_latency_and_construction(
                main, profile, variant)
            latency.append(figures)
        if quix.on:
            log("latency: Quix Streams")
            latency += quix.latency(main, profile)
        report[ONLY["flip27"]] = compare_sources(main, profile)
        tuning_rows: list[dict[str, Any]] = []
        if profile.tuning:
            log("tuning ours")
            stream = backlog(main, profile, *profile.tuning_cell)
            tuning_rows = tuning(main, profile, stream)
            main.drop(stream)
    log.finish()
    report.update(
        steps=log.done, python_native_alternative=quix.status,
        throughput=throughput, latency=latency, construction=construction,
        tuning=tuning_rows, ratios=ratio_rows(throughput),
        load_average_after=[round(x, 2) for x in os.getloadavg()],
        duration_s=round(time.time() - started),
    )
    return report


def parse_cells(text: str) -> tuple[tuple[int, int], ...]:
    """``1024x4,10240x4`` as ((1024, 4), (10240, 4)): (record bytes, shards) per cell."""
    try:
        return tuple((int(size), int(shards))
                     for size, shards in (cell.split("x") for cell in text.split(",")))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected cells as SIZExSHARDS separated by commas, e.g. 1024x4,10240x4"
        ) from None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="a small smoke run that checks the harness (numbers mean nothing)")
    parser.add_argument("--json", type=Path, default=None,
                        help=f"where to write the results (default {JSON_OUT.relative_to(REPO)};"
                             " --quick writes to a temporary file unless this is given)")
    parser.add_argument("--no-docs", action="store_true",
                        help="do not regenerate the PNG and docs/performance.md")
    parser.add_argument("--only", choices=sorted(ONLY),
                        help="measure only this part and merge it into the results file "
                             "(--json), keeping its other figures; flip27: the FLIP-27 "
                             "KinesisStreamsSource next to FlinkKinesisConsumer (drains on the "
                             "Flink cells, latency), its key flip27_source")
    parser.add_argument("--cells", type=parse_cells, default=None,
                        help="run only these Flink cells, as SIZExSHARDS,... (1024x4,10240x4); "
                             "for a partial run, e.g. with --only flip27 and --json a copy")
    parser.add_argument("--repeats", type=int, default=None,
                        help="repeats per Flink cell and latency run instead of the profile's")
    args = parser.parse_args(argv)
    profile = PROFILES["quick" if args.quick else "full"]
    if args.cells:
        profile = replace(profile, flink_cells=args.cells)
    if args.repeats:
        profile = replace(profile, repeats=args.repeats,
                          latency_repeats=min(profile.latency_repeats, args.repeats))
    out = args.json or (Path(tempfile.gettempdir(), "performance-quick.json") if args.quick
                        else JSON_OUT)
    if args.only:
        if not out.exists():
            raise SystemExit(f"{out} does not exist: --only merges into an existing results "
                             "file (run the whole benchmark first, or pass --json a copy)")
        report = json.loads(out.read_text())
        report[ONLY[args.only]] = block = only_flip27(profile)
        out.write_text(json.dumps(report, indent=1) + "\n")
        print_sources(block)
        print(f"\nmerged {ONLY[args.only]} into {out} ({block['duration_s']} s)")
    else:
        report = run(profile)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1) + "\n")
        print_ratios(report["ratios"])
        print_sources(report[ONLY["flip27"]])
        print(f"\nsaved {out} ({report['duration_s']} s)")
    if not args.no_docs:
        written = perf_report.write_all(report, quick=args.quick)
        print("wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main())
