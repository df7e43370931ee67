"""Dates checked against Java SimpleDateFormat patterns (the consumer's start timestamp)."""

from __future__ import annotations

import pytest

from pyflink_kinesis.config.dates import matches, pattern_problem

DEFAULT = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX"


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("2016-04-04T19:58:46.480-00:00", DEFAULT),
        ("2016-04-04T19:58:46.480Z", DEFAULT),
        ("2016-4-4T9:58:46.480+05:30", DEFAULT),
        ("2016-04-04 19:58", "yyyy-MM-dd HH:mm"),
        ("20160404", "yyyyMMdd"),
        ("2016-04-04T19:58:46.480+02", "yyyy-MM-dd'T'HH:mm:ss.SSSX"),
        ("2016-04-04T19:58:46+0200", "yyyy-MM-dd'T'HH:mm:ssXX"),
        ("it's 2016", "'it''s' yyyy"),
    ],
)
def test_dates_in_the_pattern_match(text: str, pattern: str) -> None:
    assert matches(text, pattern) is True


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("2016-04-04 19:58", DEFAULT),
        ("2016-02-30T19:58:46.480Z", DEFAULT),
        ("2016-04-04T25:58:46.480Z", DEFAULT),
        ("2016-04-04T19:58:46.480-00:00 and more", DEFAULT),
        ("2016-04-04T19:58:46.480+0200", DEFAULT),
        ("201604041", "yyyyMMdd"),
    ],
)
def test_other_text_does_not_match(text: str, pattern: str) -> None:
    assert matches(text, pattern) is False


@pytest.mark.parametrize(
    "pattern", ["EEE, d MMM yyyy", "yyyy-MM-dd hh:mm a", "yyyy-MM-dd HH:mm z", "yyyy yyyy"]
)
def test_patterns_not_understood_here_skip_the_check(pattern: str) -> None:
    assert matches("anything", pattern) is None


@pytest.mark.parametrize(
    ("pattern", "problem"),
    [
        ("yyyy-bb", "illegal pattern character 'b'"),
        ("yyyy-MM-dd'T", "unterminated quote"),
        ("HH:mm XXXX", "X may be repeated at most 3 times"),
    ],
)
def test_patterns_java_rejects_are_explained(pattern: str, problem: str) -> None:
    assert pattern_problem(pattern) == problem
    assert matches("2016", pattern) is None


@pytest.mark.parametrize("pattern", [DEFAULT, "EEE, d MMM yyyy HH:mm:ss Z", "'literal only'"])
def test_valid_patterns_have_no_problem(pattern: str) -> None:
    assert pattern_problem(pattern) is None
