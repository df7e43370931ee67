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
    assert problems["flink.shard.getrecords.maxrecordcount"] == (
        "is the FlinkKinesisConsumer's key; this source reads "
        "'source.shard.get-records.max-record-count'"
    )
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


def test_migration_renames_what_the_source_reads_and_names_everything_else() -> None:
    legacy = {
        **AWS,
        "flink.stream.initpos": "AT_TIMESTAMP",
        "flink.stream.initpos.timestamp": "2024-05-01T00:00:00.000+00:00",
        "flink.shard.discovery.intervalmillis": "0",
        "flink.shard.getrecords.maxrecordcount": 500,
        "flink.shard.getrecords.intervalmillis": "100",
        "flink.shard.idle.interval": "1000",
        "flink.watermark.sync.interval": "1000",
        "flink.list.shards.maxretries": "3",
        "aws.clientconfig.socketTimeout": "1000",
    }
    migration = migrate_consumer_config(["orders", "payments"], legacy)
    assert migration.streams == ["orders", "payments"]
    assert migration.source_config == {
        **AWS,
        "source.init.position": "AT_TIMESTAMP",
        "source.init.timestamp": "2024-05-01T00:00:00.000+00:00",
        "source.shard.discovery.interval": "1 ms",
        "source.shard.get-records.max-record-count": 500,
        "source.reader.empty-records-fetch-interval": "100 ms",
    }
    assert set(migration.dropped) == {
        "flink.shard.idle.interval",
        "flink.watermark.sync.interval", "flink.list.shards.maxretries",
        "aws.clientconfig.socketTimeout",
    }
    assert "with_idleness" in migration.dropped["flink.shard.idle.interval"]
    assert "with_watermark_alignment" in migration.dropped["flink.watermark.sync.interval"]
    assert "behind is read again at once" in (
        migration.changed["flink.shard.getrecords.intervalmillis"])
    assert "retry-strategy.*" in migration.dropped["flink.list.shards.maxretries"]
    report = migration.report()
    for key in migration.dropped:
        assert repr(key) in report
    assert "0 (no pause) becomes 1 ms" in report
    assert "one source per stream, unioned" in report
    validate(source_config=migration.source_config)  # the source takes what migration keeps


EFO = {**AWS, "flink.stream.recordpublisher": "EFO", "flink.stream.efo.consumername": "app"}


@pytest.mark.parametrize("registration", ["LAZY", "EAGER"])
def test_efo_with_a_job_registered_consumer_migrates_to_job_managed(registration: str) -> None:
    legacy = {
        **EFO,
        "flink.stream.efo.registration": registration,
        "flink.shard.subscribetoshard.timeout": 30,
        "flink.stream.describestreamconsumer.backoff.base": "500",
        "flink.stream.describestreamconsumer.backoff.max": "4000",
        "flink.stream.describestreamconsumer.maxretries": "9",
        "flink.stream.deregisterstreamconsumer.timeout": "20",
        "flink.shard.subscribetoshard.maxretries": "3",
        "flink.stream.registerstreamconsumer.maxretries": "3",
        "flink.stream.describestreamconsumer.backoff.expconst": "2.0",
        "flink.stream.efo.http-client.max-concurrency": "100",
    }
    migration = migrate_consumer_config("orders", legacy)
    assert migration.source_config == {
        **AWS,
        "source.reader.type": "EFO",
        "source.efo.consumer.name": "app",
        "source.efo.lifecycle": "JOB_MANAGED",
        "source.efo.subscription.timeout": "30 s",
        "source.efo.describe.retry-strategy.delay.min": "500 ms",
        "source.efo.describe.retry-strategy.delay.max": "4000 ms",
        "source.efo.describe.retry-strategy.attempts.max": "10",
        "source.efo.deregister.timeout": "20 s",
    }
    assert set(migration.dropped) == {
        "flink.shard.subscribetoshard.maxretries", "flink.stream.registerstreamconsumer.maxretries",
        "flink.stream.describestreamconsumer.backoff.expconst",
        "flink.stream.efo.http-client.max-concurrency",
    }
    report = migration.report()
    assert "9 retries become 10 attempts" in report
    assert ("EAGER becomes JOB_MANAGED: the consumer is registered when the job starts"
            in report) is (registration == "EAGER")
    validate(source_config=migration.source_config)


def test_efo_with_a_consumer_registered_outside_takes_its_name_from_each_arn() -> None:
    arn = "arn:aws:kinesis:us-east-1:123456789012:stream/{}/consumer/{}:1714564800"
    legacy = {
        **EFO,
        "flink.stream.efo.registration": "NONE",
        "flink.stream.efo.consumerarn.orders": arn.format("orders", "orders-app"),
        "flink.stream.efo.consumerarn.payments": arn.format("payments", "payments-app"),
    }
    migration = migrate_consumer_config(["orders", "payments"], legacy)
    assert migration.source_config == {
        **AWS, "source.reader.type": "EFO", "source.efo.lifecycle": "SELF_MANAGED",
    }
    assert migration.dropped == {}
    assert migration.config_for("orders")["source.efo.consumer.name"] == "orders-app"
    assert migration.config_for("payments")["source.efo.consumer.name"] == "payments-app"
    report = migration.report()
    assert ("'flink.stream.efo.consumerarn.orders': the source looks a SELF_MANAGED consumer "
            "up by name: source.efo.consumer.name = 'orders-app' (from the ARN)") in report
    assert "consumer name is taken from each stream's consumer ARN" in report
    validate(source_config=migration.config_for("payments"))


def test_a_consumer_arn_without_a_name_is_dropped_with_what_to_do() -> None:
    legacy = {
        **EFO, "flink.stream.efo.registration": "NONE",
        "flink.stream.efo.consumerarn.orders": "arn:aws:kinesis:us-east-1:123456789012:x",
    }
    migration = migrate_consumer_config("orders", legacy)
    assert "set source.efo.consumer.name for this stream's source" in (
        migration.dropped["flink.stream.efo.consumerarn.orders"])


def test_efo_keys_of_a_polling_consumer_are_dropped() -> None:
    legacy = {**AWS, "flink.stream.efo.consumername": "app",
              "flink.stream.efo.registration": "NONE"}
    migration = migrate_consumer_config("orders", legacy)
    assert migration.source_config == AWS
    assert migration.dropped == dict.fromkeys(
        legacy.keys() - AWS.keys(), "read only with flink.stream.recordpublisher = EFO, by both")


def test_migration_of_a_config_the_consumer_rejects_reports_its_problems() -> None:
    with pytest.raises(KinesisConfigError) as error:
        migrate_consumer_config("orders", {"flink.stream.initpos": "NOW"})
    assert {p.key for p in error.value.problems} == {"aws.region", "flink.stream.initpos"}


def test_a_plain_config_migrates_with_an_empty_report() -> None:
    migration = migrate_consumer_config("orders", {**AWS, "flink.stream.initpos": "LATEST"})
    assert migration.dropped == {} and migration.report() == ""


def test_source_keys_have_docs_and_no_duplicates() -> None:
    assert all(key.doc for key in SOURCE_KEYS.keys)


def test_5x_names_are_checked_as_flink_reads_them() -> None:
    properties = validate(source_config={
        **AWS,
        "source.init.position": "AT_TIMESTAMP",
        "source.init.timestamp": "2024-05-01T00:00:00.000+00:00",
        "source.shard.discovery.interval": "2 s",
        "source.shard.get-records.max-record-count": 500,
        "source.reader.empty-records-fetch-interval": "100 ms",
        "retry-strategy.delay.min": "10 ms",
        "retry-strategy.delay.max": "1 min",
        "retry-strategy.attempts.max": 3,
    })
    assert properties["source.shard.discovery.interval"] == "2 s"
    assert properties["source.shard.get-records.max-record-count"] == "500"


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("source.init.position", "latest", "did you mean 'LATEST'"),
        ("source.init.timestamp.format", "yyyy-qq", "not a valid Java SimpleDateFormat"),
        ("source.shard.discovery.interval", "0 ms", "out of range: must be >= 1 ms"),
        ("source.shard.discovery.interval", "10", None),  # a number alone is milliseconds
        ("source.shard.discovery.interval", "PT10S", "is not a duration like '10 s'"),
        ("source.shard.discovery.interval", "10 sex", "is not a duration like '10 s'"),
        ("source.shard.discovery.interval", "ms", "is not a duration like '10 s'"),
        ("source.shard.get-records.max-record-count", 10001, "must be 1 to 10000"),
        ("source.shard.get-records.max-record-count", "many", "not a whole number"),
        ("source.reader.type", "efo", "did you mean 'EFO'"),
        ("source.reader.empty-records-fetch-interval", "-1 ms", "is not a duration"),
        ("retry-strategy.delay.min", "1 fortnight", "is not a duration"),
        ("retry-strategy.delay.max", "1.5 s", "is not a duration"),
        ("retry-strategy.attempts.max", 0, "must be >= 1"),
    ],
)
def test_each_5x_option_refuses_values_flink_would(
    key: str, value: object, expected: str | None
) -> None:
    config = {**AWS, key: value}
    if expected is None:
        validate(source_config=config)
    else:
        assert expected in problems_of(source_config=config)[key]


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("source.efo.lifecycle", "job_managed", "did you mean 'JOB_MANAGED'"),
        ("source.efo.subscription.timeout", "0 s", "must be >= 1 ms"),
        ("source.efo.describe.retry-strategy.delay.min", "soon", "is not a duration"),
        ("source.efo.describe.retry-strategy.delay.max", "x", "is not a duration"),
        ("source.efo.describe.retry-strategy.attempts.max", 0, "must be >= 1"),
        ("source.efo.deregister.timeout", "1 y", "is not a duration"),
    ],
)
def test_each_efo_option_refuses_bad_values(key: str, value: object, expected: str) -> None:
    config = {**AWS, "source.reader.type": "EFO", "source.efo.consumer.name": "app", key: value}
    assert expected in problems_of(source_config=config)[key]


def test_one_option_under_both_names_is_a_problem_each_name_alone_is_not() -> None:
    both = {
        "source.init.position": "TRIM_HORIZON", "flink.stream.initpos": "TRIM_HORIZON",
        "source.init.timestamp": "1", "flink.stream.initpos.timestamp": "1",
        "source.init.timestamp.format": "yyyy", "flink.stream.initpos.timestamp.format": "yyyy",
        "source.shard.discovery.interval": "1 s",
        "flink.shard.discovery.intervalmillis": 1000,
    }
    found = problems_of(source_config={**AWS, **both})
    assert set(found) == {five for five in both if five.startswith("source.")}
    assert found["source.init.position"] == (
        "given twice: also as 'flink.stream.initpos', its connector 4.3.0 name; keep one of them")
    validate(source_config={**AWS, "source.init.position": "AT_TIMESTAMP",
                            "flink.stream.initpos.timestamp": "1459799926.480"})


def test_at_timestamp_checks_follow_the_names_given() -> None:
    assert "missing; source.init.position = AT_TIMESTAMP needs it" in problems_of(
        source_config={**AWS, "source.init.position": "AT_TIMESTAMP"}
    )["source.init.timestamp"]
    assert "nor a date in the format 'yyyy'" in problems_of(source_config={
        **AWS, "source.init.position": "AT_TIMESTAMP", "source.init.timestamp": "2024-05",
        "source.init.timestamp.format": "yyyy",
    })["source.init.timestamp"]


def test_efo_needs_a_consumer_name() -> None:
    found = problems_of(source_config={**AWS, "source.reader.type": "EFO"})
    assert found["source.efo.consumer.name"].startswith(
        "missing; source.reader.type = EFO needs the name of the EFO consumer")
    validate(source_config={**AWS, "source.reader.type": "EFO",
                            "source.efo.consumer.name": "app",
                            "source.efo.lifecycle": "SELF_MANAGED"})


@pytest.mark.parametrize("reader", [{}, {"source.reader.type": "POLLING"}])
def test_efo_options_without_efo_are_problems(reader: dict[str, str]) -> None:
    efo_only = {"source.efo.consumer.name": "app", "source.efo.lifecycle": "SELF_MANAGED",
                "source.efo.subscription.timeout": "10 s"}
    found = problems_of(source_config={**AWS, **reader, **efo_only})
    assert set(found) == set(efo_only)
    state = "is POLLING" if reader else "is not set (POLLING)"
    assert found["source.efo.lifecycle"] == (
        f"is read only with source.reader.type = EFO, and source.reader.type {state}; set "
        "source.reader.type to EFO or leave this key out")


def test_keys_of_other_apis_say_what_to_use_here() -> None:
    found = problems_of(source_config={
        **AWS,
        "stream.arn": ARN,
        "source.shard-assigner": "uniform",
        "flink.stream.recordpublisher": "EFO",
        "flink.shard.subscribetoshard.timeout": 60,
    })
    assert found["stream.arn"].endswith("set_stream_arn(...) or set_stream_name(...)")
    assert found["source.shard-assigner"].endswith("call set_kinesis_shard_assigner(...)")
    assert found["flink.stream.recordpublisher"] == (
        "is the FlinkKinesisConsumer's key; this source reads 'source.reader.type', one of "
        "POLLING, EFO")
    assert found["flink.shard.subscribetoshard.timeout"].endswith(
        "reads 'source.efo.subscription.timeout', a duration like '10 s' or '250 ms'")


def test_fetch_threads_is_a_positive_int_passed_on_as_a_string() -> None:
    assert validate(source_config={**AWS, "source.reader.fetch-threads": 4})[
        "source.reader.fetch-threads"] == "4"
    assert problems_of(source_config={**AWS, "source.reader.fetch-threads": 0}) == {
        "source.reader.fetch-threads": "0 is out of range: must be >= 1"}


def test_deduplication_is_a_boolean_passed_on_as_a_string() -> None:
    assert validate(source_config={**AWS, "source.deduplication": True})[
        "source.deduplication"] == "true"
    problem = problems_of(source_config={**AWS, "source.deduplication": "yes"})
    assert list(problem) == ["source.deduplication"]
    assert "true" in problem["source.deduplication"]
