"""Python values to property strings, and each value type checked as the connector reads it."""

from __future__ import annotations

import enum
from datetime import timedelta

import pytest

from pyflink_kinesis.config.keys import Key, ValueType
from pyflink_kinesis.config.values import (
    describe_range,
    is_epoch_seconds,
    parse,
    stream_name_problem,
    to_property_string,
)


class Position(enum.Enum):
    LATEST = 1


class Publisher(str, enum.Enum):
    ENHANCED = "EFO"


class Retries(enum.IntEnum):
    FEW = 3


def key(value_type: ValueType, **options: object) -> Key:
    return Key("some.key", value_type, "A key.", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (True, "true"),
        (False, "false"),
        (10000, "10000"),
        (-1, "-1"),
        (1.5, "1.5"),
        (1e16, "1e+16"),
        (0.0001, "0.0001"),
        (Position.LATEST, "LATEST"),
        (Publisher.ENHANCED, "EFO"),
        (Retries.FEW, "FEW"),
        ("us-east-1", "us-east-1"),
    ],
)
def test_values_become_the_strings_java_reads(value: object, text: str) -> None:
    assert to_property_string(value) == text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "is None"),
        ({"a": 1}, "got dict"),
        (["us-east-1"], "got list"),
        (b"bytes", "got bytes"),
        (float("nan"), "finite numbers only"),
        (float("inf"), "finite numbers only"),
    ],
)
def test_values_java_cannot_take_are_rejected(value: object, message: str) -> None:
    with pytest.raises(TypeError, match=message):
        to_property_string(value)


def test_floats_parse_back_to_the_same_double() -> None:
    for value in (1.5, 1e16, 1e-7, 123456.789):
        assert parse(key(ValueType.DOUBLE), to_property_string(value)) == value


@pytest.mark.parametrize(
    ("value_type", "text", "value"),
    [
        (ValueType.INT, "2147483647", 2**31 - 1),
        (ValueType.INT, "-2147483648", -(2**31)),
        (ValueType.INT, "+7", 7),
        (ValueType.LONG, "9223372036854775807", 2**63 - 1),
        (ValueType.DOUBLE, "1.5", 1.5),
        (ValueType.DOUBLE, ".5", 0.5),
        (ValueType.DOUBLE, "2e3", 2000.0),
        (ValueType.BOOLEAN, "true", True),
        (ValueType.BOOLEAN, "FALSE", False),
        (ValueType.URL, "http://localhost:4567", "http://localhost:4567"),
        (ValueType.URL, "https://kinesis.us-east-1.amazonaws.com", None),
        (ValueType.REGION, "us-east-1", None),
        (ValueType.REGION, "us-gov-west-1", None),
        (ValueType.REGION, "aws-global", None),
        (ValueType.ARN, "arn:aws:kinesis:us-east-1:123456789012:stream/s/consumer/c:1", None),
        (ValueType.CLASS_NAME, "com.example.Outer$Inner", None),
        (ValueType.STRING, "anything at all", None),
    ],
)
def test_valid_values_parse(value_type: ValueType, text: str, value: object) -> None:
    assert parse(key(value_type), text) == (text if value is None else value)


@pytest.mark.parametrize(
    ("value_type", "text", "message"),
    [
        (ValueType.INT, "2147483648", "does not fit in a Java int"),
        (ValueType.LONG, "9223372036854775808", "does not fit in a Java long"),
        (ValueType.INT, "1_000", "not a whole number"),
        (ValueType.INT, " 5", "not a whole number"),
        (ValueType.INT, "5.0", "not a whole number"),
        (ValueType.DOUBLE, "NaN", "not a decimal number"),
        (ValueType.DOUBLE, "1.5d", "not a decimal number"),
        (ValueType.BOOLEAN, "yes", "silently read it as false"),
        (ValueType.URL, "localhost:4567", "http:// or https:// URL"),
        (ValueType.URL, "ftp://host", "http:// or https:// URL"),
        (ValueType.REGION, "us-east1", "AWS region id"),
        (ValueType.REGION, "US-EAST-1", "AWS region id"),
        (ValueType.ARN, "my-consumer", "an ARN"),
        (ValueType.CLASS_NAME, "com.example.", "Java class name"),
        (ValueType.DATE_PATTERN, "yyyy-bb", "illegal pattern character 'b'"),
        (ValueType.STRING, "", "is empty"),
    ],
)
def test_invalid_values_are_rejected(value_type: ValueType, text: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(key(value_type), text)


def test_enum_values_are_case_sensitive_with_a_hint() -> None:
    position = key(ValueType.ENUM, allowed=("TRIM_HORIZON", "LATEST"))
    assert parse(position, "LATEST") == "LATEST"
    with pytest.raises(ValueError) as raised:
        parse(position, "latest")
    assert str(raised.value) == (
        "is not one of TRIM_HORIZON, LATEST (case-sensitive: Java uses Enum.valueOf); "
        "did you mean 'LATEST'?"
    )
    with pytest.raises(ValueError) as raised:
        parse(position, "EARLIEST")
    assert "did you mean" not in str(raised.value)


@pytest.mark.parametrize(
    ("bounds", "inside", "outside", "words"),
    [
        ({"minimum": 0}, "0", "-1", ">= 0"),
        ({"maximum": 299_999}, "299999", "300000", "<= 299999"),
        ({"minimum": 1, "maximum": 500}, "500", "501", "1 to 500"),
    ],
)
def test_numbers_are_checked_against_the_key_range(
    bounds: dict[str, int], inside: str, outside: str, words: str
) -> None:
    bounded = key(ValueType.LONG, **bounds)
    assert parse(bounded, inside) == int(inside)
    assert describe_range(bounded) == words
    with pytest.raises(ValueError, match=f"out of range: must be {words}"):
        parse(bounded, outside)


def test_epoch_seconds_are_non_negative_decimals() -> None:
    assert is_epoch_seconds("1459799926.480")
    assert is_epoch_seconds("0")
    assert not is_epoch_seconds("-1")
    assert not is_epoch_seconds("2016-04-04")


@pytest.mark.parametrize("name", ["orders", "my_stream.v2-test", "s" * 128])
def test_kinesis_stream_names_pass(name: str) -> None:
    assert stream_name_problem(name) is None


@pytest.mark.parametrize("name", ["", "a b", "s" * 129, "arn:aws:kinesis:x", 7])
def test_invalid_stream_names_are_explained(name: object) -> None:
    assert stream_name_problem(name) is not None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10 s", timedelta(seconds=10)),
        ("250", timedelta(milliseconds=250)),
        (" 2 MIN ", timedelta(minutes=2)),
        ("3 hours", timedelta(hours=3)),
        ("1d", timedelta(days=1)),
        ("7 µs", timedelta(microseconds=7)),
        ("1500 ns", timedelta(microseconds=1.5)),
    ],
)
def test_durations_are_flink_duration_strings(text: str, expected: timedelta) -> None:
    assert parse(key(ValueType.DURATION), text) == expected


@pytest.mark.parametrize("text", ["PT10S", "1.5 s", "-1 s", "+1 s", "s", "10 fortnights"])
def test_other_duration_spellings_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="is not a duration like '10 s'"):
        parse(key(ValueType.DURATION), text)


def test_duration_bounds_are_milliseconds() -> None:
    bounded = key(ValueType.DURATION, minimum=1, maximum=60_000)
    assert describe_range(bounded) == "1 to 60000 ms"
    assert parse(bounded, "1 min") == timedelta(minutes=1)
    with pytest.raises(ValueError, match="must be 1 to 60000 ms"):
        parse(bounded, "999 µs")
    with pytest.raises(ValueError, match="must be 1 to 60000 ms"):
        parse(bounded, "61 s")
    with pytest.raises(ValueError, match="longer than a Java Duration holds"):
        parse(bounded, "99999999999999999 d")
