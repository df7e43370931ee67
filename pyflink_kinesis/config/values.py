"""Turn Python values into the strings ``java.util.Properties`` holds, and check those strings.

``to_property_string`` converts what a user may write in a config dict; ``parse`` checks a
string the way the connector will read it (``Integer.parseInt``, ``Enum.valueOf`` ...) and
returns the parsed value. Both raise ``ValueError`` with a message fit for a problem report;
the message never repeats the value, the caller decides whether it may be shown.
"""

from __future__ import annotations

import enum
import math
import re
from datetime import timedelta
from typing import Callable
from urllib.parse import urlsplit

from pyflink_kinesis.config import dates
from pyflink_kinesis.config.keys import Key, Number, ValueType

JAVA_INT_MIN, JAVA_INT_MAX = -(2**31), 2**31 - 1
JAVA_LONG_MIN, JAVA_LONG_MAX = -(2**63), 2**63 - 1

_INTEGER = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
# The check AWSGeneralUtil.isValidRegion makes.
_REGION = re.compile(r"[a-z]+-([a-z]+[-]{0,1}[a-z]+-([0-9]|global)|global)")
# arn:partition:service:..., loosely: enough to tell an ARN from a name.
_ARN = re.compile(r"arn:[^:]+:[^:]+:.+")
# Kinesis stream names: 1 to 128 of these characters.
_STREAM_NAME = re.compile(r"[a-zA-Z0-9_.-]{1,128}")
_JAVA_IDENTIFIER = r"[A-Za-z_$][A-Za-z0-9_$]*"
_CLASS_NAME = re.compile(rf"{_JAVA_IDENTIFIER}(?:\.{_JAVA_IDENTIFIER})*")
# Flink's TimeUtils.parseDuration: digits, then a unit label (none: milliseconds), any case;
# the long labels also take a plural "s". Nanoseconds per unit.
_DURATION_UNITS = {
    **dict.fromkeys(("d", "day", "days"), 86_400 * 10**9),
    **dict.fromkeys(("h", "hour", "hours"), 3_600 * 10**9),
    **dict.fromkeys(("min", "m", "minute", "minutes"), 60 * 10**9),
    **dict.fromkeys(("s", "sec", "second", "seconds"), 10**9),
    **dict.fromkeys(("ms", "milli", "millis", "millisecond", "milliseconds"), 10**6),
    **dict.fromkeys(("µs", "micro", "micros", "microsecond", "microseconds"), 10**3),
    **dict.fromkeys(("ns", "nano", "nanos", "nanosecond", "nanoseconds"), 1),
}
_DURATION = re.compile(r"([0-9]*)(.*)", re.DOTALL)
_JAVA_WHITESPACE = "".join(map(chr, range(0x21)))  # what Java's String.trim() removes
_MILLISECOND = timedelta(milliseconds=1)


def to_property_string(value: object) -> str:
    """The string Java will see for ``value``.

    bool becomes ``"true"``/``"false"``, int its decimal digits, a finite float a decimal
    Java's ``Double.parseDouble`` reads, an Enum its name (or its value when that is a str),
    a str itself. Anything else raises ``TypeError``.
    """
    if value is None:
        raise TypeError("is None; give a value or leave the key out")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        return value.value if isinstance(value.value, str) else value.name
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise TypeError(f"is {value}; Java properties take finite numbers only")
        return repr(value)
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a str, int, float, bool or Enum value, got {type(value).__name__}")


def parse(key: Key, text: str) -> object:
    """Check ``text`` as a value of ``key`` and return it parsed (int, float, bool or str)."""
    if text == "":
        raise ValueError("is empty; give a value or leave the key out")
    value = _PARSERS[key.type](key, text)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _check_range(key, value)
    elif isinstance(value, timedelta):
        _check_range(key, value / _MILLISECOND)
    return value


def describe_range(key: Key) -> str:
    """The allowed range of a numeric key in words, or "" when any value of its type goes."""
    unit = " ms" if key.type is ValueType.DURATION else ""
    if key.minimum is not None and key.maximum is not None:
        return f"{key.minimum} to {key.maximum}{unit}"
    if key.minimum is not None:
        return f">= {key.minimum}{unit}"
    if key.maximum is not None:
        return f"<= {key.maximum}{unit}"
    return ""


def is_epoch_seconds(text: str) -> bool:
    """True for a non-negative decimal number of seconds, like ``1459799926.480``."""
    return _DECIMAL.fullmatch(text) is not None and float(text) >= 0


def stream_name_problem(name: object) -> str | None:
    """Why ``name`` cannot be a Kinesis stream name, or None if it can."""
    if not isinstance(name, str):
        return f"stream names are str, got {type(name).__name__}"
    if _STREAM_NAME.fullmatch(name) is None:
        return f"{name!r} is not a Kinesis stream name (1 to 128 of a-z A-Z 0-9 _ . -)"
    return None


def java_class_problem(name: object) -> str | None:
    """Why ``name`` cannot be a fully qualified Java class name, or None if it can."""
    if not isinstance(name, str):
        return f"expected a Java class name (str), got {type(name).__name__}"
    if _CLASS_NAME.fullmatch(name) is None:
        return f"{name!r} is not a fully qualified Java class name (like com.example.MyClass)"
    return None


def _check_range(key: Key, value: Number) -> None:
    too_small = key.minimum is not None and value < key.minimum
    too_large = key.maximum is not None and value > key.maximum
    if too_small or too_large:
        raise ValueError(f"is out of range: must be {describe_range(key)}")


def _java_integer(low: int, high: int, java_type: str) -> Callable[[Key, str], object]:
    def parse_integer(key: Key, text: str) -> object:
        if _INTEGER.fullmatch(text) is None:
            raise ValueError("is not a whole number")
        value = int(text)
        if not low <= value <= high:
            raise ValueError(f"does not fit in a Java {java_type} ({low} to {high})")
        return value

    return parse_integer


def _parse_double(key: Key, text: str) -> object:
    if _DECIMAL.fullmatch(text) is None:
        raise ValueError("is not a decimal number like 1.5 or 2e3")
    return float(text)


def _parse_boolean(key: Key, text: str) -> object:
    lowered = text.lower()
    if lowered not in ("true", "false"):
        raise ValueError(
            "must be true or false (Java's Boolean.parseBoolean would silently read it as false)"
        )
    return lowered == "true"


def _parse_enum(key: Key, text: str) -> object:
    if text in key.allowed:
        return text
    message = f"is not one of {', '.join(key.allowed)} (case-sensitive: Java uses Enum.valueOf)"
    if text.upper() in key.allowed:
        message += f"; did you mean {text.upper()!r}?"
    raise ValueError(message)


def _parse_url(key: Key, text: str) -> object:
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError(
            "is not an http:// or https:// URL with a host, like http://localhost:4567"
        )
    return text


def _regex_parser(regex: re.Pattern[str], expected: str) -> Callable[[Key, str], object]:
    def parse_matching(key: Key, text: str) -> object:
        if regex.fullmatch(text) is None:
            raise ValueError(f"is not {expected}")
        return text

    return parse_matching


def _parse_date_pattern(key: Key, text: str) -> object:
    problem = dates.pattern_problem(text)
    if problem is not None:
        raise ValueError(f"is not a valid Java SimpleDateFormat pattern: {problem}")
    return text


def _parse_duration(key: Key, text: str) -> object:
    match = _DURATION.fullmatch(text.strip(_JAVA_WHITESPACE))
    assert match is not None  # the pattern matches every string
    number, label = match.groups()
    unit = _DURATION_UNITS.get(label.strip(_JAVA_WHITESPACE).lower() or "ms")
    if not number or unit is None:
        raise ValueError(
            "is not a duration like '10 s', '250 ms', '1 min' (a whole number, then d, h, "
            "min, s, ms, µs or ns; a number alone is milliseconds)"
        )
    nanos = int(number) * unit
    if int(number) > JAVA_LONG_MAX or nanos // 10**9 > JAVA_LONG_MAX:
        raise ValueError("is longer than a Java Duration holds")
    try:
        return timedelta(seconds=nanos // 10**9, microseconds=nanos % 10**9 / 10**3)
    except OverflowError:
        raise ValueError("is longer than Python's timedelta holds (2.7 million years)") from None


def _parse_text(key: Key, text: str) -> object:
    return text


_PARSERS: dict[ValueType, Callable[[Key, str], object]] = {
    ValueType.STRING: _parse_text,
    ValueType.TIMESTAMP: _parse_text,
    ValueType.INT: _java_integer(JAVA_INT_MIN, JAVA_INT_MAX, "int"),
    ValueType.LONG: _java_integer(JAVA_LONG_MIN, JAVA_LONG_MAX, "long"),
    ValueType.DOUBLE: _parse_double,
    ValueType.BOOLEAN: _parse_boolean,
    ValueType.ENUM: _parse_enum,
    ValueType.URL: _parse_url,
    ValueType.ARN: _regex_parser(_ARN, "an ARN like arn:aws:kinesis:us-east-1:123456789012:..."),
    ValueType.REGION: _regex_parser(_REGION, "an AWS region id like us-east-1"),
    ValueType.CLASS_NAME: _regex_parser(_CLASS_NAME, "a fully qualified Java class name"),
    ValueType.DATE_PATTERN: _parse_date_pattern,
    ValueType.DURATION: _parse_duration,
}
