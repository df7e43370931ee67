"""Enhanced fan-out (EFO) in real jobs, on kinesis-mock (RegisterStreamConsumer, SubscribeToShard).

The connector's EFO client speaks HTTP/2; kinesis-mock serves it in clear text on its plain port,
so no certificate is involved. A "clean stop" is stop-with-savepoint: that is when the connector
deregisters LAZY consumers (a cancelled job leaves them registered; EAGER ones it never
deregisters, see below).
"""

from __future__ import annotations

import tempfile
import time
from collections import Counter
from typing import Callable

import pytest
from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import KeyedProcessFunction, StreamExecutionEnvironment
from pyflink.datastream.state import ValueStateDescriptor

from pyflink_kinesis import FlinkKinesisConsumer
from pyflink_kinesis.efo import (
    deregister_stream_consumer,
    describe_stream_consumer,
    register_stream_consumer,
)
from pyflink_kinesis.testing import KinesisMock
from tests.e2e.jobs import Job, start, string_sink

StreamFactory = Callable[..., str]
TIMEOUT_S = 120.0


@pytest.fixture
def mock_aws(kinesis_mock: KinesisMock) -> dict[str, object]:
    return {
        "aws.region": kinesis_mock.region,
        "aws.endpoint": kinesis_mock.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "efo-access-key",
        "aws.credentials.provider.basic.secretkey": "efo-secret-key",
    }


def efo_config(name: str, registration: str = "LAZY", **extra: str) -> dict[str, object]:
    return {
        "flink.stream.initpos": "TRIM_HORIZON",
        "flink.stream.recordpublisher": "EFO",
        "flink.stream.efo.consumername": name,
        "flink.stream.efo.registration": registration,
        **extra,
    }


def wait_for_texts(job: Job, mock: KinesisMock, stream: str, count: int) -> Counter[str]:
    job.wait_for(lambda: len(mock.read_all(stream)) >= count or None, TIMEOUT_S,
                 f"{count} records in {stream}")
    time.sleep(1.0)  # a duplicate would arrive within the sink's 100 ms flush interval
    return Counter(r.text for r in mock.read_all(stream))


def stop_cleanly(job: Job) -> None:
    job.client.stop_with_savepoint(False, "file://" + tempfile.mkdtemp()).result()


def consumer_gone(mock: KinesisMock, stream: str, name: str) -> bool:
    """True once the consumer is deregistered (kinesis-mock shows DELETING for a moment)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        description = describe_stream_consumer(mock.client(), stream, name)
        if description is None:
            return True
        time.sleep(0.3)
    return False


@pytest.mark.parametrize("registration", ["LAZY", "EAGER", "NONE"])
def test_each_registration_strategy_reads_every_record(
    env: StreamExecutionEnvironment,
    kinesis_mock: KinesisMock,
    mock_stream_factory: StreamFactory,
    mock_aws: dict[str, object],
    registration: str,
) -> None:
    source, out = mock_stream_factory(3), mock_stream_factory(1)
    records = [f"efo-{i}" for i in range(300)]
    kinesis_mock.put_records(source, records, [f"k{i % 31}" for i in range(300)])
    name = f"consumer-{registration.lower()}"
    extra = {}
    if registration == "NONE":
        arn = register_stream_consumer(kinesis_mock.client(), source, name)
        extra[f"flink.stream.efo.consumerarn.{source}"] = arn

    consumer = FlinkKinesisConsumer(
        source, SimpleStringSchema(), {**mock_aws, **efo_config(name, registration, **extra)}
    )
    registered_before_start = describe_stream_consumer(kinesis_mock.client(), source, name)
    env.add_source(consumer).sink_to(string_sink(mock_aws, out))
    job = start(env, f"efo {registration}")
    try:
        got = wait_for_texts(job, kinesis_mock, out, len(records))
    finally:
        stop_cleanly(job)
    assert got == Counter(records)

    if registration == "LAZY":
        assert registered_before_start is None  # registered by the job, not the client
    else:
        assert registered_before_start is not None  # EAGER: by the constructor; NONE: by us
    if registration == "LAZY":
        assert consumer_gone(kinesis_mock, source, name)
    else:
        # NONE by design; EAGER because connector 4.3.0 deregisters LAZY consumers only
        # (StreamConsumerRegistrarUtil.isConsumerDeregistrationRequired), unlike its docs.
        left = describe_stream_consumer(kinesis_mock.client(), source, name)
        assert left is not None and left["ConsumerStatus"] == "ACTIVE"
        deregister_stream_consumer(kinesis_mock.client(), source, name)
        assert describe_stream_consumer(kinesis_mock.client(), source, name) is None


def test_two_efo_consumers_read_the_same_stream_independently(
    env: StreamExecutionEnvironment,
    kinesis_mock: KinesisMock,
    mock_stream_factory: StreamFactory,
    mock_aws: dict[str, object],
) -> None:
    source, out_a, out_b = mock_stream_factory(2), mock_stream_factory(1), mock_stream_factory(1)
    records = [f"shared-{i}" for i in range(200)]
    kinesis_mock.put_records(source, records)
    for name, out in (("reader-a", out_a), ("reader-b", out_b)):
        consumer = FlinkKinesisConsumer(
            source, SimpleStringSchema(), {**mock_aws, **efo_config(name)}
        )
        env.add_source(consumer, name).sink_to(string_sink(mock_aws, out))
    job = start(env, "two efo consumers")
    try:
        got_a = wait_for_texts(job, kinesis_mock, out_a, len(records))
        got_b = wait_for_texts(job, kinesis_mock, out_b, len(records))
        consumers = {c["ConsumerName"] for c in kinesis_mock.list_stream_consumers(source)}
    finally:
        stop_cleanly(job)
    assert got_a == got_b == Counter(records)
    assert consumers == {"reader-a", "reader-b"}


class CheckOrder(KeyedProcessFunction):  # type: ignore[misc]
    """Tags each ``key:n`` record ``ok`` when n follows the key's previous one, else ``GAP``."""

    def open(self, runtime_context: object) -> None:
        self.last = runtime_context.get_state(  # type: ignore[attr-defined]
            ValueStateDescriptor("last", Types.LONG())
        )

    def process_element(self, value: str, ctx: object) -> object:
        n = int(value.split(":")[1])
        previous = self.last.value()
        self.last.update(n)
        in_order = (previous is None and n == 0) or previous == n - 1
        yield f"{value}:{'ok' if in_order else 'GAP'}"


def test_update_shard_count_while_reading_loses_nothing_and_keeps_key_order(
    env: StreamExecutionEnvironment,
    kinesis_mock: KinesisMock,
    mock_stream_factory: StreamFactory,
    mock_aws: dict[str, object],
) -> None:
    source, out = mock_stream_factory(2), mock_stream_factory(1)
    keys = [f"key{k}" for k in range(8)]
    per_batch = 25

    def produce(batch: int) -> list[str]:
        texts = [f"{k}:{n}" for n in range(batch * per_batch, (batch + 1) * per_batch)
                 for k in keys]
        kinesis_mock.put_records(source, texts, [t.split(":")[0] for t in texts])
        return texts

    consumer = FlinkKinesisConsumer(
        source, SimpleStringSchema(),
        {**mock_aws, **efo_config("resharding", **{"flink.shard.discovery.intervalmillis": "500"})},
    )
    (
        env.add_source(consumer)
        .key_by(lambda s: s.split(":")[0], key_type=Types.STRING())
        .process(CheckOrder(), output_type=Types.STRING())
        .sink_to(string_sink(mock_aws, out))
    )
    job = start(env, "efo resharding")
    produced: list[str] = []
    try:
        produced += produce(0)
        job.wait_for(lambda: len(kinesis_mock.read_all(out)) >= len(produced) or None,
                     TIMEOUT_S, "the first batch")
        kinesis_mock.update_shard_count(source, 4)
        for batch in range(1, 4):
            produced += produce(batch)
        got = wait_for_texts(job, kinesis_mock, out, len(produced))
    finally:
        stop_cleanly(job)
    assert len(kinesis_mock.list_shards(source)) > 2  # the stream really was resharded
    assert Counter(t.rsplit(":", 1)[0] for t in got) == Counter(produced)
    assert [t for t in got if t.endswith(":GAP")] == []
