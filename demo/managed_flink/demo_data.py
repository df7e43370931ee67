"""Streams and sample orders for the application demo, on a local Kinesis (docker compose).

Creates ``orders`` (4 shards) and ``paid-orders`` (2 shards) unless they exist, and writes
sample orders to ``orders`` keyed by customer. With ``--check``, reads ``paid-orders`` instead
and says how many of the paid orders the job has written so far. Needs boto3 only.

Usage: python demo_data.py --endpoint http://kinesis:4567 [--orders 2000] [--check]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING

import boto3
from orders import is_paid, sample_orders

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient

IN, OUT = "orders", "paid-orders"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default="http://localhost:4567")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    kinesis = boto3.client("kinesis", endpoint_url=args.endpoint, region_name=args.region,
                           aws_access_key_id="local", aws_secret_access_key="local")
    orders = [json.dumps(o) for o in sample_orders(args.orders)]
    if args.check:
        written = sum(1 for _ in _records(kinesis, OUT))
        paid = sum(1 for o in orders if is_paid(o))
        print(f"{written} of {paid} paid orders are in {OUT!r}")
        return 0 if written >= paid else 1
    existing = set(kinesis.list_streams()["StreamNames"])
    for name, shards in ((IN, 4), (OUT, 2)):
        if name not in existing:
            kinesis.create_stream(StreamName=name, ShardCount=shards)
        kinesis.get_waiter("stream_exists").wait(StreamName=name,
                                                 WaiterConfig={"Delay": 1})
    for start in range(0, len(orders), 500):
        batch = orders[start:start + 500]
        kinesis.put_records(StreamName=IN, Records=[
            {"Data": text.encode(), "PartitionKey": json.loads(text)["customer"]}
            for text in batch
        ])
    print(f"wrote {len(orders)} orders to {IN!r}; the job writes the paid ones to {OUT!r}")
    return 0


def _records(kinesis: KinesisClient, stream: str) -> list[bytes]:
    found: list[bytes] = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator: str | None = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = kinesis.get_records(ShardIterator=iterator)
            found += [r["Data"] for r in response["Records"]]
            iterator = response.get("NextShardIterator")
            if not response["Records"]:
                break
    return found


if __name__ == "__main__":
    sys.exit(main())
