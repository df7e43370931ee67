"""Exactly once from Kinesis to Kinesis across a failure at each phase of a commit, and across
stop-with-savepoint and a restore at another parallelism, in real jobs on kinesalite.

Each case runs a **producer** job: a ``KinesisStreamsSource`` reads the case's input stream, a
Python map passes the JSON records on (and in some cases fails once), and
``KinesisStreamsSink`` with ``set_delivery_guarantee('exactly-once')`` writes them into the
case's middle stream (through a ``FaultProxy`` in the cases that fail a commit).
Checkpoints every 2 s and fixed-delay restarts: a failure restores the last completed
checkpoint. One **consumer** job for the whole module reads every case's middle stream with
``source.deduplication`` and copies what it emits into the case's out stream (the connector's
at-least-once sink; the consumer never fails, so it adds no copies of its own).

Each case asserts that

- the consumer emitted every input record exactly once (the out stream's Counter equals the
  input's), and its ``duplicatesDropped`` counter equals the copies in the middle stream;
- ``aws-kinesis-agg`` (what any KPL-aware reader sees) reads every input record from the middle
  stream at least once, with the payload and partition key written;
- all copies of a record carry one id (the KPL ``pfk-id`` tags): a copy with a new id is one
  no reader can drop;
- the injected failure happened, and where the case must leave copies, the middle stream holds
  them (else the case proves nothing about de-duplication).

Run with ``-s`` to see one ``EO-FAILURES |`` line per case.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from aws_kinesis_agg import (
    deaggregator,  # noqa: F401  (puts messages_pb2's imports on the path)
    messages_pb2,
)
from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import MapFunction, StreamExecutionEnvironment

from pyflink_kinesis import KinesisStreamsSource
from pyflink_kinesis.testing import FaultProxy, LocalKinesis
from pyflink_kinesis.testing.fault_proxy import (
    ErrorResponse,
    Every,
    Fault,
    FaultRule,
    Forward,
    _Request,
    _Response,
)
from tests.e2e.jobs import Job, exactly_once_sink, flip27_source, metrics_env, start, string_sink
from tests.e2e.test_aggregation import user_records
from tests.e2e.test_deduplication import duplicates_dropped
from tests.e2e.test_exactly_once import tagged
from tests.support import stopping
from tests.support.flink_cluster import free_port
from tests.support.kinesis_fixtures import client_config

StreamFactory = Callable[..., str]
TIMEOUT_S = 90.0
CHECKPOINT_MS = 2000
BATCH = 200
CASES = ("before-checkpoint", "before-commit", "mid-commit", "during-re-commit", "after-commit",
         "savepoint")


def batch(name: str, count: int = BATCH) -> list[str]:
    """JSON records ``{"key", "batch", "n"}``, each text unique, keys spread over the shards."""
    return [json.dumps({"key": f"k{n % 23}", "batch": name, "n": n}) for n in range(count)]


def put(kinesis: LocalKinesis, stream: str, texts: list[str]) -> None:
    kinesis.put_records(stream, texts, [json.loads(text)["key"] for text in texts])


class FailOnce(MapFunction):  # type: ignore[misc]
    """Passes records on; raises at the ``nth`` record of ``batch`` a subtask sees (counted from
    its start or restore) if ``marker`` does not exist yet, creating it first: the failure
    happens once across restarts."""

    def __init__(self, marker: Path, batch: str, nth: int) -> None:
        self.marker = str(marker)
        self.batch = batch
        self.nth = nth

    def open(self, runtime_context: object) -> None:
        self.seen = 0

    def map(self, value: str) -> str:
        if json.loads(value)["batch"] == self.batch:
            self.seen += 1
            if self.seen == self.nth:
                try:
                    Path(self.marker).touch(exist_ok=False)
                except FileExistsError:  # failed before, or another subtask got there first
                    return value
                raise RuntimeError(f"injected failure at record {value}")
        return value


class Seen(MapFunction):  # type: ignore[misc]
    """Passes records on, touching ``<directory>/<batch>-<n>`` for each: the test knows a record
    went through the map (and so reaches the sink before the next checkpoint barrier)."""

    def __init__(self, directory: Path) -> None:
        self.directory = str(directory)

    def map(self, value: str) -> str:
        record = json.loads(value)
        Path(self.directory, f"{record['batch']}-{record['n']}").touch()
        return value


def aggregate_ids(data: bytes) -> list[str]:
    """The ``pfk-id`` tag of each user record in a KPL aggregate, in order."""
    aggregate = messages_pb2.AggregatedRecord.FromString(data[4:-16])
    return [user.tags[0].value for user in aggregate.records]


class FailACommit(Fault):
    """Fails a commit of one writer ``times`` times: the writer of the first PutRecords the sink
    sends. The committer sends each aggregate in a request of its own, one after the other per
    shard and the shards side by side (see ``KinesisCommitter``).

    ``land_some=False``: every request of the writer is answered ``ResourceNotFoundException``, an
    error the committer does not retry, so nothing of its first commit lands and the job fails.
    ``land_some=True``: the requests for the shard the writer wrote to first (the lead) land,
    those for its other shards fail that way. A writer's first commit can hold records for the
    lead shard only (a checkpoint right after its first record): it lands whole, and the writer's
    next commit is the one that fails. Every other writer's requests pass.

    An attempt ends at the first request after its failure that repeats an id it sent: the
    restore commits the restored committable again, from each shard's first aggregate, so from
    then on the writer's ids are those of the failed commit. After ``times`` attempts the
    requests pass, and ``committed`` is set. ``failed`` lists the ids that failed; ``landed``
    those of the failed commit that landed in a failed attempt (lead-shard ids below the lowest
    id the re-commit sends are an earlier commit's, which succeeded)."""

    def __init__(self, land_some: bool, times: int) -> None:
        self.land_some = land_some
        self.times = times
        self.writer: str | None = None
        self.lead: str | None = None
        self.attempt = 1
        self.sent_in_attempt: set[str] = set()
        self.landed_in_attempts: list[str] = []
        self.failed: list[str] = []
        self.failures = 0
        self.lowest_again: int | None = None
        self.committed = False
        self._lock = threading.Lock()

    @property
    def landed(self) -> list[str]:
        """The ids of the failed commit that landed in its failed attempts, once per landing."""
        lowest = self.lowest_again
        return [record_id for record_id in self.landed_in_attempts
                if lowest is None or sequence(record_id) >= lowest]

    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        entries = json.loads(request.body)["Records"]
        assert len(entries) == 1, "the committer sends one aggregate per request"
        ids = aggregate_ids(base64.b64decode(entries[0]["Data"]))
        shard = entries[0]["ExplicitHashKey"]
        writer = ids[0].split(":")[0]
        with self._lock:
            if self.writer is None:
                self.writer, self.lead = writer, shard
            if writer != self.writer:
                action = "pass"
            else:
                if self.failures == self.attempt and not self.sent_in_attempt.isdisjoint(ids):
                    self.attempt += 1
                    self.sent_in_attempt = set()
                self.sent_in_attempt.update(ids)
                if self.attempt > 1:
                    lowest = min(sequence(record_id) for record_id in ids)
                    if self.lowest_again is None or lowest < self.lowest_again:
                        self.lowest_again = lowest
                if self.attempt > self.times:
                    action = "commit"
                elif self.land_some and shard == self.lead:
                    action = "land"
                    self.landed_in_attempts += ids
                else:
                    action = "fail"
                    self.failed += ids
                    self.failures = self.attempt
        if action == "fail":
            return ErrorResponse(400, "ResourceNotFoundException",
                                 "Stream not found (injected by FaultProxy).").apply(
                request, forward, rule)
        response = forward(request)
        if action == "commit":
            self.committed = True
        return response


def sequence(record_id: str) -> int:
    """The writer's sequence number in a record id ``<writer>:<sequence>``."""
    return int(record_id.rsplit(":", 1)[1])


@dataclass
class Consumer:
    """The consumer job: a de-duplicating source per case's middle stream, each copied into the
    case's out stream; its REST API (``port``) serves the ``duplicatesDropped`` counters."""

    kinesis: LocalKinesis
    job: Job
    port: int
    middle: dict[str, str]
    out: dict[str, str]

    def emitted(self, case: str, user_records: int) -> tuple[Counter[str], int]:
        """What the consumer emitted from ``case``'s middle stream, and the duplicates it
        dropped, once it has read all ``user_records`` there (emitted + dropped)."""
        job_id = str(self.job.client.get_job_id())

        def read() -> tuple[Counter[str], int] | None:
            texts = Counter(record.text for record in self.kinesis.read_all(self.out[case]))
            dropped = duplicates_dropped(self.port, job_id, case) or 0
            return (texts, dropped) if texts.total() + dropped >= user_records else None

        return self.job.wait_for(read, TIMEOUT_S, f"the consumer to read {case}")


@pytest.fixture(scope="module")
def consumer(local_kinesis: LocalKinesis) -> Iterator[Consumer]:
    """The consumer job, reading every case's middle stream from TRIM_HORIZON."""
    config = client_config(local_kinesis)
    middle = {case: f"eo-{case}-middle-{uuid.uuid4().hex[:8]}" for case in CASES}
    out = {case: f"eo-{case}-out-{uuid.uuid4().hex[:8]}" for case in CASES}
    for case in CASES:
        local_kinesis.create_stream(middle[case], 3)
        local_kinesis.create_stream(out[case], 1)
    port = free_port()
    env = metrics_env(port, 2)
    for case in CASES:
        source = (
            KinesisStreamsSource.builder()
            .set_stream_name(middle[case])
            .set_source_config({**config, "source.init.position": "TRIM_HORIZON",
                                "source.deduplication": True})
            .set_deserialization_schema(SimpleStringSchema())
            .build()
        )
        (
            env.from_source(source, WatermarkStrategy.no_watermarks(), case)
            .sink_to(string_sink(config, out[case]))
        )
    job = start(env, "de-duplicating consumer")
    try:
        yield Consumer(local_kinesis, job, port, middle, out)
    finally:
        job.cancel()

        def delete() -> None:
            if local_kinesis.is_running:
                for stream in [*middle.values(), *out.values()]:
                    local_kinesis.delete_stream(stream)

        stopping.when_jobs_stopped(delete)


def producer_env(
    checkpoints: Path, parallelism: int, **settings: str
) -> StreamExecutionEnvironment:
    """Checkpoints every ``CHECKPOINT_MS`` into ``checkpoints``; a failure restarts the job
    from the last completed checkpoint (fixed delay, at most 3 times)."""
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("execution.checkpointing.dir", checkpoints.as_uri())
    config.set_string("restart-strategy.type", "fixed-delay")
    config.set_string("restart-strategy.fixed-delay.attempts", "3")
    config.set_string("restart-strategy.fixed-delay.delay", "200 ms")
    for key, value in settings.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    env.enable_checkpointing(CHECKPOINT_MS)
    return env


def start_producer(
    env: StreamExecutionEnvironment,
    aws_config: dict[str, object],
    source: str,
    sink_endpoint: str,
    middle: str,
    map_function: MapFunction | Callable[[str], str],
) -> Job:
    """Start input -> ``map_function`` -> exactly-once sink to ``middle`` (via
    ``sink_endpoint``), with fixed uids so a later job can restore this one's state."""
    sink = exactly_once_sink({**aws_config, "aws.endpoint": sink_endpoint}, middle)
    (
        env.from_source(flip27_source(aws_config, source), WatermarkStrategy.no_watermarks(),
                        "input").uid("input")
        .map(map_function, output_type=Types.STRING()).uid("map")
        .sink_to(sink).uid("middle")
    )
    return start(env, "exactly-once producer")


@dataclass(frozen=True)
class Middle:
    """What a KPL-aware reader finds in a middle stream: user records, and the ids by text."""

    user_records: int
    ids: dict[str, list[str]]

    @property
    def copies(self) -> int:
        return self.user_records - len(self.ids)


def holds_all(kinesis: LocalKinesis, middle: str, texts: list[str]) -> Middle | None:
    """The middle stream once it holds each of ``texts`` at least once."""
    written = kinesis.read_all(middle)
    agg = user_records(written)
    if not set(texts) <= {s.text for s in agg}:
        return None
    assert {s.text for s in agg} == set(texts), "records the job was never given"
    assert all(json.loads(s.text)["key"] == s.partition_key for s in agg)
    ids: dict[str, list[str]] = defaultdict(list)
    for _, _, text, writer, sequence in tagged(written):
        ids[text].append(f"{writer}:{sequence}")
    return Middle(len(agg), dict(ids))


def verify(case: str, consumer: Consumer, middle: Middle, texts: list[str],
           started: float) -> None:
    """The consumer emitted each record once and dropped every copy; each copy in the middle
    stream has its record's one id. Prints the case's numbers."""
    emitted, dropped = consumer.emitted(case, middle.user_records)
    lost = (Counter(texts) - emitted).total()
    extra = (emitted - Counter(texts)).total()
    print(f"\nEO-FAILURES | {case}: {len(texts)} records; middle stream {middle.user_records} "
          f"({middle.copies} copies); consumer dropped {dropped}, lost {lost}, copies {extra}; "
          f"{time.monotonic() - started:.0f} s")
    assert (lost, extra) == (0, 0), "the consumer did not emit each record once"
    assert emitted == Counter(texts)
    new_ids = {text: sorted(set(ids)) for text, ids in middle.ids.items() if len(set(ids)) > 1}
    assert new_ids == {}, f"copies with another id, which no reader can drop: {new_ids}"
    assert dropped == middle.copies


def wait_until_written(job: Job, kinesis: LocalKinesis, middle: str, texts: list[str]) -> None:
    job.wait_for(lambda: holds_all(kinesis, middle, texts), TIMEOUT_S, "every record")


def final(kinesis: LocalKinesis, middle: str, texts: list[str]) -> Middle:
    """The middle stream once the producer has stopped: nothing is committed after that."""
    found = holds_all(kinesis, middle, texts)
    assert found is not None
    return found


def test_a_failure_before_the_checkpoint_never_writes_what_the_writer_held(
    consumer: Consumer, local_kinesis: LocalKinesis, stream_factory: StreamFactory,
    aws_config: dict[str, object], tmp_path: Path,
) -> None:
    """The map raises at the 60th record a subtask sees: that record and those after it are in
    no checkpoint, and the ones before it since the last checkpoint wait in the sink writer's
    buffer. The restart reads them again from the last checkpoint's positions; a new writer
    gives them new ids. The failed writer's buffer was never written, so no record has copies
    with two ids (``verify``). Copies with one id come only from a checkpoint that completed
    between the put and the failure: the restore commits its committable again, as after a
    commit."""
    case, started = "before-checkpoint", time.monotonic()
    source, texts, marker = stream_factory(2), batch("A"), tmp_path / "failed"
    env = producer_env(tmp_path / "checkpoints", 2)
    job = start_producer(env, aws_config, source, local_kinesis.endpoint,
                         consumer.middle[case], FailOnce(marker, "A", 60))
    try:
        put(local_kinesis, source, texts)
        wait_until_written(job, local_kinesis, consumer.middle[case], texts)
    finally:
        job.cancel_and_wait()
    middle = final(local_kinesis, consumer.middle[case], texts)
    verify(case, consumer, middle, texts, started)
    assert marker.exists(), "the map never failed"


@pytest.mark.parametrize(
    ("case", "land_some", "times"),
    [("before-commit", False, 1), ("mid-commit", True, 1), ("during-re-commit", True, 2)],
    ids=["before-commit", "mid-commit", "during-re-commit"])
def test_a_failed_commit_is_written_again_with_the_same_ids(
    consumer: Consumer, local_kinesis: LocalKinesis, stream_factory: StreamFactory,
    aws_config: dict[str, object], tmp_path: Path, case: str, land_some: bool, times: int,
) -> None:
    """The checkpoint completed; its commit fails the job, before anything of it landed
    (``before-commit``) or after one shard's aggregates landed (``mid-commit``;
    ``during-re-commit``: and the commit after the restore fails the same way):
    see ``FailACommit``. The restore commits the restored committable again, with the same ids:
    whatever had landed is in the middle stream once more, and dropped by the consumer."""
    started = time.monotonic()
    source, texts = stream_factory(2), batch("A")
    fault = FailACommit(land_some=land_some, times=times)
    with FaultProxy(local_kinesis.endpoint, seed=28) as proxy:
        proxy.inject(fault, operation="PutRecords", when=Every(1))
        env = producer_env(tmp_path / "checkpoints", 2)
        job = start_producer(env, aws_config, source, proxy.endpoint, consumer.middle[case],
                             lambda value: value)
        try:
            put(local_kinesis, source, texts)
            job.wait_for(lambda: fault.committed or None, TIMEOUT_S, "the last re-commit")
            wait_until_written(job, local_kinesis, consumer.middle[case], texts)
        finally:
            job.cancel_and_wait()
    middle = final(local_kinesis, consumer.middle[case], texts)
    verify(case, consumer, middle, texts, started)
    assert fault.failures == times
    assert bool(fault.landed) == land_some, "what landed of the failed commits"
    # Each id of the failed commit: once for every time it landed before, and once more.
    written = Counter(record_id for ids in middle.ids.values() for record_id in ids)
    assert {record_id: written[record_id] for record_id in fault.failed + fault.landed} == {
        record_id: 1 + fault.landed.count(record_id)
        for record_id in fault.failed + fault.landed}
    assert middle.copies == len(fault.landed)


def test_a_failure_after_the_commit_restores_the_committed_records_once(
    consumer: Consumer, local_kinesis: LocalKinesis, stream_factory: StreamFactory,
    aws_config: dict[str, object], tmp_path: Path,
) -> None:
    """Batch A is committed and visible in the middle stream; then the map raises at the first
    record of batch B. B's records after the last checkpoint are read again and get *new* ids
    from a new writer: this cannot make copies, since no writer committed them before (B's
    records, buffered by the failed writer, were in no completed checkpoint). When the last
    completed checkpoint is the one whose commit wrote A, Flink commits its committable again
    (it cannot know the commit was done): copies of A, with A's ids, which the consumer drops."""
    case, started = "after-commit", time.monotonic()
    source, marker = stream_factory(2), tmp_path / "failed"
    first, second = batch("A"), batch("B")
    env = producer_env(tmp_path / "checkpoints", 2)
    job = start_producer(env, aws_config, source, local_kinesis.endpoint,
                         consumer.middle[case], FailOnce(marker, "B", 1))
    try:
        put(local_kinesis, source, first)
        job.wait_for(lambda: holds_all(local_kinesis, consumer.middle[case], first), TIMEOUT_S,
                     "batch A committed")
        put(local_kinesis, source, second)
        wait_until_written(job, local_kinesis, consumer.middle[case], first + second)
    finally:
        job.cancel_and_wait()
    middle = final(local_kinesis, consumer.middle[case], first + second)
    verify(case, consumer, middle, first + second, started)
    assert marker.exists(), "the map never failed"


def test_stop_with_savepoint_and_restore_at_another_parallelism(
    consumer: Consumer, local_kinesis: LocalKinesis, stream_factory: StreamFactory,
    aws_config: dict[str, object], tmp_path: Path,
) -> None:
    """A first job at parallelism 2 takes no checkpoint before its savepoint: batch A goes
    through its map, so A is in the sink writers' buffers when the savepoint is taken, and the
    savepoint holds all of A as committables, which the stop commits. Batch B is put while the
    job is stopped. Restored at parallelism 3, the committers commit the savepoint's
    committables again with the first writers' ids (the restore cannot know the stop committed
    them): each record of A lands twice, and the consumer drops the copies. New writers write B
    and batch C, put after the restore."""
    case, started = "savepoint", time.monotonic()
    source, seen = stream_factory(2), tmp_path / "seen"
    seen.mkdir()
    checkpoints, savepoints = tmp_path / "checkpoints", tmp_path / "savepoints"
    first, second, third = batch("A"), batch("B"), batch("C")
    middle_stream = consumer.middle[case]
    env = producer_env(checkpoints, 2)
    env.enable_checkpointing(3_600_000)  # no checkpoint but the savepoint
    job = start_producer(env, aws_config, source, local_kinesis.endpoint, middle_stream,
                         Seen(seen))
    try:
        put(local_kinesis, source, first)
        job.wait_for(lambda: all((seen / f"A-{n}").exists() for n in range(BATCH)) or None,
                     TIMEOUT_S, "batch A through the map")
        path = job.client.stop_with_savepoint(False, savepoints.as_uri()).result()
    finally:
        job.cancel()
    put(local_kinesis, source, second)
    env = producer_env(checkpoints, 3, **{"execution.state-recovery.path": path})
    job = start_producer(env, aws_config, source, local_kinesis.endpoint, middle_stream,
                         Seen(seen))
    texts = first + second + third
    try:
        job.wait_for(lambda: holds_all(local_kinesis, middle_stream, first + second),
                     TIMEOUT_S, "batches A and B")
        put(local_kinesis, source, third)
        wait_until_written(job, local_kinesis, middle_stream, texts)
    finally:
        job.cancel_and_wait()
    middle = final(local_kinesis, middle_stream, texts)
    verify(case, consumer, middle, texts, started)

    def writers(texts: list[str]) -> set[str]:
        return {record_id.split(":")[0] for text in texts for record_id in middle.ids[text]}

    # A by the first job's two writers, twice; B and C by new ones (one source subtask of three
    # idles on the two input shards): no writer id is used again.
    assert all(len(middle.ids[text]) == 2 for text in first)
    assert middle.copies == len(first)
    assert len(writers(first)) == 2
    assert writers(second + third).isdisjoint(writers(first))
