"""The exactly-once (committing) sink in a real job on kinesalite.

A FLIP-27 source copies JSON records from one stream to another through
``set_delivery_guarantee('exactly-once')``, checkpointing every few seconds. The output is read
back with boto3 and taken apart twice: by ``aws-kinesis-agg`` (what any KPL-aware reader sees:
the payloads and keys written) and by the KPL's protobuf messages (the ``pfk-id`` tag of each
record); each aggregate's own partition key names the shard it was meant for. Run with ``-s``
to see the ``EXACTLY-ONCE |`` line.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable

import pytest
from aws_kinesis_agg import (
    deaggregator,  # noqa: F401  (puts messages_pb2's imports on the path)
    messages_pb2,
)
from py4j.protocol import Py4JJavaError
from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import KinesisStreamsSink, PartitionKeyGenerator
from pyflink_kinesis.testing import KinesisRecord, LocalKinesis
from tests.e2e.jobs import checkpoint_dirs, exactly_once_sink, flink_log, flip27_source, start
from tests.e2e.test_aggregation import user_records

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0
RECORDS = 400
CHECKPOINT_MS = 3000
KPL_MAGIC = b"\xf3\x89\x9a\xc2"
ID = re.compile(r"([0-9a-f]{32}):(0|[1-9][0-9]*)")


def tagged(records: list[KinesisRecord]) -> list[tuple[str, str, str, str, int]]:
    """(shard, partition key, payload, writer id, sequence number) of every user record, shard
    by shard in order, as the KPL's protobuf messages read them; each must be in an aggregate
    with one ``pfk-id`` tag."""
    found = []
    for record in records:
        assert record.data.startswith(KPL_MAGIC), "every Kinesis record is a KPL aggregate"
        aggregate = messages_pb2.AggregatedRecord.FromString(record.data[4:-16])
        for user in aggregate.records:
            assert [tag.key for tag in user.tags] == ["pfk-id"]
            match = ID.fullmatch(user.tags[0].value)
            assert match, user.tags[0].value
            key = aggregate.partition_key_table[user.partition_key_index]
            found.append((record.shard_id, key, user.data.decode(), match.group(1),
                          int(match.group(2))))
    return found


def all_written(kinesis: LocalKinesis, stream: str) -> list[KinesisRecord] | None:
    """The stream's records once they hold at least ``RECORDS`` user records."""
    found = kinesis.read_all(stream)
    return found if len(user_records(found)) >= RECORDS else None


def completed(checkpoints: Path) -> set[int]:
    return {n for n, path in checkpoint_dirs(checkpoints).items() if (path / "_metadata").exists()}


@pytest.mark.parametrize("chained", [True, False], ids=["chained", "not-chained"])
def test_exactly_once_sink_writes_each_record_once_with_its_id_after_its_checkpoint(
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    local_kinesis: LocalKinesis,
    tmp_path: Path,
    chained: bool,
) -> None:
    """Chained with its committer (Flink's default), each writer keeps a checkpoint's records
    in its own state and hands the committer receipts, and the committer writes in the
    background; not chained, the records travel in the committables and each commit writes
    before it returns. Either way: each record once, with its id, after its checkpoint."""
    source, out = stream_factory(2), stream_factory(3)
    checkpoints = tmp_path / "checkpoints"
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("execution.checkpointing.dir", checkpoints.as_uri())
    config.set_string("pipeline.operator-chaining.enabled", str(chained).lower())
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    env.enable_checkpointing(CHECKPOINT_MS)
    sink = exactly_once_sink(aws_config, out)
    env.from_source(
        flip27_source(aws_config, source), WatermarkStrategy.no_watermarks(), "in"
    ).sink_to(sink)
    texts = [json.dumps({"key": f"k{n % 23}", "n": n}) for n in range(RECORDS)]

    log_before = len(flink_log())  # the JVM's log holds the earlier tests' jobs too
    job = start(env, "exactly-once sink")
    try:
        job.wait_for(lambda: completed(checkpoints) or None, TIMEOUT_S, "a first checkpoint")
        done_before_put = completed(checkpoints)
        local_kinesis.put_records(source, texts)
        job.wait_for(lambda: local_kinesis.read_all(out) or None, TIMEOUT_S, "the first records")
        # Only a checkpoint that completed after the put can cover the records: one must have,
        # before anything was visible (Flink writes _metadata before it notifies the commit).
        assert completed(checkpoints) - done_before_put, "records came before their checkpoint"
        written = job.wait_for(lambda: all_written(local_kinesis, out), TIMEOUT_S, "all records")
    finally:
        job.cancel()

    # Any KPL-aware reader: each record once, payload and key as the job wrote them.
    agg = user_records(written)
    assert Counter(s.text for s in agg) == Counter(texts)
    assert all(json.loads(s.text)["key"] == s.partition_key for s in agg)
    # Each aggregate is named for the shard it was meant for (here, with no reshard, the one it
    # landed in) by its own partition key, which the KPL-aware reader above never used.
    names = {shard["ShardId"]: "pfk-shard:{StartingHashKey}-{EndingHashKey}".format(
        **shard["HashKeyRange"]) for shard in local_kinesis.list_shards(out)}
    assert [record.partition_key for record in written] == [
        names[record.shard_id] for record in written]
    # The ids: one per record, unique; per writer dense from 0; per shard increasing.
    ids = tagged(written)
    assert [(key, text) for _, key, text, _, _ in ids] == [(s.partition_key, s.text) for s in agg]
    by_writer: dict[str, list[int]] = defaultdict(list)
    last_in_shard: dict[tuple[str, str], int] = {}
    for shard, _, _, writer, sequence in ids:
        by_writer[writer].append(sequence)
        assert sequence > last_in_shard.get((shard, writer), -1), "out of order in a shard"
        last_in_shard[shard, writer] = sequence
    for sequences in by_writer.values():
        assert sorted(sequences) == list(range(len(sequences)))
    # Chained, each committer wrote in the background, and its writer, which waited for the
    # writes at its next checkpoint (KinesisCommitterTest proves that wait), kept the records
    # in its own state (test_exactly_once_failures.py proves they are restored from it).
    log = flink_log()[log_before:]
    background = f"Kinesis stream '{out}': the committer writes in the background"
    assert log.count(background) == (2 if chained else 0), "written on the wrong thread"
    receipts = "is chained with its committer: it keeps each checkpoint's records"
    assert log.count(receipts) == (2 if chained else 0), "records in the wrong state"
    print(
        f"\nEXACTLY-ONCE | {RECORDS} records in {len(written)} aggregates over "
        f"{len({shard for shard, *_ in ids})} shards from {len(by_writer)} writers, "
        f"checkpoints every {CHECKPOINT_MS} ms"
    )


def test_a_source_faster_than_the_sink_is_slowed_down_not_failed(
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    local_kinesis: LocalKinesis,
    tmp_path: Path,
) -> None:
    """A collection of 70,000 records of about 440 bytes (31 MB) goes into the exactly-once
    sink as fast as Flink takes it, with ``max_buffered_bytes`` at 16 MiB and a checkpoint every
    second. Past half the bound the writer pauses, so the buffer never overflows (restarts are
    off: an overflow would fail the job) and every record lands once."""
    stream = stream_factory(2)
    texts = [json.dumps({"key": f"k{n % 31}", "n": n, "pad": "x" * 400}) for n in range(70_000)]
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("execution.checkpointing.dir", (tmp_path / "checkpoints").as_uri())
    config.set_string("restart-strategy.type", "none")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    env.enable_checkpointing(1000)
    sink = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(PartitionKeyGenerator.json_field("key"))
        .set_stream_name(stream)
        .set_delivery_guarantee("exactly-once", max_buffered_bytes=16 << 20)
        .build()
    )
    env.from_collection(texts, Types.STRING()).sink_to(sink)
    try:
        env.execute("exactly-once, a source faster than the sink")
    except Py4JJavaError as error:
        raise AssertionError(f"the job failed: {error}\n{flink_log()[-20_000:]}") from error

    written = Counter(payload for _, _, payload, _, _ in tagged(local_kinesis.read_all(stream)))
    assert set(written) == set(texts)
    assert set(written.values()) == {1}
    assert "the writer paused" in flink_log()


def test_a_streaming_job_without_checkpointing_is_refused_on_submission(
    aws_config: dict[str, object],
) -> None:
    """Its committer would never commit: the sink would write nothing, silently."""
    env = StreamExecutionEnvironment.get_execution_environment()
    sink = exactly_once_sink(aws_config, "never-written", PartitionKeyGenerator.random())
    env.from_collection(["a"]).sink_to(sink)
    with pytest.raises(Py4JJavaError) as error:
        env.execute_async("exactly-once without checkpointing").cancel().result()
    message = str(error.value)
    assert "does not checkpoint, so it would write nothing" in message
    assert "env.enable_checkpointing(10000)" in message
