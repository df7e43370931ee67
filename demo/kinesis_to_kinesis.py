"""Demo: a PyFlink job from one Kinesis stream to another, on a local Kinesis-compatible server.

Starts kinesalite, creates an input and an output stream, writes sample orders to the input, and
runs a job that reads them with FlinkKinesisConsumer, keeps the paid ones, enriches them, and
writes them with KinesisStreamsSink, keyed by customer. Then checks what arrived (every paid
order once, each customer's orders in one shard), prints how many records moved and how fast,
and stops the server. Run it with ``make demo``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from pathlib import Path

from pyflink.common import Configuration, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import FlinkKinesisConsumer, KinesisStreamsSink, PartitionKeyGenerator
from pyflink_kinesis.testing import KinesisRecord, LocalKinesis

# apache-beam, under PyFlink, still imports pkg_resources, which warns about itself each run.
warnings.filterwarnings("ignore", message="pkg_resources is deprecated", category=UserWarning)

# The business logic is the application demo's (demo/managed_flink/orders.py); the job ships
# the module to its Python workers with env.add_python_file.
ORDERS_MODULE = Path(__file__).resolve().parent / "managed_flink" / "orders.py"
sys.path.insert(0, str(ORDERS_MODULE.parent))
from orders import enrich, is_paid, sample_orders  # noqa: E402


def run(record_count: int, timeout_s: float) -> int:
    with LocalKinesis() as kinesis:
        print(f"local Kinesis (kinesalite) at {kinesis.endpoint}")
        kinesis.create_stream("orders", shard_count=4)
        kinesis.create_stream("paid-orders", shard_count=2)
        orders = sample_orders(record_count)
        kinesis.put_records(
            "orders", [json.dumps(o) for o in orders], [str(o["customer"]) for o in orders]
        )
        expected = sorted(enrich(json.dumps(o)) for o in orders if o["status"] == "paid")
        print(f"wrote {len(orders)} orders to 'orders' (4 shards); {len(expected)} are paid")

        aws = {
            "aws.region": kinesis.region,
            "aws.endpoint": kinesis.endpoint,
            "aws.credentials.provider.basic.accesskeyid": "demo-access-key",
            "aws.credentials.provider.basic.secretkey": "demo-secret-key",
        }
        config = Configuration()
        config.set_string("python.executable", sys.executable)
        env = StreamExecutionEnvironment.get_execution_environment(config)
        env.set_parallelism(2)
        env.add_python_file(str(ORDERS_MODULE))
        consumer = FlinkKinesisConsumer(
            "orders", SimpleStringSchema(), {**aws, "flink.stream.initpos": "TRIM_HORIZON"}
        )
        sink = (
            KinesisStreamsSink.builder()
            .set_kinesis_client_properties(aws)
            .set_serialization_schema(SimpleStringSchema())
            .set_partition_key_generator(PartitionKeyGenerator.json_field("customer"))
            .set_stream_name("paid-orders")
            .set_max_time_in_buffer_ms(200)
            .build()
        )
        (
            env.add_source(consumer, "orders")
            .filter(is_paid)
            .map(enrich, output_type=Types.STRING())
            .sink_to(sink)
        )

        started = time.monotonic()
        job = env.execute_async("demo: orders -> paid-orders")
        first_at = None
        records: list[KinesisRecord] = []
        try:
            while len(records) < len(expected) and time.monotonic() - started < timeout_s:
                time.sleep(0.5)
                records = kinesis.read_all("paid-orders")
                if records and first_at is None:
                    first_at = time.monotonic() - started
        finally:
            job.cancel().result()
        elapsed = time.monotonic() - started

        arrived = [r.text for r in records]
        shards: dict[str, set[str]] = {}
        for record in records:
            shards.setdefault(record.partition_key, set()).add(record.shard_id)
        keyed = all(len(s) == 1 for s in shards.values()) and all(
            json.loads(r.text)["customer"] == r.partition_key for r in records
        )
        ok = sorted(arrived) == expected and keyed
        print(f"job read {record_count} records and wrote {len(arrived)} to 'paid-orders' "
              f"in {elapsed:.1f} s from submission (first record after {first_at or 0:.1f} s)")
        if first_at is not None and elapsed > first_at:
            rate = len(arrived) / (elapsed - first_at)
            print(f"throughput once running: {rate:.0f} records/s "
                  f"({record_count / elapsed:.0f} records/s including job start-up)")
        print("check:", f"OK, every paid order arrived exactly once, enriched, each of the "
              f"{len(shards)} customers' orders in one shard" if ok else
              f"FAILED, expected {len(expected)} records, got {len(arrived)}; keyed by customer, "
              f"one shard each: {keyed}")
        return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=20000)
    parser.add_argument("--timeout", type=float, default=300.0)
    args = parser.parse_args()
    return run(args.records, args.timeout)


if __name__ == "__main__":
    sys.exit(main())
