"""Glue Schema Registry configs: the key table and ``glue_properties`` (pure Python)."""

from __future__ import annotations

import pytest

from pyflink_kinesis.config.glue import GLUE_KEYS, GLUE_LIBRARY_KEYS, glue_properties
from pyflink_kinesis.config.keys import ValueType
from pyflink_kinesis.errors import KinesisConfigError, KinesisConfigWarning

SECRET = "wJalrXUtnFEMI-not-shown"


def problems(configs: dict[str, object]) -> dict[str, str]:
    with pytest.raises(KinesisConfigError) as error:
        glue_properties(configs)
    assert SECRET not in str(error.value)
    return {problem.key: problem.message for problem in error.value.problems}


def test_a_minimal_config_gets_aws_region_from_region() -> None:
    assert glue_properties({"region": "eu-west-1"}) == {
        "region": "eu-west-1", "aws.region": "eu-west-1"
    }


def test_values_become_the_strings_java_reads() -> None:
    properties = glue_properties({
        "region": "us-east-1", "endpoint": "http://127.0.0.1:5000", "cacheSize": 10,
        "timeToLiveMillis": 60_000, "schemaAutoRegistrationEnabled": True,
        "aws.region": "us-west-2",
    })
    assert properties == {
        "region": "us-east-1", "endpoint": "http://127.0.0.1:5000", "cacheSize": "10",
        "timeToLiveMillis": "60000", "schemaAutoRegistrationEnabled": "true",
        "aws.region": "us-west-2",
    }


def test_every_problem_is_reported_at_once_with_secrets_masked() -> None:
    with pytest.warns(KinesisConfigWarning, match="accesskeyid': missing") as warned:
        found = problems({
            "endpiont": "http://localhost:5000",
            "cacheSize": 0,
            "timeToLiveMillis": "soon",
            "compression": "gzip",
            "aws.credentials.provider.basic.secretkey": SECRET,
            "tags": "team=a",
        })
    assert set(found) == {
        "endpiont", "cacheSize", "timeToLiveMillis", "compression", "region", "tags",
    }
    assert SECRET not in str(found) + str(warned[0].message)
    assert "did you mean 'endpoint'" in found["endpiont"]
    assert "out of range" in found["cacheSize"]
    assert "not a whole number" in found["timeToLiveMillis"]
    assert "NONE, ZLIB" in found["compression"]
    assert found["region"].startswith("missing")
    assert "cannot carry" in found["tags"]


def test_credential_providers_are_checked_as_for_the_sink() -> None:
    found = problems({"region": "us-east-1", "aws.credentials.provider": "ASSUME_ROLE"})
    assert set(found) == {
        "aws.credentials.provider.role.arn", "aws.credentials.provider.role.sessionName"
    }
    assert glue_properties({
        "region": "us-east-1", "aws.credentials.provider": "CUSTOM",
        "aws.credentials.provider.custom.class": "com.example.Provider",
    })["aws.credentials.provider"] == "CUSTOM"


def test_an_invalid_region_and_endpoint_are_problems() -> None:
    found = problems({"region": "Europe", "endpoint": "localhost:5000"})
    assert set(found) == {"region", "endpoint"}


def test_the_table_holds_the_library_keys_and_the_credential_keys() -> None:
    names = {key.name for key in GLUE_LIBRARY_KEYS.keys}
    assert {"region", "endpoint", "cacheSize", "timeToLiveMillis", "registry.name"} <= names
    assert all(key.java is not None for key in GLUE_LIBRARY_KEYS.keys)
    assert all(key.doc for key in GLUE_KEYS.keys)
    enums = [key for key in GLUE_KEYS.keys if key.type is ValueType.ENUM]
    assert all(key.allowed for key in enums)
    assert GLUE_KEYS.find("aws.credentials.provider.basic.secretkey") is not None
    assert GLUE_KEYS.is_secret("aws.credentials.provider.basic.secretkey")
    assert GLUE_KEYS.find("aws.endpoint") is None
