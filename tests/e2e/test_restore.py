"""Exactly-once state from Python: a failure and restart, savepoints and a retained checkpoint.

Every job is Kinesis -> (a map that fails once) -> key_by -> ``CountPerKey`` -> Kinesis. The
producer writes ``<key>:<n>`` records, ``n`` counting that key's records from 0; a key always
lands in the same shard, so the job sees each key's records in order. ``CountPerKey`` keeps the
number of records of its key in ``ValueState`` and writes ``<key>:<n>|<count>|<run>|<attempt>``
for each record (``run`` names the job, ``attempt`` is the task's execution attempt).

So the output read back with boto3 proves, record by record:

* nothing lost: every produced ``<key>:<n>`` is there at least once (the sink is at-least-once);
* nothing counted twice and no gap in state: every line has ``count == n + 1``, also for the
  lines written after a restart or by a job restored from a savepoint;
* no replay into state: records the first run wrote before the checkpoint or savepoint was
  taken are never processed by the restarted attempt or the restored job.

Duplicated output lines (a record replayed after the last checkpoint) are allowed by the sink's
at-least-once promise; each test prints its numbers (produced / read / lost / duplicated).
The failure and the stop-with-savepoint runs are repeated with the FLIP-27
``KinesisStreamsSource`` in place of ``FlinkKinesisConsumer`` (ids ``-source``).
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import pytest
from pyflink.common import Configuration, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import (
    DataStream,
    KeyedProcessFunction,
    MapFunction,
    RuntimeContext,
    StreamExecutionEnvironment,
)
from pyflink.datastream.state import ValueStateDescriptor

from pyflink_kinesis import FlinkKinesisConsumer
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import (
    Job,
    checkpoint_dirs,
    flip27_source,
    start,
    string_sink,
    wait_for_new_checkpoint,
)

StreamFactory = Callable[..., str]
TIMEOUT_S = 180.0
KEYS = [f"k{k}" for k in range(8)]
PER_BATCH = 25  # records per key and batch: 200 records a batch
CHECKPOINT_MS = 500


class FailOnce(MapFunction):  # type: ignore[misc]
    """Passes records through; raises on ``trigger`` if ``marker`` does not exist yet, creating
    it first, so the failure happens exactly once across restarts."""

    def __init__(self, trigger: str, marker: str) -> None:
        self.trigger = trigger
        self.marker = marker

    def map(self, value: str) -> str:
        if value == self.trigger:
            try:
                Path(self.marker).touch(exist_ok=False)
            except FileExistsError:
                return value
            raise RuntimeError(f"injected failure at record {value}")
        return value


class CountPerKey(KeyedProcessFunction):  # type: ignore[misc]
    """Counts records per key in ValueState; writes ``<record>|<count>|<run>|<attempt>``."""

    def __init__(self, run: str) -> None:
        self.run = run

    def open(self, runtime_context: RuntimeContext) -> None:
        self.count = runtime_context.get_state(ValueStateDescriptor("count", Types.LONG()))
        self.attempt = runtime_context.get_attempt_number()

    def process_element(self, value: str, ctx: KeyedProcessFunction.Context) -> Iterable[str]:
        count = (self.count.value() or 0) + 1
        self.count.update(count)
        yield f"{value}|{count}|{self.run}|{self.attempt}"


@dataclass(frozen=True)
class Line:
    """One output line: the record ``<key>:<n>``, its count, and who counted it."""

    record: str
    n: int
    count: int
    run: str
    attempt: int


def parse(text: str) -> Line:
    record, count, run, attempt = text.split("|")
    return Line(record, int(record.split(":")[1]), int(count), run, int(attempt))


class Producer:
    """Writes batches of ``<key>:<n>`` records, each key's in order, and remembers them."""

    def __init__(self, kinesis: LocalKinesis, stream: str) -> None:
        self.kinesis = kinesis
        self.stream = stream
        self.records: list[str] = []
        self.batches = 0

    def batch(self) -> list[str]:
        first = self.batches * PER_BATCH
        texts = [f"{k}:{n}" for n in range(first, first + PER_BATCH) for k in KEYS]
        self.kinesis.put_records(self.stream, texts, [t.split(":")[0] for t in texts])
        self.batches += 1
        self.records += texts
        return texts


def checkpointed_env(checkpoints: Path, **settings: str) -> StreamExecutionEnvironment:
    """A parallelism-2 environment checkpointing every 500 ms into ``checkpoints``."""
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("execution.checkpointing.dir", checkpoints.as_uri())
    for key, value in settings.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(2)
    env.enable_checkpointing(CHECKPOINT_MS)
    return env


Reader = Callable[[StreamExecutionEnvironment, dict[str, object], str], DataStream]


def legacy_consumer(
    env: StreamExecutionEnvironment, aws_config: dict[str, object], source: str
) -> DataStream:
    """``source`` read from TRIM_HORIZON by ``FlinkKinesisConsumer``."""
    config = {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    return env.add_source(FlinkKinesisConsumer(source, SimpleStringSchema(), config), "kinesis")


def flip27_reader(
    env: StreamExecutionEnvironment, aws_config: dict[str, object], source: str
) -> DataStream:
    """``source`` read from TRIM_HORIZON by the FLIP-27 ``KinesisStreamsSource``."""
    built = flip27_source(aws_config, source)
    return env.from_source(built, WatermarkStrategy.no_watermarks(), "kinesis")


def counting_job(
    env: StreamExecutionEnvironment,
    aws_config: dict[str, object],
    source: str,
    out: str,
    run: str,
    fail_once: FailOnce | None = None,
    reader: Reader = legacy_consumer,
) -> Job:
    """Start source -> [fail_once] -> key_by -> CountPerKey -> sink, with fixed operator uids
    so a later job can restore this one's state."""
    records = reader(env, aws_config, source).uid("kinesis-source")
    if fail_once is not None:
        records = records.map(fail_once, output_type=Types.STRING()).uid("fail-once")
    (
        records.key_by(lambda r: r.split(":")[0], key_type=Types.STRING())
        .process(CountPerKey(run), output_type=Types.STRING())
        .uid("count-per-key")
        .sink_to(string_sink(aws_config, out))
        .uid("kinesis-sink")
    )
    return start(env, run)


def output(kinesis: LocalKinesis, out: str) -> list[Line]:
    return [parse(r.text) for r in kinesis.read_all(out)]


def wait_for_records(
    job: Job, kinesis: LocalKinesis, out: str, records: Iterable[str], what: str
) -> list[Line]:
    """Wait until every one of ``records`` is in ``out``; return all output lines."""
    wanted = set(records)

    def arrived() -> list[Line] | None:
        lines = output(kinesis, out)
        return lines if wanted <= {line.record for line in lines} else None

    return job.wait_for(arrived, TIMEOUT_S, what)


def settle() -> None:
    """Give a late duplicate time to arrive (the sink flushes every 100 ms)."""
    time.sleep(2.0)


@dataclass(frozen=True)
class Tally:
    """A test's numbers for the reliability table (records; duplicated = extra output lines)."""

    produced: int
    read: int
    lost: int
    duplicated: int

    def __str__(self) -> str:
        return (f"produced {self.produced}, read {self.read}, lost {self.lost}, "
                f"duplicated {self.duplicated}")


def assert_exactly_once_state(lines: list[Line], produced: list[str]) -> Tally:
    """Every produced record is in the output, and every line's count is its record's position
    in its key (``n + 1``): no record counted twice or lost from state, across runs and
    restarts. Returns the numbers."""
    seen = Counter(line.record for line in lines)
    assert set(seen) == set(produced), sorted(set(produced) ^ set(seen))[:10]
    wrong = [line for line in lines if line.count != line.n + 1]
    assert wrong == [], wrong[:10]
    return Tally(len(produced), len(lines), len(set(produced) - set(seen)),
                 sum(c - 1 for c in seen.values()))


@pytest.mark.parametrize("reader", [legacy_consumer, flip27_reader], ids=["consumer", "source"])
def test_failure_after_a_checkpoint_restarts_with_exactly_once_state(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    tmp_path: Path,
    reader: Reader,
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    producer = Producer(local_kinesis, source)
    checkpoints, marker = tmp_path / "checkpoints", tmp_path / "failed-once"
    env = checkpointed_env(
        checkpoints,
        **{
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": "3",
            "restart-strategy.fixed-delay.delay": "1 s",
        },
    )
    first = producer.batch()
    trigger = f"{KEYS[3]}:{PER_BATCH + 5}"  # in the second batch
    job = counting_job(
        env, aws_config, source, out, "run", FailOnce(trigger, str(marker)), reader
    )
    try:
        wait_for_records(job, local_kinesis, out, first, "the first batch")
        wait_for_new_checkpoint(job, checkpoints)
        second = producer.batch()
        wait_for_records(job, local_kinesis, out, second, "the second batch")
        settle()
        lines = output(local_kinesis, out)
    finally:
        job.cancel()

    assert marker.exists()  # the failure was injected
    attempts = Counter(line.attempt for line in lines)
    assert set(attempts) == {0, 1}, attempts  # one restart, and records were counted after it
    replayed_first = [line for line in lines if line.attempt == 1 and line.record in set(first)]
    assert replayed_first == []  # restored from the checkpoint, not from the stream's start
    tally = assert_exactly_once_state(lines, producer.records)
    print(f"failure + restart ({reader.__name__}): {tally}; lines per attempt {dict(attempts)}")


@dataclass(frozen=True)
class FirstRun:
    """The first job of a restore test and where it keeps checkpoints and savepoints."""

    job: Job
    producer: Producer
    out: str
    checkpoints: Path
    savepoints: Path


def stop_with_savepoint(first: FirstRun) -> tuple[str, list[str]]:
    """Stop with a savepoint; returns its path and the records written after it (none)."""
    return first.job.client.stop_with_savepoint(False, first.savepoints.as_uri()).result(), []


def savepoint_then_cancel(first: FirstRun) -> tuple[str, list[str]]:
    """Trigger a savepoint, let the job count one more batch, then cancel. That batch is
    after the savepoint, so the restored job reads and counts it again from the savepoint's
    state: the same counts, written twice."""
    path = first.job.client.trigger_savepoint(first.savepoints.as_uri()).result()
    after = first.producer.batch()
    wait_for_records(first.job, first.producer.kinesis, first.out, after, "the batch after it")
    first.job.cancel_and_wait()
    return path, after


def cancel_keeping_the_checkpoint(first: FirstRun) -> tuple[str, list[str]]:
    """Cancel once a checkpoint covers what was read; restore from the newest retained one."""
    wait_for_new_checkpoint(first.job, first.checkpoints)
    first.job.cancel_and_wait()
    done = [n for n, p in checkpoint_dirs(first.checkpoints).items() if (p / "_metadata").exists()]
    return checkpoint_dirs(first.checkpoints)[max(done)].as_uri(), []


@pytest.mark.parametrize(
    ("end_first_run", "settings", "reader"),
    [
        (stop_with_savepoint, {}, legacy_consumer),
        (savepoint_then_cancel, {}, legacy_consumer),
        (
            cancel_keeping_the_checkpoint,
            {"execution.checkpointing.externalized-checkpoint-retention":
             "RETAIN_ON_CANCELLATION"},
            legacy_consumer,
        ),
        (stop_with_savepoint, {}, flip27_reader),
    ],
    ids=["stop-with-savepoint", "trigger-savepoint-then-cancel", "cancel-retained-checkpoint",
         "stop-with-savepoint-source"],
)
def test_a_job_restored_from_a_savepoint_continues_where_the_first_stopped(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    tmp_path: Path,
    end_first_run: Callable[[FirstRun], tuple[str, list[str]]],
    settings: dict[str, str],
    reader: Reader,
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    producer = Producer(local_kinesis, source)
    checkpoints, savepoints = tmp_path / "checkpoints", tmp_path / "savepoints"

    before = producer.batch()
    env = checkpointed_env(checkpoints, **settings)
    job = counting_job(env, aws_config, source, out, "first", reader=reader)
    try:
        wait_for_records(job, local_kinesis, out, before, "the first batch")
        path, after_savepoint = end_first_run(
            FirstRun(job, producer, out, checkpoints, savepoints)
        )
    finally:
        job.cancel()
    while_stopped = producer.batch()  # must be read by the restored job: no gap

    env = checkpointed_env(checkpoints, **settings, **{"execution.state-recovery.path": path})
    job = counting_job(env, aws_config, source, out, "restored", reader=reader)
    try:
        wait_for_records(job, local_kinesis, out, while_stopped, "the batch written while stopped")
        while_restored = producer.batch()
        wait_for_records(job, local_kinesis, out, while_restored, "the batch after restoring")
        settle()
        lines = output(local_kinesis, out)
    finally:
        job.cancel()

    runs = Counter(line.run for line in lines)
    assert set(runs) == {"first", "restored"}, runs
    replayed = [line for line in lines if line.run == "restored" and line.record in set(before)]
    assert replayed == []  # no record counted before the savepoint is counted again
    recounted = {line.record for line in lines if line.run == "restored"} & set(after_savepoint)
    assert recounted == set(after_savepoint)  # read again from the savepoint's position
    tally = assert_exactly_once_state(lines, producer.records)
    print(f"{end_first_run.__name__} ({reader.__name__}) from {path}: {tally}; "
          f"lines per run {dict(runs)}")
