"""``KinesisStreamsSource`` (FLIP-27) in real PyFlink jobs on kinesalite, read back with boto3.

One job reads a 3-shard stream at parallelism 4 (above the shard count) through four sources
(TRIM_HORIZON with metadata, LATEST by ARN, AT_TIMESTAMP under connector 4.3.0's and under 5.x's
option names), and a consumer config through both ``FlinkKinesisConsumer`` and
``migrate_consumer`` (two streams, migrated to 5.x's names). Another reads KPL aggregates
with the source and with the consumer; a third stops the source with a savepoint inside an
aggregate and restores it; a fourth reads a backlog and each shard's lag through Flink's REST
API. Other restores from a checkpoint and a savepoint are in
test_restore.py, resharding in test_resharding.py, event time in
test_event_time.py: each beside the legacy consumer's run.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any, Callable

import pytest
from aws_kinesis_agg.aggregator import RecordAggregator
from pyflink.common import Configuration, Row, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import MapFunction, StreamExecutionEnvironment

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisDeserializationSchema,
    KinesisMigrationWarning,
    KinesisStreamsSource,
    KinesisStreamsSourceBuilder,
    migrate_consumer,
)
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import (
    Job,
    flip27_source,
    metrics_env,
    start,
    string_sink,
    string_sink_builder,
)
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
    assert migrated.migration.source_config[
        "source.reader.empty-records-fetch-interval"] == "50 ms"
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


def hash_key(partition_key: str) -> int:
    """Where Kinesis routes a partition key: its MD5 as an unsigned 128-bit integer."""
    return int.from_bytes(hashlib.md5(partition_key.encode()).digest(), "big")


def put_aggregate(kinesis: LocalKinesis, stream: str, texts: list[str]) -> None:
    """One ``aws-kinesis-agg`` aggregate of ``texts``, each with its part before any ``|`` as
    partition key, put under its first record's key, as that library does."""
    aggregator = RecordAggregator()
    for text in texts:
        key = text.split("|")[0]
        assert aggregator.add_user_record(key, text.encode()) is None  # all fit in one
    key, _, data = aggregator.clear_and_get().get_contents()
    kinesis.client().put_record(StreamName=stream, PartitionKey=key, Data=data)


def render_metadata(row: Row) -> str:
    """A with_metadata Row without its shard id: payload, stream, partition key, sequence
    number, arrival time (the two readers name shards alike; the rest must match too)."""
    return json.dumps([row[0], row[1], row[3], row[4], row[5]])


def test_kpl_aggregates_are_read_record_by_record_by_the_source_as_by_the_consumer(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    env: StreamExecutionEnvironment,
) -> None:
    """On a 2-shard stream: ``aws-kinesis-agg`` aggregates of one shard's keys each, one that
    mixes both shards' keys, a plain record, and records that our aggregating sink writes in the
    same job. The source and FlinkKinesisConsumer, side by side, give the same Rows: every user
    record once with its own partition key and its aggregate's sequence number and arrival
    time; the mixed aggregate is dropped whole by both (the range rule)."""
    stream = stream_factory(2)
    outs = {name: stream_factory(1) for name in ("source", "consumer")}
    ranges = [
        (int(s["HashKeyRange"]["StartingHashKey"]), int(s["HashKeyRange"]["EndingHashKey"]))
        for s in local_kinesis.client().list_shards(StreamName=stream)["Shards"]
    ]

    def shard_of(text: str) -> int:
        return next(i for i, (lo, hi) in enumerate(ranges) if lo <= hash_key(text) <= hi)

    aggregated = [f"agg-{n}" for n in range(40)]
    for shard in range(len(ranges)):
        put_aggregate(local_kinesis, stream, [t for t in aggregated if shard_of(t) == shard])
    mixed = [f"mixed-{n}" for n in range(8)]
    assert len({shard_of(t) for t in mixed}) == 2
    put_aggregate(local_kinesis, stream, mixed)
    local_kinesis.put_records(stream, ["plain"])

    sink_written = [f"sink-{n}" for n in range(200)]
    (
        env.from_collection(sink_written, type_info=Types.STRING())
        .sink_to(string_sink_builder(aws_config, stream).set_aggregation().build())
    )
    config = {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    with_metadata = KinesisDeserializationSchema.with_metadata(SimpleStringSchema())
    source = (
        KinesisStreamsSource.builder()
        .set_stream_name(stream)
        .set_source_config(config)
        .set_deserialization_schema(with_metadata)
        .build()
    )
    (
        env.from_source(source, WatermarkStrategy.no_watermarks(), "source")
        .map(render_metadata, output_type=Types.STRING())
        .sink_to(string_sink(aws_config, outs["source"]))
    )
    (
        env.add_source(FlinkKinesisConsumer(stream, with_metadata, config), "consumer")
        .map(render_metadata, output_type=Types.STRING())
        .sink_to(string_sink(aws_config, outs["consumer"]))
    )
    expected = Counter([*aggregated, "plain", *sink_written])
    job = start(env, "KPL aggregates, source and consumer")
    try:
        job.wait_for(lambda: all(len(texts(local_kinesis, out)) >= sum(expected.values())
                                 for out in outs.values()) or None,
                     TIMEOUT_S, "both outputs")
        time.sleep(1.0)  # a record emitted twice would arrive within the sink's 100 ms flush
        got = {name: Counter(texts(local_kinesis, out)) for name, out in outs.items()}
    finally:
        job.cancel()

    written = local_kinesis.read_all(stream)
    aggregates = [r for r in written if r.data.startswith(KPL_MAGIC)]
    from_our_sink = [r for r in aggregates if r.partition_key not in aggregated + mixed]
    print(f"KPL aggregates: {len(written)} Kinesis records, {len(aggregates)} aggregates "
          f"({len(from_our_sink)} from our sink), {sum(got['source'].values())} user records "
          f"read by the source")
    assert from_our_sink and len(aggregates) == len(ranges) + 1 + len(from_our_sink)
    assert got["source"] == got["consumer"]
    assert Counter(json.loads(row)[0] for row in got["source"].elements()) == expected
    rows = [json.loads(row) for row in got["source"]]
    assert all(row[2] == row[0] for row in rows if row[0].startswith("agg-"))  # own keys
    firsts = {row[0]: row for row in rows}
    checked = 0
    for record in aggregates:  # an aws-kinesis-agg aggregate is put under its first key
        if record.partition_key in firsts:
            assert firsts[record.partition_key][3] == record.sequence_number
            checked += 1
    assert checked == len(ranges)


class HoldAt(MapFunction):  # type: ignore[misc]
    """Passes ``<id>|<padding>`` records on as ``<id>|<run>``; at record ``hold`` it waits until
    the file ``release`` exists (meanwhile the source is backpressured a few buffers on)."""

    def __init__(self, run: str, hold: str, release: str) -> None:
        self.run = run
        self.hold = hold
        self.release = release

    def map(self, value: str) -> str:
        record = value.split("|")[0]
        if record == self.hold:
            deadline = time.monotonic() + TIMEOUT_S
            while not Path(self.release).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        return f"{record}|{self.run}"


def test_a_stop_inside_a_kpl_aggregate_resumes_after_its_last_emitted_user_record(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    tmp_path: Path,
) -> None:
    """A 900 KB aggregate of 300 user records between two plain records. The first job holds at
    user record 50 (a Python map waits; the source is backpressured a few buffers on), is
    stopped with a savepoint, and has written a strict prefix of the aggregate: the savepoint
    fell inside it. The job restored from the savepoint writes the rest: every record once.
    (The output stream is compared as sets: the sink does not keep the order.)"""
    stream, out = stream_factory(1), stream_factory(1)
    users = [f"u{n:03d}" for n in range(300)]
    local_kinesis.put_records(stream, ["before|"])
    put_aggregate(local_kinesis, stream, [f"{u}|{'x' * 3000}" for u in users])
    local_kinesis.put_records(stream, ["after|"])
    release = tmp_path / "release"

    def run(name: str, **settings: str) -> Job:
        config = Configuration()
        config.set_string("python.executable", sys.executable)
        config.set_string("python.fn-execution.bundle.size", "10")
        for key, value in settings.items():
            config.set_string(key, value)
        env = StreamExecutionEnvironment.get_execution_environment(config)
        env.set_parallelism(1)
        (
            env.from_source(flip27_source(aws_config, stream), WatermarkStrategy.no_watermarks(),
                            "kinesis").uid("kinesis-source")
            .map(HoldAt(name, users[50], str(release)), output_type=Types.STRING()).uid("hold")
            .sink_to(string_sink(aws_config, out)).uid("kinesis-sink")
            .disable_chaining()  # its flush timer must run while the map holds
        )
        return start(env, name)

    def lines() -> list[tuple[str, str]]:
        return [(t.split("|")[0], t.split("|")[1]) for t in texts(local_kinesis, out)]

    first = run("first")
    try:
        # users[30]'s Python bundle (10 records) ended before the one users[50] holds
        first.wait_for(lambda: users[30] in {record for record, _ in lines()} or None,
                       TIMEOUT_S, "the first 30 user records")
        savepoints = tmp_path / "savepoints"
        stopping = first.client.stop_with_savepoint(False, savepoints.as_uri())
        # The savepoint's directory is made before the source is told: release the map after.
        first.wait_for(lambda: any(savepoints.glob("savepoint-*")) or None, TIMEOUT_S,
                       "the savepoint's directory")
        release.touch()
        savepoint = stopping.result()
    finally:
        first.cancel()

    restored = run("restored", **{"execution.state-recovery.path": savepoint})
    try:
        restored.wait_for(lambda: "after" in {record for record, _ in lines()} or None,
                          TIMEOUT_S, "the record after the aggregate")
        time.sleep(1.0)  # a record emitted twice would arrive within the sink's 100 ms flush
        got = lines()
    finally:
        restored.cancel()

    # Lines the first job's map made; some are written by the restored job's sink, from the
    # buffer the sink keeps in the savepoint.
    first_users = {r for r, name in got if name == "first" and r.startswith("u")}
    print(f"KPL aggregate restore: the first job emitted {len(first_users)} of {len(users)} "
          f"user records; {len(got)} lines in all")
    assert ("before", "first") in got and 50 <= len(first_users) < len(users)
    assert first_users == set(users[:len(first_users)])  # the savepoint fell inside it
    assert Counter(record for record, _ in got) == Counter(["before", *users, "after"])
    restored_users = {r for r, name in got if name == "restored" and r.startswith("u")}
    assert restored_users == set(users[len(first_users):])  # 0 lost, 0 repeated


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
    env = metrics_env(port, 1)
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
