"""``consumer_properties``: the FlinkKinesisConsumer config, checked whole before Java sees it."""

from __future__ import annotations

import enum
from typing import Mapping

import pytest

from pyflink_kinesis.config import consumer_properties
from pyflink_kinesis.errors import KinesisConfigError

STREAMS = ["orders"]
REGION = {"aws.region": "us-east-1"}
EFO = {**REGION, "flink.stream.recordpublisher": "EFO"}
ARN = "arn:aws:kinesis:us-east-1:123456789012:stream/orders/consumer/reader:1"
SECRET = "wJalrXUtnFEMI-K7MDENG-bPxRfiCYEXAMPLEKEY"

# The configs of the connector's documentation, which must pass unchanged (the documentation
# reads "kinesis_stream_name"; the consumer ARN example names "stream-name").
DOCUMENTED = {
    "basic credentials": {
        "aws.region": "us-east-1",
        "aws.credentials.provider.basic.accesskeyid": "aws_access_key_id",
        "aws.credentials.provider.basic.secretkey": "aws_secret_access_key",
        "flink.stream.initpos": "LATEST",
    },
    "endpoint": {"aws.region": "us-east-1", "aws.endpoint": "http://localhost:4567"},
    "efo lazy": {
        "aws.region": "us-east-1",
        "flink.stream.initpos": "LATEST",
        "flink.stream.recordpublisher": "EFO",
        "flink.stream.efo.consumername": "my-flink-efo-consumer",
    },
    "efo eager": {
        "aws.region": "us-east-1",
        "flink.stream.initpos": "LATEST",
        "flink.stream.recordpublisher": "EFO",
        "flink.stream.efo.consumername": "my-flink-efo-consumer",
        "flink.stream.efo.registration": "EAGER",
    },
    "efo consumer arn": {
        "aws.region": "us-east-1",
        "flink.stream.initpos": "LATEST",
        "flink.stream.recordpublisher": "EFO",
        "flink.stream.efo.consumername": "my-flink-efo-consumer",
        "flink.stream.efo.consumerarn.stream-name": "arn:aws:kinesis:<region>:<account>>:stream/"
        "<stream-name>/consumer/<consumer-name>:<create-timestamp>",
    },
    "efo registration none": {
        "aws.region": "us-east-1",
        "flink.stream.recordpublisher": "EFO",
        "flink.stream.efo.registration": "NONE",
        "flink.stream.efo.consumerarn.stream-name": "arn:aws:kinesis:...",
    },
}


def problems(config: Mapping[str, object], streams: object = STREAMS) -> dict[str, str]:
    with pytest.raises(KinesisConfigError) as raised:
        consumer_properties(config, streams)
    return {problem.key: problem.message for problem in raised.value.problems}


@pytest.mark.parametrize("config", DOCUMENTED.values(), ids=DOCUMENTED.keys())
def test_documented_configs_pass_unchanged(config: dict[str, str]) -> None:
    assert consumer_properties(config, ["stream-name"]) == config
    assert consumer_properties(config, "stream-name") == config
    if config.get("flink.stream.efo.registration") != "NONE":
        assert consumer_properties(config, ["kinesis_stream_name"]) == config


class Start(enum.Enum):
    AT_TIMESTAMP = 3


class Publisher(str, enum.Enum):
    ENHANCED_FAN_OUT = "EFO"


def test_values_are_converted_to_property_strings() -> None:
    config = {
        **REGION,
        "flink.shard.getrecords.maxrecordcount": 500,
        "flink.shard.adaptivereads": True,
        "flink.list.shards.backoff.expconst": 2.5,
        "flink.stream.initpos": Start.AT_TIMESTAMP,
        "flink.stream.initpos.timestamp": 1459799926.48,
        "flink.stream.recordpublisher": Publisher.ENHANCED_FAN_OUT,
        "flink.stream.efo.consumername": "reader",
    }
    assert consumer_properties(config, STREAMS) == {
        **REGION,
        "flink.shard.getrecords.maxrecordcount": "500",
        "flink.shard.adaptivereads": "true",
        "flink.list.shards.backoff.expconst": "2.5",
        "flink.stream.initpos": "AT_TIMESTAMP",
        "flink.stream.initpos.timestamp": "1459799926.48",
        "flink.stream.recordpublisher": "EFO",
        "flink.stream.efo.consumername": "reader",
    }


def test_three_mistakes_are_three_problems_in_one_error() -> None:
    with pytest.raises(KinesisConfigError) as raised:
        consumer_properties(
            {
                "aws.regoin": "us-east-1",
                "flink.stream.initpos": "latest",
                "flink.shard.idle.interval": "1s",
            },
            STREAMS,
        )
    error = raised.value
    assert [problem.key for problem in error.problems] == [
        "flink.stream.initpos",
        "flink.shard.idle.interval",
        "aws.regoin",
        "aws.region",
    ]
    assert str(error).startswith("4 problems in the consumer config:\n  - ")


def test_unknown_keys_name_the_closest_key() -> None:
    found = problems({**REGION, "flink.stream.init.pos": "LATEST", "flink.foo": "1"})
    assert found["flink.stream.init.pos"] == "unknown key; did you mean 'flink.stream.initpos'?"
    assert found["flink.foo"] == "unknown key"


def test_sink_only_aws_keys_are_reported_as_having_no_effect() -> None:
    found = problems(
        {**REGION, "aws.http-client.max-concurrency": 100, "aws.trust.all.certificates": True}
    )
    assert "has no effect on FlinkKinesisConsumer" in found["aws.trust.all.certificates"]
    assert found["aws.http-client.max-concurrency"].endswith(
        "did you mean 'flink.stream.efo.http-client.max-concurrency'?"
    )


def test_sdk_client_config_keys_pass() -> None:
    config = {**REGION, "aws.clientconfig.socketTimeout": 50000}
    assert consumer_properties(config, STREAMS)["aws.clientconfig.socketTimeout"] == "50000"


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("flink.stream.initpos", "latest", "did you mean 'LATEST'?"),
        ("flink.stream.recordpublisher", "FANOUT", "is not one of EFO, POLLING"),
        ("flink.stream.efo.registration", "LATER", "is not one of LAZY, EAGER, NONE"),
        ("flink.shard.discovery.intervalmillis", -1, "out of range: must be >= 0"),
        ("flink.shard.getrecords.intervalmillis", 300000, "must be 0 to 299999"),
        ("flink.shard.getrecords.maxrecordcount", 10001, "must be 1 to 10000"),
        ("flink.shard.getrecords.maxretries", "three", "not a whole number"),
        ("flink.shard.getrecords.maxretries", 2**31, "does not fit in a Java int"),
        ("flink.stream.describe.backoff.expconst", "fast", "not a decimal number"),
        ("flink.shard.adaptivereads", "yes", "must be true or false"),
        ("flink.watermark.sync.queue.capacity", 0, "must be >= 1"),
        ("flink.stream.efo.consumerarn.orders", "reader", "is not an ARN"),
        ("flink.stream.initpos.timestamp.format", "yyyy-MM-dd'T", "unterminated quote"),
        ("flink.stream.efo.consumername", "", "is empty"),
        ("flink.stream.efo.consumername", None, "is None"),
        ("flink.stream.efo.consumername", ["a"], "got list"),
    ],
)
def test_bad_values_are_explained(key: str, value: object, message: str) -> None:
    assert message in problems({**REGION, key: value})[key]


def test_idle_interval_takes_negative_values_to_mean_never() -> None:
    config = {**REGION, "flink.shard.idle.interval": -1}
    assert consumer_properties(config, STREAMS)["flink.shard.idle.interval"] == "-1"


def test_at_timestamp_needs_a_timestamp() -> None:
    found = problems({**REGION, "flink.stream.initpos": "AT_TIMESTAMP"})
    assert found["flink.stream.initpos.timestamp"].startswith("missing; flink.stream.initpos")


@pytest.mark.parametrize(
    "timing",
    [
        {"flink.stream.initpos.timestamp": "1459799926.480"},
        {"flink.stream.initpos.timestamp": "2016-04-04T19:58:46.480-00:00"},
        {
            "flink.stream.initpos.timestamp": "2016-04-04 19:58",
            "flink.stream.initpos.timestamp.format": "yyyy-MM-dd HH:mm",
        },
        {  # a pattern with letters not understood here is not checked
            "flink.stream.initpos.timestamp": "Mon, 4 Apr 2016",
            "flink.stream.initpos.timestamp.format": "EEE, d MMM yyyy",
        },
    ],
)
def test_at_timestamp_accepts_epoch_seconds_or_a_date_in_the_format(timing: dict[str, str]) -> None:
    config = {**REGION, "flink.stream.initpos": "AT_TIMESTAMP", **timing}
    assert consumer_properties(config, STREAMS) == config


@pytest.mark.parametrize(
    "timing",
    [
        {"flink.stream.initpos.timestamp": "-5"},
        {"flink.stream.initpos.timestamp": "2016-04-04 19:58"},
        {
            "flink.stream.initpos.timestamp": "2016-04-04T19:58",
            "flink.stream.initpos.timestamp.format": "yyyy-MM-dd HH:mm",
        },
    ],
)
def test_at_timestamp_rejects_other_timestamps(timing: dict[str, str]) -> None:
    found = problems({**REGION, "flink.stream.initpos": "AT_TIMESTAMP", **timing})
    assert list(found) == ["flink.stream.initpos.timestamp"]
    assert "is neither epoch seconds" in found["flink.stream.initpos.timestamp"]


def test_timestamp_is_only_checked_for_at_timestamp() -> None:
    config = {**REGION, "flink.stream.initpos": "LATEST", "flink.stream.initpos.timestamp": "soon"}
    assert consumer_properties(config, STREAMS) == config


def test_efo_needs_a_consumer_name_unless_registered_outside() -> None:
    for registration in ({}, {"flink.stream.efo.registration": "EAGER"}):
        found = problems({**EFO, **registration})
        assert list(found) == ["flink.stream.efo.consumername"]


def test_a_bad_registration_and_a_missing_name_are_both_reported() -> None:
    found = problems({**EFO, "flink.stream.efo.registration": "LAZYY"})
    assert list(found) == ["flink.stream.efo.registration", "flink.stream.efo.consumername"]
    assert "every flink.stream.efo.registration but NONE" in found["flink.stream.efo.consumername"]
    named = {**EFO, "flink.stream.efo.registration": "lazy", "flink.stream.efo.consumername": "c"}
    assert list(problems(named)) == ["flink.stream.efo.registration"]


def test_registration_none_needs_an_arn_per_stream() -> None:
    config = {
        **EFO,
        "flink.stream.efo.registration": "NONE",
        "flink.stream.efo.consumerarn.orders": ARN,
        "flink.stream.efo.consumerarn.order": ARN,
    }
    found = problems(config, ["orders", "payments"])
    assert list(found) == ["flink.stream.efo.consumerarn.payments"]
    assert "ARNs are set for other streams" in found["flink.stream.efo.consumerarn.payments"]
    assert consumer_properties(config, ["orders"]) == config


def test_efo_keys_are_not_required_when_polling() -> None:
    config = {**REGION, "flink.stream.efo.registration": "NONE"}
    assert consumer_properties(config, STREAMS) == config


def test_recoverable_errors_must_count_from_zero_without_gaps() -> None:
    key = "flink.shard.consumer.error.recoverable[{}].exception"
    config = {**REGION, key.format(0): "java.net.UnknownHostException"}
    assert consumer_properties(config, STREAMS) == config
    found = problems(
        {**config, key.format(2): "java.io.IOException", key.format(3): "java.io.IOException"}
    )
    assert set(found) == {key.format(2), key.format(3)}
    assert "Java stops at the first missing one ([1])" in found[key.format(2)]
    misspelt = problems({**REGION, "flink.shard.consumer.error.recoverable.0.exception": "x"})
    assert "did you mean 'flink.shard.consumer.error.recoverable[<n>].exception'?" in "".join(
        misspelt.values()
    )


@pytest.mark.parametrize(
    ("streams", "message"),
    [
        ([], "give at least one stream to read"),
        (["orders", ""], "is not a Kinesis stream name"),
        (5, "expected a stream name (str) or a list of them, got int"),
        ({"orders"}, "expected a stream name (str) or a list of them, got set"),
        ([b"orders"], "stream names are str, got bytes"),
    ],
)
def test_stream_names_are_checked(streams: object, message: str) -> None:
    assert message in problems(REGION, streams)["streams"]


def test_a_config_that_is_no_mapping_is_reported_with_the_streams() -> None:
    with pytest.raises(KinesisConfigError) as raised:
        consumer_properties([("aws.region", SECRET)], 5)
    assert {p.key: p.message for p in raised.value.problems} == {
        "streams": "expected a stream name (str) or a list of them, got int",
        "config": "expected a dict of str keys to str, int, float, bool or Enum values, got list",
    }
    assert SECRET not in str(raised.value)


def test_secrets_never_appear_in_the_error() -> None:
    config = {
        "aws.credentials.provider.basic.secretkey": SECRET,
        "aws.credentials.provider.basic.secretkye": SECRET,
        "aws.credentials.provider.role.provider.basic.secretkey": SECRET,
        "aws.clientconfig.proxyPassword": SECRET,
        "aws.credentials.provider": "BASIC",
    }
    with pytest.raises(KinesisConfigError) as raised:
        consumer_properties(config, STREAMS)
    assert len(raised.value.problems) == 3  # region, access key id, misspelt secret key
    for text in (str(raised.value), repr(raised.value), repr(raised.value.problems)):
        assert SECRET not in text
