"""PyFlink's own Kinesis tests, with only the import changed.

flink-python's ``pyflink/datastream/connectors/tests/test_kinesis.py`` (Flink 1.20) tests the
consumer and the two sinks of ``pyflink.datastream.connectors.kinesis``. Here are its consumer
and Kinesis sink tests, in our words, each run twice: with PyFlink's module (that the tests are
PyFlink's) and with ``pyflink_kinesis`` (that code written against PyFlink's module runs with
only the import changed). Its Firehose sink test is in tests/test_firehose.py.

PyFlink's sink test sets a secret key without its access key id, which Java silently ignores (it
then takes the default credentials chain): ours builds the same sink and warns about it
(``KinesisConfigWarning``), so the test runs as written.
"""

from __future__ import annotations

import importlib
import json
from types import ModuleType

import pytest
from pyflink.common import SimpleStringSchema, Types
from pyflink.datastream import RuntimeExecutionMode, StreamExecutionEnvironment
from pyflink.util.java_utils import get_field_value

from pyflink_kinesis import KinesisConfigWarning, KinesisStreamsSink, PartitionKeyGenerator, gateway

pytestmark = pytest.mark.jvm


@pytest.fixture(params=["pyflink.datastream.connectors.kinesis", "pyflink_kinesis"],
                ids=["pyflink", "pyflink_kinesis"])
def kinesis(request: pytest.FixtureRequest) -> ModuleType:
    """The module the test imports its classes from."""
    gateway.jvm()  # the connector's classes, which PyFlink's module needs as well
    return importlib.import_module(request.param)


@pytest.fixture
def env() -> StreamExecutionEnvironment:
    """PyFlink's unit-test environment (``PyFlinkUTTestCase``): streaming, parallelism 2."""
    environment = StreamExecutionEnvironment.get_execution_environment()
    environment.set_runtime_mode(RuntimeExecutionMode.STREAMING)
    environment.set_parallelism(2)
    return environment


def test_kinesis_source(kinesis: ModuleType, env: StreamExecutionEnvironment) -> None:
    consumer_config = {
        "aws.region": "us-east-1",
        "aws.credentials.provider.basic.accesskeyid": "aws_access_key_id",
        "aws.credentials.provider.basic.secretkey": "aws_secret_access_key",
        "flink.stream.initpos": "LATEST",
    }
    kinesis_source = kinesis.FlinkKinesisConsumer(
        "stream-1", SimpleStringSchema(), consumer_config
    )

    ds = env.add_source(source_func=kinesis_source, source_name="kinesis source")
    ds.print()
    plan = json.loads(env.get_execution_plan())

    assert plan["nodes"][0]["type"] == "Source: kinesis source"
    assert get_field_value(kinesis_source.get_java_function(), "streams")[0] == "stream-1"


def test_kinesis_streams_sink(kinesis: ModuleType, env: StreamExecutionEnvironment) -> None:
    sink_properties = {
        "aws.region": "us-east-1",
        "aws.credentials.provider.basic.secretkey": "aws_secret_access_key",
    }
    ds = env.from_collection([("ab", 1), ("bdc", 2), ("cfgs", 3), ("deeefg", 4)],
                             type_info=Types.ROW([Types.STRING(), Types.INT()]))

    kinesis_streams_sink = (
        kinesis.KinesisStreamsSink.builder()
        .set_kinesis_client_properties(sink_properties)
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(kinesis.PartitionKeyGenerator.fixed())
        .set_stream_name("stream-1")
        .set_fail_on_error(False)
        .set_max_batch_size(500)
        .set_max_in_flight_requests(50)
        .set_max_buffered_requests(10000)
        .set_max_batch_size_in_bytes(5 * 1024 * 1024)
        .set_max_time_in_buffer_ms(5000)
        .set_max_record_size_in_bytes(1 * 1024 * 1024)
        .build()
    )
    ds.sink_to(kinesis_streams_sink).name("kinesis streams sink")
    plan = json.loads(env.get_execution_plan())

    assert plan["nodes"][1]["type"] == "kinesis streams sink: Writer"
    assert get_field_value(kinesis_streams_sink.get_java_function(), "failOnError") is False
    assert get_field_value(kinesis_streams_sink.get_java_function(), "streamName") == "stream-1"


def test_a_secret_key_without_its_access_key_id_is_warned_about() -> None:
    """PyFlink's sink test's own properties: Java ignores the lone key, so ours says so."""
    builder = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties({
            "aws.region": "us-east-1",
            "aws.credentials.provider.basic.secretkey": "aws_secret_access_key",
        })
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(PartitionKeyGenerator.fixed())
        .set_stream_name("stream-1")
    )
    with pytest.warns(KinesisConfigWarning) as warned:
        builder.build()
    [warning] = [w for w in warned if w.category is KinesisConfigWarning]
    assert "'aws.credentials.provider.basic.accesskeyid': missing" in str(warning.message)
    assert "Java ignores the lone key and uses AUTO" in str(warning.message)
    assert "aws_secret_access_key" not in str(warning.message)
