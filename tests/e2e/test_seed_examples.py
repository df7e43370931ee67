"""The Python examples of the Flink Kinesis connector page, with only the import line changed.

Copied from the documentation as they stand. Two edits the documentation's own text forces:
the sink example puts ``# Required`` comments after line-continuation backslashes, which Python
rejects, so those comments are moved to the end of the statement; and its
``simple_string_stream = ...`` placeholder is given a small stream; and the watermark tracker
example, which stands in the event-time section after the consumer got a periodic watermark
assigner (``CustomAssignerWithPeriodicWatermarks`` in Java), is given one of ours (a tracker
without one is ignored by the connector, so ``add_source`` refuses it). Each example is then
planned (the job graph is built in the JVM), which proves the Java objects were created.
"""

from __future__ import annotations

import json

import pytest
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.util.java_utils import get_field_value

from pyflink_kinesis import FlinkKinesisConsumer, KinesisConfigError

IMPORTS = """
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink_kinesis import (FlinkKinesisConsumer, KinesisStreamsSink, PartitionKeyGenerator,
                             PeriodicWatermarkAssigner, WatermarkTracker)
"""

POLLING_CONSUMER = """
consumer_config = {
    'aws.region': 'us-east-1',
    'aws.credentials.provider.basic.accesskeyid': 'aws_access_key_id',
    'aws.credentials.provider.basic.secretkey': 'aws_secret_access_key',
    'flink.stream.initpos': 'LATEST'
}

env = StreamExecutionEnvironment.get_execution_environment()

kinesis = env.add_source(FlinkKinesisConsumer("stream-1", SimpleStringSchema(), consumer_config))
"""

WATERMARK_TRACKER = """
consumer = FlinkKinesisConsumer(
    "kinesis_stream_name",
    SimpleStringSchema(),
    consumer_config)
consumer.set_periodic_watermark_assigner(PeriodicWatermarkAssigner.json_field("ts", 1000))
watermark_tracker = WatermarkTracker.job_manager_watermark_tracker("myKinesisSource")
consumer.set_watermark_tracker(watermark_tracker)
stream = env.add_source(consumer).print()
"""

SINK = """
# Required
sink_properties = {
    # Required
    'aws.region': 'us-east-1',
    # Optional, provide via alternative routes e.g. environment variables
    'aws.credentials.provider.basic.accesskeyid': 'aws_access_key_id',
    'aws.credentials.provider.basic.secretkey': 'aws_secret_access_key',
    'aws.endpoint': 'http://localhost:4567'
}

kds_sink = KinesisStreamsSink.builder() \\
    .set_kinesis_client_properties(sink_properties) \\
    .set_serialization_schema(SimpleStringSchema()) \\
    .set_partition_key_generator(PartitionKeyGenerator.fixed()) \\
    .set_stream_name("your-stream-name") \\
    .set_fail_on_error(False) \\
    .set_max_batch_size(500) \\
    .set_max_in_flight_requests(50) \\
    .set_max_buffered_requests(10000) \\
    .set_max_batch_size_in_bytes(5 * 1024 * 1024) \\
    .set_max_time_in_buffer_ms(5000) \\
    .set_max_record_size_in_bytes(1 * 1024 * 1024) \\
    .build()

simple_string_stream = env.from_collection(["a", "b"])
simple_string_stream.sink_to(kds_sink)
"""

CUSTOM_ENDPOINT = """
config = {
    'aws.region': 'us-east-1',
    'aws.credentials.provider.basic.accesskeyid': 'aws_access_key_id',
    'aws.credentials.provider.basic.secretkey': 'aws_secret_access_key',
    'aws.endpoint': 'http://localhost:4567'
}
"""


def run_example(*parts: str) -> dict[str, object]:
    namespace: dict[str, object] = {}
    exec(IMPORTS + "".join(parts), namespace)
    return namespace


def plan(namespace: dict[str, object]) -> list[str]:
    env = namespace["env"]
    assert isinstance(env, StreamExecutionEnvironment)
    nodes = json.loads(env.get_execution_plan())["nodes"]
    return [node["type"] for node in nodes]


def test_polling_consumer_example_builds_a_source() -> None:
    namespace = run_example(POLLING_CONSUMER, "kinesis.print()\n")
    assert plan(namespace)[0] == "Source: Custom Source"


def test_watermark_tracker_example() -> None:
    namespace = run_example(POLLING_CONSUMER, WATERMARK_TRACKER)
    assert plan(namespace) == ["Source: Custom Source", "Sink: Print to Std. Out"]
    consumer = namespace["consumer"]
    assert isinstance(consumer, FlinkKinesisConsumer)
    tracker = get_field_value(consumer._j_kinesis_consumer, "watermarkTracker")
    assert tracker.getClass().getSimpleName() == "JobManagerWatermarkTracker"


def test_a_watermark_tracker_without_an_assigner_is_refused_by_add_source() -> None:
    without_assigner = WATERMARK_TRACKER.replace(
        'consumer.set_periodic_watermark_assigner(PeriodicWatermarkAssigner.json_field("ts", '
        '1000))\n', "")
    assert without_assigner != WATERMARK_TRACKER
    with pytest.raises(KinesisConfigError, match=r"'watermark_tracker': set without a periodic "
                                                 r"watermark assigner"):
        run_example(POLLING_CONSUMER, without_assigner)


def test_sink_example_builds_a_kinesis_sink() -> None:
    namespace = run_example("env = StreamExecutionEnvironment.get_execution_environment()\n", SINK)
    assert any("Sink" in node for node in plan(namespace))


def test_custom_endpoint_config_serves_consumer_and_sink() -> None:
    namespace = run_example(
        CUSTOM_ENDPOINT,
        "env = StreamExecutionEnvironment.get_execution_environment()\n"
        "env.add_source(FlinkKinesisConsumer('s', SimpleStringSchema(), config)).sink_to(\n"
        "    KinesisStreamsSink.builder().set_kinesis_client_properties(config)\n"
        "    .set_serialization_schema(SimpleStringSchema())\n"
        "    .set_partition_key_generator(PartitionKeyGenerator.random())\n"
        "    .set_stream_name('out').build())\n",
    )
    assert plan(namespace)[0] == "Source: Custom Source"
