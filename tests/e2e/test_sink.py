"""KinesisStreamsSink in real jobs: what is written arrives, keyed as documented.

The keyed generators (fields, fixed, custom) are in test_keyed_writes.py.
"""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Callable

from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment

from pyflink_kinesis import KinesisStreamsSink, PartitionKeyGenerator
from pyflink_kinesis.testing import LocalKinesis

StreamFactory = Callable[..., str]


def write(
    env: StreamExecutionEnvironment,
    records: list[str],
    aws_config: dict[str, object],
    stream: str,
    keys: PartitionKeyGenerator,
) -> None:
    """Run a bounded job writing ``records`` to ``stream`` through two sink subtasks."""
    sink = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(keys)
        .set_stream_name(stream)
        .set_max_batch_size(100)
        .build()
    )
    env.from_collection(records, type_info=Types.STRING()).rebalance().sink_to(sink)
    env.execute("write")


def test_sink_writes_exactly_the_records_of_a_bounded_job(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    stream = stream_factory(3)
    records = [f"value-{i % 250}" for i in range(1000)]  # repeats: a multiset, not a set
    write(env, records, aws_config, stream, PartitionKeyGenerator.random())
    arrived = local_kinesis.read_all(stream)
    assert Counter(r.text for r in arrived) == Counter(records)


def test_random_keys_are_a_fresh_uuid_per_record(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
) -> None:
    stream = stream_factory(4)
    records = [f"r{i}" for i in range(400)]
    write(env, records, aws_config, stream, PartitionKeyGenerator.random())
    arrived = local_kinesis.read_all(stream)
    keys = [r.partition_key for r in arrived]
    assert len(set(keys)) == len(records)
    assert all(uuid.UUID(k) for k in keys)
    assert len({r.shard_id for r in arrived}) == 4  # spread over every shard

