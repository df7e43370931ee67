"""Benchmark: put-to-receive latency of POLLING and EFO readers on the same local server.

Starts kinesis-mock, then for each reader (FlinkKinesisConsumer polling, FlinkKinesisConsumer
EFO, KinesisStreamsSource EFO) runs a job that stamps each record with the
time it reached the job (a Python map) and writes it out. A producer puts records carrying
their put time at a steady rate. Latency = time seen in the job - time put, measured on one
machine clock; the first seconds are warm-up and are dropped. Prints the figures and saves them
to docs/benchmarks/efo_latency.json. Not a test: numbers depend on the machine and its load.

Usage: python bench/efo_latency.py [--seconds 20] [--rate 50] [--readers POLLING EFO SOURCE_EFO]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    KinesisStreamsSource,
    PartitionKeyGenerator,
)
from pyflink_kinesis.testing import KINESIS_MOCK_VERSION, KinesisMock

OUT = Path(__file__).parents[1] / "docs" / "benchmarks" / "efo_latency.json"
WARM_UP_S = 3.0
# FlinkKinesisConsumer polling and EFO, and KinesisStreamsSource with EFO.
PUBLISHERS = ("POLLING", "EFO", "SOURCE_EFO")
BUNDLE_MS = 10


def stamp(line: str) -> str:
    return f"{line},{time.time():.6f}"


def measure(mock: KinesisMock, publisher: str, seconds: float, rate: int) -> dict[str, float]:
    source, out = f"latency-{publisher.lower()}", f"latency-{publisher.lower()}-out"
    source, out = source.replace("_", "-"), out.replace("_", "-")
    mock.create_stream(source, 2)
    mock.create_stream(out, 2)
    aws = {
        "aws.region": mock.region,
        "aws.endpoint": mock.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "bench",
        "aws.credentials.provider.basic.secretkey": "bench",
    }
    consumer_config: dict[str, object] = {**aws, "flink.stream.initpos": "LATEST"}
    if publisher == "EFO":
        consumer_config.update({
            "flink.stream.recordpublisher": "EFO",
            "flink.stream.efo.consumername": "latency-bench",
        })
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    # The job stamps records in Python; PyFlink hands records to Python per bundle, every
    # 1000 ms by default, which would add up to a second to both publishers alike.
    config.set_string("python.fn-execution.bundle.time", str(BUNDLE_MS))
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    sink = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws)
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(PartitionKeyGenerator.random())
        .set_stream_name(out)
        .set_max_time_in_buffer_ms(100)
        .build()
    )
    if publisher == "SOURCE_EFO":
        built = (
            KinesisStreamsSource.builder()
            .set_stream_name(source)
            .set_source_config({**aws, "flink.stream.initpos": "LATEST",
                                "source.reader.type": "EFO",
                                "source.efo.consumer.name": "latency-bench-source",
                                "source.efo.describe.retry-strategy.delay.min": "200 ms"})
            .set_deserialization_schema(SimpleStringSchema())
            .build()
        )
        records = env.from_source(built, WatermarkStrategy.no_watermarks(), "source")
    else:
        consumer = FlinkKinesisConsumer(source, SimpleStringSchema(), consumer_config)
        records = env.add_source(consumer)
    records.map(stamp, output_type=Types.STRING()).sink_to(sink)
    job = env.execute_async(f"latency {publisher}")
    try:
        time.sleep(8.0)  # job start-up; LATEST skips nothing we measure
        sent = 0
        started = time.time()
        while time.time() - started < seconds:
            batch = [f"{i},{time.time():.6f}" for i in range(sent, sent + rate // 10)]
            mock.put_records(source, batch, [str(i) for i in range(sent, sent + len(batch))])
            sent += len(batch)
            time.sleep(0.1)
        deadline = time.time() + 30
        while len(mock.read_all(out)) < sent and time.time() < deadline:
            time.sleep(0.5)
        rows = [r.text.split(",") for r in mock.read_all(out)]
    finally:
        job.cancel().result()
    latencies = sorted(
        (float(seen) - float(put)) * 1000 for _, put, seen in rows
        if float(put) - started > WARM_UP_S
    )
    return {
        "records_sent": sent,
        "records_measured": len(latencies),
        "p50_ms": round(statistics.median(latencies), 1),
        "p99_ms": round(latencies[int(0.99 * (len(latencies) - 1))], 1),
        "max_ms": round(latencies[-1], 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", type=int, default=50, help="records per second")
    parser.add_argument("--readers", nargs="+", choices=PUBLISHERS, default=list(PUBLISHERS))
    args = parser.parse_args()
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    with KinesisMock() as mock:
        results = {p: measure(mock, p, args.seconds, args.rate) for p in args.readers}
    report = {
        "what": "put-to-receive latency (ms), record put with boto3 -> seen in the job's map",
        "server": f"kinesis-mock (npm kinesis-local {KINESIS_MOCK_VERSION}) on loopback",
        "started": started,
        "settings": {"seconds": args.seconds, "rate_per_s": args.rate, "parallelism": 2,
                     "polling_interval_ms": 200, "warm_up_s": WARM_UP_S,
                     "python.fn-execution.bundle.time_ms": BUNDLE_MS},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "results": results,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    for publisher, figures in results.items():
        print(f"{publisher:10} p50 {figures['p50_ms']:7.1f} ms   p99 {figures['p99_ms']:7.1f} ms"
              f"   ({figures['records_measured']} records)")
    print(f"saved {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
