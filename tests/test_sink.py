"""KinesisStreamsSink's builder and PartitionKeyGenerator: everything wrong reported at build().

These build sinks in this process's JVM; real jobs are in tests/e2e/test_keyed_writes.py.
"""

from __future__ import annotations

from typing import Any

import pytest
from py4j.java_gateway import get_field
from pyflink.common.serialization import SimpleStringSchema

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisConfigError,
    KinesisShardAssigner,
    KinesisStreamsSink,
    KinesisStreamsSinkBuilder,
    PartitionKeyGenerator,
    RowFieldSerializationSchema,
    WatermarkTracker,
)

pytestmark = pytest.mark.jvm

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
CLIENT = {"aws.region": "us-east-1", "aws.credentials.provider.basic.accesskeyid": "k",
          "aws.credentials.provider.basic.secretkey": SECRET}
SINK_PACKAGE = "org.apache.flink.connector.kinesis.sink"


def builder(keys: Any = None, schema: Any = None) -> KinesisStreamsSinkBuilder:
    return (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(CLIENT)
        .set_serialization_schema(schema or SimpleStringSchema())
        .set_partition_key_generator(keys or PartitionKeyGenerator.random())
        .set_stream_name("orders")
    )


def problems(sink_builder: KinesisStreamsSinkBuilder) -> dict[str, list[str]]:
    with pytest.raises(KinesisConfigError) as raised:
        sink_builder.build()
    assert SECRET not in str(raised.value)
    found: dict[str, list[str]] = {}
    for problem in raised.value.problems:
        found.setdefault(problem.key, []).append(problem.message)
    return found


def java_class_of(sink: KinesisStreamsSink) -> str:
    return str(sink.get_java_function().getClass().getName())


def test_wrong_types_for_every_part_are_reported_together() -> None:
    found = problems(
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties([("aws.secret", SECRET)])  # type: ignore[arg-type]
        .set_serialization_schema("nope")
        .set_partition_key_generator(lambda record: record["id"])  # type: ignore[arg-type]
        .set_stream_name(5)  # type: ignore[arg-type]
        .set_max_batch_size("500")  # type: ignore[arg-type]
    )
    assert found == {
        "serialization_schema": [
            "expected a pyflink SerializationSchema (like SimpleStringSchema()), got str"
        ],
        "partition_key_generator": [
            "expected a PartitionKeyGenerator (like PartitionKeyGenerator.from_field('id')), got "
            "function; to key by a Python function, map each record to a Row of key and payload "
            "(see 'Partition keys' in `pyflink-kinesis docs sink`)"
        ],
        "kinesis_client_properties": [
            "expected a dict of str keys to str, int, float, bool or Enum values, got list"
        ],
        "stream_name": ["stream names are str, got int"],
        "max_batch_size": ["expected int, got str"],
    }


def test_generator_arguments_are_checked_at_build_with_the_other_problems() -> None:
    keys = PartitionKeyGenerator.from_field("", default_key="")
    found = problems(builder(keys).set_stream_name(""))
    assert found == {
        "partition_key_generator": [
            "PartitionKeyGenerator.from_field('', default_key=''): the field name is empty; name a "
            "field of the records or give its position",
            "PartitionKeyGenerator.from_field('', default_key=''): default_key is 0 characters "
            "long; Kinesis takes keys of 1 to 256",
        ],
        "stream_name": ["missing; set the stream to write to"],
    }


@pytest.mark.parametrize(
    ("keys", "message"),
    [
        (PartitionKeyGenerator.from_field(2.5),  # type: ignore[arg-type]
         "from_field(2.5): expected a field name (str) "
                                                "or a position (int >= 0), got float 2.5"),
        (PartitionKeyGenerator.from_field(-1), "from_field(-1): the position is -1"),
        (PartitionKeyGenerator.from_field("id", hash_long_keys=1),  # type: ignore[arg-type]
         "from_field('id', hash_long_keys=1): hash_long_keys must be True or False, got int"),
        (PartitionKeyGenerator.json_field("a..b"), "json_field('a..b'): 'a..b' has an empty "
                                                   "field name"),
        (PartitionKeyGenerator.json_field(None),  # type: ignore[arg-type]
         "json_field(None): expected a field name or dotted path (str), got NoneType None"),
        (PartitionKeyGenerator.custom(5),  # type: ignore[arg-type]
         "custom(5): expected a Java class name (str), got int"),
        (PartitionKeyGenerator.custom("no such class"),
         "custom('no such class'): 'no such class' is not a fully qualified Java class name"),
    ],
    ids=["float", "negative", "hash-not-bool", "empty-segment", "path-none", "class-int",
         "class-text"],
)
def test_impossible_generator_arguments_are_named(
    keys: PartitionKeyGenerator, message: str
) -> None:
    [problem] = problems(builder(keys))["partition_key_generator"]
    assert problem.startswith(f"PartitionKeyGenerator.{message}")


@pytest.mark.parametrize(
    ("class_name", "message"),
    [
        (
            "no.such.Generator",
            "the Java class could not be loaded (java.lang.ClassNotFoundException: "
            "no.such.Generator); check the fully qualified name and add the jar that holds it "
            "with env.add_jars(",
        ),
        ("java.lang.String", f"does not implement {SINK_PACKAGE}.PartitionKeyGenerator"),
        (f"{SINK_PACKAGE}.PartitionKeyGenerator", "must be a concrete class with a public no-arg"),
    ],
    ids=["missing", "not-a-generator", "interface"],
)
def test_custom_generator_errors_match_the_custom_shard_assigner(
    class_name: str, message: str
) -> None:
    with pytest.raises(KinesisConfigError) as raised:
        builder(PartitionKeyGenerator.custom(class_name)).build()
    text = str(raised.value)
    assert f"PartitionKeyGenerator.custom({class_name!r})" in text
    assert message in text
    assert "before build()" in text or "could not be loaded" not in message


@pytest.mark.parametrize(
    ("keys", "wrapped"),
    [
        (PartitionKeyGenerator.random(), False),
        (PartitionKeyGenerator.fixed(), True),
        (PartitionKeyGenerator.from_field("id", default_key="none", hash_long_keys=True), True),
        (PartitionKeyGenerator.from_field(0), True),
        (PartitionKeyGenerator.json_field("order.id"), True),
        (PartitionKeyGenerator.custom(
            "org.apache.flink.connector.kinesis.table.FixedKinesisPartitionKeyGenerator"), True),
    ],
    ids=["random", "fixed", "named", "position", "json", "custom"],
)
def test_generators_that_need_their_subtask_get_a_sink_that_tells_them(
    keys: PartitionKeyGenerator, wrapped: bool
) -> None:
    sink = builder(keys).build()
    expected = f"{SINK_PACKAGE}.SubtaskInitializingSink" if wrapped else (
        f"{SINK_PACKAGE}.KinesisStreamsSink")
    assert java_class_of(sink) == expected
    assert f"partition_key_generator=PartitionKeyGenerator.{keys._description}" in repr(sink)
    assert SECRET not in repr(sink)


@pytest.mark.parametrize(
    "keys", [PartitionKeyGenerator.random(), PartitionKeyGenerator.fixed()], ids=["random", "fixed"]
)
def test_aggregation_builds_our_aggregating_sink_with_its_settings(
    keys: PartitionKeyGenerator,
) -> None:
    sink = builder(keys).set_aggregation(max_delay_ms=50, max_size_in_bytes=65536).build()
    # Not wrapped: the aggregating sink opens its generator itself.
    assert java_class_of(sink) == "io.pyflinkkinesis.aggregation.AggregatingKinesisStreamsSink"
    assert "aggregation=True, aggregation_max_delay_ms=50" in repr(sink)
    assert SECRET not in repr(sink)


def test_aggregation_problems_are_reported_with_the_others() -> None:
    found = problems(
        builder().set_max_batch_size(0).set_aggregation(max_size_in_bytes=5 * 1024 * 1024)
    )
    assert set(found) == {"max_batch_size", "max_size_in_bytes"}  # as set_aggregation names it
    off = problems(builder().set_aggregation(False, max_delay_ms=10))
    assert off == {
        "max_delay_ms": ["set, but aggregation is off: use set_aggregation(True, ...)"]
    }
    assert problems(builder().set_aggregation(max_delay_ms=-1)) == {
        "max_delay_ms": ["-1 is out of range: must be >= 1"]
    }


@pytest.mark.parametrize(
    "keys", [PartitionKeyGenerator.random(), PartitionKeyGenerator.fixed()], ids=["random", "fixed"]
)
def test_keep_key_order_wraps_the_connectors_sink_with_every_setting(
    keys: PartitionKeyGenerator,
) -> None:
    """The key-ordered sink also tells fixed() its subtask (no SubtaskInitializingSink)."""
    sink = builder(keys).set_max_batch_size(7).set_max_in_flight_requests(3) \
        .set_keep_key_order().build()
    assert java_class_of(sink) == "io.pyflinkkinesis.sink.KeyOrderedKinesisStreamsSink"
    settings = sink.get_java_function().getSettings()
    assert [get_field(settings, name) for name in ("streamName", "maxBatchSize",
                                                   "maxInFlightRequests")] == ["orders", 7, 3]
    assert "keep_key_order=True" in repr(sink)
    assert SECRET not in repr(sink)


def test_keep_key_order_with_aggregation_is_the_aggregating_sinks_setting() -> None:
    sink = builder().set_aggregation().set_keep_key_order().build()
    assert java_class_of(sink) == "io.pyflinkkinesis.aggregation.AggregatingKinesisStreamsSink"
    assert sink.get_java_function().keepsKeyOrder()
    assert not builder().set_aggregation().build().get_java_function().keepsKeyOrder()


def test_keep_key_order_must_be_a_bool() -> None:
    assert problems(builder().set_keep_key_order("yes")) == {  # type: ignore[arg-type]
        "keep_key_order": ["expected bool, got str"]
    }


def test_generators_describe_themselves() -> None:
    assert repr(PartitionKeyGenerator.from_field("customer")) == (
        "PartitionKeyGenerator.from_field('customer')")
    assert repr(PartitionKeyGenerator.json_field("a.b", default_key="x", hash_long_keys=True)) == (
        "PartitionKeyGenerator.json_field('a.b', default_key='x', hash_long_keys=True)")
    assert PartitionKeyGenerator.fixed() == PartitionKeyGenerator.fixed()
    assert PartitionKeyGenerator.from_field(0) != PartitionKeyGenerator.from_field("0")


def test_row_field_schema_rejects_what_cannot_work() -> None:
    with pytest.raises(ValueError, match="field: the field name is empty"):
        RowFieldSerializationSchema("")
    with pytest.raises(TypeError, match=r"schema must be a pyflink SerializationSchema .* not str"):
        RowFieldSerializationSchema(1, "utf-8")
    assert repr(RowFieldSerializationSchema(1)) == "RowFieldSerializationSchema(1, None)"


def test_consumer_arguments_of_the_wrong_type_are_reported_with_the_config() -> None:
    with pytest.raises(KinesisConfigError) as raised:
        FlinkKinesisConsumer(5, "nope", {"aws.regoin": "us-east-1"})  # type: ignore[arg-type]
    assert {p.key: p.message for p in raised.value.problems} == {
        "deserializer": "expected a pyflink DeserializationSchema (like SimpleStringSchema()) "
        "or a KinesisDeserializationSchema, got str",
        "streams": "expected a stream name (str) or a list of them, got int",
        "aws.regoin": "unknown key; did you mean 'aws.region'?",
        "aws.region": "missing; set the region of the consumer's streams, like 'us-east-1'",
    }


def test_consumer_setters_name_what_they_take() -> None:
    consumer = FlinkKinesisConsumer("s", SimpleStringSchema(), {"aws.region": "us-east-1"})
    with pytest.raises(TypeError, match=r"set_shard_assigner takes a KinesisShardAssigner \(like "
                       r"KinesisShardAssigner.uniform_shard_assigner\(\)\), got str"):
        consumer.set_shard_assigner("uniform")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="set_watermark_tracker takes a WatermarkTracker"):
        consumer.set_watermark_tracker(None)  # type: ignore[arg-type]
    consumer.set_shard_assigner(KinesisShardAssigner.uniform_shard_assigner())
    consumer.set_watermark_tracker(WatermarkTracker.job_manager_watermark_tracker("w"))


def test_exactly_once_builds_the_committing_sink_with_its_settings() -> None:
    sink = (
        builder()
        .set_delivery_guarantee("exactly-once", max_buffered_bytes=2 << 20, commit_timeout_ms=5)
        .build()
    )
    assert java_class_of(sink) == "io.pyflinkkinesis.exactlyonce.CommittingKinesisStreamsSink"
    assert "delivery_guarantee='exactly-once', exactly_once_max_buffered_bytes=2097152" in repr(
        sink
    )
    assert SECRET not in repr(sink)
    assert problems(builder().set_delivery_guarantee("exactly-once").set_aggregation()) == {
        "aggregation": [
            "set, but the exactly-once sink does not use it: it writes each checkpoint's records "
            "once the checkpoint completes, aggregated and in order per shard"
        ]
    }
