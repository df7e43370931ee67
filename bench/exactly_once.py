"""Benchmark: what the exactly-once (committing) sink costs next to the at-least-once
aggregated sink, on kinesalite.

Both sinks pack records into KPL aggregates, so the aggregated sink (``set_aggregation()``) is
the at-least-once sink to compare with. Four figures, each pair of variants run alternately
(the order flips from repeat to repeat, on a machine other jobs share):

* ``latency``: put-to-receive latency, a ``KinesisStreamsSource`` -> sink -> stream job fed
  ``LATENCY_RATE`` records/s for ``LATENCY_S`` seconds, at each of ``CHECKPOINT_INTERVALS``:
  the time from a record's arrival in the input stream to its arrival in the output stream,
  both on the server's clock (``ApproximateArrivalTimestamp``), p50 and p99. The at-least-once
  sink flushes every 100 ms (``max_time_in_buffer_ms``), as a latency-minded job would.
* ``throughput``: ``from_collection`` -> sink, ``RECORDS`` records of ``SIZE`` bytes into
  ``SHARDS`` shards at parallelism ``PARALLELISM``, checkpointing every second for both, distinct
  user records only, after one unmeasured run of each sink: records/s over the middle 80% of the
  arrivals on the server's clock (the steady state: neither the exactly-once sink's first
  checkpoint nor either sink's tail counts), between the first and the last arrival, and from the
  job's start to the last arrival.
* ``quota``: the same in kinesalite's quota mode (AWS's per-shard quotas), sized and measured as
  ``bench/aws_quotas.py`` does (its ``run_sink``): the fraction of the binding quota (bytes,
  for aggregates) over the steady part of the run.
* ``state``: the de-duplicating reader's split state (``ShardSplitSerializer``) after 1,000,000
  records from 4 writers over 4 shards, and after the same with the writers replaced 9 times on
  the way (each restart gives every writer a new id), by ``bench/java/DedupStateSize.java``.

Saves docs/benchmarks/exactly_once.json (``bench.perf_report`` puts it in docs/performance.md);
``--only PART`` measures one part and keeps the others' saved figures. Not a test: the numbers
depend on the machine and its load.

Usage: python -m bench.exactly_once [--quick] [--only latency|throughput|quota|state]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import pyflink
from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from bench import aws_quotas
from bench.perf_common import (
    client,
    create_stream,
    delete_stream,
    payload,
    put_batch,
    read_stream,
)
from bench.perf_stats import middle_rate, percentile, ratio, steady_rate, summary, verdict
from pyflink_kinesis import (
    KinesisStreamsSink,
    KinesisStreamsSinkBuilder,
    KinesisStreamsSource,
    PartitionKeyGenerator,
    jars,
)
from pyflink_kinesis.testing import KINESALITE_VERSION, LocalKinesis

REPO = Path(__file__).parents[1]
OUT = REPO / "docs" / "benchmarks" / "exactly_once.json"
STATE_PROGRAM = REPO / "bench" / "java" / "DedupStateSize.java"
EXACTLY_ONCE, AT_LEAST_ONCE = "exactly-once", "at-least-once aggregated"
VARIANTS = (EXACTLY_ONCE, AT_LEAST_ONCE)
CHECKPOINT_INTERVALS_MS = (1000, 2000, 5000)
LATENCY_RATE = 100
LATENCY_S = 15.0
RECORDS = 1_000_000
SIZE = 256
SHARDS = 4
PARALLELISM = 2
QUOTA_SIZE = 1024
QUOTA_SHARDS = 1
THROUGHPUT_CHECKPOINT_MS = 1000
#: The throughput figures of a run: what each means is in ``throughput_run``.
RATES = ("steady", "span", "drain")
#: Goals: records/s of the exactly-once sink next to the at-least-once aggregated sink, and the
#: fraction of the binding quota.
THROUGHPUT_GOAL = 0.9
QUOTA_GOAL = 0.9
TIMEOUT_S = 180.0
#: Where the runs' checkpoints go; removed at the end.
CHECKPOINTS = Path(tempfile.gettempdir(), f"exactly-once-bench-{os.getpid()}")


def connection(server: LocalKinesis) -> dict[str, str]:
    return aws_quotas.connection(server)


def environment(checkpoint_ms: int, parallelism: int) -> StreamExecutionEnvironment:
    """Checkpoints every ``checkpoint_ms`` into a folder: the exactly-once sink's records are
    in checkpoint state, past the 5 MiB the default (JobManager) checkpoint storage takes."""
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    folder = CHECKPOINTS / str(time.time_ns())
    config.set_string("execution.checkpointing.dir", folder.as_uri())
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    env.enable_checkpointing(checkpoint_ms)
    return env


def sink(server: LocalKinesis, stream: str, variant: str, flush_ms: int | None = None
         ) -> KinesisStreamsSink:
    """The exactly-once sink, or the at-least-once aggregated one (flushing every ``flush_ms``
    when given)."""
    builder: KinesisStreamsSinkBuilder = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(connection(server))
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(PartitionKeyGenerator.random())
        .set_stream_name(stream)
    )
    if variant == EXACTLY_ONCE:
        return builder.set_delivery_guarantee("exactly-once").build()
    builder.set_aggregation()
    if flush_ms is not None:
        builder.set_max_time_in_buffer_ms(flush_ms)
    return builder.build()


def alternating(repeats: int) -> list[tuple[int, str]]:
    """(repeat, variant) in run order: the order of the two flips from repeat to repeat."""
    return [(r, v) for r in range(repeats) for v in (VARIANTS if r % 2 == 0 else VARIANTS[::-1])]


def user_records(kinesis: Any, stream: str) -> list[tuple[float, bytes]]:
    """(arrival time, data) of every user record of ``stream``, aggregates taken apart."""
    return aws_quotas.user_records(read_stream(kinesis, stream))


# ----------------------------------------------------------------- latency


def latency_run(server: LocalKinesis, variant: str, checkpoint_ms: int, seconds: float
                ) -> dict[str, Any]:
    """Feed a source -> sink job ``LATENCY_RATE`` records/s; each record's time from the input
    stream to the output stream, on the server's clock."""
    kinesis = client(server.endpoint, server.region)
    tag = time.time_ns()
    source, out = f"eo-lat-in-{tag}", f"eo-lat-out-{tag}"
    create_stream(kinesis, source, 1)
    create_stream(kinesis, out, 1)
    env = environment(checkpoint_ms, 1)
    reader = (
        KinesisStreamsSource.builder()
        .set_stream_name(source)
        .set_source_config({**connection(server), "flink.stream.initpos": "TRIM_HORIZON"})
        .set_deserialization_schema(SimpleStringSchema())
        .build()
    )
    env.from_source(reader, WatermarkStrategy.no_watermarks(), "in").sink_to(
        sink(server, out, variant, flush_ms=100))
    job = env.execute_async(f"exactly-once bench latency {variant} {checkpoint_ms}")
    try:
        put_batch(kinesis, source, [{"Data": b"warm-up", "PartitionKey": "k"}])
        wait_until(lambda: len(user_records(kinesis, out)) >= 1, "the warm-up record")
        count = int(LATENCY_RATE * seconds)
        start = time.monotonic()
        for index in range(0, count, LATENCY_RATE // 10):
            texts = [payload(i, 64) for i in range(index, min(count, index + LATENCY_RATE // 10))]
            put_batch(kinesis, source, [{"Data": text.encode(), "PartitionKey": str(i)}
                                        for i, text in enumerate(texts)])
            time.sleep(max(0.0, start + (index + len(texts)) / LATENCY_RATE - time.monotonic()))
        wait_until(lambda: len(user_records(kinesis, out)) >= count + 1, f"{count} records")
    finally:
        job.cancel().result()
    sent = {data: arrived for arrived, data in read_stream(kinesis, source)}
    received: dict[bytes, float] = {}
    for arrived, data in user_records(kinesis, out):
        received.setdefault(data, arrived)
    delete_stream(kinesis, source)
    delete_stream(kinesis, out)
    latencies = [(received[data] - sent[data]) * 1000 for data in sent if data != b"warm-up"]
    return {"records": len(latencies), "p50_ms": round(percentile(latencies, 50)),
            "p99_ms": round(percentile(latencies, 99))}


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {TIMEOUT_S:.0f} s for {what}")
        time.sleep(0.5)


def measure_latency(server: LocalKinesis, repeats: int, seconds: float) -> dict[str, Any]:
    runs: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for interval in CHECKPOINT_INTERVALS_MS:
        runs[str(interval)] = {v: [] for v in VARIANTS}
        for _, variant in alternating(repeats):
            result = latency_run(server, variant, interval, seconds)
            runs[str(interval)][variant].append(result)
            print(f"latency  checkpoint {interval:5} ms  {variant:26} p50 {result['p50_ms']:6} ms"
                  f"  p99 {result['p99_ms']:6} ms", flush=True)
    return {
        "settings": {"rate_per_s": LATENCY_RATE, "seconds": seconds, "repeats": repeats,
                     "record_bytes": 64, "shards": 1, "parallelism": 1,
                     "at_least_once_flush_ms": 100},
        "by_checkpoint_interval_ms": {
            interval: {variant: {"p50_ms": summary([r["p50_ms"] for r in results], 0),
                                 "p99_ms": summary([r["p99_ms"] for r in results], 0),
                                 "runs": results}
                       for variant, results in by_variant.items()}
            for interval, by_variant in runs.items()
        },
    }


# ----------------------------------------------------------------- throughput


def throughput_run(server: LocalKinesis, variant: str, records: int) -> dict[str, float]:
    """Records/s over the middle 80% of the arrivals (the steady state), between the first
    and the last arrival, and from the job's start (``execute``) to the last arrival: the
    second flatters the exactly-once sink, whose first records land only at the first
    checkpoint, when much of the input is already in; the third counts the job's start-up for
    both."""
    kinesis = client(server.endpoint, server.region)
    stream = f"eo-rate-{time.time_ns()}"
    create_stream(kinesis, stream, SHARDS)
    env = environment(THROUGHPUT_CHECKPOINT_MS, PARALLELISM)
    texts = [payload(i, SIZE) for i in range(records)]
    env.from_collection(texts, Types.STRING()).sink_to(sink(server, stream, variant))
    started = time.time()
    env.execute(f"exactly-once bench throughput {variant}")
    arrivals: dict[bytes, float] = {}
    for arrived, data in user_records(kinesis, stream):
        arrivals[data] = min(arrived, arrivals.get(data, arrived))
    delete_stream(kinesis, stream)
    if len(arrivals) != records:
        raise RuntimeError(f"{variant}: {len(arrivals)} of {records} records arrived")
    times = list(arrivals.values())
    return {"steady": middle_rate(times), "span": steady_rate(times),
            "drain": records / (max(times) - started)}


def measure_throughput(server: LocalKinesis, repeats: int, records: int) -> dict[str, Any]:
    runs: dict[str, dict[str, list[float]]] = {r: {v: [] for v in VARIANTS} for r in RATES}
    for variant in VARIANTS:  # not measured: the first jobs of a JVM run slower
        throughput_run(server, variant, records // 10)
    for repeat, variant in alternating(repeats):
        rates = throughput_run(server, variant, records)
        for name, rate in rates.items():
            runs[name][variant].append(rate)
        print(f"throughput  repeat {repeat + 1}/{repeats}  {variant:26} "
              f"{rates['steady']:9.0f} records/s steady, {rates['span']:9.0f} first to last, "
              f"{rates['drain']:9.0f} from the job's start", flush=True)

    def ratio_of_medians(name: str) -> float | None:
        medians = {v: float(summary(r, 0)["median"]) for v, r in runs[name].items()}
        return ratio(medians[EXACTLY_ONCE], medians[AT_LEAST_ONCE])

    share = ratio_of_medians("steady")
    return {
        "settings": {"records": records, "record_bytes": SIZE, "shards": SHARDS,
                     "parallelism": PARALLELISM, "repeats": repeats,
                     "checkpoint_interval_ms": THROUGHPUT_CHECKPOINT_MS},
        **{f"{name}_runs": runs[name] for name in RATES},
        **{f"{name}_records_per_s": {v: summary(r, 0) for v, r in runs[name].items()}
           for name in RATES},
        **{f"{name}_ratio_of_medians": ratio_of_medians(name) for name in RATES},
        "verdict": verdict(runs["steady"][EXACTLY_ONCE], runs["steady"][AT_LEAST_ONCE]),
        "goal": THROUGHPUT_GOAL,
        "meets_goal": share is not None and share >= THROUGHPUT_GOAL,
    }


# ----------------------------------------------------------------- quota


def exactly_once_write(server: LocalKinesis, stream: str, texts: list[str]) -> None:
    env = environment(THROUGHPUT_CHECKPOINT_MS, aws_quotas.PARALLELISM)
    env.from_collection(texts, Types.STRING()).sink_to(sink(server, stream, EXACTLY_ONCE))
    env.execute(f"exactly-once bench quota {stream}")


#: What ``aws_quotas.run_sink`` is told of each sink: both aggregate (it reads them back
#: de-aggregated and sizes the run for aggregates); ``exactly_once_write`` builds the first.
QUOTA_VARIANTS = {
    EXACTLY_ONCE: aws_quotas.SinkVariant("sink exactly-once", (("aggregation", True),)),
    AT_LEAST_ONCE: aws_quotas.SinkVariant("sink aggregated", (("aggregation", True),)),
}


def measure_quota(server: LocalKinesis, repeats: int) -> dict[str, Any]:
    """``aws_quotas.run_sink`` for each sink (both aggregate: read back de-aggregated)."""
    runs: dict[str, list[dict[str, Any]]] = {v: [] for v in VARIANTS}
    for repeat, variant in alternating(repeats):
        write = exactly_once_write if variant == EXACTLY_ONCE else (
            lambda s, stream, texts: aws_quotas.flink_sink(s, stream, texts,
                                                           QUOTA_VARIANTS[AT_LEAST_ONCE]))
        entry = aws_quotas.run_sink(server, QUOTA_SIZE, QUOTA_SHARDS, variant, write,
                                    QUOTA_VARIANTS[variant])
        entry["quota_fraction_of_bytes"] = round(
            entry.get("records_per_s_per_shard", 0) * (QUOTA_SIZE + 6 + 38)
            / aws_quotas.AWS.write_bytes_per_s, 3)
        runs[variant].append(entry)
        print(f"quota  repeat {repeat + 1}/{repeats}  {variant:26} "
              f"{entry.get('records_per_s_per_shard')} records/s/shard, "
              f"{entry['quota_fraction_of_bytes']} of the byte quota, lost {entry['lost']}, "
              f"duplicates {entry['duplicates']}, error {entry['error']}", flush=True)
    return {
        "settings": {"record_bytes": QUOTA_SIZE, "shards": QUOTA_SHARDS, "repeats": repeats,
                     "steady_s": aws_quotas.STEADY_S, "goal": QUOTA_GOAL,
                     "checkpoint_interval_ms": THROUGHPUT_CHECKPOINT_MS},
        "runs": runs,
        "quota_fraction_of_bytes": {
            v: summary([e["quota_fraction_of_bytes"] for e in r], 3) for v, r in runs.items()},
    }


# ----------------------------------------------------------------- state


def measure_state(records: int) -> list[dict[str, Any]]:
    """Split state bytes from ``bench/java/DedupStateSize.java`` (run by the JDK's source
    launcher on the package's class path)."""
    lib = Path(pyflink.__file__).parent / "lib"
    class_path = [*jars.job_jars(), *sorted(lib.glob("*.jar"))]
    results = []
    for generations in (1, 10):
        out = subprocess.run(
            ["java", "-cp", os.pathsep.join(map(str, class_path)), str(STATE_PROGRAM),
             str(records), "4", "4", str(generations)],
            check=True, capture_output=True, text=True,
        ).stdout
        results.append(json.loads(out.strip().splitlines()[-1]))
        print(f"state  {results[-1]}", flush=True)
    return results


# ----------------------------------------------------------------- main


PARTS = ("latency", "throughput", "quota", "state")


def measure(parts: list[str], repeats: int, quick: bool) -> dict[str, Any]:
    """The figures of each of ``parts``."""
    measured: dict[str, Any] = {}
    if "state" in parts:
        measured["state"] = measure_state(10_000 if quick else 1_000_000)
    with LocalKinesis() as server:
        if "throughput" in parts:
            measured["throughput"] = measure_throughput(
                server, repeats, 5_000 if quick else RECORDS)
        if "latency" in parts:
            measured["latency"] = measure_latency(server, repeats, 4.0 if quick else LATENCY_S)
        if "quota" in parts:  # run_sink turns the quotas on for the writes only
            measured["quota"] = measure_quota(server, repeats)
    return measured


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run; numbers mean nothing")
    parser.add_argument("--only", action="append", choices=PARTS,
                        help="measure this part only (repeat for more); keep the saved others")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    parts = args.only or list(PARTS)
    repeats = 1 if args.quick else args.repeats
    saved = json.loads(OUT.read_text()) if args.only and OUT.exists() else {}
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_before = [round(x, 2) for x in os.getloadavg()]
    try:
        measured = measure(parts, repeats, args.quick)
    finally:
        shutil.rmtree(CHECKPOINTS, ignore_errors=True)
    for part in measured.values():
        if isinstance(part, dict):
            part["measured"] = {"started": started, "load_average_before": load_before,
                                "load_average_after": [round(x, 2) for x in os.getloadavg()],
                                "quick": args.quick}
    report = {
        **saved,
        "what": "the exactly-once (committing) sink next to the at-least-once aggregated sink: "
                "latency, records/s, share of the binding quota; the de-duplicating reader's "
                "split state",
        "server": f"kinesalite {KINESALITE_VERSION} on loopback",
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        **measured,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
