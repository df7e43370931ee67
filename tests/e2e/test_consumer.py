"""FlinkKinesisConsumer in real jobs: every start position, several shards, several streams.

Each job copies Kinesis -> PyFlink -> Kinesis; what arrived is read back with boto3.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime, timezone
from typing import Callable, Sequence

import pytest
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import FlinkKinesisConsumer
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import Job, copied, start_copy, string_sink

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0


def copy_job(
    env: StreamExecutionEnvironment,
    streams: str | Sequence[str],
    consumer_config: dict[str, object],
    aws_config: dict[str, object],
    out: str,
) -> Job:
    """Start a job reading ``streams`` and writing each record, tagged by the job, to ``out``."""
    consumer = FlinkKinesisConsumer(
        streams, SimpleStringSchema(), {**aws_config, **consumer_config}
    )
    return start_copy(env, consumer, string_sink(aws_config, out), "copy")


def read_exactly(
    job: Job, local_kinesis: LocalKinesis, out: str, expected: Sequence[str],
    settle_s: float = 2.0,
) -> Counter[str]:
    """Wait until ``out`` holds as many records as expected, let the sink settle, return them."""
    job.wait_for(
        lambda: len(copied(local_kinesis, out)) >= len(expected) or None,
        TIMEOUT_S,
        f"{len(expected)} records in {out}",
    )
    time.sleep(settle_s)  # a duplicate would arrive within the sink's 100 ms flush interval
    return Counter(copied(local_kinesis, out))


def test_trim_horizon_reads_every_record_of_a_multi_shard_stream(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    source, out = stream_factory(4), stream_factory(1)
    records = [f"record-{i}" for i in range(400)]
    local_kinesis.put_records(source, records, [f"key-{i % 37}" for i in range(400)])
    assert len({r.shard_id for r in local_kinesis.read_all(source)}) == 4

    job = copy_job(env, source, {"flink.stream.initpos": "TRIM_HORIZON"}, aws_config, out)
    try:
        got = read_exactly(job, local_kinesis, out, records)
    finally:
        job.cancel()
    assert got == Counter(records)


def test_latest_reads_only_records_written_after_the_job_started(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    old = [f"old-{i}" for i in range(50)]
    local_kinesis.put_records(source, old)

    job = copy_job(env, source, {"flink.stream.initpos": "LATEST"}, aws_config, out)
    try:
        # Markers show when the consumer is positioned; records before that are not "after start".
        def marker_arrived() -> bool | None:
            local_kinesis.put_records(source, ["marker"] * 4, [f"m{i}" for i in range(4)])
            return "marker" in copied(local_kinesis, out) or None

        job.wait_for(marker_arrived, TIMEOUT_S, "a marker record to be copied")
        new = [f"new-{i}" for i in range(100)]
        local_kinesis.put_records(source, new)
        job.wait_for(
            lambda: set(new) <= set(copied(local_kinesis, out)) or None, TIMEOUT_S, "new records"
        )
    finally:
        job.cancel()
    got = Counter(t for t in copied(local_kinesis, out) if t != "marker")
    assert got == Counter(new)


@pytest.mark.parametrize(
    ("timestamp_format", "render"),
    [
        (None, lambda t: f"{t:.3f}"),
        (None, lambda t: datetime.fromtimestamp(t, timezone.utc).isoformat(
            timespec="milliseconds")),
        ("yyyy-MM-dd HH:mm:ss.SSS", lambda t: datetime.fromtimestamp(t).strftime(
            "%Y-%m-%d %H:%M:%S.%f")[:-3]),
    ],
    ids=["epoch-seconds", "default-date-format", "custom-date-format"],
)
def test_at_timestamp_starts_at_the_given_time(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    timestamp_format: str | None,
    render: Callable[[float], str],
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    before = [f"before-{i}" for i in range(60)]
    local_kinesis.put_records(source, before)
    time.sleep(1.0)
    start_at = time.time()
    time.sleep(1.0)
    after = [f"after-{i}" for i in range(60)]
    local_kinesis.put_records(source, after)

    config: dict[str, object] = {
        "flink.stream.initpos": "AT_TIMESTAMP",
        "flink.stream.initpos.timestamp": render(start_at),
    }
    if timestamp_format:
        config["flink.stream.initpos.timestamp.format"] = timestamp_format
    job = copy_job(env, source, config, aws_config, out)
    try:
        got = read_exactly(job, local_kinesis, out, after)
    finally:
        job.cancel()
    assert got == Counter(after)


def test_one_consumer_reads_two_streams(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    first, second, out = stream_factory(2), stream_factory(1), stream_factory(1)
    first_records = [f"first-{i}" for i in range(120)]
    second_records = [f"second-{i}" for i in range(80)]
    local_kinesis.put_records(first, first_records)
    local_kinesis.put_records(second, second_records)

    job = copy_job(
        env, [first, second], {"flink.stream.initpos": "TRIM_HORIZON"}, aws_config, out
    )
    try:
        got = read_exactly(job, local_kinesis, out, first_records + second_records)
    finally:
        job.cancel()
    assert got == Counter(first_records + second_records)
