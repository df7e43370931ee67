"""The generic per-key check every config goes through, and the problem collector."""

from __future__ import annotations

import pytest

from pyflink_kinesis.config.keys import Key, KeyTable, ValueType
from pyflink_kinesis.config.validation import (
    CheckedProperties,
    Problems,
    check_properties,
    shown,
)
from pyflink_kinesis.errors import ConfigProblem, KinesisConfigError

TABLE = KeyTable(
    [
        Key("retries", ValueType.INT, "Retries.", minimum=0),
        Key("password.key", ValueType.INT, "A secret number.", secret=True),
    ]
)


def check(config: dict[object, object], **hook: object) -> tuple[CheckedProperties, Problems]:
    problems = Problems("test config")
    checked = check_properties(config, TABLE, problems, **hook)  # type: ignore[arg-type]
    return checked, problems


def raised(problems: Problems) -> tuple[ConfigProblem, ...]:
    with pytest.raises(KinesisConfigError) as error:
        problems.raise_if_any()
    assert error.value.subject == "test config"
    return error.value.problems


def test_valid_entries_are_converted_and_parsed() -> None:
    checked, problems = check({"retries": 3})
    problems.raise_if_any()
    assert checked.properties == {"retries": "3"}
    assert checked.values == {"retries": 3}


def test_every_bad_entry_is_a_problem_and_invalid_values_are_not_kept() -> None:
    checked, problems = check({"retries": -1, 7: "x", "retrys": 1, "missing": None})
    assert [str(problem) for problem in raised(problems)] == [
        "'retries': -1 is out of range: must be >= 0",
        "'7': keys must be str, got int",
        "'missing': is None; give a value or leave the key out",
        "'retrys': unknown key; did you mean 'retries'?",
    ]
    assert checked.values == {}
    assert checked.properties == {"retries": "-1", "retrys": "1"}


def test_invalid_secret_values_are_masked() -> None:
    _, problems = check({"password.key": "hunter2"})
    assert [problem.message for problem in raised(problems)] == ["**** is not a whole number"]


def test_shown_masks_secret_and_secret_looking_keys_only() -> None:
    assert shown(TABLE, "password.key", "hunter2") == "****"
    assert shown(TABLE, "db.passwd", "hunter2") == "****"
    assert shown(TABLE, "retries", "3") == "'3'"


def test_the_unknown_key_hook_decides_after_the_known_keys() -> None:
    seen = []

    def hook(checked: CheckedProperties, name: str) -> str | None:
        seen.append((name, dict(checked.values)))
        return None if name == "let.through" else "not for this client"

    _, problems = check({"let.through": 1, "rejected": 2, "retries": 3}, unknown_key=hook)
    assert seen == [("let.through", {"retries": 3}), ("rejected", {"retries": 3})]
    assert raised(problems) == (ConfigProblem("rejected", "not for this client"),)


def test_a_config_that_is_not_a_mapping_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="got list"):
        check_properties([("retries", 3)], TABLE, Problems("test config"))  # type: ignore[arg-type]


def test_no_problems_raise_nothing() -> None:
    Problems("test config").raise_if_any()


def test_values_are_echoed_as_they_were_given() -> None:
    _, given_int = check({"retries": -1})
    _, given_str = check({"retries": "-1"})
    assert [str(problem) for problem in raised(given_int)] == [
        "'retries': -1 is out of range: must be >= 0"]
    assert [str(problem) for problem in raised(given_str)] == [
        "'retries': '-1' is out of range: must be >= 0"]
