"""A BASIC secret key never shows: not in reprs, errors, the job's log files or printed plans;
nor does an ASSUME_ROLE external id (test_credentials runs a job with one and searches its log).

Each test uses a fresh random secret and searches every text a user could see or ship for it:
the reprs of the objects built from the config, the errors raised for a config that holds it,
the exception chain of a job that fails, the Flink log directory after real jobs ran, the
DataStream execution plan and the SQL ``EXPLAIN`` output.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pyflink
import pytest
from pyflink.common import Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import (
    DataTypes,
    EnvironmentSettings,
    ExplainDetail,
    Schema,
    StreamTableEnvironment,
)

from pyflink_kinesis import FlinkKinesisConsumer, KinesisConfigError, KinesisStreamsSink
from pyflink_kinesis.table import create_table_ddl, table_descriptor
from pyflink_kinesis.testing import LocalKinesis
from tests.e2e.jobs import failing_env, job_failure, start, string_sink

StreamFactory = Callable[..., str]
SECRET_KEY = "aws.credentials.provider.basic.secretkey"
EXPLAIN_DETAILS = (
    ExplainDetail.ESTIMATED_COST,
    ExplainDetail.CHANGELOG_MODE,
    ExplainDetail.JSON_EXECUTION_PLAN,
    ExplainDetail.PLAN_ADVICE,
)
LOG_DIR = Path(pyflink.__file__).parent / "log"


@pytest.fixture
def secret() -> str:
    return f"secret-{uuid.uuid4().hex}"


@pytest.fixture
def aws_config(local_kinesis: LocalKinesis, secret: str) -> dict[str, object]:
    return {
        "aws.region": local_kinesis.region,
        "aws.endpoint": local_kinesis.endpoint,
        "aws.credentials.provider": "BASIC",
        "aws.credentials.provider.basic.accesskeyid": "secrets-test-access-key",
        SECRET_KEY: secret,
    }


def logs_mentioning(text: str) -> list[str]:
    """The files in the Flink log directory that contain ``text``."""
    return [
        path.name for path in sorted(LOG_DIR.iterdir())
        if path.is_file() and text.encode() in path.read_bytes()
    ]


@pytest.fixture
def log_marker() -> Iterator[str]:
    """A string the test's job puts in the Flink log (its job name): proof that the log
    searched is the one the job wrote to."""
    yield f"secrets-job-{uuid.uuid4().hex[:8]}"


def test_reprs_of_everything_built_from_the_config_mask_the_secret(
    aws_config: dict[str, object], secret: str
) -> None:
    consumer = FlinkKinesisConsumer(
        "orders", SimpleStringSchema(), {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    builder = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(SimpleStringSchema())
        .set_stream_name("orders-out")
    )
    builder_repr = repr(builder)
    sink = string_sink(aws_config, "orders-out")
    shown = {"consumer": repr(consumer), "builder": builder_repr, "sink": repr(sink)}
    assert all("****" in text for text in shown.values()), shown
    assert [name for name, text in shown.items() if secret in text] == []


def test_reprs_and_errors_mask_the_external_id_of_an_assumed_role(
    local_kinesis: LocalKinesis, secret: str
) -> None:
    """Top-level and nested (the role that assumes the role) external ids, in the reprs of the
    consumer, the sink and a table descriptor, and in a config error."""
    role: dict[str, object] = {
        "aws.region": local_kinesis.region,
        "aws.endpoint": local_kinesis.endpoint,
        "aws.credentials.provider": "ASSUME_ROLE",
        "aws.credentials.provider.role.arn": "arn:aws:iam::123456789012:role/job",
        "aws.credentials.provider.role.sessionName": "secrets-test",
        "aws.credentials.provider.role.externalId": secret,
        "aws.credentials.provider.role.provider": "ASSUME_ROLE",
        "aws.credentials.provider.role.provider.role.arn": "arn:aws:iam::123456789012:role/hop",
        "aws.credentials.provider.role.provider.role.sessionName": "secrets-hop",
        "aws.credentials.provider.role.provider.role.externalId": secret[::-1],
    }
    consumer = FlinkKinesisConsumer(
        "orders", SimpleStringSchema(), {**role, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    schema = Schema.new_builder().column("payload", DataTypes.STRING()).build()
    with pytest.raises(KinesisConfigError) as error:
        FlinkKinesisConsumer("orders", SimpleStringSchema(), {**role, "aws.region": 5})
    shown = {
        "consumer": repr(consumer),
        "sink": repr(string_sink(role, "orders-out")),
        "descriptor": repr(table_descriptor("orders", schema, role, "raw")),
        "error": str(error.value),
    }
    assert [name for name, text in shown.items() if "****" not in text] == ["error"], shown
    assert [name for name, text in shown.items() if secret in text or secret[::-1] in text] == []


def test_table_descriptor_str_masks_the_secret(aws_config: dict[str, object], secret: str) -> None:
    schema = Schema.new_builder().column("payload", DataTypes.STRING()).build()
    descriptor = table_descriptor("orders", schema, aws_config, "raw")
    assert secret not in repr(descriptor)
    assert "payload" in str(descriptor) and secret not in str(descriptor)


def test_config_errors_never_show_the_secret(aws_config: dict[str, object], secret: str) -> None:
    misspelt = {**aws_config, "aws.region": 5, "flink.stream.initpos": "TRIM_HORIZONT",
                "aws.credentials.provider.basic.secretkee": secret}
    wrong_type = {**aws_config, SECRET_KEY: [secret]}
    errors: list[KinesisConfigError] = []
    for config in (misspelt, wrong_type):
        with pytest.raises(KinesisConfigError) as consumer_error:
            FlinkKinesisConsumer("orders", SimpleStringSchema(), config)
        errors.append(consumer_error.value)
    sink_config = {
        **aws_config, "aws.region": 5, "aws.credentials.provider.basic.secretkee": secret
    }
    with pytest.raises(KinesisConfigError) as sink_error:
        string_sink(sink_config, "orders-out")
    errors.append(sink_error.value)
    schema = Schema.new_builder().column("payload", DataTypes.STRING()).build()
    with pytest.raises(KinesisConfigError) as table_error:
        table_descriptor("orders", schema, sink_config, "raw")
    errors.append(table_error.value)

    shown = [text for error in errors for text in (str(error), repr(error))]
    assert all("problem" in text for text in shown[::2]), shown
    assert [text for text in shown if secret in text] == []


def test_a_failing_job_does_not_show_the_secret(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory, aws_config: dict[str, object],
    secret: str,
) -> None:
    missing = f"secrets-no-such-stream-{uuid.uuid4().hex[:8]}"
    consumer = FlinkKinesisConsumer(
        missing, SimpleStringSchema(), {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    env = failing_env()
    env.add_source(consumer).sink_to(string_sink(aws_config, stream_factory(1)))
    failure = job_failure(start(env, "secrets failing job"))
    assert missing in failure
    assert secret not in failure
    assert logs_mentioning(secret) == []


def test_datastream_job_plan_and_logs_do_not_show_the_secret(
    env: StreamExecutionEnvironment,
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    secret: str,
    log_marker: str,
) -> None:
    source, out = stream_factory(2), stream_factory(1)
    records = [f"secret-test-{i}" for i in range(100)]
    local_kinesis.put_records(source, records)
    consumer = FlinkKinesisConsumer(
        source, SimpleStringSchema(), {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"}
    )
    env.add_source(consumer).map(str.upper, output_type=Types.STRING()).sink_to(
        string_sink(aws_config, out)
    )
    plan = env.get_execution_plan()
    assert "Source" in plan and secret not in plan

    job = start(env, log_marker)
    try:
        job.wait_for(lambda: len(local_kinesis.read_all(out)) >= len(records) or None,
                     120, "the records in the output")
    finally:
        job.cancel()
    assert logs_mentioning(log_marker), f"the job logged nothing to {LOG_DIR}"
    assert logs_mentioning(secret) == []


def test_sql_explain_and_job_logs_do_not_show_the_secret(
    local_kinesis: LocalKinesis,
    stream_factory: StreamFactory,
    aws_config: dict[str, object],
    secret: str,
) -> None:
    source, out = stream_factory(1), stream_factory(1)
    local_kinesis.put_records(source, [f"sql-{i}" for i in range(50)])
    t_env = StreamTableEnvironment.create(
        StreamExecutionEnvironment.get_execution_environment(),
        EnvironmentSettings.in_streaming_mode(),
    )
    t_env.get_config().set("parallelism.default", "1")
    config = {**aws_config, "scan.stream.initpos": "TRIM_HORIZON"}
    t_env.execute_sql(create_table_ddl("src", "payload STRING", source, config, "raw"))
    t_env.execute_sql(create_table_ddl("dst", "payload STRING", out, aws_config, "raw"))
    insert = "INSERT INTO dst SELECT UPPER(payload) FROM src"
    explained = [
        t_env.explain_sql(insert, *EXPLAIN_DETAILS),
        t_env.sql_query("SELECT * FROM src").explain(*EXPLAIN_DETAILS),
        str(t_env.execute_sql(f"EXPLAIN PLAN FOR {insert}").collect().__next__()),
    ]
    assert all("src" in text for text in explained)
    assert [text for text in explained if secret in text] == []

    client = t_env.execute_sql(insert).get_job_client()
    assert client is not None
    deadline = time.monotonic() + 120
    try:
        while len(local_kinesis.read_all(out)) < 50:
            assert time.monotonic() < deadline, "the SQL job did not copy the records"
            time.sleep(0.5)
    finally:
        client.cancel().result()
    assert logs_mentioning(secret) == []
