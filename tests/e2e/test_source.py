"""``KinesisStreamsSource`` (FLIP-27) in real PyFlink jobs on kinesalite, read back with boto3.

One job reads a 3-shard stream at parallelism 4 (above the shard count) through three sources
(TRIM_HORIZON with metadata, LATEST by ARN, AT_TIMESTAMP), and a consumer config through both
``FlinkKinesisConsumer`` and ``migrate_consumer`` (two streams). Another reads KPL aggregates
with the source and with the consumer. A third reads a backlog and reads
each shard's lag through Flink's REST API. Restores from a checkpoint and
a savepoint are in test_restore.py, resharding in test_resharding.py, event time in
test_event_time.py: each beside the legacy consumer's run.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.request
from collections import Counter
from typing import Any, Callable

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from pyflink.common import Configuration, Row, Types, WatermarkStrategy
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
from tests.e2e.jobs import flip27_source, start, string_sink
from tests.support.flink_cluster import free_port

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
    outs = {name: stream_factory(1) for name in ("meta", "latest", "ts", "legacy", "migrated")}
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

    for name in ("latest", "ts", "legacy", "migrated"):
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


def rest(port: int, path: str) -> Any:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
        return json.load(response)


def shard_lags(port: int, job_id: str, vertex_name: str) -> dict[str, float]:
    """The ``millisBehindLatest`` gauges of a vertex's subtasks, by their full metric id."""
    vertex = next(v for v in rest(port, f"/jobs/{job_id}")["vertices"]
                  if vertex_name in v["name"])
    path = f"/jobs/{job_id}/vertices/{vertex['id']}/metrics"
    ids = [m["id"] for m in rest(port, path) if m["id"].endswith(".millisBehindLatest")]
    if not ids:
        return {}
    return {m["id"]: float(m["value"]) for m in rest(port, f"{path}?get={','.join(ids)}")}


def test_each_shard_reports_its_lag_through_the_rest_api(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    """One subtask reads a 3-shard backlog; the REST API then shows each shard's lag gauge,
    named as connector 5.x's source names it, at 0. (kinesalite answers 0 also for a shard
    behind its tip, so a lag above 0 cannot be seen here: the reader's unit tests cover it.)"""
    stream, out = stream_factory(3), stream_factory(1)
    backlog = [f"r{n}" for n in range(3000)]
    local_kinesis.put_records(stream, backlog)
    port = free_port()
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("rest.bind-address", "127.0.0.1")
    config.set_string("rest.port", str(port))
    config.set_string("metrics.fetcher.update-interval", "100")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    env.from_source(flip27_source(aws_config, stream), WatermarkStrategy.no_watermarks(),
                    "lagged").sink_to(string_sink(aws_config, out))

    job = start(env, "KinesisStreamsSource lag")
    try:
        job.wait_for(lambda: len(texts(local_kinesis, out)) >= len(backlog) or None,
                     TIMEOUT_S, "the backlog")
        job_id = str(job.client.get_job_id())

        def caught_up() -> dict[str, float] | None:
            found = shard_lags(port, job_id, "lagged")
            return found if len(found) == 3 and set(found.values()) == {0} else None

        lags = job.wait_for(caught_up, TIMEOUT_S, "a lag of 0 on each shard")
    finally:
        job.cancel()

    summary = local_kinesis.client().describe_stream_summary(StreamName=stream)
    account = summary["StreamDescriptionSummary"]["StreamARN"].split(":")[4]
    group = f"KinesisStreamSource.accountId.{account}.region.{local_kinesis.region}.stream.{stream}"
    expected = {f"{group}.shardId.{shard['ShardId']}.millisBehindLatest"
                for shard in local_kinesis.list_shards(stream)}
    assert {metric[metric.index("KinesisStreamSource."):] for metric in lags} == expected
