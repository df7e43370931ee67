"""KPL aggregation in real jobs: what the sink packs, every reader gets back one by one.

The aggregating sink (``set_aggregation()``) writes to multi-shard streams on kinesalite. The
output is read back with boto3 and taken apart with the ``aws-kinesis-agg`` package (the
KCL's format, as AWS publishes it for Python), and with ``FlinkKinesisConsumer``, which drops
a sub-record whose hash key is outside the shard it was read from: so each aggregate must hold
records of its own shard only, and that is checked record by record.

Run with ``-s`` to see one ``AGGREGATED |`` line per run.
"""

from __future__ import annotations

import base64
import hashlib
import json
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from aws_kinesis_agg.deaggregator import iter_deaggregate_records
from pyflink.common import Configuration, Row, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import MapFunction, StreamExecutionEnvironment
from pyflink.datastream.formats.json import JsonRowSerializationSchema

from pyflink_kinesis import FlinkKinesisConsumer, KinesisStreamsSink, PartitionKeyGenerator
from pyflink_kinesis.testing import KinesisRecord, LocalKinesis
from pyflink_kinesis.testing.fault_proxy import FaultProxy
from tests.e2e.jobs import COPIED, Job, copied, start, start_copy, string_sink, string_sink_builder
from tests.e2e.test_keyed_writes import (
    KEYS,
    NAMED,
    PAIR,
    PARALLELISM,
    PER_KEY,
    PRODUCED,
    WHOLE_REQUEST_FAULTS,
    Placement,
    assert_in_order_none_lost,
    faults_report,
    inject_sink_faults,
    keyed_env,
)
from tests.e2e.test_restore import FailOnce

StreamFactory = Callable[..., str]
TIMEOUT_S = 180.0


@dataclass(frozen=True)
class SubRecord:
    """One user record taken out of a Kinesis record, and where that record was stored."""

    partition_key: str
    explicit_hash_key: str | None
    data: bytes
    shard_id: str
    aggregated: bool

    @property
    def text(self) -> str:
        return self.data.decode()

    @property
    def hash_key(self) -> int:
        if self.explicit_hash_key is not None:
            return int(self.explicit_hash_key)
        return int.from_bytes(hashlib.md5(self.partition_key.encode()).digest(), "big")


def deaggregated(records: Iterable[KinesisRecord]) -> list[SubRecord]:
    """Every user record in ``records`` (shard by shard, in order), by ``aws-kinesis-agg``."""
    found = []
    for record in records:
        boto3_shaped = {
            "SequenceNumber": record.sequence_number,
            "PartitionKey": record.partition_key,
            "ApproximateArrivalTimestamp": record.approximate_arrival_timestamp,
            "Data": record.data,
        }
        for user in iter_deaggregate_records([boto3_shaped], data_format="Boto3"):
            kinesis = user["kinesis"]
            data = kinesis["data"]
            found.append(SubRecord(
                kinesis["partitionKey"], kinesis.get("explicitHashKey"),
                data if isinstance(data, bytes) else bytes(data),
                record.shard_id, bool(kinesis.get("aggregated")),
            ))
    return found


def user_records(records: list[KinesisRecord]) -> list[SubRecord]:
    """The user records, whether they came aggregated or plain. (aws-kinesis-agg hands
    aggregated sub-records back base64-encoded, as Lambda does, and plain ones as they are.)"""
    return [
        SubRecord(
            s.partition_key, s.explicit_hash_key,
            base64.b64decode(s.data) if s.aggregated else s.data, s.shard_id, s.aggregated,
        )
        for s in deaggregated(records)
    ]


def shard_ranges(kinesis: LocalKinesis, stream: str) -> dict[str, tuple[int, int]]:
    return {
        shard["ShardId"]: (
            int(shard["HashKeyRange"]["StartingHashKey"]),
            int(shard["HashKeyRange"]["EndingHashKey"]),
        )
        for shard in kinesis.list_shards(stream)
    }


def outside_their_shard(subs: list[SubRecord], ranges: dict[str, tuple[int, int]]) -> int:
    """User records a range-checking reader (FlinkKinesisConsumer, the KCL) would drop."""
    return sum(not ranges[s.shard_id][0] <= s.hash_key <= ranges[s.shard_id][1] for s in subs)


@dataclass(frozen=True)
class Route:
    """A generator under test: how records are shaped and keyed, and read back as (key, seq)."""

    keys: PartitionKeyGenerator
    shape: Callable[[Any], Any]
    output_type: Any
    schema: Callable[[], Any]
    keyed: bool  # whether each key's records must share one partition key and shard


def _text(pair: tuple[str, int]) -> str:
    return json.dumps({"order": {"customer": pair[0]}, "seq": pair[1]})


ROUTES = {
    "random": Route(
        PartitionKeyGenerator.random(), _text, Types.STRING(), SimpleStringSchema, keyed=False
    ),
    "fixed": Route(
        PartitionKeyGenerator.fixed(), _text, Types.STRING(), SimpleStringSchema, keyed=False
    ),
    "json-field": Route(
        PartitionKeyGenerator.json_field("order.customer"), _text, Types.STRING(),
        SimpleStringSchema, keyed=True,
    ),
    "from-field": Route(
        PartitionKeyGenerator.from_field("customer"),
        lambda pair: Row(customer=pair[0], seq=pair[1]), NAMED,
        lambda: JsonRowSerializationSchema.builder().with_type_info(NAMED).build(), keyed=True,
    ),
}


def read_pair(data: bytes) -> tuple[str, int]:
    value = json.loads(data)
    customer = value["order"]["customer"] if "order" in value else value["customer"]
    return str(customer), int(value["seq"])


def write_aggregated(
    route: Route, aws_config: dict[str, object], stream: str, keep_key_order: bool = False,
    max_batch_size: int = 500, **options: Any,
) -> None:
    env = keyed_env()
    produced = env.from_collection(PRODUCED, type_info=PAIR)  # one source subtask: in order
    builder = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(route.schema())
        .set_partition_key_generator(route.keys)
        .set_stream_name(stream)
        .set_max_time_in_buffer_ms(100)
        .set_aggregation(**options)
        .set_keep_key_order(keep_key_order)
        .set_max_batch_size(max_batch_size)
    )
    shaped = produced.map(route.shape, output_type=route.output_type).set_parallelism(1)
    if route.keyed:
        shaped.key_by(lambda record: read_pair(_as_bytes(record))[0]).sink_to(builder.build())
    else:
        shaped.rebalance().sink_to(builder.build())
    env.execute("aggregated write")


def _as_bytes(record: Any) -> bytes:
    if isinstance(record, str):
        return record.encode()
    return json.dumps({"customer": record.customer, "seq": record.seq}).encode()


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_every_generator_writes_aggregates_of_one_shard_read_back_exactly(
    route: Route,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    stream = stream_factory(4)
    write_aggregated(route, aws_config, stream)
    records = local_kinesis.read_all(stream)
    subs = user_records(records)
    pairs = [read_pair(s.data) for s in subs]
    print(
        f"AGGREGATED | {route.keys!r} | {len(subs)} user records in {len(records)} Kinesis "
        f"records ({sum(s.aggregated for s in subs)} aggregated) over "
        f"{len({r.shard_id for r in records})} shards"
    )
    assert Counter(pairs) == Counter(PRODUCED)  # exactly what was produced: none lost, none twice
    assert len(records) * 10 <= len(subs)  # packed: at least 10 user records per Kinesis record
    assert outside_their_shard(subs, shard_ranges(local_kinesis, stream)) == 0
    if route.keyed:
        shards, keys, seqs = defaultdict(set), defaultdict(set), defaultdict(list)
        for sub, (key, seq) in zip(subs, pairs):
            shards[key].add(sub.shard_id)
            keys[key].add(sub.partition_key)
            seqs[key].append(seq)
        assert all(len(s) == 1 for s in shards.values()), shards
        assert all(k == {key} for key, k in keys.items()), keys
    if route.keys._description == "fixed()":
        assert {s.partition_key for s in subs} == {str(i) for i in range(PARALLELISM)}


def test_one_request_in_flight_keeps_each_keys_order_across_aggregates(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    stream = stream_factory(4)
    # Small aggregates and delays: each key's records span many aggregates and requests.
    write_aggregated(
        ROUTES["from-field"], aws_config, stream, max_delay_ms=5, max_size_in_bytes=2048
    )
    records = local_kinesis.read_all(stream)
    seqs: dict[str, list[int]] = defaultdict(list)
    for sub in user_records(records):
        key, seq = read_pair(sub.data)
        seqs[key].append(seq)
    print(f"AGGREGATED | small aggregates | {len(records)} Kinesis records")
    assert len(records) > 40
    assert {key: sorted(s) for key, s in seqs.items()} == {
        key: list(range(PER_KEY)) for key in KEYS
    }
    # Order within an aggregate always holds; across aggregates the sink's 50 requests in
    # flight may reorder them, as for plain records (docs/sink.md): measured, not asserted.
    late = sum(b < a for s in seqs.values() for a, b in zip(s, s[1:]))
    print(f"AGGREGATED | small aggregates | records after a later one of their key: {late}")


def test_keep_key_order_writes_each_keys_records_in_order_across_aggregates_through_faults(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    """The test above with ``set_keep_key_order()`` and every fault of the plain ordered sink's
    test (tests/e2e/test_keyed_writes.py): aggregates throttled whole, failed, reset and delayed
    requests, 50 requests in flight of 10 aggregates each. Read back one user record at a time,
    every key's records are in order; an aggregate stored twice (a reset after forwarding)
    repeats its run of each key's records."""
    stream = stream_factory(4)
    route = ROUTES["from-field"]
    with FaultProxy(local_kinesis.endpoint, seed=31) as proxy:
        rules = inject_sink_faults(
            proxy, WHOLE_REQUEST_FAULTS["500, reset after forwarding, throttled request"]
        )
        write_aggregated(
            route, {**aws_config, "aws.endpoint": proxy.endpoint}, stream,
            keep_key_order=True, max_batch_size=10, max_delay_ms=5, max_size_in_bytes=2048,
        )
    records = local_kinesis.read_all(stream)
    placement = Placement.of(user_records(records), lambda text: read_pair(text.encode()))
    print(placement.report(
        f"aggregated, keep_key_order, {len(records)} Kinesis records: {faults_report(rules)}"
    ))
    assert_in_order_none_lost(placement)
    assert len(records) > 40  # each key's records span many aggregates
    assert all(rule.injected > 0 for rule in rules), rules


def consumer(aws_config: dict[str, object], stream: str) -> FlinkKinesisConsumer:
    return FlinkKinesisConsumer(
        stream, SimpleStringSchema(), {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    )


def copy_all(
    local_kinesis: LocalKinesis, aws_config: dict[str, object], source: str, out: str,
    expected: int,
) -> list[str]:
    """Copy ``source`` to ``out`` with FlinkKinesisConsumer until ``expected`` records are
    there and a little longer (so that records it should not emit would show); the copies."""
    env = keyed_env(2)
    job = start_copy(env, consumer(aws_config, source), string_sink(aws_config, out), "copy")
    try:
        job.wait_for(
            lambda: len(local_kinesis.read_all(out)) >= expected or None, TIMEOUT_S,
            f"{expected} records in {out}",
        )
        time.sleep(3)
    finally:
        job.cancel_and_wait()
    return copied(local_kinesis, out)


def test_flink_consumer_reads_what_the_aggregating_sink_wrote(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    source, out = stream_factory(4), stream_factory(1)
    write_aggregated(ROUTES["json-field"], aws_config, source)
    texts = copy_all(local_kinesis, aws_config, source, out, len(PRODUCED))
    assert Counter(read_pair(t.encode()) for t in texts) == Counter(PRODUCED)


def test_flink_consumer_reads_aws_kinesis_agg_aggregates_and_drops_what_is_outside_the_shard(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    """Records aggregated by ``aws-kinesis-agg`` (AWS's Python KPL format), one aggregate per
    shard: every one arrives. One aggregate that mixes shards (what a producer without the
    shard map makes) is dropped whole by the consumer's KCL de-aggregator (which drops an
    aggregate as soon as one of its records is outside the shard): none of its records
    arrive, those of its own shard included."""
    source, out = stream_factory(4), stream_factory(1)
    ranges = shard_ranges(local_kinesis, source)
    kinesis = local_kinesis.client()

    def shard_of(key: str) -> str:
        hash_key = int.from_bytes(hashlib.md5(key.encode()).digest(), "big")
        return next(s for s, (lo, hi) in ranges.items() if lo <= hash_key <= hi)

    consistent = [f"kpl-{i}" for i in range(400)]
    by_shard: dict[str, list[str]] = defaultdict(list)
    for text in consistent:
        by_shard[shard_of(text)].append(text)
    for texts in by_shard.values():
        aggregator = RecordAggregator()
        for text in texts:
            assert aggregator.add_user_record(text, text.encode()) is None  # all fit in one
        key, _, data = aggregator.clear_and_get().get_contents()
        kinesis.put_record(StreamName=source, PartitionKey=key, Data=data)
    mixed = [f"mixed-{i}" for i in range(40)]
    aggregator = RecordAggregator()
    for text in mixed:
        aggregator.add_user_record(text, text.encode())
    key, _, data = aggregator.clear_and_get().get_contents()
    landed = shard_of(key)
    kept = [t for t in mixed if shard_of(t) == landed]
    kinesis.put_record(StreamName=source, PartitionKey=key, Data=data)

    texts = copy_all(local_kinesis, aws_config, source, out, len(consistent))
    read_mixed = [t for t in texts if t.startswith("mixed-")]
    print(
        f"AGGREGATED | aws-kinesis-agg | shard-consistent: {len(consistent)} of "
        f"{len(consistent)} read; mixed aggregate: {len(read_mixed)} of {len(mixed)} read "
        f"({len(kept)} of them in the shard it landed in)"
    )
    assert 0 < len(kept) < len(mixed)  # the mixed aggregate does hold records of its shard
    assert Counter(texts) == Counter(consistent)


def test_a_failure_after_a_checkpoint_loses_nothing(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    tmp_path: Path,
) -> None:
    """Kinesis -> FailOnce -> aggregating sink, checkpointed: the job fails once mid-stream and
    restarts from its last checkpoint; every input record is in the output (at-least-once:
    records after the checkpoint may be written twice, counted here)."""
    source, out = stream_factory(2), stream_factory(4)
    inputs = [f"r{i:05d}" for i in range(3000)]
    local_kinesis.put_records(source, inputs)
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("execution.checkpointing.interval", "500 ms")
    config.set_string("state.checkpoints.dir", (tmp_path / "checkpoints").as_uri())
    config.set_string("restart-strategy.type", "fixed-delay")
    config.set_string("restart-strategy.fixed-delay.attempts", "3")
    config.set_string("restart-strategy.fixed-delay.delay", "1 s")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    marker = tmp_path / "failed-once"
    # Aggregates are emitted on checkpoints only and written 100 ms later: most restores find
    # some in the state, and the failed bundle's records in no checkpoint (our KinesisConsumer).
    sink = (
        string_sink_builder(aws_config, out)
        .set_aggregation(max_delay_ms=60_000)  # only checkpoints and full aggregates flush
        .build()
    )
    records = env.add_source(consumer(aws_config, source))
    records.map(FailOnce("r02000", str(marker)), output_type=Types.STRING()).map(
        lambda s: COPIED + s, output_type=Types.STRING()
    ).sink_to(sink)
    job: Job = start(env, "aggregated restore")
    try:
        def all_there() -> bool | None:
            texts = {read_pair_text(s) for s in user_records(local_kinesis.read_all(out))}
            return set(inputs) <= texts or None

        job.wait_for(all_there, TIMEOUT_S, "every input record in the output")
    finally:
        job.cancel_and_wait()
    written = [read_pair_text(s) for s in user_records(local_kinesis.read_all(out))]
    counts = Counter(written)
    print(
        f"AGGREGATED | failure + restart | {len(inputs)} in, {len(written)} out, "
        f"{sum(c - 1 for c in counts.values())} written twice"
    )
    assert marker.exists()
    assert set(counts) == set(inputs)


def read_pair_text(sub: SubRecord) -> str:
    return sub.data.decode().removeprefix(COPIED)


class Paced(MapFunction):  # type: ignore[misc]
    """Passes records on at most ``per_s`` a second, so that a job runs while a test reshards."""

    def __init__(self, per_s: float) -> None:
        self.pause = 1.0 / per_s

    def map(self, value: str) -> str:
        time.sleep(self.pause)
        return value


def test_resharding_while_writing_loses_nothing_for_a_range_checking_reader(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    """A shard is split while the aggregating sink writes. Aggregates built on the old shard
    map may land in a child whose range excludes some of their records; a range-checking
    reader (FlinkKinesisConsumer, the KCL) drops such an aggregate whole. The sink sees where
    each aggregate landed and sends the records of a misplaced one again, plain: every record
    is readable, checked the way such a reader reads."""
    out = stream_factory(2)
    texts = [f"s{i:05d}" for i in range(12_000)]
    env = keyed_env(1)
    sink = string_sink_builder(aws_config, out).set_aggregation(max_delay_ms=20).build()
    env.from_collection(texts, type_info=Types.STRING()).map(
        Paced(1000), output_type=Types.STRING()
    ).sink_to(sink)
    job = start(env, "aggregated write while resharding")
    first = min(s["ShardId"] for s in local_kinesis.list_shards(out))
    lo, hi = shard_ranges(local_kinesis, out)[first]
    try:
        job.wait_for(lambda: len(local_kinesis.read_all(out)) > 20 or None, TIMEOUT_S,
                     "the first aggregates")
        local_kinesis.client().split_shard(
            StreamName=out, ShardToSplit=first, NewStartingHashKey=str((lo + hi) // 2 + 1)
        )
        local_kinesis.wait_until_active(out)
        job.client.get_job_execution_result().result()
    finally:
        job.cancel_and_wait()
    ranges = shard_ranges(local_kinesis, out)
    visible: list[str] = []
    dropped = 0
    for record in local_kinesis.read_all(out):
        subs = user_records([record])
        if outside_their_shard(subs, ranges):
            dropped += len(subs)  # the KCL drops the whole aggregate
        else:
            visible += [s.data.decode() for s in subs]
    counts = Counter(visible)
    print(
        f"AGGREGATED | split while writing | {len(texts)} written; {dropped} records in "
        f"misplaced aggregates (a range-checking reader drops them); "
        f"{sum(c - 1 for c in counts.values())} readable twice"
    )
    assert set(counts) == set(texts)  # nothing lost
    assert dropped > 0  # the split did misplace aggregates: the re-send was exercised
