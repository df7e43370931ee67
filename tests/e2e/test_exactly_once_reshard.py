"""Exactly once from a producer job to a consumer job, through a reshard between a commit and its
re-commit, a merge during a commit, and throttled, partly failed and reset commits (kinesalite).

The producer copies JSON records from an input stream into a middle stream through
``set_delivery_guarantee('exactly-once')`` (parallelism 1, checkpoints every 2 s, fixed-delay
restarts); only its sink talks to Kinesis through a ``FaultProxy``. The consumer reads the
middle stream with ``source.deduplication`` and writes what it emits to an output stream; it
never fails, so the output holds each emitted record once. Each case asserts that the output
holds every record exactly once, that ``aws-kinesis-agg`` reads every record at least once from
the middle stream with payload and key as written, and that the copies the case must produce
are in the middle stream. Run with ``-s`` for the ``EXACTLY-ONCE RESHARD |`` lines.
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import pytest
from pyflink.common import Configuration, JobStatus, WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import KinesisStreamsSource
from pyflink_kinesis.testing import KinesisRecord, LocalKinesis
from pyflink_kinesis.testing.fault_proxy import (
    ErrorResponse,
    Every,
    Fault,
    FaultProxy,
    FaultRule,
    Forward,
    PartialFailure,
    Reset,
    Schedule,
    _Request,
    _Response,
    throttle,
)
from tests.e2e.jobs import Job, exactly_once_sink, start, string_sink, wait_for_new_checkpoint
from tests.e2e.test_aggregation import user_records
from tests.e2e.test_exactly_once import tagged

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0
CHECKPOINT_MS = 2000
RECORDS = 400
#: The throttling case puts its records in this many batches, one checkpoint apart.
BATCHES = 8
#: How long the output must stay as it is once it holds every record: the consumer polls each
#: shard every 200 ms, so a copy it should not emit would show within a few polls.
SETTLE_S = 2.0
#: Padding that makes the merge-during-a-commit case's records about 13 KB: about 2.5 MB per
#: shard of the middle stream, three aggregates each (Kinesis takes 1 MiB per record).
PAD = 13_000
ENDED = (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.FINISHED)


def texts(first: int, count: int, pad: int = 0) -> list[str]:
    """JSON records ``first`` .. ``first + count - 1``, keyed ``k0`` .. ``k96``, each with
    ``pad`` characters of padding."""
    return [json.dumps({"key": f"k{n % 97}", "n": n, "pad": "x" * pad})
            for n in range(first, first + count)]


def not_found() -> ErrorResponse:
    """HTTP 400 ``ResourceNotFoundException``: the committer fails the job at once."""
    return ErrorResponse(
        400, "ResourceNotFoundException", "Stream not found (injected by FaultProxy)."
    )


@dataclass(eq=False)
class Held(Schedule):
    """Fire on every matching request from the one ``since`` says (given the request's index),
    until lifted."""

    since: Callable[[int], bool]
    lifted: threading.Event = field(default_factory=threading.Event)

    def fires(self, index: int, elapsed_s: float, rng: random.Random) -> bool:
        return not self.lifted.is_set() and self.since(index)


@dataclass(frozen=True)
class LandedThenReset(Fault):
    """Forward a PutRecords request, then reset the connection: every entry landed, the writer
    never hears of it. ``landed`` lists each such request's entry count."""

    landed: list[int] = field(default_factory=list)

    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        self.landed.append(len(json.loads(request.body)["Records"]))
        return Reset(after_forward=True).apply(request, forward, rule)


@dataclass(eq=False)
class NotFoundOnceAllLanded(Fault):
    """Forward PutRecords until aggregates named for each of ``names`` (their own partition
    keys) landed, then answer the next one ``ResourceNotFoundException``, once; forward the
    rest. ``failed`` counts those answers."""

    names: frozenset[str]
    landed: set[str] = field(default_factory=set)
    failed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def apply(self, request: _Request, forward: Forward, rule: FaultRule) -> _Response:
        with self.lock:
            fail = self.failed == 0 and self.names <= self.landed
            self.failed += fail
        if fail:
            return not_found().apply(request, forward, rule)
        response = forward(request)
        if response.status == 200:
            with self.lock:
                self.landed.update(entry["PartitionKey"]
                                   for entry in json.loads(request.body)["Records"])
        return response


def environment(parallelism: int, **settings: str) -> StreamExecutionEnvironment:
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    for key, value in settings.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    return env


def start_producer(
    aws_config: dict[str, object], sink_endpoint: str, source: str, middle: str,
    checkpoints: Path, parallelism: int = 1,
) -> Job:
    """Input stream -> committing sink (to ``sink_endpoint``) -> middle stream; checkpoints
    every ``CHECKPOINT_MS`` into ``checkpoints``, up to 5 restarts 500 ms apart."""
    env = environment(
        parallelism,
        **{
            "execution.checkpointing.dir": checkpoints.as_uri(),
            "restart-strategy.type": "fixed-delay",
            "restart-strategy.fixed-delay.attempts": "5",
            "restart-strategy.fixed-delay.delay": "500 ms",
        },
    )
    env.enable_checkpointing(CHECKPOINT_MS)
    source_reader = (
        KinesisStreamsSource.builder()
        .set_stream_name(source)
        .set_source_config({**aws_config, "source.init.position": "TRIM_HORIZON"})
        .set_deserialization_schema(SimpleStringSchema())
        .build()
    )
    sink = exactly_once_sink({**aws_config, "aws.endpoint": sink_endpoint}, middle)
    env.from_source(source_reader, WatermarkStrategy.no_watermarks(), "input").sink_to(sink)
    return start(env, "exactly-once producer")


def start_consumer(
    aws_config: dict[str, object], middle: str, out: str, parallelism: int = 2
) -> Job:
    """Middle stream -> de-duplicating source -> plain sink -> output stream (no restarts)."""
    env = environment(parallelism, **{"restart-strategy.type": "none"})
    source = (
        KinesisStreamsSource.builder()
        .set_stream_name(middle)
        .set_source_config({**aws_config, "source.init.position": "TRIM_HORIZON",
                            "source.deduplication": True})
        .set_deserialization_schema(SimpleStringSchema())
        .build()
    )
    env.from_source(source, WatermarkStrategy.no_watermarks(), "middle").sink_to(
        string_sink(aws_config, out))
    return start(env, "de-duplicating consumer")


@dataclass(frozen=True)
class Counts:
    """What one run left in its streams."""

    records: int
    aggregates: int
    #: User records in the middle stream beyond one per record written.
    copies_in_middle: int
    #: Aggregates stored more than once, byte for byte (the same aggregate sent again).
    repeated_aggregates: int
    #: Records the consumer emitted more than once / never.
    copies_out: int
    lost: int

    def line(self) -> str:
        return (f"{self.records} records, {self.aggregates} aggregates in the middle stream "
                f"({self.repeated_aggregates} stored twice, {self.copies_in_middle} user-record "
                f"copies); consumer: {self.copies_out} copies, {self.lost} lost")


def count(middle: list[KinesisRecord], out: list[KinesisRecord], written: list[str]) -> Counts:
    """The counts of a run that wrote ``written``; asserts what any KPL-aware reader reads."""
    agg = user_records(middle)
    assert set(Counter(s.text for s in agg)) == set(written), "aws-kinesis-agg misses records"
    assert all(json.loads(s.text)["key"] == s.partition_key for s in agg)
    tagged(middle)  # one pfk-id tag on every user record
    emitted, expected = Counter(r.text for r in out), Counter(written)
    return Counts(
        records=len(written),
        aggregates=len(middle),
        copies_in_middle=len(agg) - len(written),
        repeated_aggregates=sum(n - 1 for n in Counter(r.data for r in middle).values()),
        copies_out=sum((emitted - expected).values()),
        lost=sum((expected - emitted).values()),
    )


def wait_for_output(
    local_kinesis: LocalKinesis, producer: Job, consumer: Job, out: str, records: int,
    timeout_s: float = TIMEOUT_S,
) -> list[KinesisRecord]:
    """The output once it holds ``records`` records and stayed so for ``SETTLE_S``; fails as
    soon as either job has ended."""

    def full() -> list[KinesisRecord] | None:
        assert producer.status() not in ENDED, f"the producer ended ({producer.status()})"
        found = local_kinesis.read_all(out)
        return found if len(found) >= records else None

    consumer.wait_for(full, timeout_s, f"{records} records in the output")
    time.sleep(SETTLE_S)
    return local_kinesis.read_all(out)


@pytest.mark.parametrize("reshard", ["split", "merge"])
def test_a_reshard_between_a_commit_and_its_recommit_leaves_each_record_once(
    reshard: Literal["split", "merge"],
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    local_kinesis: LocalKinesis,
    tmp_path: Path,
) -> None:
    """The first PutRecords of a commit (one aggregate, for one shard) lands; the second (the
    other shard's aggregate, sent alongside) has its entry failed, and the committer's retry of
    it meets a missing stream and fails the job; while the restored
    committer's PutRecords are throttled, both shards of the middle stream are split in two (or
    merged into one); then the committable is sent again, by the map the restored committer
    listed before the reshard. After a split, each aggregate lands in its parent's low child,
    which does not hold all its records, and is sent again by a new map, one per child; after a
    merge, both land in the child, interleaved. The records that landed first are in the middle
    stream again; the consumer reads the parents first, keeps their marks in the children and
    emits each record once."""
    source, middle, out = stream_factory(2), stream_factory(2), stream_factory(1)
    written = texts(0, RECORDS)
    local_kinesis.put_records(source, written)
    started = time.monotonic()
    with FaultProxy(local_kinesis.endpoint, seed=28) as proxy:
        # The committer sends one aggregate per request: the first passes, the second has its
        # entry failed, and the next request (that entry sent again) meets a missing stream.
        partly = proxy.inject(PartialFailure(entry_rate=0.0), operation="PutRecords",
                              when=Held(lambda index: index == 1), limit=1)
        fatal = proxy.inject(not_found(), operation="PutRecords",
                             when=Held(lambda index: index >= 1), limit=1)
        hold = Held(lambda _: fatal.injected > 0)
        held = proxy.inject(throttle(), operation="PutRecords", when=hold)
        producer = start_producer(aws_config, proxy.endpoint, source, middle, tmp_path / "chk")
        consumer = start_consumer(aws_config, middle, out)
        try:
            producer.wait_for(lambda: held.injected > 0, TIMEOUT_S,
                              "the restored committer's first PutRecords")
            parents = sorted(local_kinesis.list_shards(middle),
                             key=lambda shard: int(shard["HashKeyRange"]["StartingHashKey"]))
            client = local_kinesis.client()
            if reshard == "split":
                for parent in parents:
                    keys = parent["HashKeyRange"]
                    half = (int(keys["StartingHashKey"]) + int(keys["EndingHashKey"])) // 2
                    client.split_shard(StreamName=middle, ShardToSplit=parent["ShardId"],
                                       NewStartingHashKey=str(half))
                    local_kinesis.wait_until_active(middle)
            else:
                client.merge_shards(StreamName=middle, ShardToMerge=parents[0]["ShardId"],
                                    AdjacentShardToMerge=parents[1]["ShardId"])
            local_kinesis.wait_until_active(middle)
            hold.lifted.set()
            output = wait_for_output(local_kinesis, producer, consumer, out, RECORDS)
        finally:
            producer.cancel()
            consumer.cancel()
    counts = count(local_kinesis.read_all(middle), output, written)
    print(f"\nEXACTLY-ONCE RESHARD | {reshard} between commit and re-commit: {counts.line()}; "
          f"{partly.failed_entries} entry failed, {fatal.injected} fatal error, "
          f"{held.injected} PutRecords held; {time.monotonic() - started:.0f} s")
    assert (partly.injected, fatal.injected) == (1, 1)
    assert len(local_kinesis.list_shards(middle)) == (6 if reshard == "split" else 3)
    assert counts.copies_in_middle > 0, "the first attempt landed nothing: no copies to drop"
    assert (counts.copies_out, counts.lost) == (0, 0), counts.line()


def test_a_merge_during_a_commit_then_a_failure_leaves_each_record_once(
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    local_kinesis: LocalKinesis,
    tmp_path: Path,
) -> None:
    """A commit writes about three aggregates per shard of the 2-shard middle stream, one per
    PutRecords, the two shards side by side. The first request lands in its parent; the next
    ones are held (throttled) while the shards are merged, then land in the child: aggregates
    aimed at each parent, named for it, interleaving the writer's ids. A later one meets a
    missing stream and the job fails; the
    restored committer sends the committable again by a new map, into the child. The child's
    marks, one per intended range, drop what landed and let the rest through: each record once
    (one mark per writer would drop the records of one parent's aggregate with ids below the
    other's)."""
    source, middle, out = stream_factory(2), stream_factory(2), stream_factory(1)
    written = texts(0, RECORDS, PAD)
    local_kinesis.put_records(source, written)
    parents = sorted(local_kinesis.list_shards(middle),
                     key=lambda shard: int(shard["HashKeyRange"]["StartingHashKey"]))
    parent_names = {"pfk-shard:{StartingHashKey}-{EndingHashKey}".format(**shard["HashKeyRange"])
                    for shard in parents}
    started = time.monotonic()
    with FaultProxy(local_kinesis.endpoint, seed=28) as proxy:
        hold = Held(lambda index: index >= 1)
        held = proxy.inject(throttle(), operation="PutRecords", when=hold)
        producer = start_producer(aws_config, proxy.endpoint, source, middle, tmp_path / "chk")
        consumer = start_consumer(aws_config, middle, out)
        try:
            producer.wait_for(lambda: held.injected > 0, TIMEOUT_S, "the second PutRecords")
            local_kinesis.client().merge_shards(
                StreamName=middle, ShardToMerge=parents[0]["ShardId"],
                AdjacentShardToMerge=parents[1]["ShardId"])
            local_kinesis.wait_until_active(middle)
            # Behind the hold, this rule sees only what comes after it: once an aggregate named
            # for each parent landed (in the child), the next PutRecords fails. (Failing the
            # second request after the hold instead left one parent's aggregate unsent when
            # the other shard's next request came first.)
            fatal = NotFoundOnceAllLanded(frozenset(parent_names))
            proxy.inject(fatal, operation="PutRecords", when=Every(1))
            hold.lifted.set()
            output = wait_for_output(local_kinesis, producer, consumer, out, RECORDS)
        finally:
            producer.cancel()
            consumer.cancel()
    middle_records = local_kinesis.read_all(middle)
    counts = count(middle_records, output, written)
    in_child = [record.partition_key for record in middle_records
                if record.shard_id not in {shard["ShardId"] for shard in parents}]
    print(f"\nEXACTLY-ONCE RESHARD | merge during a commit, then a failure: {counts.line()}; "
          f"{len(in_child)} aggregates in the child, "
          f"{sum(key in parent_names for key in in_child)} aimed at a parent; "
          f"{held.injected} PutRecords held, {fatal.failed} fatal error; "
          f"{time.monotonic() - started:.0f} s")
    assert fatal.failed == 1
    assert parent_names <= set(in_child), "no aggregate aimed at each parent landed in the child"
    assert counts.copies_in_middle > 0
    assert (counts.copies_out, counts.lost) == (0, 0), counts.line()


def test_throttled_partly_failed_and_reset_commits_leave_each_record_once(
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    local_kinesis: LocalKinesis,
    tmp_path: Path,
) -> None:
    """The committer's PutRecords are throttled whole, fail entry by entry, are reset before
    they reach the server and reset after it stored them: each fault on every third or fourth
    request it sees, over the whole run (records put in ``BATCHES`` batches, one checkpoint
    apart, into a 4-shard middle stream). Throttled, failed
    and unforwarded aggregates were never stored: sent again, they are stored once. An aggregate
    of a request reset after forwarding was stored and is sent again with the same ids: each is
    in the middle stream twice (or more), and the consumer emits its records once."""
    source, middle, out = stream_factory(2), stream_factory(4), stream_factory(1)
    batches = [texts(n * RECORDS // BATCHES, RECORDS // BATCHES) for n in range(BATCHES)]
    written = [text for batch in batches for text in batch]
    started = time.monotonic()
    checkpoints = tmp_path / "chk"
    landed_then_reset = LandedThenReset()
    with FaultProxy(local_kinesis.endpoint, seed=28) as proxy:
        rules = [
            proxy.inject(throttle(), operation="PutRecords", when=Every(4)),
            proxy.inject(PartialFailure(entry_rate=0.5), operation="PutRecords",
                         when=Every(3)),
            proxy.inject(Reset(), operation="PutRecords", when=Every(4)),
            proxy.inject(landed_then_reset, operation="PutRecords", when=Every(3)),
        ]
        producer = start_producer(aws_config, proxy.endpoint, source, middle, checkpoints)
        consumer = start_consumer(aws_config, middle, out)
        try:
            for batch in batches:
                wait_for_new_checkpoint(producer, checkpoints, TIMEOUT_S)
                local_kinesis.put_records(source, batch)
            output = wait_for_output(local_kinesis, producer, consumer, out, RECORDS)
        finally:
            producer.cancel()
            consumer.cancel()
    counts = count(local_kinesis.read_all(middle), output, written)
    throttled, partly, reset, _ = rules
    print(f"\nEXACTLY-ONCE RESHARD | throttled, partial failures, resets: {counts.line()}; "
          f"of {throttled.matched} PutRecords {throttled.injected} throttled, "
          f"{partly.injected} partly failed ({partly.failed_entries} entries), "
          f"{reset.injected} reset before and {len(landed_then_reset.landed)} after forwarding "
          f"({sum(landed_then_reset.landed)} aggregates); "
          f"{time.monotonic() - started:.0f} s")
    assert all(rule.injected > 0 for rule in rules), rules
    assert counts.repeated_aggregates == sum(landed_then_reset.landed) > 0
    assert (counts.copies_out, counts.lost) == (0, 0), counts.line()
