"""The error hierarchy and the problem report of ``KinesisConfigError``."""

from __future__ import annotations

import pickle

import pytest

from pyflink_kinesis.errors import (
    ConfigProblem,
    JarResolutionError,
    KinesisConfigError,
    KinesisError,
    UnsupportedFlinkVersionError,
)

THREE = (
    ConfigProblem("aws.regoin", "unknown key; did you mean 'aws.region'?"),
    ConfigProblem("aws.region", "missing"),
    ConfigProblem("flink.stream.initpos", "'latest' is not one of TRIM_HORIZON, LATEST"),
)


def test_report_lists_every_problem_under_a_counted_header() -> None:
    error = KinesisConfigError(THREE, "consumer config")
    assert str(error) == (
        "3 problems in the consumer config:\n"
        "  - 'aws.regoin': unknown key; did you mean 'aws.region'?\n"
        "  - 'aws.region': missing\n"
        "  - 'flink.stream.initpos': 'latest' is not one of TRIM_HORIZON, LATEST"
    )


def test_report_header_is_singular_for_one_problem() -> None:
    error = KinesisConfigError(THREE[:1], "sink settings")
    assert str(error).splitlines()[0] == "1 problem in the sink settings:"


def test_config_error_keeps_its_problems_and_is_a_value_error() -> None:
    error = KinesisConfigError(iter(THREE))
    assert error.problems == THREE
    assert isinstance(error, KinesisError)
    assert isinstance(error, ValueError)
    assert error.subject == "config"


def test_config_error_repr_names_subject_and_problems() -> None:
    error = KinesisConfigError(THREE[1:2], "consumer config")
    assert repr(error) == (
        "KinesisConfigError(subject='consumer config', "
        "problems=(ConfigProblem(key='aws.region', message='missing'),))"
    )


def test_config_error_survives_pickling() -> None:
    error = pickle.loads(pickle.dumps(KinesisConfigError(THREE, "consumer config")))
    assert error.problems == THREE
    assert str(error).startswith("3 problems in the consumer config:")


def test_problem_reads_as_key_then_message() -> None:
    assert str(ConfigProblem("aws.region", "missing")) == "'aws.region': missing"


def test_jar_errors_are_runtime_errors_of_the_package() -> None:
    with pytest.raises(JarResolutionError) as raised:
        raise UnsupportedFlinkVersionError("no connector for Flink 1.14")
    assert isinstance(raised.value, KinesisError)
    assert isinstance(raised.value, RuntimeError)
    assert not isinstance(raised.value, KinesisConfigError)
