"""``KinesisStreamsSource`` settings and the migration of consumer configs (no JVM)."""

from __future__ import annotations

import pytest

from pyflink_kinesis.config.source import (
    SOURCE_KEYS,
    SourceSettings,
    migrate_consumer_config,
    stream_arn_problem,
    validate_source,
)
from pyflink_kinesis.config.validation import Problems
from pyflink_kinesis.errors import KinesisConfigError, KinesisConfigWarning

ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
AWS = {
    "aws.region": "us-east-1",
    "aws.endpoint": "http://localhost:4567",
    "aws.credentials.provider.basic.accesskeyid": "AKIDEXAMPLE",
    "aws.credentials.provider.basic.secretkey": "s3cr3t-value",
}


def validate(**settings: object) -> dict[str, str]:
    source = SourceSettings(stream_arn=ARN, source_config=AWS, has_deserialization_schema=True)
    for name, value in settings.items():
        setattr(source, name, value)
    return validate_source(source, Problems("source"))


def problems_of(**settings: object) -> dict[str, str]:
    with pytest.raises(KinesisConfigError) as error:
        validate(**settings)
    return {problem.key: problem.message for problem in error.value.problems}


def test_a_valid_config_becomes_strings_python_values_included() -> None:
    properties = validate(source_config={
        **AWS, "flink.stream.initpos": "AT_TIMESTAMP", "flink.stream.initpos.timestamp": 1.5,
        "flink.shard.discovery.intervalmillis": 500,
    })
    assert properties["flink.shard.discovery.intervalmillis"] == "500"
    assert properties["flink.stream.initpos.timestamp"] == "1.5"


def test_every_problem_is_reported_at_once_and_secrets_are_masked() -> None:
    with pytest.warns(KinesisConfigWarning, match="accesskeyid': missing") as warned:
        problems = problems_of(
            stream_arn="orders",
            has_deserialization_schema=False,
            source_config={
                "aws.credentials.provider.basic.secretkey": "s3cr3t-value",
                "flink.stream.initpos": "latest",
                "flink.shard.discovery.intervalmillis": 0,
                "flink.shard.getrecords.maxrecordcount": 100,
                "flink.stream.initpos.timestmp": "1",
            },
        )
    assert set(problems) == {
        "stream_arn", "deserialization_schema", "aws.region", "flink.stream.initpos",
        "flink.shard.discovery.intervalmillis", "flink.shard.getrecords.maxrecordcount",
        "flink.stream.initpos.timestmp",
    }
    assert "s3cr3t" not in str(warned[0].message)
    assert "did you mean 'LATEST'" in problems["flink.stream.initpos"]
    assert ">= 1" in problems["flink.shard.discovery.intervalmillis"]
    assert "GetRecords is fixed" in problems["flink.shard.getrecords.maxrecordcount"]
    assert "did you mean 'flink.stream.initpos.timestamp'" in (
        problems["flink.stream.initpos.timestmp"]
    )
    assert "s3cr3t" not in str(problems)


def test_at_timestamp_needs_a_timestamp_the_source_can_parse() -> None:
    assert "missing" in problems_of(
        source_config={**AWS, "flink.stream.initpos": "AT_TIMESTAMP"}
    )["flink.stream.initpos.timestamp"]
    assert "neither epoch seconds" in problems_of(source_config={
        **AWS, "flink.stream.initpos": "AT_TIMESTAMP", "flink.stream.initpos.timestamp": "soon",
    })["flink.stream.initpos.timestamp"]


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"stream_arn": None}, "missing; call set_stream_arn"),
        ({"stream_name": "orders"}, "both set_stream_arn and set_stream_name"),
        ({"stream_arn": None, "stream_name": "bad name"}, "not a Kinesis stream name"),
        ({"stream_arn": ARN.replace("us-east-1", "eu-west-1")}, "aws.region is us-east-1"),
        ({"source_config": None}, "missing; call set_source_config"),
        ({"source_config": ["aws.region"]}, "expected a dict"),
    ],
)
def test_stream_and_config_mistakes_say_what_to_do(
    settings: dict[str, object], expected: str
) -> None:
    assert expected in " ".join(problems_of(**settings).values())


def test_stream_arns_are_checked_for_shape() -> None:
    assert stream_arn_problem(ARN) is None
    assert stream_arn_problem("arn:aws-cn:kinesis:cn-north-1:123456789012:stream/a.b") is None
    assert "not a Kinesis stream ARN" in str(stream_arn_problem("arn:aws:s3:::bucket"))
    assert "expected a stream ARN" in str(stream_arn_problem(42))


def test_sink_only_keys_are_named_as_ignored_and_custom_credentials_are_allowed() -> None:
    problems = problems_of(source_config={**AWS, "aws.http.protocol.version": "HTTP2"})
    assert "HTTP client is built with defaults" in problems["aws.http.protocol.version"]
    config = {"aws.region": "us-east-1", "aws.credentials.provider": "CUSTOM",
              "aws.credentials.provider.custom.class": "com.example.Creds"}
    assert validate(source_config=config)["aws.credentials.provider"] == "CUSTOM"


def test_migration_keeps_what_the_source_reads_and_names_everything_else() -> None:
    legacy = {
        **AWS,
        "flink.stream.initpos": "AT_TIMESTAMP",
        "flink.stream.initpos.timestamp": "2024-05-01T00:00:00.000+00:00",
        "flink.shard.discovery.intervalmillis": "0",
        "flink.shard.getrecords.intervalmillis": "100",
        "flink.shard.idle.interval": "1000",
        "flink.watermark.sync.interval": "1000",
        "flink.stream.recordpublisher": "EFO",
        "flink.stream.efo.consumername": "app",
        "flink.list.shards.maxretries": "3",
        "aws.clientconfig.socketTimeout": "1000",
    }
    migration = migrate_consumer_config(["orders", "payments"], legacy)
    assert migration.streams == ["orders", "payments"]
    assert migration.source_config == {
        **AWS,
        "flink.stream.initpos": "AT_TIMESTAMP",
        "flink.stream.initpos.timestamp": "2024-05-01T00:00:00.000+00:00",
        "flink.shard.discovery.intervalmillis": 1,
    }
    assert set(migration.dropped) == set(legacy) - set(migration.source_config)
    assert "with_idleness" in migration.dropped["flink.shard.idle.interval"]
    assert "with_watermark_alignment" in migration.dropped["flink.watermark.sync.interval"]
    assert "only polls" in migration.dropped["flink.stream.efo.consumername"]
    report = migration.report()
    for key in migration.dropped:
        assert repr(key) in report
    assert "0 (no pause) becomes 1 ms" in report
    assert "one source per stream, unioned" in report
    validate(source_config=migration.source_config)  # the source takes what migration keeps


def test_migration_of_a_config_the_consumer_rejects_reports_its_problems() -> None:
    with pytest.raises(KinesisConfigError) as error:
        migrate_consumer_config("orders", {"flink.stream.initpos": "NOW"})
    assert {p.key for p in error.value.problems} == {"aws.region", "flink.stream.initpos"}


def test_a_plain_config_migrates_with_an_empty_report() -> None:
    migration = migrate_consumer_config("orders", {**AWS, "flink.stream.initpos": "LATEST"})
    assert migration.dropped == {} and migration.report() == ""


def test_source_keys_have_docs_and_no_duplicates() -> None:
    assert all(key.doc for key in SOURCE_KEYS.keys)


def test_keys_of_the_5x_source_name_what_this_one_reads() -> None:
    found = problems_of(source_config={
        "aws.region": "us-east-1",
        "source.init.position": "TRIM_HORIZON",
        "source.shard.discovery.interval": "10 s",
        "source.reader.type": "EFO",
        "stream.arn": "arn:aws:kinesis:us-east-1:123456789012:stream/orders",
    })
    newer = "is a key of the 5.x connector's KinesisStreamsSource; "
    assert found["source.init.position"] == newer + "this 4.3 source reads 'flink.stream.initpos'"
    assert found["source.shard.discovery.interval"] == (
        newer + "this 4.3 source reads 'flink.shard.discovery.intervalmillis', in ms")
    assert found["source.reader.type"].startswith(
        newer + "connector 4.3.0's source has no equivalent (")
    assert found["stream.arn"] == (
        newer + "here the stream is set with set_stream_arn(...) or set_stream_name(...)")


def test_fetch_threads_is_a_positive_int_passed_on_as_a_string() -> None:
    assert validate(source_config={**AWS, "source.reader.fetch-threads": 4})[
        "source.reader.fetch-threads"] == "4"
    assert problems_of(source_config={**AWS, "source.reader.fetch-threads": 0}) == {
        "source.reader.fetch-threads": "0 is out of range: must be >= 1"}
