"""``config.partition_keys``: the arguments of partition key generators, checked in Python."""

from __future__ import annotations

import pytest

from pyflink_kinesis.config.partition_keys import (
    default_key_problem,
    field_generator_problems,
    field_problem,
    key_length,
    path_problem,
)


@pytest.mark.parametrize("field", ["customer", "with.dot", 0, 7])
def test_fields_are_names_or_positions(field: object) -> None:
    assert field_problem(field) is None


@pytest.mark.parametrize(
    ("field", "message"),
    [
        ("", "the field name is empty"),
        (-1, "the position is -1; positions count from 0"),
        (1.5, "expected a field name (str) or a position (int >= 0), got float 1.5"),
        (True, "got bool True"),
        (None, "got NoneType None"),
        (b"id", "got bytes b'id'"),
    ],
)
def test_fields_that_cannot_exist_are_named(field: object, message: str) -> None:
    assert message in str(field_problem(field))


@pytest.mark.parametrize("path", ["ts", "order.customer.id"])
def test_json_paths_are_dotted_names(path: str) -> None:
    assert path_problem(path) is None


@pytest.mark.parametrize("path", ["", ".id", "id.", "a..b"])
def test_json_paths_with_an_empty_name_are_rejected(path: str) -> None:
    assert "has an empty field name" in str(path_problem(path))


def test_json_paths_are_text() -> None:
    assert path_problem(3) == "expected a field name or dotted path (str), got int 3"


def test_keys_are_counted_as_kinesis_counts_them() -> None:
    assert key_length("abc") == 3
    assert key_length("é") == 1
    assert key_length("\N{GRINNING FACE}") == 2  # outside the BMP: two UTF-16 code units


@pytest.mark.parametrize("key", [None, "unknown", "k" * 256, "\N{GRINNING FACE}" * 128])
def test_default_keys_kinesis_accepts(key: object) -> None:
    assert default_key_problem(key) is None


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("", "default_key is 0 characters long; Kinesis takes keys of 1 to 256"),
        ("k" * 257, "default_key is 257 characters long"),
        ("\N{GRINNING FACE}" * 129, "default_key is 258 characters long"),
        (5, "default_key must be a str or None, got int"),
    ],
)
def test_default_keys_kinesis_rejects(key: object, message: str) -> None:
    assert str(default_key_problem(key)).startswith(message)


def test_every_problem_of_a_generator_is_listed() -> None:
    assert field_generator_problems(field_problem(""), "", "yes") == [
        "the field name is empty; name a field of the records or give its position",
        "default_key is 0 characters long; Kinesis takes keys of 1 to 256",
        "hash_long_keys must be True or False, got str",
    ]
    assert field_generator_problems(None, None, False) == []
