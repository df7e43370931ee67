"""What every part of the performance benchmark shares: workloads, payloads, boto3 helpers.

Imports boto3 only (never pyflink, never pyflink_kinesis), so the job process of PyFlink's
built-in wrappers can use it without loading our package.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

import boto3
import botocore.config

if TYPE_CHECKING:
    from mypy_boto3_kinesis import KinesisClient
    from mypy_boto3_kinesis.type_defs import PutRecordsRequestEntryTypeDef

#: Record sizes (bytes) and shard counts of the benchmark's matrix.
SIZES = (100, 1024, 10 * 1024)
SHARDS = (1, 4, 16)
#: Kinesis limits for one PutRecords call.
PUT_BATCH_RECORDS = 500
PUT_BATCH_BYTES = 5 * 1024 * 1024
#: The largest GetRecords page.
GET_LIMIT = 10_000
#: The benchmark's name for pyflink_kinesis reading with the FLIP-27 KinesisStreamsSource.
FLIP27 = "ours_flip27"
#: Credentials for local servers (they accept any).
ACCESS_KEY = "bench"
SECRET_KEY = "bench"


@dataclass(frozen=True)
class Cell:
    """One workload: ``records`` records of ``size`` bytes over ``shards`` shards."""

    size: int
    shards: int
    records: int

    @property
    def name(self) -> str:
        return f"{size_label(self.size)}x{self.shards}sh"

    @property
    def megabytes(self) -> float:
        return self.records * self.size / 1e6


def size_label(size: int) -> str:
    """``100`` -> ``"100B"``, ``1024`` -> ``"1KiB"``."""
    return f"{size // 1024}KiB" if size % 1024 == 0 else f"{size}B"


def records_for(size: int, budget_bytes: int, max_records: int, min_records: int) -> int:
    """How many records of ``size`` bytes fill ``budget_bytes``, within [min, max]."""
    return max(min_records, min(max_records, budget_bytes // size))


#: Payloads start with their index in this many digits.
INDEX_DIGITS = 10


def payload(index: int, size: int) -> str:
    """A record of exactly ``size`` ASCII bytes that starts with its index."""
    head = f"{index:0{INDEX_DIGITS}d}|"
    return head + "x" * (size - len(head))


def latency_payload(index: int, put_time: float, size: int) -> str:
    """A record of ``size`` bytes carrying its index and the time it was put."""
    head = f"{index},{put_time:.6f},"
    return head + "x" * (size - len(head))


def put_time_of(text: str) -> float:
    """The put time written by ``latency_payload``."""
    return float(text.split(",", 2)[1])


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def client(endpoint: str, region: str, read_timeout_s: float = 60.0) -> KinesisClient:
    """A boto3 Kinesis client for a local server."""
    config = botocore.config.Config(
        retries={"mode": "standard", "max_attempts": 10},
        connect_timeout=5.0,
        read_timeout=read_timeout_s,
        max_pool_connections=4,
    )
    session = boto3.session.Session(
        aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY, region_name=region
    )
    return session.client("kinesis", endpoint_url=endpoint, config=config)


def batches(
    texts: Sequence[str], keys: Sequence[str]
) -> Iterator[list[PutRecordsRequestEntryTypeDef]]:
    """PutRecords request entries in batches within the 500-record and 5 MiB limits."""
    batch: list[PutRecordsRequestEntryTypeDef] = []
    size = 0
    for text, key in zip(texts, keys):
        entry_size = len(text) + len(key)
        if batch and (len(batch) == PUT_BATCH_RECORDS or size + entry_size > PUT_BATCH_BYTES):
            yield batch
            batch, size = [], 0
        batch.append({"Data": text.encode(), "PartitionKey": key})
        size += entry_size
    if batch:
        yield batch


def put_batch(kinesis: KinesisClient, stream: str, batch: list[Any]) -> None:
    """PutRecords, putting again the entries the server refused until all are in."""
    pending = batch
    for attempt in range(20):
        response = kinesis.put_records(StreamName=stream, Records=pending)
        if not response.get("FailedRecordCount"):
            return
        pending = [e for e, r in zip(pending, response["Records"]) if "ErrorCode" in r]
        time.sleep(0.05 * (attempt + 1))
    raise RuntimeError(f"{len(pending)} records could not be put into {stream!r} in 20 tries")


def create_stream(kinesis: KinesisClient, name: str, shards: int, timeout_s: float = 30) -> None:
    """Create a stream and wait until it is ACTIVE."""
    kinesis.create_stream(StreamName=name, ShardCount=shards)
    deadline = time.monotonic() + timeout_s
    while True:
        status = kinesis.describe_stream_summary(StreamName=name)[
            "StreamDescriptionSummary"]["StreamStatus"]
        if status == "ACTIVE":
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"stream {name!r} is still {status} after {timeout_s} s")
        time.sleep(0.02)


def delete_stream(kinesis: KinesisClient, name: str) -> None:
    """Delete a stream (its records free the server's memory); do not wait."""
    kinesis.delete_stream(StreamName=name, EnforceConsumerDeletion=True)


def shard_ids(kinesis: KinesisClient, stream: str) -> list[str]:
    """The shard ids of a stream."""
    response = kinesis.list_shards(StreamName=stream)
    ids = [s["ShardId"] for s in response["Shards"]]
    while response.get("NextToken"):
        response = kinesis.list_shards(NextToken=response["NextToken"])
        ids += [s["ShardId"] for s in response["Shards"]]
    return ids


def read_stream(kinesis: KinesisClient, stream: str) -> list[tuple[float, bytes]]:
    """Every record of a stream as ``(arrival time in epoch seconds, data)``."""
    found: list[tuple[float, bytes]] = []
    for shard in shard_ids(kinesis, stream):
        iterator: str | None = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            response = kinesis.get_records(ShardIterator=iterator, Limit=GET_LIMIT)
            found += [
                (r["ApproximateArrivalTimestamp"].timestamp(), bytes(r["Data"]))
                for r in response["Records"]
            ]
            iterator = response.get("NextShardIterator")
            if not response["Records"] and response.get("MillisBehindLatest", 0) == 0:
                break
    return found


def distinct_arrivals(records: Sequence[tuple[float, bytes]]) -> dict[str, Any]:
    """A written stream read back: ``arrivals``, the first arrival time of each distinct record,
    and ``duplicates``, how many more copies arrived.

    The benchmark's payloads start with their index (``payload``), which tells copies apart. An
    at-least-once writer that retries a batch writes some records twice: that is neither loss
    nor throughput, so rates count distinct records.
    """
    first: dict[bytes, float] = {}
    for arrived, data in records:
        key = data[:INDEX_DIGITS]
        first[key] = min(arrived, first.get(key, arrived))
    return {"arrivals": list(first.values()), "duplicates": len(records) - len(first)}


def wait_for_count(
    kinesis: KinesisClient, stream: str, count: int, timeout_s: float
) -> list[tuple[float, bytes]]:
    """``read_stream`` until at least ``count`` records are there (or the time is up)."""
    deadline = time.monotonic() + timeout_s
    while True:
        records = read_stream(kinesis, stream)
        if len(records) >= count or time.monotonic() > deadline:
            return records
        time.sleep(0.5)
