"""``KinesisStreamsSource`` (FLIP-27) in real PyFlink jobs on kinesalite, read back with boto3.

One job reads a 3-shard stream at parallelism 4 (above the shard count) through four sources
(TRIM_HORIZON with metadata, LATEST by ARN, AT_TIMESTAMP under connector 4.3.0's and under 5.x's
option names), and a consumer config through both ``FlinkKinesisConsumer`` and
``migrate_consumer`` (two streams, migrated to 5.x's names). Another reads KPL aggregates
with the source and with the consumer. Restores from a checkpoint and
a savepoint are in test_restore.py, resharding in test_resharding.py, event time in
test_event_time.py: each beside the legacy consumer's run.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Callable

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from pyflink.common import Row, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisDeserializationSchema,
    KinesisMigrationWarning,
    KinesisSourceWarning,
    KinesisStreamsSource,
    KinesisStreamsSourceBuilder,
    migrate_consumer,
)
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import start, string_sink

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0
KEYS = [f"k{n}" for n in range(12)]


def put(kinesis: LocalKinesis, stream: str, tag: str, rounds: int = 2) -> list[str]:
    texts = [f"{tag}:{key}:{n}" for n in range(rounds) for key in KEYS]
    kinesis.put_records(stream, texts, [t.split(":")[1] for t in texts])
    return texts


def render(row: Row) -> str:
    return json.dumps([row[i] for i in range(6)])


def texts(kinesis: LocalKinesis, stream: str) -> list[str]:
    return [record.text for record in kinesis.read_all(stream)]


def test_start_positions_metadata_and_migration_in_one_job(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    env: StreamExecutionEnvironment,
) -> None:
    stream, other = stream_factory(3), stream_factory(1)
    outs = {name: stream_factory(1)
            for name in ("meta", "latest", "ts", "ts_5x", "legacy", "migrated")}
    arn = local_kinesis.client().describe_stream_summary(StreamName=stream)[
        "StreamDescriptionSummary"]["StreamARN"]
    before, before_other = put(local_kinesis, stream, "before"), put(local_kinesis, other, "b", 1)
    time.sleep(1.2)
    timestamp = time.time()
    middle = put(local_kinesis, stream, "middle")

    env.set_parallelism(4)
    config = {**aws_config, "flink.shard.discovery.intervalmillis": 500}

    def source(**options: object) -> KinesisStreamsSourceBuilder:
        return KinesisStreamsSource.builder().set_source_config({**config, **options})

    with pytest.warns(KinesisSourceWarning, match="not de-aggregated"):
        with_metadata = (
            source(**{"flink.stream.initpos": "TRIM_HORIZON"})
            .set_stream_name(stream)
            .set_deserialization_schema(KinesisDeserializationSchema.with_metadata(
                SimpleStringSchema()))
            .build()
        )
    assert "local-secret-key" not in repr(with_metadata)
    no_watermarks = WatermarkStrategy.no_watermarks()
    (
        env.from_source(with_metadata, no_watermarks, "trim horizon, metadata")
        .map(render, output_type=Types.STRING())
        .sink_to(string_sink(aws_config, outs["meta"]))
    )
    # A 500 ms discovery interval, shorter than the readers take to register: the first
    # listing fixes every shard's start, so no shard of LATEST or AT_TIMESTAMP starts at
    # TRIM_HORIZON (connector 4.3.0's enumerator let later listings start them there).
    positions: dict[str, dict[str, object]] = {
        "latest": {"flink.stream.initpos": "LATEST"},
        "ts": {"flink.stream.initpos": "AT_TIMESTAMP", "flink.stream.initpos.timestamp": timestamp},
    }
    for name, options in positions.items():
        built = source(**options).set_stream_arn(arn).set_deserialization_schema(
            SimpleStringSchema()).build()
        env.from_source(built, no_watermarks, name).sink_to(string_sink(aws_config, outs[name]))
    five_x = {  # connector 5.x's names only, as a 5.x job would give them
        **aws_config,
        "source.init.position": "AT_TIMESTAMP",
        "source.init.timestamp": timestamp,
        "source.shard.discovery.interval": "500 ms",
        "retry-strategy.attempts.max": 10,
    }
    built = KinesisStreamsSource.builder().set_source_config(five_x).set_stream_arn(
        arn).set_deserialization_schema(SimpleStringSchema()).build()
    env.from_source(built, no_watermarks, "ts_5x").sink_to(string_sink(aws_config, outs["ts_5x"]))

    legacy_config = {
        **config,
        "flink.stream.initpos": "TRIM_HORIZON",
        "flink.shard.getrecords.intervalmillis": "50",
        "flink.shard.idle.interval": "1000",
    }
    consumer = FlinkKinesisConsumer([stream, other], SimpleStringSchema(), legacy_config)
    env.add_source(consumer, "legacy").sink_to(string_sink(aws_config, outs["legacy"]))
    with pytest.warns(KinesisMigrationWarning) as migration_warnings:
        migrated = migrate_consumer([stream, other], SimpleStringSchema(), legacy_config)
    report = next(str(w.message) for w in migration_warnings
                  if issubclass(w.category, KinesisMigrationWarning))
    assert "'flink.shard.getrecords.intervalmillis'" in report and "with_idleness" in report
    assert "one source per stream, unioned" in report
    assert migrated.migration.source_config["source.init.position"] == "TRIM_HORIZON"
    migrated.data_stream(env).sink_to(string_sink(aws_config, outs["migrated"]))

    job = start(env, "KinesisStreamsSource positions")
    try:
        job.wait_for(lambda: len(texts(local_kinesis, outs["meta"])) >= len(before + middle)
                     or None, TIMEOUT_S, "the records written before the job")
        after, after_other = put(local_kinesis, stream, "after"), put(local_kinesis, other, "a", 1)
        expected = {
            "meta": before + middle + after,
            "latest": after,
            "ts": middle + after,
            "ts_5x": middle + after,
            "legacy": before + before_other + middle + after + after_other,
        }
        expected["migrated"] = expected["legacy"]
        job.wait_for(
            lambda: all(len(texts(local_kinesis, outs[name])) >= len(records)
                        for name, records in expected.items()) or None,
            TIMEOUT_S, "every output")
        time.sleep(1.0)  # a duplicate would arrive within the sink's 100 ms flush interval
        got = {name: Counter(texts(local_kinesis, out)) for name, out in outs.items()}
    finally:
        job.cancel()

    for name in ("latest", "ts", "ts_5x", "legacy", "migrated"):
        assert got[name] == Counter(expected[name]), name
    boto3_rows = Counter(
        json.dumps([r.text, stream, r.shard_id, r.partition_key, r.sequence_number,
                    int(r.approximate_arrival_timestamp.timestamp() * 1000)])
        for r in local_kinesis.read_all(stream)
    )
    assert got["meta"] == boto3_rows
    assert len({json.loads(row)[2] for row in got["meta"]}) == 3  # every shard was read


#: The first bytes of every KPL aggregate (the KCL's "magic").
KPL_MAGIC = bytes.fromhex("f3899ac2")


def sequence_and_hex(row: Row) -> str:
    """A with_metadata Row of a ``SimpleStringSchema("ISO-8859-1")`` payload (one character
    per byte) as ``[sequence number, payload bytes in hex]``."""
    return json.dumps([row[4], row[0].encode("latin-1").hex()])


def test_kpl_aggregates_reach_the_source_whole_and_the_consumer_deaggregated(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    env: StreamExecutionEnvironment,
) -> None:
    """The source passes each Kinesis record to the schema as it is (docs/source.md): three
    aggregates made by ``aws-kinesis-agg`` and one plain record come out
    of it as four elements, the aggregates in the KPL format; FlinkKinesisConsumer, on the same
    stream in the same job, gives their user records one by one."""
    stream = stream_factory(1)  # one shard: no user record can be outside its aggregate's shard
    outs = {name: stream_factory(1) for name in ("source", "consumer")}
    kinesis = local_kinesis.client()
    aggregated = [f"agg{a}-{n}" for a in range(3) for n in range(4)]
    for a in range(3):
        aggregator = RecordAggregator()
        for text in aggregated[4 * a:4 * a + 4]:
            assert aggregator.add_user_record(text, text.encode()) is None
        key, _, data = aggregator.clear_and_get().get_contents()
        kinesis.put_record(StreamName=stream, PartitionKey=key, Data=data)
    local_kinesis.put_records(stream, ["plain"])
    written = local_kinesis.read_all(stream)
    assert len(written) == 4

    config = {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    with pytest.warns(KinesisSourceWarning, match="as the aggregate"):
        source = (
            KinesisStreamsSource.builder()
            .set_stream_name(stream)
            .set_source_config(config)
            .set_deserialization_schema(KinesisDeserializationSchema.with_metadata(
                SimpleStringSchema("ISO-8859-1")))
            .build()
        )
    (
        env.from_source(source, WatermarkStrategy.no_watermarks(), "source")
        .map(sequence_and_hex, output_type=Types.STRING())
        .sink_to(string_sink(aws_config, outs["source"]))
    )
    consumer = FlinkKinesisConsumer(stream, SimpleStringSchema(), config)
    env.add_source(consumer, "consumer").sink_to(string_sink(aws_config, outs["consumer"]))
    expected = {"source": len(written), "consumer": len(aggregated) + 1}
    job = start(env, "KPL aggregates, source and consumer")
    try:
        job.wait_for(lambda: all(len(texts(local_kinesis, outs[name])) >= count
                                 for name, count in expected.items()) or None,
                     TIMEOUT_S, "both outputs")
        time.sleep(1.0)  # a record emitted twice would arrive within the sink's 100 ms flush
        got = {name: texts(local_kinesis, out) for name, out in outs.items()}
    finally:
        job.cancel()

    assert Counter(got["source"]) == Counter(
        json.dumps([r.sequence_number, r.data.hex()]) for r in written)
    payloads = Counter(bytes.fromhex(json.loads(row)[1]) for row in got["source"])
    assert payloads.pop(b"plain") == 1
    assert len(payloads) == 3 and all(p.startswith(KPL_MAGIC) for p in payloads)
    assert Counter(got["consumer"]) == Counter([*aggregated, "plain"])
