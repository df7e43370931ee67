"""Resharding while a job reads and records keep flowing: SplitShard and MergeShards on
kinesalite, UpdateShardCount on kinesis-mock.

A producer thread writes one ``<key>:<n>`` record per key every 200 ms (``n`` counts that key's
records from 0), one PutRecords call per round and no key twice in a call, so each key's records
are in the stream in order even when the call is retried. It keeps writing through every reshard.
The jobs key the records by partition key into ``ArrivalOrder``, which appends how many records
of the key it saw before (``<key>:<n>|<i>``). Read back with boto3, the output shows whether
anything was lost or duplicated, and, sorting each key's lines by ``i``, whether the job saw each
key's records in the order they were written, across parent and child shards (the tests of
``test_shard_assignment.py`` and ``test_efo.py`` reshard between batches; these do it under load).

Under load, the polling consumer (for UpdateShardCount also with enhanced fan-out) and our FLIP-27
``KinesisStreamsSource`` read side by side in one job, and the job is behind when the shards
change: the producer starts before the job and the first reshard happens before it starts, so
the job begins at TRIM_HORIZON over closed parents that still hold records, and the consumer
reads slowly enough (``flink.shard.getrecords.maxrecordcount``) to be behind at the next
reshard. Parallelism 2, a Python map before ``key_by``, and a checkpoint every 2 s with Python
bundles that only a checkpoint ends: both readers hand out a child shard read on another subtask
than its parents only after a checkpoint taken once the parents were read to their end, and
until then the parents' last records can wait in a bundle.

Asserted: nothing lost or duplicated, and each key's records in the order written, within a
shard and across parents and children, end to end, for both readers.

More tests: for the consumer, a failure at a child's first record after a split; for the
source, a stream split and merged before the job, read from TRIM_HORIZON, AT_TIMESTAMP and
LATEST (closed parents still holding records), and a failure and a stop-with-savepoint/restore
in the middle of a split and a merge, with records flowing. ``RESHARD_REPEAT=5`` runs each test
of this module 5 times in a row (by hand; CI runs each once).

On kinesis-mock, connector 4.3.0's own FLIP-27 split reader fails the job once it reads a closed
shard whose last records are still unread (``CLOSED_SHARD_FAILS_SOURCE``, fixed upstream by
FLINK-36427 in 5.0.0); our source reads shards with ``PausableShardSplitReader``, which drops a
finished shard. The last test shows it on a stream resharded before the job.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Callable, Iterable, Sequence, TypeVar

import botocore.exceptions
import pytest
from pyflink.common import Configuration, JobStatus, Types, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, MapFunction, StreamExecutionEnvironment

from pyflink_kinesis import FlinkKinesisConsumer, KinesisStreamsSource
from pyflink_kinesis.testing import KinesisMock, LocalKinesis, LocalKinesisServer
from tests.e2e.jobs import ArrivalOrder, Job, flip27_source, start, string_sink
from tests.e2e.test_restore import checkpointed_env

T = TypeVar("T")
StreamFactory = Callable[..., str]
TIMEOUT_S = 180.0
ROUND_S = 0.2
HASH_SPACE = 2**128
CHECKPOINT_MS = 500
#: The checkpoint interval of the jobs under load; Python bundles end only at checkpoints there.
UNDER_LOAD_CHECKPOINT_MS = 2000
#: Rounds the producer writes before the first reshard, and again before the job starts.
ROUNDS_AHEAD = 10
#: The consumer reads at most this many records per GetRecords call (one call per 200 ms and
#: shard) under load, so it is still behind when the stream is resharded while it runs.
RECORDS_PER_CALL = "25"
#: ``RESHARD_REPEAT=5 pytest tests/e2e/test_resharding.py -k ...`` runs each test 5 times.
REPEAT = int(os.environ.get("RESHARD_REPEAT", "1"))
repeated = pytest.mark.parametrize("run", range(1, REPEAT + 1), ids=lambda run: f"run{run}")
# Why connector 4.3.0's KinesisStreamsSource fails on kinesis-mock (checked against the connector's
# v4.3.0 sources): kinesis-mock answers the GetRecords call that reaches a closed shard's end with
# the last records AND no NextShardIterator (the API allows it; kinesalite sends the last records
# with an iterator, then an empty answer without one). PollingKinesisShardSplitReader.fetch
# reports the split finished yet puts it back in its queue, and KinesisStreamProxy keeps the old
# iterator when the answer has none, so the next fetch returns the same records for a split the
# reader has dropped. Fixed in connector 5.0.0 (FLINK-36427: a finished split is not queued again).
CLOSED_SHARD_FAILS_SOURCE = "Have records for a split that was not registered"


def wait_for(probe: Callable[[], T | None], what: str, job: Job | None = None) -> T:
    """``job.wait_for`` (failing fast if the job dies), or a plain wait while no job runs."""
    if job is not None:
        return job.wait_for(probe, TIMEOUT_S, what)
    deadline = time.monotonic() + TIMEOUT_S
    while not (value := probe()):
        assert time.monotonic() < deadline, f"timed out after {TIMEOUT_S:.0f}s waiting for {what}"
        time.sleep(0.1)
    return value


class FlowingProducer(threading.Thread):
    """Writes ``<key>:<n>`` for every key, one PutRecords call every ``ROUND_S``, until
    ``stop()``; remembers every record and the shard it landed in."""

    def __init__(self, server: LocalKinesisServer, stream: str, keys: Sequence[str]) -> None:
        super().__init__(name=f"producer {stream}", daemon=True)
        self.server = server
        self.stream = stream
        self.keys = list(keys)
        self.retried_calls = 0
        self._shard_of: dict[str, str] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._error: BaseException | None = None

    def run(self) -> None:
        try:
            n = 0
            while not self._stopping.is_set():
                self._put_round([f"{key}:{n}" for key in self.keys])
                n += 1
                self._stopping.wait(ROUND_S)
        except BaseException as exc:  # handed to the test by stop()
            self._error = exc

    def _put_round(self, texts: list[str]) -> None:
        """One PutRecords call (rejected entries are retried by ``put_records``); a call the
        server refuses as a whole (stream UPDATING) wrote nothing, so it is sent again."""
        deadline = time.monotonic() + 30
        while True:
            try:
                puts = self.server.put_records(self.stream, texts, [t.split(":")[0] for t in texts])
                break
            except botocore.exceptions.ClientError:
                if time.monotonic() > deadline:
                    raise
                self.retried_calls += 1
                time.sleep(0.05)
        with self._lock:
            self._shard_of.update((text, put.shard_id) for text, put in zip(texts, puts))

    @property
    def shard_of(self) -> dict[str, str]:
        """Each record written so far -> the shard it landed in, in the order written."""
        with self._lock:
            return dict(self._shard_of)

    @property
    def records(self) -> list[str]:
        return list(self.shard_of)

    def wait_until_written_to(self, shards: set[str], job: Job | None = None) -> None:
        """Wait until some records landed in each of ``shards`` (while ``job`` runs)."""
        wait_for(lambda: shards <= set(self.shard_of.values()) or None,
                 f"records written to {sorted(shards)}", job)

    def wait_rounds(self, rounds: int) -> None:
        """Wait until ``rounds`` more rounds are written (before the job starts)."""
        written = len(self.records) + rounds * len(self.keys)
        wait_for(lambda: len(self.records) >= written or None, f"{rounds} more rounds")

    def first_round(self, job: Job) -> list[str]:
        """The first round of records, once written."""
        return job.wait_for(lambda: self.records[: len(self.keys)] or None, TIMEOUT_S,
                            "the producer's first round")

    def halt(self) -> None:
        """Stop writing and wait for the thread."""
        self._stopping.set()
        self.join(60)

    def stop(self) -> list[str]:
        """Stop writing; returns every record written (raises what the thread raised)."""
        self.halt()
        if self._error is not None:
            raise AssertionError(f"the producer failed: {self._error!r}") from self._error
        return self.records


def keys_by_range(bounds: Sequence[int], per_range: int) -> list[str]:
    """``per_range`` partition keys whose hash (MD5, as Kinesis) falls in each of the ranges
    ``[bounds[i], bounds[i + 1])``, so every shard of those ranges gets records."""
    found: dict[int, list[str]] = defaultdict(list)
    candidate = 0
    while any(len(found[i]) < per_range for i in range(len(bounds) - 1)):
        key = f"key{candidate}"
        candidate += 1
        hashed = int(hashlib.md5(key.encode()).hexdigest(), 16)
        i = max(i for i, low in enumerate(bounds[:-1]) if hashed >= low)
        if len(found[i]) < per_range:
            found[i].append(key)
    return [key for i in sorted(found) for key in found[i]]


def start_order_job(
    env: StreamExecutionEnvironment,
    aws: dict[str, object],
    source: str,
    out: str,
    flip27_out: str | None = None,
    fail: FailWhenAsked | None = None,
    consumer_config: dict[str, str] | None = None,
) -> Job:
    """Start the consumer (TRIM_HORIZON, 25 records per GetRecords call) -> a Python map
    (``fail``, if given) -> key_by(partition key) -> ArrivalOrder -> sink, discovering new shards
    every second, checkpointing every ``UNDER_LOAD_CHECKPOINT_MS`` with Python bundles that only
    a checkpoint ends; with ``flip27_out``, the same from a ``KinesisStreamsSource`` to that
    stream, in the same job."""
    bundles = Configuration()
    bundles.set_string("python.fn-execution.bundle.time", str(10 * UNDER_LOAD_CHECKPOINT_MS))
    env.configure(bundles)
    env.enable_checkpointing(UNDER_LOAD_CHECKPOINT_MS)
    config = {
        **aws,
        "flink.stream.initpos": "TRIM_HORIZON",
        "flink.shard.discovery.intervalmillis": "1000",
        "flink.shard.getrecords.maxrecordcount": RECORDS_PER_CALL,
    }
    consumer = FlinkKinesisConsumer(source, SimpleStringSchema(),
                                    {**config, **(consumer_config or {})})
    order_records(env.add_source(consumer, "kinesis"), aws, out, fail)
    if flip27_out is not None:
        flip27 = flip27_source({**aws, "flink.shard.discovery.intervalmillis": "1000"}, source)
        records = env.from_source(flip27, WatermarkStrategy.no_watermarks(), "flip-27")
        order_records(records, aws, flip27_out)
    return start(env, "resharding under load")


def order_records(records: DataStream, aws: dict[str, object], out: str,
                  fail: FailWhenAsked | None = None) -> None:
    """A Python map (``fail``, or one passing records on) -> key_by(partition key) ->
    ArrivalOrder -> sink to ``out``."""
    (
        records.map(fail or (lambda r: r), output_type=Types.STRING())
        .key_by(lambda r: r.split(":")[0], key_type=Types.STRING())
        .process(ArrivalOrder(), output_type=Types.STRING())
        .sink_to(string_sink(aws, out))
    )


def read_output(server: LocalKinesisServer, out: str) -> list[tuple[str, int]]:
    """The job's output as (``<key>:<n>``, arrival) pairs."""
    pairs = []
    for record in server.read_all(out):
        text, arrival = record.text.split("|")
        pairs.append((text, int(arrival)))
    return pairs


def wait_for_output(job: Job, server: LocalKinesisServer, out: str, records: Iterable[str],
                    what: str) -> None:
    wanted = set(records)
    job.wait_for(lambda: wanted <= {t for t, _ in read_output(server, out)} or None,
                 TIMEOUT_S, what)


def out_of_order(output: list[tuple[str, int]], shard_of: dict[str, str]) -> list[str]:
    """Each key's records in the order the job saw them must be n = 0, 1, 2, ...; returns, for
    every key where they are not, its first late record and the records that overtook it,
    with the shards they were written to."""
    seen: dict[str, list[tuple[int, int]]] = defaultdict(list)
    for text, arrival in output:
        key, n = text.split(":")
        seen[key].append((arrival, int(n)))
    problems = []
    for key, arrivals in sorted(seen.items()):
        order = [n for _, n in sorted(arrivals)]
        late = next((expected for expected, n in enumerate(order) if n != expected), None)
        if late is None:
            continue
        overtaking = [n for n in order[: order.index(late)] if n > late]
        problems.append(
            f"{key}:{late} (shard {shard_of[f'{key}:{late}']}) came after "
            f"{len(overtaking)} later record(s) {key}:{overtaking[0]}..{overtaking[-1]} "
            f"(shards {sorted({shard_of[f'{key}:{n}'] for n in overtaking})})"
        )
    return problems


def order_broken_within_a_shard(
    output: list[tuple[str, int]], shard_of: dict[str, str]
) -> list[str]:
    """The keys whose records from one shard did not arrive in the order written (what the
    connector does guarantee: a shard is read in order by one thread)."""
    seen: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for text, arrival in output:
        key, n = text.split(":")
        seen[key, shard_of[text]].append((arrival, int(n)))
    return [
        f"{key} in {shard}: {order}"
        for (key, shard), arrivals in sorted(seen.items())
        if (order := [n for _, n in sorted(arrivals)]) != sorted(order)
    ]


def finish(
    job: Job, producer: FlowingProducer, server: LocalKinesisServer, out: str
) -> tuple[list[str], list[tuple[str, int]]]:
    """Stop the producer, wait until the job wrote every record, and return what was produced
    and the job's output."""
    produced = producer.stop()
    wait_for_output(job, server, out, produced, f"all {len(produced)} records")
    time.sleep(2.0)  # a duplicate would arrive within the sink's 100 ms flush interval
    return produced, read_output(server, out)


def check(what: str, produced: list[str], output: list[tuple[str, int]],
          producer: FlowingProducer) -> None:
    """Nothing lost or duplicated, and each key's records in the order written, within a shard
    and across parent and child shards; prints the numbers and every key whose order broke."""
    seen = Counter(text for text, _ in output)
    problems = out_of_order(output, producer.shard_of)
    late = sum(int(problem.split(" came after ")[1].split(" ")[0]) for problem in problems)
    print(
        f"{what}: produced {len(produced)}, read {len(output)}, "
        f"lost {len(set(produced) - set(seen))}, "
        f"duplicated {sum(c - 1 for c in seen.values())}, "
        f"shards written {len(set(producer.shard_of.values()))}, "
        f"calls retried {producer.retried_calls}, keys out of order {len(problems)} "
        f"of {len(producer.keys)}, records overtaken {late}"
    )
    for problem in problems:
        print(f"  {problem}")
    assert seen == Counter(produced)
    assert order_broken_within_a_shard(output, producer.shard_of) == []
    assert problems == [], problems


@repeated
def test_split_and_merge_while_records_flow_lose_nothing_and_keep_order(
    run: int,
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    source, out, flip27_out = stream_factory(2), stream_factory(1), stream_factory(1)
    quarter = HASH_SPACE // 4
    keys = keys_by_range([0, quarter, 2 * quarter, 3 * quarter, HASH_SPACE], per_range=2)
    first, second = sorted(s["ShardId"] for s in local_kinesis.list_shards(source))
    kinesis = local_kinesis.client()

    producer = FlowingProducer(local_kinesis, source, keys)
    producer.start()
    job: Job | None = None
    try:
        low, high = split_before_the_job(local_kinesis, source, first, quarter, producer)
        job = start_order_job(env, aws_config, source, out, flip27_out)
        job.wait_running()
        wait_for_output(job, local_kinesis, out, producer.first_round(job), "the first round")

        # The upper child and the second original shard are adjacent: merge them.
        kinesis.merge_shards(StreamName=source, ShardToMerge=high, AdjacentShardToMerge=second)
        local_kinesis.wait_until_active(source)
        (merged,) = (s["ShardId"] for s in local_kinesis.list_shards(source)
                     if s.get("AdjacentParentShardId") is not None)
        producer.wait_until_written_to({merged}, job)
        wait_for_output(job, local_kinesis, out,
                        [t for t, s in producer.shard_of.items() if s == merged][:1],
                        "a record of the merged shard")
        time.sleep(2 * ROUND_S)
        produced, output = finish(job, producer, local_kinesis, out)
        wait_for_output(job, local_kinesis, flip27_out, produced, "the FLIP-27 source's output")
        flip27_output = read_output(local_kinesis, flip27_out)
    finally:
        producer.halt()
        if job is not None:
            job.cancel()

    assert set(producer.shard_of.values()) == {first, second, low, high, merged}
    check(f"run {run} split + merge under load, FlinkKinesisConsumer", produced, output,
          producer)
    check(f"run {run} split + merge under load, KinesisStreamsSource", produced, flip27_output,
          producer)


def split_before_the_job(kinesis: LocalKinesis, source: str, shard: str, at: int,
                         producer: FlowingProducer) -> tuple[str, str]:
    """With the producer running, split ``shard`` at hash key ``at`` once it holds
    ``ROUNDS_AHEAD`` rounds, and wait as long again with records going to the children; returns
    the lower and the upper child."""
    producer.wait_rounds(ROUNDS_AHEAD)
    low, high = split(kinesis, source, shard, at)
    producer.wait_until_written_to({low, high})
    producer.wait_rounds(ROUNDS_AHEAD)
    return low, high


def split(kinesis: LocalKinesis, source: str, shard: str, at: int) -> tuple[str, str]:
    """SplitShard ``shard`` at hash key ``at``; returns the lower and the upper child."""
    kinesis.client().split_shard(StreamName=source, ShardToSplit=shard,
                                 NewStartingHashKey=str(at))
    kinesis.wait_until_active(source)
    low, high = sorted(
        (s for s in kinesis.list_shards(source) if s.get("ParentShardId") == shard),
        key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]),
    )
    return low["ShardId"], high["ShardId"]


@repeated
def test_a_failure_in_the_middle_of_a_split_restarts_the_consumer_in_order(
    run: int,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    tmp_path: Path,
) -> None:
    """The stream is split before the job, under load; the consumer's job fails at the first
    record of a child (read only once its parent was read to its end; the other child may still
    wait) and restarts: every record comes out, each key in order with ``ArrivalOrder``'s
    restored count, replays repeating lines exactly (so no finished parent was read again and no
    child overtook its parent, before or after the restart)."""
    source, out = stream_factory(2), stream_factory(1)
    half = HASH_SPACE // 2
    keys = keys_by_range([0, half // 2, half, HASH_SPACE], per_range=2)
    first = min(s["ShardId"] for s in local_kinesis.list_shards(source))
    ask, done = tmp_path / "fail", tmp_path / "failed"
    env = checkpointed_env(tmp_path / "checkpoints", **{
        "restart-strategy.type": "fixed-delay",
        "restart-strategy.fixed-delay.attempts": "2",
        "restart-strategy.fixed-delay.delay": "1 s",
    })

    producer = FlowingProducer(local_kinesis, source, keys)
    producer.start()
    job: Job | None = None
    try:
        low, _ = split_before_the_job(local_kinesis, source, first, half // 2, producer)
        at = next(text for text, shard in producer.shard_of.items() if shard == low)
        ask.touch()
        job = start_order_job(env, aws_config, source, out, fail=FailWhenAsked(str(ask),
                                                                                str(done), at))
        job.wait_for(lambda: done.exists() or None, TIMEOUT_S, "the injected failure")
        wait_for_output(job, local_kinesis, out, [at], "the child's first record, after it")
        time.sleep(2 * ROUND_S)
        produced, output = finish(job, producer, local_kinesis, out)
    finally:
        producer.halt()
        if job is not None:
            job.cancel()

    print(f"run {run} failure at a child's first record, FlinkKinesisConsumer: "
          + in_order_exactly(output, produced))


@pytest.fixture
def mock_aws(kinesis_mock: KinesisMock) -> dict[str, object]:
    return {
        "aws.region": kinesis_mock.region,
        "aws.endpoint": kinesis_mock.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "reshard-access-key",
        "aws.credentials.provider.basic.secretkey": "reshard-secret-key",
    }


@pytest.mark.parametrize(
    "publisher",
    [
        {"flink.stream.recordpublisher": "POLLING"},
        {
            "flink.stream.recordpublisher": "EFO",
            "flink.stream.efo.consumername": "resharding-under-load",
        },
    ],
    ids=["polling", "efo"],
)
@repeated
def test_update_shard_count_up_and_down_while_records_flow_loses_nothing_keeps_order(
    run: int,
    env: StreamExecutionEnvironment,
    kinesis_mock: KinesisMock,
    mock_stream_factory: StreamFactory,
    mock_aws: dict[str, object],
    publisher: dict[str, str],
) -> None:
    source, out, flip27_out = (mock_stream_factory(2), mock_stream_factory(1),
                               mock_stream_factory(1))
    keys = keys_by_range([i * HASH_SPACE // 4 for i in range(4)] + [HASH_SPACE], per_range=2)
    original = {s["ShardId"] for s in kinesis_mock.list_shards(source)}

    producer = FlowingProducer(kinesis_mock, source, keys)
    producer.start()
    job: Job | None = None
    try:
        generations = [original]
        producer.wait_rounds(ROUNDS_AHEAD)
        generations.append(update_shard_count(kinesis_mock, source, 4, generations[-1]))
        producer.wait_until_written_to(generations[-1])
        producer.wait_rounds(ROUNDS_AHEAD)
        job = start_order_job(env, mock_aws, source, out, flip27_out,
                              consumer_config=publisher)
        job.wait_running()
        wait_for_output(job, kinesis_mock, out, producer.first_round(job), "the first round")
        generations.append(update_shard_count(kinesis_mock, source, 2, generations[-1]))
        producer.wait_until_written_to(generations[-1], job)
        time.sleep(2 * ROUND_S)
        produced, output = finish(job, producer, kinesis_mock, out)
        wait_for_output(job, kinesis_mock, flip27_out, produced, "the FLIP-27 source's output")
        flip27_output = read_output(kinesis_mock, flip27_out)
    finally:
        producer.halt()
        if job is not None:
            job.cancel()

    assert set(producer.shard_of.values()) == set().union(*generations)
    what = publisher["flink.stream.recordpublisher"]
    check(f"run {run} UpdateShardCount 2 -> 4 -> 2 under load, FlinkKinesisConsumer {what}",
          produced, output, producer)
    check(f"run {run} UpdateShardCount 2 -> 4 -> 2 under load, KinesisStreamsSource", produced,
          flip27_output, producer)


def update_shard_count(kinesis: KinesisMock, source: str, target: int,
                       before: set[str]) -> set[str]:
    """UpdateShardCount to ``target``; returns the shards it opened."""
    kinesis.update_shard_count(source, target)
    opened = {s["ShardId"] for s in kinesis.list_shards(source)
              if "EndingSequenceNumber" not in s["SequenceNumberRange"]}
    assert len(opened) == target and not opened & before
    return opened


def test_flip27_source_reads_closed_shards_whose_last_records_come_without_an_iterator(
    env: StreamExecutionEnvironment,
    kinesis_mock: KinesisMock,
    mock_stream_factory: StreamFactory,
    mock_aws: dict[str, object],
) -> None:
    """Connector 4.3.0's own split reader fails this job (``CLOSED_SHARD_FAILS_SOURCE``): both
    parents still hold all their records when UpdateShardCount closes them, and kinesis-mock
    sends a closed shard's last records without a next iterator. Our ``PausableShardSplitReader``
    drops a finished shard, so every record is read once."""
    source, out = mock_stream_factory(2), mock_stream_factory(1)
    written = [f"record:{n}" for n in range(40)]
    parents = {put.shard_id for put in kinesis_mock.put_records(source, written)}
    kinesis_mock.update_shard_count(source, 4)
    assert parents == {s["ShardId"] for s in kinesis_mock.list_shards(source)
                       if "EndingSequenceNumber" in s["SequenceNumberRange"]}

    records = env.from_source(flip27_source(mock_aws, source), WatermarkStrategy.no_watermarks(),
                              "flip-27")
    records.sink_to(string_sink(mock_aws, out))
    job = start(env, "FLIP-27 source over closed shards")
    try:
        job.wait_for(lambda: len(kinesis_mock.read_all(out)) >= len(written) or None, TIMEOUT_S,
                     f"{len(written)} records")
        time.sleep(2.0)  # a record read twice would arrive within the sink's flush interval
        read = Counter(r.text for r in kinesis_mock.read_all(out))
        assert job.status() == JobStatus.RUNNING
    finally:
        job.cancel()

    assert read == Counter(written)


def ordered_source(aws: dict[str, object], stream: str, **options: object) -> KinesisStreamsSource:
    """A ``KinesisStreamsSource`` of str records discovering shards every second."""
    return (
        KinesisStreamsSource.builder()
        .set_stream_name(stream)
        .set_source_config({**aws, "flink.shard.discovery.intervalmillis": 1000, **options})
        .set_deserialization_schema(SimpleStringSchema())
        .build()
    )


def in_order_exactly(output: list[tuple[str, int]], produced: Iterable[str]) -> str:
    """Asserts every produced record came out and every output line has arrival ``i == n``:
    each key's records went through ``ArrivalOrder`` in the order written, across parents and
    children and across restores (a replay after a restore repeats a line exactly; a parent read
    again, or a child overtaking it, would not). Returns the tally to print."""
    wanted = set(produced)
    seen = Counter(text for text, _ in output)
    lost = wanted - set(seen)
    wrong = sorted(f"{text}|{arrival}" for text, arrival in set(output)
                   if arrival != int(text.split(":")[1]))
    unexpected = set(seen) - wanted
    tally = (f"produced {len(wanted)}, read {len(output)}, lost {len(lost)}, "
             f"duplicated {sum(c - 1 for c in seen.values())}, "
             f"keys out of order {len({w.split(':')[0] for w in wrong})}, "
             f"lines out of order {len(wrong)}, unexpected {len(unexpected)}")
    assert not lost, f"{tally}; lost {sorted(lost)[:10]}"
    assert not unexpected, f"{tally}; unexpected {sorted(unexpected)[:10]}"
    assert not wrong, f"{tally}; out of order {wrong[:10]}"
    return tally


@repeated
def test_source_reads_parents_first_from_every_start_position_over_a_resharded_stream(
    run: int,
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    """A 2-shard stream split, then merged, before the job: the closed parents still hold
    records. TRIM_HORIZON reads every record in each key's order; AT_TIMESTAMP (between the
    split and the merge) exactly the records written after it, in order; LATEST only records
    written once the job runs. One job, a 500 ms discovery interval (shorter than the readers
    take to register), checkpointing every 500 ms, parallelism 2."""
    stream = stream_factory(2)
    outs = {name: stream_factory(1) for name in ("trim", "ts", "latest")}
    quarter = HASH_SPACE // 4
    keys = keys_by_range([0, quarter, 2 * quarter, 3 * quarter, HASH_SPACE], per_range=2)
    first, second = sorted(s["ShardId"] for s in local_kinesis.list_shards(stream))
    kinesis = local_kinesis.client()
    rounds = iter(range(1000))

    def write(count: int) -> list[str]:
        texts = []
        for n in [next(rounds) for _ in range(count)]:
            batch = [f"{key}:{n}" for key in keys]
            local_kinesis.put_records(stream, batch, [t.split(":")[0] for t in batch])
            texts += batch
        return texts

    before_split = write(3)
    kinesis.split_shard(StreamName=stream, ShardToSplit=first, NewStartingHashKey=str(quarter))
    local_kinesis.wait_until_active(stream)
    (high,) = (s["ShardId"] for s in local_kinesis.list_shards(stream)
               if s.get("ParentShardId") == first and int(s["HashKeyRange"]["StartingHashKey"]))
    after_split = write(3)
    time.sleep(1.2)
    timestamp = time.time()
    before_merge = write(3)
    kinesis.merge_shards(StreamName=stream, ShardToMerge=high, AdjacentShardToMerge=second)
    local_kinesis.wait_until_active(stream)
    after_merge = write(3)
    shards = local_kinesis.list_shards(stream)
    assert sum("EndingSequenceNumber" in s["SequenceNumberRange"] for s in shards) == 3

    env.enable_checkpointing(CHECKPOINT_MS)
    positions: dict[str, dict[str, object]] = {
        "trim": {"flink.stream.initpos": "TRIM_HORIZON"},
        "ts": {"flink.stream.initpos": "AT_TIMESTAMP", "flink.stream.initpos.timestamp": timestamp},
        "latest": {"flink.stream.initpos": "LATEST"},
    }
    for name, options in positions.items():
        source = ordered_source(aws_config, stream, **options,
                                **{"flink.shard.discovery.intervalmillis": 500})
        order_records(env.from_source(source, WatermarkStrategy.no_watermarks(), name),
                      aws_config, outs[name])
    job = start(env, "source start positions over a resharded stream")
    try:
        history = before_split + after_split + before_merge + after_merge
        wait_for_output(job, local_kinesis, outs["trim"], history, "the stream's history")
        wait_for_output(job, local_kinesis, outs["ts"], before_merge + after_merge,
                        "the records after the timestamp")
        live = write(3)
        for name in outs:
            wait_for_output(job, local_kinesis, outs[name], live, f"the live records ({name})")
        time.sleep(1.0)  # a duplicate would arrive within the sink's 100 ms flush interval
        got = {name: read_output(local_kinesis, out) for name, out in outs.items()}
    finally:
        job.cancel()

    # LATEST's and AT_TIMESTAMP's first record of a key is its n-th: count from there.
    def rebased(output: list[tuple[str, int]], first_round: int) -> list[tuple[str, int]]:
        return [(f"{t.split(':')[0]}:{int(t.split(':')[1]) - first_round}", a)
                for t, a in output]

    def rebase_all(texts: list[str], first_round: int) -> list[str]:
        return [f"{t.split(':')[0]}:{int(t.split(':')[1]) - first_round}" for t in texts]

    ts_first, latest_first = int(before_merge[0].split(":")[1]), int(live[0].split(":")[1])
    print(f"run {run} TRIM_HORIZON: " + in_order_exactly(got["trim"], history + live))
    print(f"run {run} AT_TIMESTAMP: " + in_order_exactly(
        rebased(got["ts"], ts_first), rebase_all(before_merge + after_merge + live, ts_first)))
    print(f"run {run} LATEST: " + in_order_exactly(
        rebased(got["latest"], latest_first), rebase_all(live, latest_first)))


class FailWhenAsked(MapFunction):  # type: ignore[misc]
    """Passes records through; fails once, at the first record after the file ``ask`` exists
    (with ``at``: at that record, once the file exists), creating ``done`` first, so the
    restarted job does not fail again."""

    def __init__(self, ask: str, done: str, at: str | None = None) -> None:
        self.ask = ask
        self.done = done
        self.at = at

    def map(self, value: str) -> str:
        if value == (self.at or value) and os.path.exists(self.ask):
            try:
                Path(self.done).touch(exist_ok=False)
            except FileExistsError:
                return value
            raise RuntimeError(f"injected failure at record {value}")
        return value


def start_restorable_order_job(
    env: StreamExecutionEnvironment, aws: dict[str, object], stream: str, out: str,
    fail: FailWhenAsked, name: str,
) -> Job:
    """Start source (TRIM_HORIZON) -> FailWhenAsked -> key_by -> ArrivalOrder -> sink, with
    fixed uids so that a savepoint restores into the same graph."""
    source = ordered_source(aws, stream, **{"flink.stream.initpos": "TRIM_HORIZON"})
    (
        env.from_source(source, WatermarkStrategy.no_watermarks(), "source").uid("source")
        .map(fail, output_type=Types.STRING()).uid("fail")
        .key_by(lambda r: r.split(":")[0], key_type=Types.STRING())
        .process(ArrivalOrder(), output_type=Types.STRING()).uid("order")
        .sink_to(string_sink(aws, out)).uid("sink")
    )
    return start(env, name)


@repeated
def test_source_keeps_order_through_a_failure_and_a_savepoint_in_the_middle_of_resharding(
    run: int,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    tmp_path: Path,
) -> None:
    """Records flow while a 2-shard stream is split and then merged. A failure is injected
    right after the split (the parent is being finished while the children start), and the job
    is stopped with a savepoint right after the merge, then restored from it: every record comes
    out, each key in order with ``ArrivalOrder``'s restored count (so no finished parent was read
    again and no child overtook its parents), replays after the restart repeating lines exactly."""
    stream, out = stream_factory(2), stream_factory(1)
    quarter = HASH_SPACE // 4
    keys = keys_by_range([0, quarter, 2 * quarter, 3 * quarter, HASH_SPACE], per_range=2)
    first, second = sorted(s["ShardId"] for s in local_kinesis.list_shards(stream))
    kinesis = local_kinesis.client()
    ask, done = tmp_path / "fail-now", tmp_path / "failed"
    fail = FailWhenAsked(str(ask), str(done))
    checkpoints, savepoints = tmp_path / "checkpoints", tmp_path / "savepoints"

    producer = FlowingProducer(local_kinesis, stream, keys)
    job = start_restorable_order_job(checkpointed_env(checkpoints), aws_config, stream, out, fail,
                                     "source order, failure mid-split")
    producer.start()
    restored: Job | None = None
    try:
        job.wait_running()
        wait_for_output(job, local_kinesis, out, producer.first_round(job), "the first round")
        kinesis.split_shard(StreamName=stream, ShardToSplit=first,
                            NewStartingHashKey=str(quarter))
        local_kinesis.wait_until_active(stream)
        ask.touch()
        low, high = sorted(
            (s for s in local_kinesis.list_shards(stream) if s.get("ParentShardId") == first),
            key=lambda s: int(s["HashKeyRange"]["StartingHashKey"]),
        )
        producer.wait_until_written_to({low["ShardId"], high["ShardId"]}, job)
        job.wait_for(lambda: done.exists() or None, TIMEOUT_S, "the injected failure")
        wait_for_output(job, local_kinesis, out,
                        [t for t, s in producer.shard_of.items() if s == high["ShardId"]][:1],
                        "a record of a child after the restart")

        kinesis.merge_shards(StreamName=stream, ShardToMerge=high["ShardId"],
                             AdjacentShardToMerge=second)
        local_kinesis.wait_until_active(stream)
        (merged,) = (s["ShardId"] for s in local_kinesis.list_shards(stream)
                     if s.get("AdjacentParentShardId") is not None)
        producer.wait_until_written_to({merged}, job)
        savepoint = job.client.stop_with_savepoint(False, savepoints.as_uri()).result()

        restored = start_restorable_order_job(
            checkpointed_env(checkpoints, **{"execution.savepoint.path": savepoint}),
            aws_config, stream, out, fail, "source order, restored mid-merge")
        restored.wait_running()
        time.sleep(2 * ROUND_S)
        produced, output = finish(restored, producer, local_kinesis, out)
    finally:
        producer.halt()
        job.cancel()
        if restored is not None:
            restored.cancel()

    assert set(producer.shard_of.values()) == {first, second, low["ShardId"], high["ShardId"],
                                               merged}
    print(f"run {run} failure mid-split + savepoint mid-merge: "
          + in_order_exactly(output, produced))
