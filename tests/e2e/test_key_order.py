"""Per-key order from stream to stream, the package's guarantee end to end.

Kinesis -> reader -> ordered sink (``set_keep_key_order()``) -> Kinesis, while the input stream
is resharded under a running producer and the sink's PutRecords are throttled. The producer
(``FlowingProducer``: one ``<key>:<n>`` record per key every 200 ms) starts well before the job,
and the input is resharded before the job starts, so the job begins behind: closed parents still
hold unread records when their children are listed; it is resharded once more while the job runs.

One job reads the input four times, each into its own output stream:

- ``FlinkKinesisConsumer`` and ``KinesisStreamsSource``, each along two paths:
- **direct**: the reader's metadata rows go to the sink as they are (partition key from the row,
  no Python operator), so a key whose parent and child shards are read by different subtasks
  reaches the sink through different subtasks;
- **python**: a Python map that fails once (the job restarts from its last checkpoint in the
  middle of the reshard), then ``key_by`` on the partition key in Python, then the sink.

The sink's requests go through a ``FaultProxy`` that throttles whole requests and rejects
entries of others. The outputs are read back with boto3, each key's records in the order they
are stored: every record written must be there, and the first copy of each key's records in the
order the producer wrote them; copies (the sink is at-least-once: the restart writes again what
came after the checkpoint) are counted and printed, not refused.

``RESHARD_REPEAT=5`` runs each test 5 times in a row (by hand; CI runs each once).
"""

from __future__ import annotations

import os
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from pyflink.common import Row, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, MapFunction, StreamExecutionEnvironment

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisDeserializationSchema,
    KinesisStreamsSink,
    KinesisStreamsSource,
    PartitionKeyGenerator,
    RowFieldSerializationSchema,
)
from pyflink_kinesis.testing import KinesisMock, LocalKinesis, LocalKinesisServer
from pyflink_kinesis.testing.fault_proxy import (
    FaultProxy,
    FaultRule,
    PartialFailure,
    Rate,
    throttle,
)
from tests.e2e.jobs import Job, start
from tests.e2e.test_resharding import (
    HASH_SPACE,
    ROUND_S,
    TIMEOUT_S,
    FlowingProducer,
    keys_by_range,
)
from tests.e2e.test_restore import checkpointed_env

StreamFactory = Callable[..., str]
REPEAT = int(os.environ.get("RESHARD_REPEAT", "1"))
repeated = pytest.mark.parametrize("run", range(1, REPEAT + 1), ids=lambda run: f"run{run}")
# The metadata row: payload, stream, shard_id, partition_key, ...
PAYLOAD, PARTITION_KEY = 0, 3
KEYED = Types.ROW([Types.STRING(), Types.STRING()])  # (partition key, payload)
PATHS = ("consumer direct", "consumer python", "source direct", "source python")


class KeyedOnce(MapFunction):  # type: ignore[misc]
    """A metadata row -> (partition key, payload); raises once, at the first record whose
    number ``n`` is at least the one in the file ``fail_at`` (then creates ``failed``, so the
    restarted job goes on)."""

    def __init__(self, fail_at: str, failed: str) -> None:
        self.fail_at = fail_at
        self.failed = failed

    def map(self, row: Row) -> Row:
        payload = row[PAYLOAD]
        if self._due(payload):
            Path(self.failed).touch()
            raise RuntimeError(f"injected failure at record {payload}")
        return Row(row[PARTITION_KEY], payload)

    def _due(self, payload: str) -> bool:
        if not os.path.exists(self.fail_at) or os.path.exists(self.failed):
            return False
        return int(payload.split(":")[1]) >= int(Path(self.fail_at).read_text())


def ordered_sink(aws: dict[str, object], stream: str, key: int, record: int) -> KinesisStreamsSink:
    """The ordered sink writing field ``record`` of each Row under the key in field ``key``."""
    return (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws)
        .set_serialization_schema(RowFieldSerializationSchema(record))
        .set_partition_key_generator(PartitionKeyGenerator.from_field(key))
        .set_stream_name(stream)
        .set_max_time_in_buffer_ms(100)
        .set_keep_key_order()
        .build()
    )


@dataclass
class Pipelines:
    """Where each path writes, and the files that make the Python paths fail once."""

    outputs: dict[str, str]
    fail_at: dict[str, Path]
    failed: dict[str, Path]


def start_job(
    env: StreamExecutionEnvironment,
    read_aws: dict[str, object],
    write_aws: dict[str, object],
    stream: str,
    make_stream: StreamFactory,
    tmp_path: Path,
) -> tuple[Job, Pipelines]:
    """Both readers from TRIM_HORIZON (shards discovered every second), each along both paths."""
    config = {**read_aws, "flink.stream.initpos": "TRIM_HORIZON",
              "flink.shard.discovery.intervalmillis": "1000"}
    rows = KinesisDeserializationSchema.with_metadata(SimpleStringSchema())
    readers: dict[str, DataStream] = {
        "consumer": env.add_source(FlinkKinesisConsumer(stream, rows, config), "consumer"),
        "source": env.from_source(
            KinesisStreamsSource.builder().set_stream_name(stream).set_source_config(config)
            .set_deserialization_schema(rows).build(),
            WatermarkStrategy.no_watermarks(), "source"),
    }
    pipelines = Pipelines({}, {}, {})
    for path in PATHS:
        reader, how = path.split()
        out = pipelines.outputs[path] = make_stream(2)
        if how == "direct":
            readers[reader].sink_to(ordered_sink(write_aws, out, PARTITION_KEY, PAYLOAD))
            continue
        fail_at = pipelines.fail_at[path] = tmp_path / f"{reader}-fail-at"
        failed = pipelines.failed[path] = tmp_path / f"{reader}-failed"
        (
            readers[reader].map(KeyedOnce(str(fail_at), str(failed)), output_type=KEYED)
            .key_by(lambda row: row[0], key_type=Types.STRING())
            .sink_to(ordered_sink(write_aws, out, 0, 1))
        )
    return start(env, "per-key order, stream to stream"), pipelines


@dataclass
class SinkFaults:
    """kinesalite behind a proxy that throttles 5% of the PutRecords requests whole and
    rejects 30% of the entries of another 30% (rejected entries are not written)."""

    proxy: FaultProxy
    rules: list[FaultRule]

    def injected(self) -> int:
        return sum(rule.injected for rule in self.rules)

    def __str__(self) -> str:
        throttled, partial = self.rules
        return (f"{throttled.injected} requests throttled, {partial.failed_entries} entries "
                f"rejected in {partial.injected} requests")


@pytest.fixture
def sink_faults(local_kinesis: LocalKinesis) -> Iterator[SinkFaults]:
    with FaultProxy(local_kinesis.endpoint, seed=26) as proxy:
        yield SinkFaults(proxy, [
            proxy.inject(throttle(), operation="PutRecords", when=Rate(0.05)),
            proxy.inject(PartialFailure(entry_rate=0.3), operation="PutRecords", when=Rate(0.3)),
        ])


def wait_until(probe: Callable[[], bool], what: str) -> None:
    """Before a job runs: poll ``probe`` until it holds."""
    deadline = time.monotonic() + TIMEOUT_S
    while not probe():
        assert time.monotonic() < deadline, f"timed out after {TIMEOUT_S:.0f}s waiting for {what}"
        time.sleep(0.1)


def written_to(producer: FlowingProducer, shards: set[str]) -> None:
    """Before a job runs: wait until the producer wrote records into each of ``shards``."""
    wait_until(lambda: shards <= set(producer.shard_of.values()), f"records in {sorted(shards)}")


def check_output(what: str, server: LocalKinesisServer, out: str, produced: list[str],
                 shard_of: dict[str, str]) -> str | None:
    """The problem with ``out`` (a record missing, a key whose first copies are out of the
    order written), or None; prints the tally either way."""
    stored: dict[str, list[int]] = defaultdict(list)
    texts = [record.text for record in server.read_all(out)]
    for text in texts:
        key, n = text.split(":")
        stored[key].append(int(n))
    late: dict[str, list[int]] = {}  # each key's records stored after a later one of theirs
    for key, numbers in stored.items():
        first = list(dict.fromkeys(numbers))
        overtaken = [n for i, n in enumerate(first) if n < max(first[: i + 1])]
        if overtaken:
            late[key] = overtaken
    lost = sorted(set(produced) - set(texts), key=produced.index)
    print(f"KEY ORDER | {what}: produced {len(produced)}, stored {len(texts)}, lost {len(lost)}, "
          f"copies {len(texts) - len(set(texts))}, keys out of order {len(late)} of "
          f"{len(stored)}, records overtaken {sum(map(len, late.values()))}")
    if lost:
        return f"{what}: {len(lost)} records lost, first {lost[:5]}"
    if late:
        return f"{what}: keys out of order: " + "; ".join(
            f"{key}:{numbers[0]} (written to {shard_of[f'{key}:{numbers[0]}']}) stored after "
            f"{key}:{max(n for n in stored[key][: stored[key].index(numbers[0])])} (written to "
            f"{shard_of[f'{key}:{max(n for n in stored[key][: stored[key].index(numbers[0])])}']})"
            f", {len(numbers)} such" for key, numbers in sorted(late.items()))
    return None


def finish(job: Job, producer: FlowingProducer, server: LocalKinesisServer,
           pipelines: Pipelines) -> list[str]:
    """Stop the producer and wait until every path stored every record; check each path."""
    produced = producer.stop()
    wanted = set(produced)

    def stored_all(out: str) -> Callable[[], bool | None]:
        return lambda: wanted <= {r.text for r in server.read_all(out)} or None

    for path, out in pipelines.outputs.items():
        job.wait_for(stored_all(out), TIMEOUT_S, f"every record on the {path} path")
    time.sleep(1.0)  # a copy still in flight lands within the sink's 100 ms buffer time
    for path, failed in pipelines.failed.items():
        assert failed.exists(), f"the {path} path never failed"
    return [problem for path, out in pipelines.outputs.items()
            if (problem := check_output(path, server, out, produced, producer.shard_of))]


@dataclass
class Run:
    """One test's run: the input (already behind), where the job writes, what it restarts at."""

    producer: FlowingProducer
    stream: str
    read_aws: dict[str, object]
    fail_at_round: int
    make_stream: StreamFactory
    output: LocalKinesis
    faults: SinkFaults
    tmp_path: Path

    def job_with_a_live_reshard(self, reshard: Callable[[], set[str]]) -> None:
        """Start the job, ``reshard`` the input while it runs (returns the new open shards),
        stop the producer once they got records, and check every path's output."""
        write_aws = {**self.read_aws, "aws.region": self.output.region,
                     "aws.endpoint": self.faults.proxy.endpoint}
        job, pipelines = start_job(checkpointed_env(self.tmp_path / "checkpoints"),
                                   self.read_aws, write_aws, self.stream, self.make_stream,
                                   self.tmp_path)
        try:
            for fail_at in pipelines.fail_at.values():
                fail_at.write_text(str(self.fail_at_round))
            job.wait_running()
            self.producer.wait_until_written_to(reshard(), job)
            time.sleep(2 * ROUND_S)
            problems = finish(job, self.producer, self.output, pipelines)
        finally:
            self.producer.halt()
            job.cancel_and_wait()
        print(f"KEY ORDER | sink faults: {self.faults}")
        assert self.faults.injected() > 0, "no sink fault was injected"
        assert problems == []


def open_shards(server: LocalKinesisServer, stream: str) -> set[str]:
    return {s["ShardId"] for s in server.list_shards(stream)
            if "EndingSequenceNumber" not in s["SequenceNumberRange"]}


@repeated
def test_split_and_merge_behind_and_live_keep_each_keys_order_to_the_output(
    run: int,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    sink_faults: SinkFaults,
    tmp_path: Path,
) -> None:
    """kinesalite: split and merge before the job (it starts behind), a split while it runs, a
    failure of the Python paths where the first children begin."""
    stream = stream_factory(2)
    quarter = HASH_SPACE // 4
    keys = keys_by_range([0, quarter, 2 * quarter, 3 * quarter, HASH_SPACE], per_range=2)
    first, second = sorted(s["ShardId"] for s in local_kinesis.list_shards(stream))
    kinesis = local_kinesis.client()

    producer = FlowingProducer(local_kinesis, stream, keys)
    producer.start()
    try:
        wait_until(lambda: len(producer.records) >= 3 * len(keys), "three rounds")
        kinesis.split_shard(StreamName=stream, ShardToSplit=first, NewStartingHashKey=str(quarter))
        local_kinesis.wait_until_active(stream)
        split_round = len(producer.records) // len(keys)
        low, high = sorted(
            (s for s in local_kinesis.list_shards(stream) if s.get("ParentShardId") == first),
            key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]))
        written_to(producer, {low["ShardId"], high["ShardId"]})
        kinesis.merge_shards(StreamName=stream, ShardToMerge=high["ShardId"],
                             AdjacentShardToMerge=second)
        local_kinesis.wait_until_active(stream)
        (merged,) = (s["ShardId"] for s in local_kinesis.list_shards(stream)
                     if s.get("AdjacentParentShardId") is not None)
        written_to(producer, {merged})

        def split_the_merged_shard() -> set[str]:
            kinesis.split_shard(StreamName=stream, ShardToSplit=merged,
                                NewStartingHashKey=str(3 * quarter))
            local_kinesis.wait_until_active(stream)
            return open_shards(local_kinesis, stream) - {low["ShardId"]}

        Run(producer, stream, aws_config, split_round + 1, stream_factory, local_kinesis,
            sink_faults, tmp_path).job_with_a_live_reshard(split_the_merged_shard)
    finally:
        producer.halt()


@repeated
def test_update_shard_count_behind_and_live_keeps_each_keys_order_to_the_output(
    run: int,
    kinesis_mock: KinesisMock,
    mock_stream_factory: StreamFactory,
    stream_factory: StreamFactory,
    local_kinesis: LocalKinesis,
    sink_faults: SinkFaults,
    tmp_path: Path,
) -> None:
    """kinesis-mock: 2 -> 4 shards before the job (it starts behind), 4 -> 2 while it runs, a
    failure of the Python paths where the first children begin. The outputs are on kinesalite,
    behind the fault proxy."""
    stream = mock_stream_factory(2)
    keys = keys_by_range([i * HASH_SPACE // 4 for i in range(4)] + [HASH_SPACE], per_range=2)
    read_aws: dict[str, object] = {
        "aws.region": kinesis_mock.region,
        "aws.endpoint": kinesis_mock.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "order-access-key",
        "aws.credentials.provider.basic.secretkey": "order-secret-key",
    }

    producer = FlowingProducer(kinesis_mock, stream, keys)
    producer.start()
    try:
        wait_until(lambda: len(producer.records) >= 3 * len(keys), "three rounds")
        kinesis_mock.update_shard_count(stream, 4)
        split_round = len(producer.records) // len(keys)
        written_to(producer, open_shards(kinesis_mock, stream))

        def merge_to_two() -> set[str]:
            kinesis_mock.update_shard_count(stream, 2)
            return open_shards(kinesis_mock, stream)

        Run(producer, stream, read_aws, split_round + 1, stream_factory, local_kinesis,
            sink_faults, tmp_path).job_with_a_live_reshard(merge_to_two)
    finally:
        producer.halt()
