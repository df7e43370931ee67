"""``KinesisStreamsSource`` with enhanced fan-out (``source.reader.type = EFO``) on kinesis-mock.

Two jobs share one stream, Kinesis -> (a map that fails once) -> key_by -> ``CountPerKey`` ->
Kinesis (test_restore.py's pipeline: a line's count is its record's position in its key, so a
record lost, counted twice or counted out of its key's order shows). The first job registers
its JOB_MANAGED consumer, survives a failure restart with it, reads across UpdateShardCount
under load and deregisters it on stop-with-savepoint. The second restores that savepoint and
reads on through a SELF_MANAGED consumer the test registered, which it leaves in place.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any, Callable

from pyflink.common import WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, StreamExecutionEnvironment

from pyflink_kinesis import KinesisStreamsSource
from pyflink_kinesis.efo import describe_stream_consumer, register_stream_consumer
from pyflink_kinesis.testing import KinesisMock
from tests.e2e.test_efo import consumer_gone
from tests.e2e.test_restore import (
    KEYS,
    PER_BATCH,
    FailOnce,
    Producer,
    assert_exactly_once_state,
    checkpointed_env,
    counting_job,
    output,
    settle,
    wait_for_records,
)

StreamFactory = Callable[..., str]
RESTARTS = {
    "restart-strategy.type": "fixed-delay",
    "restart-strategy.fixed-delay.attempts": "3",
    "restart-strategy.fixed-delay.delay": "1 s",
}


def mock_aws(mock: KinesisMock) -> dict[str, object]:
    return {
        "aws.region": mock.region,
        "aws.endpoint": mock.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "efo-access-key",
        "aws.credentials.provider.basic.secretkey": "efo-secret-key",
    }


def efo_reader(name: str, lifecycle: str) -> Callable[..., DataStream]:
    """A reader for ``counting_job``: the source from TRIM_HORIZON through EFO consumer ``name``."""

    def read(env: StreamExecutionEnvironment, aws: dict[str, object], stream: str) -> DataStream:
        source = (
            KinesisStreamsSource.builder()
            .set_stream_name(stream)
            .set_source_config({
                **aws,
                "flink.stream.initpos": "TRIM_HORIZON",
                "flink.shard.discovery.intervalmillis": 500,
                "source.reader.type": "EFO",
                "source.efo.consumer.name": name,
                "source.efo.lifecycle": lifecycle,
                "source.efo.describe.retry-strategy.delay.min": "200 ms",
            })
            .set_deserialization_schema(SimpleStringSchema())
            .build()
        )
        return env.from_source(source, WatermarkStrategy.no_watermarks(), "kinesis")

    return read


def consumer(mock: KinesisMock, stream: str, name: str) -> dict[str, Any] | None:
    return describe_stream_consumer(mock.client(), stream, name)


def test_efo_source_restarts_reshards_stops_and_restores_without_loss_or_reordering(
    kinesis_mock: KinesisMock,
    mock_stream_factory: StreamFactory,
    tmp_path: Path,
) -> None:
    aws = mock_aws(kinesis_mock)
    source, out = mock_stream_factory(2), mock_stream_factory(1)
    producer = Producer(kinesis_mock, source)  # type: ignore[arg-type]
    checkpoints, marker = tmp_path / "checkpoints", tmp_path / "failed-once"
    first = producer.batch()
    assert consumer(kinesis_mock, source, "job-managed") is None

    trigger = f"{KEYS[3]}:{PER_BATCH + 5}"  # in the second batch
    env = checkpointed_env(checkpoints, **RESTARTS)
    job = counting_job(env, aws, source, out, "first", FailOnce(trigger, str(marker)),
                       efo_reader("job-managed", "JOB_MANAGED"))
    try:
        wait_for_records(job, kinesis_mock, out, first, "the first batch")  # type: ignore[arg-type]
        registered = consumer(kinesis_mock, source, "job-managed")
        assert registered is not None and registered["ConsumerStatus"] == "ACTIVE"
        second = producer.batch()
        wait_for_records(job, kinesis_mock, out, second, "the batch after the failure")  # type: ignore[arg-type]
        assert marker.exists()  # the failure was injected, and the job restarted
        after_restart = consumer(kinesis_mock, source, "job-managed")
        assert after_restart is not None
        assert after_restart["ConsumerARN"] == registered["ConsumerARN"]  # kept, not renewed

        kinesis_mock.update_shard_count(source, 4)
        resharded = producer.batch() + producer.batch()
        wait_for_records(job, kinesis_mock, out, resharded, "the batches across resharding")  # type: ignore[arg-type]
        savepoint = job.client.stop_with_savepoint(False, (tmp_path / "sp").as_uri()).result()
    finally:
        job.cancel()
    assert len(kinesis_mock.list_shards(source)) == 6  # two parents, four children
    assert consumer_gone(kinesis_mock, source, "job-managed")  # deregistered on the stop

    while_stopped = producer.batch()
    register_stream_consumer(kinesis_mock.client(), source, "self-managed")
    env = checkpointed_env(checkpoints, **{"execution.state-recovery.path": savepoint})
    job = counting_job(env, aws, source, out, "restored",
                       reader=efo_reader("self-managed", "SELF_MANAGED"))
    try:
        wait_for_records(job, kinesis_mock, out, while_stopped, "the batch written while stopped")  # type: ignore[arg-type]
        after = producer.batch()
        wait_for_records(job, kinesis_mock, out, after, "the batch after restoring")  # type: ignore[arg-type]
        settle()
        lines = output(kinesis_mock, out)  # type: ignore[arg-type]
        job.client.stop_with_savepoint(False, (tmp_path / "sp2").as_uri()).result()
    finally:
        job.cancel()
    left = consumer(kinesis_mock, source, "self-managed")
    assert left is not None and left["ConsumerStatus"] == "ACTIVE"  # SELF_MANAGED: left alone
    assert consumer(kinesis_mock, source, "job-managed") is None  # not registered again

    runs = Counter((line.run, line.attempt) for line in lines)
    assert set(runs) == {("first", 0), ("first", 1), ("restored", 0)}, runs
    restored = {line.record for line in lines if line.run == "restored"}
    assert restored == set(while_stopped + after)  # nothing before the savepoint read again
    # Every record out, each counted once and in its key's order (count = position in key),
    # across the restart, the resharding (parents before children) and the restore.
    tally = assert_exactly_once_state(lines, producer.records)
    print(f"EFO source: {tally}; lines per run and attempt {dict(runs)}")
