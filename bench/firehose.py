"""Benchmark: KinesisFirehoseSink records/s next to KinesisStreamsSink on the same machine, with
the Firehose server's own ceiling measured in the same run.

Servers: moto's (Firehose DirectPut delivery streams writing to its S3) and kinesalite, on
loopback. Each repeat, in alternating order:

* ``boto3 ceiling``: parallel boto3 clients sending PutRecordBatch calls of 500 records
  straight to moto, records/s over the wall clock: what moto can take at all;
* ``firehose sink``: a PyFlink job writing the records with ``KinesisFirehoseSink``;
* ``kinesis sink``: the same job with ``KinesisStreamsSink`` (``random()`` keys) to kinesalite.

A job's records/s is its marginal rate: ``(N - 1) / (t(N) - t(1))``, where ``t(n)`` is the
wall time of ``env.execute`` for a job writing ``n`` records, so JVM, job start and shut-down
cancel out; the same for both sinks. Records come from ``from_collection`` (Java only at run
time), ``SIZE`` bytes each, newline-terminated, parallelism 2. Every record is checked to have
arrived. Prints the figures and saves them to docs/benchmarks/firehose.json
(``bench.perf_report`` puts them in docs/performance.md). Not a test: the numbers depend on the
machine and its load.

Usage: PYFLINK_KINESIS_EXTRAS=firehose python -m bench.firehose [--repeats 3] [--records 60000]
[--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

os.environ.setdefault("PYFLINK_KINESIS_EXTRAS", "firehose")  # before PyFlink starts its JVM

from pyflink.common import Configuration, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from bench.perf_common import client, create_stream, delete_stream, read_stream
from bench.perf_stats import ratio, summary, verdict
from pyflink_kinesis import (
    KinesisFirehoseSink,
    KinesisStreamsSink,
    PartitionKeyGenerator,
)
from pyflink_kinesis.testing import KINESALITE_VERSION, LocalKinesis
from tests.support.moto_fixtures import (
    MOTO_VERSION,
    LocalFirehose,
    LocalGlueRegistry,
)

OUT = Path(__file__).parents[1] / "docs" / "benchmarks" / "firehose.json"
SIZE = 256
PARALLELISM = 2
SHARDS = 4
CEILING_THREADS = 4
BATCH = 500
CREDENTIALS = {
    "aws.credentials.provider.basic.accesskeyid": "bench",
    "aws.credentials.provider.basic.secretkey": "bench",
}


def record(index: int) -> str:
    """Record ``index``: its number, padding, a newline; ``SIZE`` bytes."""
    head = f"{index:09d} "
    return head + "x" * (SIZE - len(head) - 1) + "\n"


def timed_job(count: int, sink: Callable[[], Any], name: str) -> float:
    """Seconds ``env.execute`` takes for a job writing ``count`` records into ``sink()``."""
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(PARALLELISM)
    env.from_collection([record(i) for i in range(count)], Types.STRING()).sink_to(sink())
    started = time.perf_counter()
    env.execute(name)
    return time.perf_counter() - started


def marginal_rate(count: int, run: Callable[[int], float]) -> float:
    """``(count - 1) / (t(count) - t(1))``: records/s with the job's fixed costs taken out."""
    return (count - 1) / max(run(count) - run(1), 1e-9)


def firehose_rate(moto: LocalFirehose, count: int) -> float:
    streams: list[str] = []

    def run(n: int) -> float:
        stream = moto.delivery_stream("bench")
        streams.append(stream)
        sink = (
            KinesisFirehoseSink.builder()
            .set_firehose_client_properties(
                {"aws.region": moto.region, "aws.endpoint": moto.endpoint, **CREDENTIALS}
            )
            .set_serialization_schema(SimpleStringSchema())
            .set_delivery_stream_name(stream)
        )
        seconds = timed_job(n, sink.build, "firehose sink bench")
        arrived = len(moto.records(stream))
        if arrived != n:
            raise RuntimeError(f"firehose sink: {arrived} of {n} records arrived")
        return seconds

    return marginal_rate(count, run)


def kinesis_rate(server: LocalKinesis, count: int) -> float:
    kinesis = client(server.endpoint, server.region)

    def run(n: int) -> float:
        stream = f"fh-bench-{time.time_ns()}"
        create_stream(kinesis, stream, SHARDS)
        sink = (
            KinesisStreamsSink.builder()
            .set_kinesis_client_properties(
                {"aws.region": server.region, "aws.endpoint": server.endpoint, **CREDENTIALS}
            )
            .set_serialization_schema(SimpleStringSchema())
            .set_partition_key_generator(PartitionKeyGenerator.random())
            .set_stream_name(stream)
        )
        seconds = timed_job(n, sink.build, "kinesis sink bench")
        arrived = {data for _, data in read_stream(kinesis, stream)}
        delete_stream(kinesis, stream)  # kinesalite keeps records in memory
        if len(arrived) != n:
            raise RuntimeError(f"kinesis sink: {len(arrived)} of {n} records arrived")
        return seconds

    return marginal_rate(count, run)


def ceiling_rate(moto: LocalFirehose, count: int) -> float:
    """Records/s of parallel boto3 PutRecordBatch calls of ``BATCH`` records to moto."""
    stream = moto.delivery_stream("ceiling")
    batches = [
        [{"Data": record(i).encode()} for i in range(start, min(start + BATCH, count))]
        for start in range(0, count, BATCH)
    ]
    clients = [moto.client("firehose") for _ in range(CEILING_THREADS)]

    def send(index: int) -> None:
        for batch in batches[index::CEILING_THREADS]:
            answer = clients[index].put_record_batch(DeliveryStreamName=stream, Records=batch)
            if answer["FailedPutCount"]:
                raise RuntimeError(f"moto failed {answer['FailedPutCount']} records")

    started = time.perf_counter()
    with ThreadPoolExecutor(CEILING_THREADS) as pool:
        list(pool.map(send, range(CEILING_THREADS)))
    return count / (time.perf_counter() - started)


def measure(repeats: int, count: int) -> dict[str, Any]:
    rates: dict[str, list[float]] = {"boto3 ceiling": [], "firehose sink": [],
                                     "kinesis sink": []}
    registry = LocalGlueRegistry().start()
    try:
        with LocalKinesis() as kinesalite:
            moto = LocalFirehose(registry)
            runs: dict[str, Callable[[], float]] = {
                "boto3 ceiling": lambda: ceiling_rate(moto, count),
                "firehose sink": lambda: firehose_rate(moto, count),
                "kinesis sink": lambda: kinesis_rate(kinesalite, count),
            }
            for repeat in range(repeats):
                order = list(runs) if repeat % 2 == 0 else list(reversed(runs))
                for name in order:
                    rates[name].append(runs[name]())
                    print(f"repeat {repeat + 1}/{repeats}  {name:14} "
                          f"{rates[name][-1]:9.0f} records/s", flush=True)
    finally:
        registry.stop()
    figures = {name: summary(values, 0) for name, values in rates.items()}

    def median(name: str) -> float:
        return float(figures[name]["median"])

    return {
        "runs": rates,
        "records_per_s": figures,
        "firehose_share_of_ceiling": ratio(median("firehose sink"), median("boto3 ceiling")),
        "firehose_next_to_kinesis": ratio(median("firehose sink"), median("kinesis sink")),
        "verdict_firehose_vs_kinesis": verdict(rates["firehose sink"], rates["kinesis sink"]),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--records", type=int, default=60_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run; numbers mean nothing")
    args = parser.parse_args()
    repeats, count = (1, 2000) if args.quick else (args.repeats, args.records)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_before = list(os.getloadavg())
    clock = time.perf_counter()
    results = measure(repeats, count)
    report = {
        "what": "KinesisFirehoseSink and KinesisStreamsSink records/s (marginal: "
                "(N - 1) / (t(N) - t(1)) over env.execute), and moto's Firehose ceiling "
                "(parallel boto3 PutRecordBatch)",
        "servers": f"moto {MOTO_VERSION} (Firehose, S3), kinesalite {KINESALITE_VERSION}, "
                   "on loopback",
        "started": started,
        "duration_s": round(time.perf_counter() - clock),
        "quick": args.quick,
        "settings": {"repeats": repeats, "records": count, "record_bytes": SIZE,
                     "parallelism": PARALLELISM, "kinesis_shards": SHARDS,
                     "ceiling_threads": CEILING_THREADS, "ceiling_batch": BATCH},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        **results,
    }
    if not args.quick:
        OUT.parent.mkdir(parents=True, exist_ok=True)
        OUT.write_text(json.dumps(report, indent=2) + "\n")
        print(f"saved {OUT}")
    print(json.dumps({k: report[k] for k in ("records_per_s", "firehose_share_of_ceiling",
                                              "firehose_next_to_kinesis")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
