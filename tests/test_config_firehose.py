"""``validate_firehose_sink``: a KinesisFirehoseSink's parts, options and client properties,
all at once, within Firehose's PutRecordBatch limits."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pyflink_kinesis.config.firehose import (
    FIREHOSE_CLIENT_KEYS,
    FIREHOSE_OPTIONS,
    FIREHOSE_TABLE_KEYS,
    FirehoseSinkSettings,
    check_firehose_ddl,
    firehose_table_options,
    validate_firehose_sink,
    within_limits,
)
from pyflink_kinesis.errors import KinesisConfigError

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
MIB = 1024 * 1024
CLIENT = {
    "aws.region": "eu-west-1",
    "aws.credentials.provider.basic.accesskeyid": "aws_access_key_id",
    "aws.credentials.provider.basic.secretkey": SECRET,
}
# Every option at its limit, which is also the connector's default.
AT_LIMITS = FirehoseSinkSettings(
    client_properties=CLIENT,
    delivery_stream_name="stream-1",
    has_serialization_schema=True,
    fail_on_error=False,
    max_batch_size=500,
    max_in_flight_requests=50,
    max_buffered_requests=10000,
    max_batch_size_in_bytes=4 * MIB,
    max_time_in_buffer_ms=5000,
    max_record_size_in_bytes=1000 * 1024,
)
MINIMAL = FirehoseSinkSettings({"aws.region": "us-east-1"}, "stream-1", True)


def problems(settings: FirehoseSinkSettings) -> dict[str, str]:
    with pytest.raises(KinesisConfigError) as raised:
        validate_firehose_sink(settings)
    return {problem.key: problem.message for problem in raised.value.problems}


def test_settings_at_firehose_limits_pass_and_return_the_client_properties() -> None:
    assert validate_firehose_sink(AT_LIMITS) == CLIENT
    assert validate_firehose_sink(MINIMAL) == {"aws.region": "us-east-1"}


@pytest.mark.parametrize(
    ("option", "over_limit"),
    [
        ("max_batch_size", 501),
        ("max_batch_size_in_bytes", 4 * MIB + 1),
        ("max_record_size_in_bytes", 1000 * 1024 + 1),
    ],
)
def test_putrecordbatch_limits_are_enforced(option: str, over_limit: int) -> None:
    settings = replace(MINIMAL, **{option: over_limit})  # type: ignore[arg-type]
    assert problems(settings) == {
        option: f"{over_limit} is out of range: must be 1 to {over_limit - 1}"
    }


def test_the_defaults_are_firehose_limits_not_kinesis_ones() -> None:
    defaults = {key.name: key.default for key in FIREHOSE_OPTIONS.keys}
    assert defaults["max_batch_size_in_bytes"] == str(4 * MIB)
    assert defaults["max_record_size_in_bytes"] == str(1024000)
    assert FIREHOSE_CLIENT_KEYS.find("aws.firehose.client.user-agent-prefix") is not None


def test_everything_wrong_is_reported_together_without_the_secret() -> None:
    settings = FirehoseSinkSettings(
        {"aws.credentials.provider.basic.secretkey": SECRET, "aws.regoin": "x"},
        "bad name!",
        False,
        max_batch_size=0,
        max_buffered_requests=10,
        fail_on_error="yes",  # type: ignore[arg-type]
    )
    with pytest.raises(KinesisConfigError) as raised:
        validate_firehose_sink(settings)
    keys = [problem.key for problem in raised.value.problems]
    assert set(keys) >= {
        "aws.region",
        "aws.regoin",
        "delivery_stream_name",
        "serialization_schema",
        "max_batch_size",
        "fail_on_error",
    }
    assert "did you mean 'aws.region'" in str(raised.value)
    assert SECRET not in str(raised.value)
    assert SECRET not in repr(settings)


@pytest.mark.parametrize(
    ("name", "words"),
    [(None, "missing"), ("", "missing"), ("a b", "characters"), ("s" * 65, "at most 64"),
     (7, "expected a str")],
)
def test_delivery_stream_name_must_be_a_firehose_name(name: object, words: str) -> None:
    assert words in problems(replace(MINIMAL, delivery_stream_name=name))["delivery_stream_name"]


def test_buffered_requests_must_exceed_the_batch_size() -> None:
    found = problems(replace(MINIMAL, max_batch_size=100, max_buffered_requests=100))
    assert found == {"max_buffered_requests": "100 must be greater than max_batch_size (100)"}


def test_settings_above_firehose_limits_are_lowered_to_them_with_a_note_each() -> None:
    """PyFlink's own Firehose example sets Kinesis' 5 MiB request and 1 MiB record sizes."""
    given = {"max_batch_size_in_bytes": 5 * MIB, "max_record_size_in_bytes": 1 * MIB,
             "max_batch_size": 500, "max_time_in_buffer_ms": 10**9}
    lowered, notes = within_limits(given)
    assert lowered == {**given, "max_batch_size_in_bytes": 4 * MIB,
                       "max_record_size_in_bytes": 1000 * 1024}
    assert notes == [
        f"max_batch_size_in_bytes={5 * MIB} is above Firehose's limit; {4 * MIB} is used",
        f"max_record_size_in_bytes={MIB} is above Firehose's limit; 1024000 is used",
    ]
    assert within_limits({"max_batch_size": "600"}) == ({"max_batch_size": "600"}, [])


TABLE = {"connector": "firehose", "delivery-stream": "clicks", "format": "json",
         "aws.region": "us-east-1", "aws.credentials.basic.accesskeyid": "k",
         "aws.credentials.basic.secretkey": SECRET}


def test_a_firehose_table_passes_with_its_options_as_strings() -> None:
    options = firehose_table_options({**TABLE, "sink.batch.max-size": 100,
                                      "json.ignore-parse-errors": True})
    assert options["sink.batch.max-size"] == "100"
    assert options["json.ignore-parse-errors"] == "true"


def test_a_firehose_tables_problems_come_together_in_table_names() -> None:
    with pytest.raises(KinesisConfigError) as raised:
        firehose_table_options({
            "connector": "firehose", "delivery-stream": "a b", "format": "json",
            "aws.credentials.provider.basic.secretkey": SECRET,
            "sink.batch.max-size": "501", "sink.flush-buffer.size": "1000",
            "csv.field-delimiter": ";", "stream": "orders",
        })
    found = {problem.key: problem.message for problem in raised.value.problems}
    assert set(found) == {
        "delivery-stream", "aws.credentials.provider.basic.secretkey", "sink.batch.max-size",
        "sink.flush-buffer.size", "csv.field-delimiter", "stream", "aws.region",
    }
    assert "set 'aws.credentials.basic.secretkey'" in found[
        "aws.credentials.provider.basic.secretkey"]
    assert found["sink.batch.max-size"] == "'501' is out of range: must be 1 to 500"
    assert SECRET not in str(raised.value)


def test_firehose_tables_of_a_ddl_are_checked_and_kinesis_ones_left_alone() -> None:
    ddl = (
        "CREATE TABLE clicks (a STRING) WITH ('connector' = 'firehose', "
        "'delivery-stream' = 'clicks', 'format' = 'json');\n"
        "CREATE TABLE orders (a STRING) WITH ('connector' = 'kinesis', 'stream' = 'o')"
    )
    with pytest.raises(KinesisConfigError) as raised:
        check_firehose_ddl(ddl)
    assert [p.key for p in raised.value.problems] == ["clicks: aws.region"]
    tables = check_firehose_ddl(ddl.replace("'format' = 'json'", "'format' = 'json', "
                                            "'aws.region' = 'us-east-1'"))
    assert [table.name for table in tables] == ["clicks"]


def test_the_firehose_table_keys_mirror_the_builder_limits() -> None:
    batch = FIREHOSE_TABLE_KEYS.find("sink.batch.max-size")
    flush = FIREHOSE_TABLE_KEYS.find("sink.flush-buffer.size")
    assert batch is not None and batch.maximum == 500
    assert flush is not None and (flush.minimum, flush.maximum) == (1000 * 1024, 4 * MIB)
    assert FIREHOSE_TABLE_KEYS.find("sink.partitioner") is None
