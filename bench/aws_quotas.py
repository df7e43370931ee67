"""Benchmark: the Flink sink and source under AWS's per-shard quotas, next to a boto3 loop.

kinesalite enforces AWS's provisioned-mode quotas (``LocalKinesis(quotas=Quotas())``: writes
1,000 records/s and 1 MiB/s per shard, reads 5 GetRecords/s and 2 MiB/s per shard). For 100 B,
1 KiB and 10 KiB records on 1 and 4 shards it measures, per shard:

* writes: ``KinesisStreamsSink`` in a PyFlink job writing N records (``from_collection``), each
  entry of ``SINK_VARIANTS``, and a boto3 PutRecords loop that puts throttled entries again;
  with keys from the data (1,000 customers), the keys with a record stored after a later one
  of theirs are counted too;
* reads: ``FlinkKinesisConsumer`` draining a backlog written with quotas off (then quotas on),
  each entry of ``SOURCE_VARIANTS``, and a boto3 GetRecords loop that keeps each call within a
  fifth of the byte quota and calls again after a throttle.

Every run is sized for ``STEADY_S`` seconds at the binding quota after ``BURST_S`` seconds that
are left out: a shard's buckets start full (one second of quota), so the first second passes
up to twice the quota. The rate is the records that arrived (writes: the server's
ApproximateArrivalTimestamp; reads: when the job handed them to the driver) from ``BURST_S``
after the first one to the last one, over that time. The output is read back and compared with
what was written as a multiset: ``lost`` and ``duplicates`` count the difference. The launcher
counts throttled entries and calls (``LocalKinesis.quota_counters``).

Saves docs/benchmarks/aws_quotas.json (``bench.perf_report`` puts it in docs/performance.md).
Not a test: the numbers depend on the machine and its load.

Usage: python -m bench.aws_quotas [--quick] [--only sink|source] [--variant NAME]
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import platform
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import Encoder, SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.datastream.connectors.file_system import FileSink, RollingPolicy

from bench.perf_common import (
    batches,
    client,
    create_stream,
    delete_stream,
    payload,
    put_batch,
    read_stream,
    shard_ids,
    size_label,
)
from bench.perf_stats import keys_out_of_order
from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    KinesisStreamsSource,
    PartitionKeyGenerator,
)
from pyflink_kinesis.testing import KINESALITE_VERSION, LocalKinesis, QuotaCounters, Quotas

OUT = Path(__file__).parents[1] / "docs" / "benchmarks" / "aws_quotas.json"
SIZES = (100, 1024, 10 * 1024)
SHARDS = (1, 4)
#: Seconds of steady state each run is sized for, and the start left out (the full buckets).
STEADY_S = 20.0
BURST_S = 2.0
#: How often the read runs sample the server's count of records read.
SAMPLE_S = 0.25
#: The most records a read run drains: 2 MiB/s of 100 B records is more than kinesalite serves.
MAX_SOURCE_RECORDS = 200_000
#: What each run is held to: this fraction of the binding quota, nothing lost.
GOAL = 0.9
PARALLELISM = 1
#: Partition keys are ``str(index)`` (the MD5 spreads them evenly over the shards).
KEY_BYTES_AVERAGE = 5
AWS = Quotas()


@dataclass(frozen=True)
class SinkVariant:
    """A way to build the sink: ``set_<name>(value)`` builder calls on top of the defaults."""

    name: str
    settings: tuple[tuple[str, Any], ...] = ()
    why: str = ""
    #: Record sizes it runs for (all when empty).
    sizes: tuple[int, ...] = ()
    #: ``random``: PartitionKeyGenerator.random(), a UUID per record; ``customers``: JSON
    #: records of 1,000 customers, keyed by ``json_field("customer")``.
    keys: str = "random"

    @property
    def aggregated(self) -> bool:
        return ("aggregation", True) in self.settings


@dataclass(frozen=True)
class SourceVariant:
    """A way to configure the consumer (or, with ``flip27``, the FLIP-27 KinesisStreamsSource):
    properties on top of the connection's."""

    name: str
    properties: tuple[tuple[str, str], ...] = ()
    why: str = ""
    flip27: bool = False


SINK_VARIANTS = (
    SinkVariant("sink defaults", why="the connector's defaults"),
    SinkVariant(
        "sink tuned",
        (("max_batch_size", 100), ("max_in_flight_requests", 4)),
        why="tried: smaller batches, fewer in flight, so fewer entries are sent only to be "
            "throttled; the defaults already reach the quota, so they stay the advice",
    ),
    SinkVariant(
        "sink aggregated",
        (("aggregation", True),),
        why="set_aggregation(): the records of each shard packed into KPL aggregates of up to "
            "1 MiB, so the 1 MiB/s byte quota binds instead of 1,000 records/s; the fraction is "
            "of the plain sink's binding quota, so above 1 means more than a plain sink can do. "
            "Each random key (36 bytes) travels in its aggregate's key table: 100 B records "
            "take about 145 bytes each",
        sizes=(100, 1024),
    ),
    SinkVariant(
        "sink aggregated, 1,000 keys",
        (("aggregation", True),),
        why="the same with keys from the data (JSON records of 1,000 customers, "
            "json_field('customer')): an aggregate stores each key once, so 100 B records take "
            "about 106 bytes",
        sizes=(100, 1024),
        keys="customers",
    ),
    SinkVariant(
        "sink defaults, 1,000 keys",
        why="the defaults with keys from the data (1,000 customers, json_field('customer')): "
            "throttled entries are put again behind later records of their keys",
        keys="customers",
    ),
    SinkVariant(
        "sink ordered, 1,000 keys",
        (("keep_key_order", True),),
        why="set_keep_key_order(): a key's next record goes once the one before is stored, a "
            "throttled one again before it",
        keys="customers",
    ),
    SinkVariant(
        "sink aggregated, ordered, 1,000 keys",
        (("aggregation", True), ("keep_key_order", True)),
        why="set_aggregation() and set_keep_key_order(): an aggregate goes once every earlier "
            "one holding one of its keys is stored",
        sizes=(100, 1024),
        keys="customers",
    ),
)
#: Distinct keys of the ``customers`` variants.
CUSTOMERS = 1000
#: The most records one aggregated run writes (the Python pipeline, not the quota, is the
#: limit on 4 shards: see docs/performance.md).
MAX_AGGREGATED_RECORDS = 400_000
SOURCE_VARIANTS = (
    SourceVariant("source defaults", why="the connector's defaults"),
    SourceVariant(
        "source adaptive reads",
        (("flink.shard.adaptivereads", "true"),
         ("flink.shard.getrecords.maxretries", "10")),
        why="each GetRecords asks for about one fifth of 2 MiB (from the average record size) "
            "instead of 10,000 records; more retries ride out a throttle instead of failing",
    ),
    SourceVariant(
        "flip27 source",
        why="KinesisStreamsSource (connector 4.3.0) with our shard reader: a shard that is "
            "behind is read again at once, one at the tip or throttled 200 ms after the last "
            "call began",
        flip27=True,
    ),
)


def write_binding(size: int, quotas: Quotas = AWS) -> tuple[float, str]:
    """Records/s per shard the write quota allows for records of ``size`` bytes, and which
    limit binds (``records`` or ``bytes``)."""
    by_bytes = quotas.write_bytes_per_s / (size + KEY_BYTES_AVERAGE)
    if by_bytes < quotas.write_records_per_s:
        return by_bytes, "bytes"
    return float(quotas.write_records_per_s), "records"


def read_binding(size: int, quotas: Quotas = AWS, max_records: int = 10_000) -> tuple[float, str]:
    """Records/s per shard the read quota allows (GetRecords of at most ``max_records``)."""
    by_bytes = quotas.read_bytes_per_s / (size + KEY_BYTES_AVERAGE)
    by_calls = quotas.read_calls_per_s * max_records
    return (by_bytes, "bytes") if by_bytes <= by_calls else (float(by_calls), "calls")


def steady(samples: list[tuple[float, int]]) -> tuple[float, float]:
    """Records/s and seconds over the steady part of a run, from ``(time, records so far)``
    samples in time order.

    It runs from the first delivery (an increase) at least ``BURST_S`` after the first record
    to the delivery before the last one, counting the deliveries after its start, so both ends
    fall just after a delivery: a reader that takes 10 MiB at a time is measured over whole
    periods. The last delivery is left out because it holds what was left of the backlog, often
    a part of a full one, while the wait before it was set by a full one (the quota's debt of
    the delivery before): counting it took 10 % off a reader of 10 MiB answers
    (10,000 + 10,000 + 6,876 records over three 10,000-record periods: 0.897 of the quota).
    """
    deliveries = [(t, n) for (_, m), (t, n) in zip([(0.0, 0), *samples], samples) if n > m]
    if not deliveries:
        raise ValueError("no records arrived")
    first = deliveries[0][0]
    start, counted = next(((t, n) for t, n in deliveries if t >= first + BURST_S),
                          deliveries[-1])
    end, total = deliveries[-2] if len(deliveries) > 1 else deliveries[-1]
    if end <= start:
        raise ValueError(f"the run lasted {deliveries[-1][0] - first:.1f} s: too short to measure")
    return (total - counted) / (end - start), end - start


def arrivals(times: list[float]) -> list[tuple[float, int]]:
    """Arrival times as ``(time, records so far)`` samples."""
    return [(t, index + 1) for index, t in enumerate(sorted(times))]


class ReadSampler:
    """Samples the server's count of records returned by GetRecords every ``SAMPLE_S``."""

    def __init__(self, server: LocalKinesis) -> None:
        self.samples: list[tuple[float, int]] = []
        self._server = server
        self._base = server.quota_counters().read_records
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(SAMPLE_S):
            count = self._server.quota_counters().read_records - self._base
            self.samples.append((time.monotonic(), count))

    def __enter__(self) -> ReadSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def compare(expected: list[bytes], got: list[bytes]) -> dict[str, int]:
    """``lost`` and ``duplicates`` between two multisets of records."""
    want, have = Counter(expected), Counter(got)
    return {"lost": sum((want - have).values()), "duplicates": sum((have - want).values())}


def figures(
    kind: str, variant: str, size: int, shards: int, samples: list[tuple[float, int]],
    expected: list[bytes],
    got: list[bytes], counters: QuotaCounters, error: str | None, binding: tuple[float, str],
) -> dict[str, Any]:
    per_shard_quota, limit = binding
    entry: dict[str, Any] = {
        "kind": kind, "variant": variant, "size": size, "shards": shards,
        "records": len(expected), "received": len(got), **compare(expected, got),
        "binding_limit": limit, "quota_records_per_s_per_shard": round(per_shard_quota, 1),
        "throttled": {
            "write_records": counters.write_records_throttled,
            "write_requests": counters.write_requests_throttled,
            "read_calls": counters.read_calls_throttled,
        },
        "requests": counters.write_requests if kind == "sink" else counters.read_calls,
        "error": error,
    }
    try:
        rate, seconds = steady(samples)
    except ValueError as exc:
        entry.update(steady_s=None, error=error or str(exc))
        return entry
    per_shard = rate / shards
    entry.update(
        steady_s=round(seconds, 1),
        records_per_s_per_shard=round(per_shard, 1),
        mb_per_s_per_shard=round(per_shard * size / 1e6, 3),
        quota_fraction=round(per_shard / per_shard_quota, 3),
    )
    return entry


def sized(binding: float, shards: int, most: int) -> int:
    return min(most, math.ceil(binding * shards * (STEADY_S + BURST_S + 1)))


def connection(server: LocalKinesis) -> dict[str, str]:
    return {
        "aws.region": server.region, "aws.endpoint": server.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "bench",
        "aws.credentials.provider.basic.secretkey": "bench",
    }


def environment() -> StreamExecutionEnvironment:
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(PARALLELISM)
    return env


# ----------------------------------------------------------------- writes


def flink_sink(server: LocalKinesis, stream: str, texts: list[str], variant: SinkVariant) -> None:
    keys = (
        PartitionKeyGenerator.json_field("customer")
        if variant.keys == "customers"
        else PartitionKeyGenerator.random()
    )
    builder = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(connection(server))
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(keys)
        .set_stream_name(stream)
    )
    for name, value in variant.settings:
        getattr(builder, f"set_{name}")(value)
    env = environment()
    env.from_collection(texts, Types.STRING()).sink_to(builder.build())
    env.execute(f"quotas {variant.name} {stream}")


def boto3_sink(server: LocalKinesis, stream: str, texts: list[str]) -> None:
    """PutRecords of up to 500 entries; throttled entries go first into the next request."""
    kinesis = client(server.endpoint, server.region)
    waiting = [(text, str(index)) for index, text in enumerate(texts)]
    waiting.reverse()
    retry: list[tuple[str, str]] = []
    while retry or waiting:
        batch = retry + [waiting.pop() for _ in range(min(500 - len(retry), len(waiting)))]
        entries = [{"Data": text.encode(), "PartitionKey": key} for text, key in batch]
        response = kinesis.put_records(StreamName=stream, Records=entries)  # type: ignore[arg-type]
        retry = [b for b, r in zip(batch, response["Records"]) if "ErrorCode" in r]
        if len(retry) == len(batch):
            time.sleep(0.02)


def customer_payload(index: int, size: int) -> str:
    """A JSON record of exactly ``size`` bytes for one of ``CUSTOMERS`` customers."""
    head = f'{{"customer":"c{index % CUSTOMERS}","i":{index},"p":"'
    return head + "x" * (size - len(head) - 2) + '"}'


def aggregated_binding(size: int, keys: str, quotas: Quotas = AWS) -> float:
    """Records/s per shard the byte quota allows when records travel aggregated: a few bytes
    of protobuf framing per record, plus its key in the key table when every record has its
    own (a random UUID: 36 bytes and 2 of framing)."""
    return quotas.write_bytes_per_s / (size + 6 + (38 if keys == "random" else 0))


def user_records(records: list[tuple[float, bytes]]) -> list[tuple[float, bytes]]:
    """Kinesis records taken apart into the user records of KPL aggregates (each with its
    aggregate's arrival time); plain records pass as they are."""
    from aws_kinesis_agg.deaggregator import iter_deaggregate_records  # dev dependency

    found = []
    for arrival, data in records:
        shaped = {"SequenceNumber": "0", "PartitionKey": "k", "Data": data,
                  "ApproximateArrivalTimestamp": arrival}
        for user in iter_deaggregate_records([shaped], data_format="Boto3"):
            kinesis = user["kinesis"]
            raw = kinesis["data"]
            found.append((arrival, base64.b64decode(raw) if kinesis.get("aggregated") else raw))
    return found


def run_sink(
    server: LocalKinesis, size: int, shards: int, name: str,
    write: Callable[[LocalKinesis, str, list[str]], None], variant: SinkVariant | None = None,
) -> dict[str, Any]:
    binding = write_binding(size)
    count = sized(binding[0], shards, 10**7)
    aggregated = variant is not None and variant.aggregated
    if variant is not None and variant.aggregated:
        count = sized(aggregated_binding(size, variant.keys), shards, MAX_AGGREGATED_RECORDS)
    make = customer_payload if variant is not None and variant.keys == "customers" else payload
    texts = [make(index, size) for index in range(count)]
    kinesis = client(server.endpoint, server.region)
    stream = f"quota-sink-{time.time_ns()}"
    create_stream(kinesis, stream, shards)
    server.set_quotas(AWS)
    before = server.quota_counters()
    error = None
    try:
        write(server, stream, texts)
    except Exception as exc:  # a failed job is a result to report
        error = f"{type(exc).__name__}: {str(exc)[:300]}"
    counters = server.quota_counters() - before
    server.set_quotas(None)
    records = read_stream(kinesis, stream)
    if aggregated:
        records = user_records(records)
    delete_stream(kinesis, stream)
    entry = figures("sink", name, size, shards, arrivals([t for t, _ in records]),
                    [t.encode() for t in texts], [d for _, d in records], counters, error,
                    binding)
    if variant is not None and variant.keys == "customers":
        entry["keys_out_of_order"] = keys_out_of_order(
            (json.loads(data)["customer"], json.loads(data)["i"]) for _, data in records
        )
    return entry



# ----------------------------------------------------------------- reads


def fill(server: LocalKinesis, stream: str, texts: list[str]) -> None:
    """Write the backlog with quotas off."""
    server.set_quotas(None)
    kinesis = client(server.endpoint, server.region)
    for batch in batches(texts, [str(i) for i in range(len(texts))]):
        put_batch(kinesis, stream, batch)


def flink_source(
    server: LocalKinesis, stream: str, count: int, variant: SourceVariant
) -> tuple[list[bytes], str | None]:
    """The consumer -> a FileSink (Java only: the driver collecting records would be the
    bottleneck); the lines once all ``count`` records are there (or the time is up or the job
    ended), and the job's state if it failed."""
    properties = {**connection(server), "flink.stream.initpos": "TRIM_HORIZON",
                  **dict(variant.properties)}
    env = environment()
    env.enable_checkpointing(1000)
    with tempfile.TemporaryDirectory(prefix="quota-source-") as out:
        sink = (FileSink.for_row_format(out, Encoder.simple_string_encoder())
                .with_rolling_policy(RollingPolicy.on_checkpoint_rolling_policy()).build())
        if variant.flip27:
            source = (KinesisStreamsSource.builder().set_stream_name(stream)
                      .set_source_config(properties)
                      .set_deserialization_schema(SimpleStringSchema()).build())
            records = env.from_source(source, WatermarkStrategy.no_watermarks(), "kinesis")
        else:
            records = env.add_source(
                FlinkKinesisConsumer(stream, SimpleStringSchema(), properties))
        records.sink_to(sink)
        job = env.execute_async(f"quotas {variant.name} {stream}")
        deadline = time.monotonic() + 4 * (STEADY_S + BURST_S) + 60
        lines: list[bytes] = []
        status = job.get_job_status().result()
        try:
            while True:
                lines = [line for path in Path(out).rglob("*") if path.is_file()
                         for line in path.read_bytes().splitlines()]
                status = job.get_job_status().result()
                if (len(lines) >= count or time.monotonic() > deadline
                        or status.is_globally_terminal_state()):
                    break
                time.sleep(1.0)
        finally:
            if not status.is_globally_terminal_state():
                job.cancel().result()
    return lines, (f"job {status.name}" if status.is_globally_terminal_state() else None)


def boto3_source(
    server: LocalKinesis, stream: str, count: int, size: int
) -> tuple[list[bytes], str | None]:
    """Round-robin over the shards: GetRecords of a fifth of the byte quota, each shard at
    most every 200 ms; a throttled call is made again on the next round."""
    kinesis = client(server.endpoint, server.region)
    limit = max(1, int(AWS.read_bytes_per_s / AWS.read_calls_per_s / (size + KEY_BYTES_AVERAGE)))
    iterators = {
        shard: kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
        for shard in shard_ids(kinesis, stream)
    }
    next_call = dict.fromkeys(iterators, 0.0)
    got: list[bytes] = []
    deadline = time.monotonic() + 4 * (STEADY_S + BURST_S) + 60
    while len(got) < count and time.monotonic() < deadline:
        shard = min(next_call, key=next_call.__getitem__)
        time.sleep(max(0.0, next_call[shard] - time.monotonic()))
        next_call[shard] = time.monotonic() + 1 / AWS.read_calls_per_s
        try:
            page = kinesis.get_records(ShardIterator=iterators[shard], Limit=limit)
        except kinesis.exceptions.ProvisionedThroughputExceededException:
            continue
        got += [bytes(r["Data"]) for r in page["Records"]]
        iterators[shard] = page["NextShardIterator"]
    return got, None


def run_source(
    server: LocalKinesis, size: int, shards: int, name: str,
    read: Callable[[LocalKinesis, str, int], tuple[list[bytes], str | None]],
) -> dict[str, Any]:
    binding = read_binding(size)
    count = sized(binding[0], shards, MAX_SOURCE_RECORDS)
    texts = [payload(index, size) for index in range(count)]
    kinesis = client(server.endpoint, server.region)
    stream = f"quota-source-{time.time_ns()}"
    create_stream(kinesis, stream, shards)
    fill(server, stream, texts)
    server.set_quotas(AWS)
    before = server.quota_counters()
    error = None
    got: list[bytes] = []
    with ReadSampler(server) as sampler:
        try:
            got, error = read(server, stream, count)
        except Exception as exc:  # a failed job is a result to report
            error = f"{type(exc).__name__}: {str(exc)[:300]}"
    counters = server.quota_counters() - before
    server.set_quotas(None)
    delete_stream(kinesis, stream)
    if not error and len(got) < count:
        error = f"timed out: {len(got)} of {count} records read"
    return figures("source", name, size, shards, sampler.samples, [t.encode() for t in texts],
                   got, counters, error, binding)


# ----------------------------------------------------------------- the run


def plan(
    only: str | None, quick: bool, variant: str | None = None
) -> list[tuple[str, str, int, int, Callable[..., Any]]]:
    """(kind, variant, size, shards, run) for every run, in order (of one variant if named)."""
    sizes, shard_counts = ((1024,), (1,)) if quick else (SIZES, SHARDS)
    runs: list[tuple[str, str, int, int, Callable[..., Any]]] = []
    for size in sizes:
        for shards in shard_counts:
            if only in (None, "sink"):
                runs.append(("sink", "boto3 loop", size, shards, boto3_sink))
                for sink in SINK_VARIANTS:
                    if sink.sizes and size not in sink.sizes:
                        continue
                    runs.append(("sink", sink.name, size, shards,
                                 lambda s, st, t, v=sink: flink_sink(s, st, t, v)))
            if only in (None, "source"):
                runs.append(("source", "boto3 loop", size, shards,
                             lambda s, st, n, z=size: boto3_source(s, st, n, z)))
                for source in SOURCE_VARIANTS:
                    runs.append(("source", source.name, size, shards,
                                 lambda s, st, n, v=source: flink_source(s, st, n, v)))
    return [run for run in runs if variant is None or run[1] == variant]


def main() -> int:
    global STEADY_S
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run; numbers mean little")
    parser.add_argument("--only", choices=("sink", "source"), default=None)
    parser.add_argument("--variant", default=None,
                        help="run this variant only, and merge its runs into the saved JSON")
    args = parser.parse_args()
    if args.quick:
        STEADY_S = 5.0
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_before = list(os.getloadavg())
    runs: list[dict[str, Any]] = []
    began = time.monotonic()
    with LocalKinesis() as server:
        for kind, variant, size, shards, work in plan(args.only, args.quick, args.variant):
            if kind == "sink":
                chosen = next((v for v in SINK_VARIANTS if v.name == variant), None)
                entry = run_sink(server, size, shards, variant, work, chosen)
            else:
                entry = run_source(server, size, shards, variant, work)
            runs.append(entry)
            print(f"{kind:6} {variant:22} {size_label(size):>6} x{shards}  "
                  f"{entry.get('quota_fraction')} of quota, lost {entry['lost']}, "
                  f"dup {entry['duplicates']}, throttled {entry['throttled']}, keys out of "
                  f"order {entry.get('keys_out_of_order', '-')}"
                  f"{'  ERROR ' + entry['error'] if entry['error'] else ''}", flush=True)
    report = {
        "what": "KinesisStreamsSink and FlinkKinesisConsumer under AWS's per-shard quotas "
                "(kinesalite's quota mode), next to boto3 loops",
        "server": f"kinesalite {KINESALITE_VERSION} on loopback, quotas {asdict(AWS)}",
        "started": started,
        "quick": args.quick,
        "minutes": round((time.monotonic() - began) / 60, 1),
        "settings": {"steady_s": STEADY_S, "burst_s": BURST_S, "goal": GOAL,
                     "parallelism": PARALLELISM, "max_source_records": MAX_SOURCE_RECORDS},
        "variants": {
            v.name: {"settings": dict(v.settings), "why": v.why} for v in SINK_VARIANTS
        } | {v.name: {"properties": dict(v.properties), "why": v.why} for v in SOURCE_VARIANTS},
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "platform": platform.platform()},
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "runs": runs,
    }
    if args.variant is not None and OUT.exists():  # keep the other variants' runs
        saved = json.loads(OUT.read_text())
        kept = [run for run in saved["runs"] if run["variant"] != args.variant]
        merged = [m for m in saved.get("merged", []) if m["variant"] != args.variant]
        merged.append({"variant": args.variant, "started": started,
                       "minutes": report["minutes"],
                       "load_average_before": report["load_average_before"],
                       "load_average_after": report["load_average_after"]})
        report = {**saved, "variants": report["variants"], "runs": kept + runs,
                  "merged": merged}
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    print(f"saved {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
