"""KinesisFirehoseSink's builder: PyFlink's own test with only the import changed, and everything
wrong reported at build(). These build sinks in this process's JVM; jobs are in
tests/e2e/test_firehose.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.util.java_utils import get_field_value

from pyflink_kinesis import KinesisConfigError, KinesisFirehoseSink
from pyflink_kinesis.firehose import FirehoseLimitWarning
from tests.support.environment import fresh_process_environment

pytestmark = pytest.mark.jvm

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"


def test_pyflinks_own_firehose_sink_test_passes_with_our_import() -> None:
    """flink-python's test_kinesis.py::test_kinesis_firehose_sink, in our words: the sink built
    with every setting becomes the plan's 'kinesis firehose sink: Writer' node and carries the
    stream name and fail_on_error it was given. Its 5 MiB and 1 MiB (Kinesis' limits) are above
    Firehose's: they are lowered, with a warning."""
    env = StreamExecutionEnvironment.get_execution_environment()
    ds = env.from_collection([("ab", 1), ("bdc", 2)],
                             type_info=Types.ROW([Types.STRING(), Types.INT()]))
    sink_properties = {
        "aws.region": "eu-west-1",
        "aws.credentials.provider.basic.accesskeyid": "aws_access_key_id",
        "aws.credentials.provider.basic.secretkey": "aws_secret_access_key",
    }
    with pytest.warns(FirehoseLimitWarning) as lowered:
        sink = (
            KinesisFirehoseSink.builder()
            .set_firehose_client_properties(sink_properties)
            .set_serialization_schema(SimpleStringSchema())
            .set_delivery_stream_name("stream-1")
            .set_fail_on_error(False)
            .set_max_batch_size(500)
            .set_max_in_flight_requests(50)
            .set_max_buffered_requests(10000)
            .set_max_batch_size_in_bytes(5 * 1024 * 1024)
            .set_max_time_in_buffer_ms(5000)
            .set_max_record_size_in_bytes(1 * 1024 * 1024)
            .build()
        )
    assert sum(w.category is FirehoseLimitWarning for w in lowered) == 2
    ds.sink_to(sink).name("kinesis firehose sink")
    plan = json.loads(env.get_execution_plan())

    assert plan["nodes"][1]["type"] == "kinesis firehose sink: Writer"
    assert get_field_value(sink.get_java_function(), "failOnError") is False
    assert get_field_value(sink.get_java_function(), "deliveryStreamName") == "stream-1"
    assert get_field_value(sink.get_java_function(), "maxBatchSizeInBytes") == 4 * 1024 * 1024
    assert get_field_value(sink.get_java_function(), "maxRecordSizeInBytes") == 1000 * 1024


def test_every_problem_comes_in_one_error_before_the_jvm_and_secrets_stay_hidden() -> None:
    builder = (
        KinesisFirehoseSink.builder()
        .set_firehose_client_properties({"aws.credentials.provider.basic.secretkey": SECRET})
        .set_serialization_schema("not a schema")
        .set_max_in_flight_requests(0)
    )
    with pytest.raises(KinesisConfigError) as raised:
        builder.build()
    keys = {problem.key for problem in raised.value.problems}
    assert keys >= {"aws.region", "delivery_stream_name", "serialization_schema",
                    "max_in_flight_requests"}
    assert raised.value.subject == "Firehose sink settings"
    assert SECRET not in str(raised.value) and SECRET not in repr(builder)
    assert "delivery_stream_name=None" in repr(builder)


def test_the_built_sink_gets_the_connector_defaults_and_http1_for_a_local_endpoint() -> None:
    sink = (
        KinesisFirehoseSink.builder()
        .set_firehose_client_properties({"aws.region": "us-east-1",
                                         "aws.endpoint": "http://127.0.0.1:1"})
        .set_serialization_schema(SimpleStringSchema())
        .set_delivery_stream_name("clicks")
        .build()
    )
    j_sink = sink.get_java_function()
    assert get_field_value(j_sink, "maxBatchSize") == 500
    assert get_field_value(j_sink, "maxBatchSizeInBytes") == 4 * 1024 * 1024
    properties = get_field_value(j_sink, "firehoseClientProperties")
    assert properties.getProperty("aws.http.protocol.version") == "HTTP1_1"
    assert repr(sink).startswith("KinesisFirehoseSink(delivery_stream_name='clicks'")


def run_fresh(code: str, **environment: str) -> list[str]:
    """Run ``code`` in a fresh interpreter (its own JVM); return its output lines."""
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
        env={**fresh_process_environment(), **environment}, timeout=300,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed.stdout.strip().splitlines()


FIREHOSE_JVM = """
    import warnings
    from pyflink_kinesis.firehose import FirehoseClassPathWarning
    warnings.simplefilter("error", category=FirehoseClassPathWarning)
    from pyflink.common.serialization import SimpleStringSchema
    from pyflink.datastream import StreamExecutionEnvironment
    from pyflink_kinesis import KinesisFirehoseSink, gateway
    from pyflink_kinesis.firehose import kinesis_copy_location
    {before}
    env = StreamExecutionEnvironment.get_execution_environment()
    {after}
    builder = (builder.set_firehose_client_properties({{"aws.region": "us-east-1"}})
               .set_serialization_schema(SimpleStringSchema()).set_delivery_stream_name("d"))
    builder.build()
    print(kinesis_copy_location(gateway.jvm()))
    print("\\n".join(p.name for p in gateway._State.launch_class_path))
"""


@pytest.mark.parametrize(
    ("before", "after", "environment"),
    [
        ("builder = KinesisFirehoseSink.builder()", "", {}),
        ("", "builder = KinesisFirehoseSink.builder()", {"PYFLINK_KINESIS_EXTRAS": "firehose"}),
    ],
    ids=["builder-before-the-environment", "PYFLINK_KINESIS_EXTRAS"],
)
def test_a_jvm_started_for_firehose_loads_aws_bases_classes_not_the_kinesis_copies(
    before: str, after: str, environment: dict[str, str]
) -> None:
    """aws-base precedes the Kinesis jar on the launch class path, so the sink's error
    classification uses the unshaded SDK (the Kinesis copy throws ClassCastException), and
    build() does not warn."""
    location, *class_path = run_fresh(FIREHOSE_JVM.format(before=before, after=after),
                                      **environment)
    assert location == "None"
    assert "flink-connector-aws-kinesis-firehose-4.3.0-1.19.jar" in class_path
    assert class_path.index("flink-connector-aws-base-4.3.0-1.19.jar") < class_path.index(
        "flink-connector-kinesis-4.3.0-1.19.jar"
    )
