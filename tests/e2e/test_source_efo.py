"""``KinesisStreamsSource`` with enhanced fan-out (``source.reader.type = EFO``) on kinesis-mock.

Two jobs share one stream, Kinesis -> (a map that fails once) -> key_by -> ``CountPerKey`` ->
Kinesis (test_restore.py's pipeline: a line's count is its record's position in its key, so a
record lost, counted twice or counted out of its key's order shows). The first job registers
its JOB_MANAGED consumer, survives a failure restart with it, reads across UpdateShardCount
under load and deregisters it on stop-with-savepoint. The second restores that savepoint and
reads on through a SELF_MANAGED consumer the test registered, which it leaves in place.
A third job reads the seed page's EFO example with the consumer and as ``migrate_consumer``
moves it to the source.
"""

from __future__ import annotations

import time
import warnings
from collections import Counter
from pathlib import Path
from typing import Any, Callable

from pyflink.common import WatermarkStrategy
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, StreamExecutionEnvironment

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisMigrationWarning,
    KinesisStreamsSource,
    migrate_consumer,
)
from pyflink_kinesis.efo import describe_stream_consumer, register_stream_consumer
from pyflink_kinesis.testing import KinesisMock
from tests.e2e.jobs import start, string_sink
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
TIMEOUT_S = 120.0
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


# The seed page's EFO consumer example (its Python tab), as written there.
SEED_EFO_CONFIG = {
    "aws.region": "us-east-1",
    "flink.stream.initpos": "LATEST",
    "flink.stream.recordpublisher": "EFO",
    "flink.stream.efo.consumername": "my-flink-efo-consumer",
}


def test_the_seed_efo_example_moved_with_migrate_consumer_reads_what_the_consumer_reads(
    kinesis_mock: KinesisMock,
    mock_stream_factory: StreamFactory,
    env: StreamExecutionEnvironment,
) -> None:
    """The seed's EFO config, for kinesis-mock, read by ``FlinkKinesisConsumer`` and by the
    source ``migrate_consumer`` makes of it (another consumer name: two readers of one
    consumer would take each other's subscriptions), in one job. Both start at LATEST, so
    records are put until each reader has one of them; the records put after that must come out
    of both, each once."""
    stream, by_consumer, by_source = (mock_stream_factory(2) for _ in range(3))
    aws = mock_aws(kinesis_mock)
    config = {**SEED_EFO_CONFIG, **aws, "flink.shard.discovery.intervalmillis": 500}
    with warnings.catch_warnings():
        warnings.simplefilter("error", KinesisMigrationWarning)  # every key has its option
        migrated = migrate_consumer(
            stream, SimpleStringSchema(),
            {**config, "flink.stream.efo.consumername": "my-flink-efo-consumer-source"})
    assert migrated.migration.source_config["source.reader.type"] == "EFO"
    env.add_source(FlinkKinesisConsumer(stream, SimpleStringSchema(), config)).sink_to(
        string_sink(aws, by_consumer))
    migrated.data_stream(env).sink_to(string_sink(aws, by_source))

    def texts(out: str) -> set[str]:
        return {record.text for record in kinesis_mock.read_all(out)}

    job = start(env, "seed EFO example, consumer and migrated source")
    try:
        warm_up: list[str] = []

        def both_reading() -> bool | None:
            warm_up.append(f"warm-up:{len(warm_up)}")
            kinesis_mock.put_records(stream, [warm_up[-1]], [f"k{len(warm_up) % 8}"])
            seen = set(warm_up)
            return bool(texts(by_consumer) & seen and texts(by_source) & seen) or None

        job.wait_for(both_reading, 180, "both readers reading from LATEST")
        for name in ("my-flink-efo-consumer", "my-flink-efo-consumer-source"):  # both use EFO
            assert consumer(kinesis_mock, stream, name) is not None, name
        records = [f"r{n}" for n in range(200)]
        kinesis_mock.put_records(stream, records, [f"k{n % 8}" for n in range(200)])

        def read_by(out: str) -> Counter[str]:
            return Counter(r.text for r in kinesis_mock.read_all(out) if r.text.startswith("r"))

        def both_done() -> bool | None:
            return len(read_by(by_consumer)) == len(read_by(by_source)) == len(records) or None

        job.wait_for(both_done, TIMEOUT_S, "the records in both outputs")
        time.sleep(1)  # copies, if any, would come now
        consumer_read, source_read = read_by(by_consumer), read_by(by_source)
    finally:
        job.cancel()
    assert consumer_read == Counter(records)
    assert source_read == consumer_read
