"""Faults between the connector and Kinesis: real jobs through a fault-injecting proxy.

Each job copies Kinesis -> PyFlink map -> Kinesis. One side of it talks to kinesalite through
``FaultProxy`` (the other side talks to kinesalite directly), the proxy injects one kind of
fault at a rate or on a schedule that really hits (its counters are asserted), and the output
is read back with boto3 directly from kinesalite.

* Consumer side: GetRecords throttling, 500/503, connection resets, delays and expired
  iterators, and ListShards ``LimitExceededException``: the output holds exactly the records
  produced, none lost and none twice. For the error responses the AWS SDK's own retries are
  turned off (``aws.clientconfig.maxErrorRetry = 0``) so that the connector's retry keys
  (``flink.shard.getrecords.*``) are what rides the fault out.
* Sink side, ``fail_on_error=False``: PutRecords partial failures (some entries rejected with
  ``ProvisionedThroughputExceededException``) and whole-request throttling, 500s and resets:
  every record arrives (at least once; duplicates are counted and printed).
* Sink side, ``fail_on_error=True``: a partial failure or a throttled request fails the job;
  the test checks what the job's exception chain says.

Run with ``-s`` to see one ``FAULTS |`` line per scenario with the counts.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import pytest
from pyflink.common.serialization import SimpleStringSchema

from pyflink_kinesis import FlinkKinesisConsumer, KinesisStreamsSink
from pyflink_kinesis.testing import LocalKinesis
from pyflink_kinesis.testing.fault_proxy import (
    Delay,
    Every,
    Fault,
    FaultProxy,
    FaultRule,
    First,
    PartialFailure,
    Rate,
    Reset,
    Schedule,
    expired_iterator,
    internal_failure,
    limit_exceeded,
    service_unavailable,
    throttle,
)
from tests.e2e.jobs import Job, copied, failing_env, job_failure, start_copy, string_sink_builder

StreamFactory = Callable[..., str]
TIMEOUT_S = 240.0
RECORDS = 300

#: Small GetRecords pages polled often, so the job makes many calls the proxy can fault, and
#: the connector's retry keys tuned for quick, patient retries.
CONSUMER_CONFIG: dict[str, object] = {
    "flink.stream.initpos": "TRIM_HORIZON",
    "flink.shard.getrecords.maxrecordcount": "10",
    "flink.shard.getrecords.intervalmillis": "20",
    "flink.shard.getrecords.maxretries": "10",
    "flink.shard.getrecords.backoff.base": "20",
    "flink.shard.getrecords.backoff.max": "200",
    "flink.shard.getiterator.maxretries": "10",
    "flink.shard.getiterator.backoff.base": "20",
    "flink.shard.getiterator.backoff.max": "200",
    "flink.list.shards.maxretries": "10",
    "flink.list.shards.backoff.base": "50",
    "flink.list.shards.backoff.max": "200",
}
#: The consumer's AWS SDK v1 retries errors itself (3 times by default) before the connector
#: sees them; with this, every injected error reaches the connector's own retry loop.
NO_SDK_RETRIES: dict[str, object] = {"aws.clientconfig.maxErrorRetry": "0"}


@dataclass(frozen=True)
class Injection:
    """One rule for the proxy: ``fault`` into ``operation`` when ``when`` says so."""

    fault: Fault
    operation: str
    when: Schedule
    limit: int | None = None

    def into(self, proxy: FaultProxy) -> FaultRule:
        """Install this rule in ``proxy``; the rule counts what it matched and injected."""
        return proxy.inject(
            self.fault, operation=self.operation, when=self.when, limit=self.limit
        )


@dataclass
class Outcome:
    """What one scenario produced, read back and injected; ``row()`` is the report line."""

    scenario: str
    produced: list[str]
    read: list[str]
    rules: Sequence[FaultRule]

    @property
    def lost(self) -> int:
        return sum((Counter(self.produced) - Counter(self.read)).values())

    @property
    def duplicated(self) -> int:
        return sum((Counter(self.read) - Counter(self.produced)).values())

    def row(self) -> str:
        injected = ", ".join(
            f"{type(r.fault).__name__}"
            + (f"[{r.fault.error_type}]" if hasattr(r.fault, "error_type") else "")
            + f" on {r.operation}: {r.injected} of {r.matched} requests"
            + (f" ({r.failed_entries} entries failed)" if r.failed_entries else "")
            for r in self.rules
        )
        return (
            f"FAULTS | {self.scenario} | {injected} | produced {len(self.produced)} / "
            f"read {len(self.read)} / lost {self.lost} / duplicated {self.duplicated}"
        )


@pytest.fixture
def proxy(local_kinesis: LocalKinesis) -> Iterator[FaultProxy]:
    with FaultProxy(local_kinesis.endpoint, seed=2024) as running:
        yield running


def through(aws_config: dict[str, object], proxy: FaultProxy) -> dict[str, object]:
    """The same client settings, with the proxy as endpoint."""
    return {**aws_config, "aws.endpoint": proxy.endpoint}


def sink_to(
    aws_config: dict[str, object], stream: str, *, fail_on_error: bool = False
) -> KinesisStreamsSink:
    """A sink with small batches (20 records, 100 ms), so a job makes many PutRecords calls."""
    return (
        string_sink_builder(aws_config, stream)
        .set_max_batch_size(20)
        .set_fail_on_error(fail_on_error)
        .build()
    )


def copy_job(
    source: str,
    consumer_client: dict[str, object],
    sink: KinesisStreamsSink,
    consumer_extra: dict[str, object] | None = None,
) -> Job:
    """Start the copy with parallelism 2 and no restarts (a job that fails stays failed)."""
    env = failing_env()
    env.set_parallelism(2)
    config = {**consumer_client, **CONSUMER_CONFIG, **(consumer_extra or {})}
    consumer = FlinkKinesisConsumer(source, SimpleStringSchema(), config)
    return start_copy(env, consumer, sink, "copy-under-faults")


def produce(local_kinesis: LocalKinesis, stream: str) -> list[str]:
    records = [f"record-{i:04d}" for i in range(RECORDS)]
    local_kinesis.put_records(stream, records, [f"key-{i % 23}" for i in range(RECORDS)])
    return records


def run_copy(
    scenario: str,
    local_kinesis: LocalKinesis,
    job: Job,
    out: str,
    produced: list[str],
    rules: Sequence[FaultRule],
) -> Outcome:
    """Wait until every produced record is in ``out`` (and the faults hit), settle, cancel."""
    try:
        job.wait_for(
            lambda: set(produced) <= set(copied(local_kinesis, out)) or None,
            TIMEOUT_S,
            f"all {len(produced)} records in {out}",
        )
        time.sleep(3.0)  # a late duplicate would arrive within the sink's 100 ms flushes
    finally:
        job.cancel_and_wait()
    outcome = Outcome(scenario, produced, copied(local_kinesis, out), rules)
    print("\n" + outcome.row())
    return outcome


# --------------------------------------------------------------------------- consumer


CONSUMER_FAULTS = {
    "getrecords-throttled": (
        [Injection(throttle(), "GetRecords", Rate(0.3))],
        NO_SDK_RETRIES,
    ),
    "getrecords-500": ([Injection(internal_failure(), "GetRecords", Rate(0.2))], NO_SDK_RETRIES),
    "getrecords-503": (
        [Injection(service_unavailable(), "GetRecords", Rate(0.2))],
        NO_SDK_RETRIES,
    ),
    # The connector retries only socket timeouts and EOFs itself; a reset is retried by the
    # SDK's own retry policy (3 retries by default), which is therefore left on.
    "getrecords-reset": ([Injection(Reset(), "GetRecords", Rate(0.2))], {}),
    "getrecords-delayed": ([Injection(Delay(0.3), "GetRecords", Rate(0.3))], {}),
    "iterator-expired": ([Injection(expired_iterator(), "GetRecords", Rate(0.2))], {}),
    "getsharditerator-throttled": (
        [
            Injection(expired_iterator(), "GetRecords", Every(5)),
            Injection(throttle(), "GetShardIterator", Every(2)),
        ],
        NO_SDK_RETRIES,
    ),
    "listshards-limit-exceeded": (
        [Injection(limit_exceeded(), "ListShards", First(3))],
        NO_SDK_RETRIES,
    ),
}


@pytest.mark.parametrize("scenario", list(CONSUMER_FAULTS))
def test_consumer_rides_out_faults_and_copies_every_record_exactly_once(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    proxy: FaultProxy,
    scenario: str,
) -> None:
    # One shard: its requests come from one thread, so a seeded rate hits the same requests
    # on every run.
    source, out = stream_factory(1), stream_factory(1)
    produced = produce(local_kinesis, source)
    injections, extra = CONSUMER_FAULTS[scenario]
    rules = [injection.into(proxy) for injection in injections]

    job = copy_job(source, through(aws_config, proxy), sink_to(aws_config, out), extra)
    outcome = run_copy(scenario, local_kinesis, job, out, produced, rules)

    assert all(rule.injected > 0 for rule in rules), rules
    assert Counter(outcome.read) == Counter(produced)


def test_without_retries_the_same_throttling_fails_the_consumer(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    proxy: FaultProxy,
) -> None:
    """The control for the tests above: the injected faults do reach the connector, and its
    retry keys are what saves the job."""
    source, out = stream_factory(1), stream_factory(1)
    produce(local_kinesis, source)
    rule = proxy.inject(throttle(), operation="GetRecords", when=Rate(0.3))
    no_retries = {**NO_SDK_RETRIES, "flink.shard.getrecords.maxretries": "0"}

    job = copy_job(source, through(aws_config, proxy), sink_to(aws_config, out), no_retries)
    try:
        cause = job_failure(job, TIMEOUT_S)
    finally:
        job.cancel_and_wait()

    assert rule.injected == 1
    assert "Retries exceeded for getRecords operation - all 0 retry attempts failed" in cause


# --------------------------------------------------------------------------- sink


SINK_FAULTS = {
    "putrecords-partial-failures": [
        Injection(PartialFailure(entry_rate=0.3), "PutRecords", Rate(0.5)),
    ],
    # Whole requests fail; the sink's SDK tries a request 4 times before the failure reaches
    # the sink, which may then fail the job. One fault of each kind, each on the 3rd request its
    # rule sees: 3 faults in all, so no request can fail 4 times whatever the timing.
    "putrecords-throttled-500-reset": [
        Injection(throttle(), "PutRecords", Every(3), limit=1),
        Injection(internal_failure(), "PutRecords", Every(3), limit=1),
        Injection(Reset(), "PutRecords", Every(3), limit=1),
    ],
    # The request is written, then the connection is reset: the sink cannot know, retries,
    # and the records arrive twice (at-least-once). Every 2nd request, 3 in all: a random
    # rate (10%) could, rarely, reset one request 4 times and fail the job (one CI run did).
    "putrecords-reset-after-write": [
        Injection(Reset(after_forward=True), "PutRecords", Every(2), limit=3),
    ],
}


@pytest.mark.parametrize("scenario", list(SINK_FAULTS))
def test_sink_requeues_failed_entries_and_writes_every_record(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    proxy: FaultProxy,
    scenario: str,
) -> None:
    source, out = stream_factory(2), stream_factory(2)
    produced = produce(local_kinesis, source)
    rules = [injection.into(proxy) for injection in SINK_FAULTS[scenario]]

    job = copy_job(source, aws_config, sink_to(through(aws_config, proxy), out))
    outcome = run_copy(scenario, local_kinesis, job, out, produced, rules)

    assert all(rule.injected > 0 for rule in rules), rules
    assert outcome.lost == 0
    assert set(outcome.read) == set(produced)
    if scenario != "putrecords-reset-after-write":
        # Rejected entries are never written, so their retry cannot duplicate them.
        assert outcome.duplicated == 0


@pytest.mark.parametrize(
    ("injection", "expected_in_cause"),
    [
        (
            Injection(PartialFailure(entry_rate=0.3), "PutRecords", Every(1)),
            ["KinesisStreamsFailFastException", "not retrying due to {failOnError} being set"],
        ),
        (
            Injection(throttle(), "PutRecords", Every(1)),
            [
                "KinesisStreamsFailFastException",
                "ProvisionedThroughputExceededException",
                "Rate exceeded for shard (injected by FaultProxy).",
            ],
        ),
    ],
    ids=["partial-failure", "request-throttled"],
)
def test_sink_with_fail_on_error_fails_the_job_and_says_why(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    proxy: FaultProxy,
    injection: Injection,
    expected_in_cause: list[str],
) -> None:
    source, out = stream_factory(1), stream_factory(1)
    produced = produce(local_kinesis, source)
    rule = injection.into(proxy)
    sink = sink_to(through(aws_config, proxy), out, fail_on_error=True)

    job = copy_job(source, aws_config, sink)
    try:
        cause = job_failure(job, TIMEOUT_S)
    finally:
        job.cancel_and_wait()
    outcome = Outcome(
        f"fail-on-error/{type(injection.fault).__name__}",
        produced,
        copied(local_kinesis, out),
        [rule],
    )
    print("\n" + outcome.row() + "\nCAUSE | " + cause.replace("\n", "\nCAUSE | "))

    assert rule.injected > 0
    for text in expected_in_cause:
        assert text in cause
    assert outcome.duplicated == 0
