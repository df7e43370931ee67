"""``validate_sink``: a KinesisStreamsSink's parts, options and client properties, all at once."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from pyflink_kinesis.config import SinkSettings, validate_sink
from pyflink_kinesis.errors import KinesisConfigError, KinesisConfigWarning

SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"
MIB = 1024 * 1024
# The sink of the connector's documentation, every option at its documented default.
DOCUMENTED = SinkSettings(
    client_properties={
        "aws.region": "us-east-1",
        "aws.credentials.provider.basic.accesskeyid": "aws_access_key_id",
        "aws.credentials.provider.basic.secretkey": "aws_secret_access_key",
        "aws.endpoint": "http://localhost:4567",
    },
    stream_name="your-stream-name",
    has_serialization_schema=True,
    has_partition_key_generator=True,
    fail_on_error=False,
    max_batch_size=500,
    max_in_flight_requests=50,
    max_buffered_requests=10000,
    max_batch_size_in_bytes=5 * MIB,
    max_time_in_buffer_ms=5000,
    max_record_size_in_bytes=1 * MIB,
)
MINIMAL = SinkSettings({"aws.region": "us-east-1"}, "orders", True, True)


def problems(settings: SinkSettings) -> dict[str, str]:
    with pytest.raises(KinesisConfigError) as raised:
        validate_sink(settings)
    return {problem.key: problem.message for problem in raised.value.problems}


def test_documented_sink_passes_and_returns_its_client_properties() -> None:
    assert validate_sink(DOCUMENTED) == DOCUMENTED.client_properties


def test_unset_options_take_the_connector_defaults() -> None:
    assert validate_sink(MINIMAL) == {"aws.region": "us-east-1"}


def test_client_properties_become_strings() -> None:
    client = {
        "aws.region": "us-east-1",
        "aws.trust.all.certificates": False,
        "aws.http-client.max-concurrency": 64,
    }
    assert validate_sink(replace(MINIMAL, client_properties=client)) == {
        "aws.region": "us-east-1",
        "aws.trust.all.certificates": "false",
        "aws.http-client.max-concurrency": "64",
    }


def test_everything_missing_is_reported_together() -> None:
    with pytest.raises(KinesisConfigError) as raised:
        validate_sink(SinkSettings(None, None, False, False))
    assert [problem.key for problem in raised.value.problems] == [
        "aws.region",
        "stream_name",
        "serialization_schema",
        "partition_key_generator",
    ]
    assert str(raised.value).startswith("4 problems in the sink settings:")


@pytest.mark.parametrize("stream_name", ["", "my stream", "s" * 129])
def test_stream_name_must_be_a_kinesis_stream_name(stream_name: str) -> None:
    assert list(problems(replace(MINIMAL, stream_name=stream_name))) == ["stream_name"]


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("max_batch_size", 501, "must be 1 to 500"),
        ("max_batch_size", 0, "must be 1 to 500"),
        ("max_in_flight_requests", 0, "must be >= 1"),
        ("max_buffered_requests", -1, "must be >= 1"),
        ("max_batch_size_in_bytes", 5 * MIB + 1, "must be 1 to 5242880"),
        ("max_time_in_buffer_ms", 0, "must be >= 1"),
        ("max_record_size_in_bytes", MIB + 1, "must be 1 to 1048576"),
        ("max_buffered_requests", 2**31, "does not fit in a Java int"),
        ("max_batch_size", True, "expected int, got bool"),
        ("max_batch_size", 500.0, "expected int, got float"),
        ("max_time_in_buffer_ms", "5000", "expected int, got str"),
        ("fail_on_error", 1, "expected bool, got int"),
    ],
)
def test_options_outside_their_limits_are_explained(option: str, value: Any, message: str) -> None:
    found = problems(replace(MINIMAL, **{option: value}))
    assert list(found) == [option]
    assert message in found[option]


def test_buffer_must_hold_more_than_a_batch() -> None:
    found = problems(replace(MINIMAL, max_buffered_requests=500))
    assert found == {
        "max_buffered_requests": "500 must be greater than max_batch_size (500, the default)"
    }
    assert validate_sink(replace(MINIMAL, max_buffered_requests=100, max_batch_size=99))


def test_a_record_must_fit_in_a_batch() -> None:
    found = problems(replace(MINIMAL, max_batch_size_in_bytes=1000, max_record_size_in_bytes=1001))
    assert found == {
        "max_record_size_in_bytes": "1001 must be at most max_batch_size_in_bytes (1000)"
    }


def test_rate_limit_size_must_fit_in_a_java_int() -> None:
    found = problems(replace(MINIMAL, max_in_flight_requests=2**31 - 1))
    assert "must fit in a Java int" in found["max_in_flight_requests"]


def test_relations_are_skipped_when_an_option_is_already_wrong() -> None:
    found = problems(replace(MINIMAL, max_batch_size=600, max_buffered_requests=550))
    assert list(found) == ["max_batch_size"]


def test_client_properties_are_checked_like_the_consumer_config() -> None:
    client = {"aws.region": "us-east-1", "aws.regoin": "x", "flink.stream.initpos": "LATEST"}
    found = problems(replace(MINIMAL, client_properties=client))
    assert found["aws.regoin"] == "unknown key; did you mean 'aws.region'?"
    assert found["flink.stream.initpos"].startswith("unknown key")


def test_sink_takes_its_own_client_keys() -> None:
    client = {
        "aws.region": "us-east-1",
        "aws.http.protocol.version": "HTTP1_1",
        "aws.http-client.read-timeout": 1000,
        "aws.kinesis.client.user-agent-prefix": "my-app",
    }
    assert set(validate_sink(replace(MINIMAL, client_properties=client))) == set(client)


def test_custom_credentials_may_read_keys_of_their_own() -> None:
    client = {
        "aws.region": "us-east-1",
        "aws.credentials.provider": "CUSTOM",
        "aws.credentials.provider.custom.class": "com.example.VaultCredentials",
        "vault.path": "secret/kinesis",
        "aws.credentails.provider.custom.role": "x",
    }
    found = problems(replace(MINIMAL, client_properties=client))
    assert list(found) == ["aws.credentails.provider.custom.role"]
    without_typo = {name: value for name, value in client.items() if "credentails" not in name}
    assert validate_sink(replace(MINIMAL, client_properties=without_typo)) == without_typo


def test_unknown_keys_are_errors_without_custom_credentials() -> None:
    client = {"aws.region": "us-east-1", "vault.path": "secret/kinesis"}
    assert list(problems(replace(MINIMAL, client_properties=client))) == ["vault.path"]


def test_repr_masks_secrets() -> None:
    client = {"aws.region": "us-east-1", "aws.credentials.provider.basic.secretkey": SECRET}
    text = repr(replace(MINIMAL, client_properties=client, max_batch_size=100))
    assert SECRET not in text
    assert "'aws.credentials.provider.basic.secretkey': '****'" in text
    assert "max_batch_size=100" in text
    assert text.startswith("SinkSettings(client_properties={'aws.region': 'us-east-1'")


def test_secrets_never_appear_in_the_error() -> None:
    client = {
        "aws.credentials.provider.basic.secretkey": SECRET,
        "aws.credentials.provider.basic.secretkye": SECRET,
    }
    with pytest.raises(KinesisConfigError) as raised, \
            pytest.warns(KinesisConfigWarning) as warned:
        validate_sink(replace(MINIMAL, client_properties=client))
    assert len(raised.value.problems) == 2  # region, misspelt key
    [lone_key] = [str(w.message) for w in warned]  # the lone secret key: Java ignores it
    assert SECRET not in str(raised.value) + lone_key
    assert SECRET not in repr(raised.value)


def test_problems_the_builder_found_are_reported_with_the_rest() -> None:
    from pyflink_kinesis.config.validation import Problems

    found = Problems("sink settings")
    found.add("serialization_schema", "expected a pyflink SerializationSchema, got str")
    with pytest.raises(KinesisConfigError) as raised:
        validate_sink(replace(MINIMAL, stream_name=""), found)
    assert [p.key for p in raised.value.problems] == ["serialization_schema", "stream_name"]


@pytest.mark.parametrize("client_properties", [[("aws.region", SECRET)], "aws.region=x", 5])
def test_client_properties_that_are_no_mapping_are_one_problem(client_properties: Any) -> None:
    settings = replace(MINIMAL, client_properties=client_properties, stream_name=3)
    found = problems(settings)
    assert found == {
        "kinesis_client_properties": "expected a dict of str keys to str, int, float, bool or Enum "
        f"values, got {type(client_properties).__name__}",
        "stream_name": "stream names are str, got int",
    }
    assert SECRET not in repr(settings)


def test_aggregation_is_off_by_default_and_takes_its_limits() -> None:
    assert validate_sink(replace(MINIMAL, aggregation=True)) == {"aws.region": "us-east-1"}
    tuned = replace(
        MINIMAL, aggregation=True, aggregation_max_delay_ms=50,
        aggregation_max_size_in_bytes=256 * 1024,
    )
    assert validate_sink(tuned) == {"aws.region": "us-east-1"}


@pytest.mark.parametrize(
    ("option", "value", "argument", "message"),
    [
        ("aggregation_max_delay_ms", 0, "max_delay_ms", "0 is out of range: must be >= 1"),
        ("aggregation_max_size_in_bytes", MIB + 1, "max_size_in_bytes",
         "out of range: must be 1024 to 1048576"),
        ("aggregation_max_size_in_bytes", 100, "max_size_in_bytes",
         "100 is out of range: must be 1024 to 1048576"),
        ("aggregation_max_delay_ms", 2.5, "max_delay_ms", "expected int, got float"),
    ],
)
def test_aggregation_options_outside_their_limits_are_explained_by_argument_name(
    option: str, value: Any, argument: str, message: str
) -> None:
    found = problems(replace(MINIMAL, aggregation=True, **{option: value}))
    assert message in found[argument]


def test_aggregation_must_be_a_bool() -> None:
    assert problems(replace(MINIMAL, aggregation="yes")) == {  # type: ignore[arg-type]
        "enabled": "expected bool, got str"
    }


def test_aggregation_settings_without_aggregation_are_an_error() -> None:
    found = problems(replace(MINIMAL, aggregation_max_delay_ms=50))
    assert found == {
        "max_delay_ms": "set, but aggregation is off: use set_aggregation(True, ...)"
    }


def test_an_aggregate_must_fit_in_a_record() -> None:
    found = problems(replace(MINIMAL, aggregation=True, max_record_size_in_bytes=64 * 1024))
    assert found["max_size_in_bytes"] == (
        "1048576 must be at most max_record_size_in_bytes (65536): an aggregate is one "
        "Kinesis record"
    )


def test_keep_key_order_is_off_by_default_and_takes_a_bool() -> None:
    assert validate_sink(replace(MINIMAL, keep_key_order=True)) == {"aws.region": "us-east-1"}
    assert validate_sink(
        replace(MINIMAL, keep_key_order=True, aggregation=True)
    ) == {"aws.region": "us-east-1"}
    assert problems(replace(MINIMAL, keep_key_order=1)) == {  # type: ignore[arg-type]
        "keep_key_order": "expected bool, got int"
    }


def test_exactly_once_takes_its_own_limits_and_none_of_the_other_sinks_options() -> None:
    exactly_once = replace(MINIMAL, delivery_guarantee="exactly-once")
    assert validate_sink(exactly_once) == {"aws.region": "us-east-1"}
    assert validate_sink(replace(
        exactly_once, exactly_once_max_buffered_bytes=MIB, exactly_once_commit_timeout_ms=1
    )) == {"aws.region": "us-east-1"}
    assert validate_sink(replace(MINIMAL, delivery_guarantee="at-least-once")) == {
        "aws.region": "us-east-1"
    }
    assert problems(replace(
        exactly_once, exactly_once_max_buffered_bytes=MIB - 1, exactly_once_commit_timeout_ms=0,
        aggregation=True, max_batch_size=10, keep_key_order=False,
    )) == {
        "max_buffered_bytes": "1048575 is out of range: must be >= 1048576",
        "commit_timeout_ms": "0 is out of range: must be >= 1",
        "aggregation": _NOT_USED,
        "max_batch_size": _NOT_USED,
        "keep_key_order": _NOT_USED,
    }


_NOT_USED = (
    "set, but the exactly-once sink does not use it: it writes each checkpoint's records once "
    "the checkpoint completes, aggregated and in order per shard"
)


def test_the_delivery_guarantee_is_one_of_two_and_its_limits_need_exactly_once() -> None:
    assert problems(replace(
        MINIMAL, delivery_guarantee="exactly_once", exactly_once_max_buffered_bytes=MIB
    )) == {
        "guarantee": "'exactly_once' is not one of at-least-once, exactly-once",
        "max_buffered_bytes": (
            "set, but the delivery guarantee is at-least-once: use "
            "set_delivery_guarantee('exactly-once', ...)"
        ),
    }
    assert problems(replace(MINIMAL, delivery_guarantee=True)) == {  # type: ignore[arg-type]
        "guarantee": "expected str, got bool"
    }
