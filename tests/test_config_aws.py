"""The AWS keys both clients take: region, endpoint and credential providers (nested too)."""

from __future__ import annotations

from typing import Callable, Dict, Mapping

import pytest

from pyflink_kinesis.config import SinkSettings, consumer_properties, validate_sink
from pyflink_kinesis.config.firehose import (
    FirehoseSinkSettings,
    firehose_table_options,
    validate_firehose_sink,
)
from pyflink_kinesis.config.glue import glue_properties
from pyflink_kinesis.config.source import SourceSettings, validate_source
from pyflink_kinesis.config.table import table_options
from pyflink_kinesis.config.validation import Problems
from pyflink_kinesis.errors import KinesisConfigError, KinesisConfigWarning

Validate = Callable[[Mapping[str, object]], Dict[str, str]]
REGION = {"aws.region": "us-east-1"}
PROVIDER = "aws.credentials.provider"
ACCESS_KEY_ID = f"{PROVIDER}.basic.accesskeyid"
SECRET_KEY = f"{PROVIDER}.basic.secretkey"
ROLE = f"{PROVIDER}.role"
NESTED = f"{PROVIDER}.role.provider"


def validate_consumer(config: Mapping[str, object]) -> dict[str, str]:
    return consumer_properties(config, ["orders"])


def validate_sink_client(config: Mapping[str, object]) -> dict[str, str]:
    return validate_sink(SinkSettings(config, "orders", True, True))


@pytest.fixture(params=[validate_consumer, validate_sink_client], ids=["consumer", "sink"])
def validate(request: pytest.FixtureRequest) -> Validate:
    function: Validate = request.param
    return function


def problems(validate: Validate, config: Mapping[str, object]) -> dict[str, str]:
    with pytest.raises(KinesisConfigError) as raised:
        validate(config)
    return {problem.key: problem.message for problem in raised.value.problems}


def test_region_alone_is_enough(validate: Validate) -> None:
    assert validate(REGION) == REGION


def test_region_is_required_even_with_an_endpoint(validate: Validate) -> None:
    found = problems(validate, {"aws.endpoint": "http://localhost:4567"})
    assert list(found) == ["aws.region"]
    assert "(aws.endpoint needs it too: the region signs the requests)" in found["aws.region"]


# Each object that needs a region, and what its message says the region is of.
REGION_OF: list[tuple[str, Validate, str]] = [
    ("consumer", validate_consumer, "the consumer's streams"),
    ("sink", validate_sink_client, "the sink's stream"),
    ("firehose sink",
     lambda config: validate_firehose_sink(FirehoseSinkSettings(config, "deliveries", True)),
     "the Firehose sink's delivery stream"),
    ("source",
     lambda config: validate_source(SourceSettings(
         stream_name="orders", source_config=config, has_deserialization_schema=True),
         Problems("source settings")),
     "the source's stream"),
    ("table",
     lambda config: table_options({"stream": "orders", "format": "json", **config}),
     "the table's stream"),
    ("firehose table",
     lambda config: firehose_table_options(
         {"delivery-stream": "deliveries", "format": "json", **config}),
     "the table's delivery stream"),
]


@pytest.mark.parametrize(("validate", "region_of"), [(v, what) for _, v, what in REGION_OF],
                         ids=[name for name, _, _ in REGION_OF])
def test_a_missing_region_is_named_for_what_it_is_of_and_the_endpoint_only_when_set(
    validate: Validate, region_of: str
) -> None:
    alone = f"missing; set the region of {region_of}, like 'us-east-1'"
    assert problems(validate, {})["aws.region"] == alone
    with_endpoint = problems(validate, {"aws.endpoint": "http://localhost:4567"})
    assert with_endpoint["aws.region"] == (
        f"{alone} (aws.endpoint needs it too: the region signs the requests)")


def test_the_glue_registry_region_is_asked_for_as_such() -> None:
    with pytest.raises(KinesisConfigError) as raised:
        glue_properties({})
    assert [str(problem) for problem in raised.value.problems] == [
        "'region': missing; set the region of the registry, like 'us-east-1'"]
    with pytest.raises(KinesisConfigError) as raised:
        glue_properties({"endpoint": "http://localhost:5000"})
    assert [str(problem) for problem in raised.value.problems] == [
        "'region': missing; set the region of the registry, like 'us-east-1' ('endpoint' needs "
        "it too: the region signs the requests)"]


@pytest.mark.parametrize("region", ["us-east1", "useast", "EU-WEST-1", "us-east-1 "])
def test_region_must_look_like_an_aws_region(validate: Validate, region: str) -> None:
    assert "is not an AWS region id" in problems(validate, {"aws.region": region})["aws.region"]


def test_endpoint_must_be_an_http_url(validate: Validate) -> None:
    found = problems(validate, {**REGION, "aws.endpoint": "localhost:4567"})
    assert "http:// or https:// URL" in found["aws.endpoint"]


def test_basic_is_chosen_when_both_keys_are_set(validate: Validate) -> None:
    config = {**REGION, ACCESS_KEY_ID: "AKIA", SECRET_KEY: "s3cr3t"}
    assert validate(config) == config


@pytest.mark.parametrize(
    ("present", "missing"), [(ACCESS_KEY_ID, SECRET_KEY), (SECRET_KEY, ACCESS_KEY_ID)]
)
def test_a_lone_basic_key_is_warned_about_instead_of_silently_ignored(
    validate: Validate, present: str, missing: str
) -> None:
    """Java ignores it (AUTO); PyFlink's own tests set one, so it is a warning, not an error."""
    with pytest.warns(KinesisConfigWarning) as warned:
        validate({**REGION, present: "value"})
    [warning] = warned
    assert f"{missing!r}: missing; {present!r} is set alone" in str(warning.message)
    assert "Java ignores the lone key and uses AUTO" in str(warning.message)
    assert warning.filename == __file__


def test_explicit_basic_needs_both_keys(validate: Validate) -> None:
    found = problems(validate, {**REGION, PROVIDER: "BASIC"})
    assert set(found) == {ACCESS_KEY_ID, SECRET_KEY}
    assert found[SECRET_KEY] == "missing; aws.credentials.provider = BASIC needs it"


def test_explicit_provider_is_not_overridden_by_basic_keys(validate: Validate) -> None:
    config = {**REGION, PROVIDER: "ENV_VAR", ACCESS_KEY_ID: "AKIA"}
    assert validate(config) == config


def test_assume_role_needs_role_arn_and_session_name(validate: Validate) -> None:
    found = problems(validate, {**REGION, PROVIDER: "ASSUME_ROLE"})
    assert set(found) == {f"{ROLE}.arn", f"{ROLE}.sessionName"}


def test_assume_role_checks_the_nested_provider_of_each_level(validate: Validate) -> None:
    config = {
        **REGION,
        PROVIDER: "ASSUME_ROLE",
        f"{ROLE}.arn": "arn:aws:iam::123456789012:role/reader",
        f"{ROLE}.sessionName": "flink",
        NESTED: "ASSUME_ROLE",
        f"{NESTED}.role.arn": "arn:aws:iam::123456789012:role/base",
        f"{NESTED}.role.provider": "BASIC",
        f"{NESTED}.role.provider.basic.accesskeyid": "AKIA",
    }
    found = problems(validate, config)
    assert set(found) == {f"{NESTED}.role.sessionName", f"{NESTED}.role.provider.basic.secretkey"}


def test_a_complete_role_chain_passes(validate: Validate) -> None:
    config = {
        **REGION,
        PROVIDER: "ASSUME_ROLE",
        f"{ROLE}.arn": "arn:aws:iam::123456789012:role/reader",
        f"{ROLE}.sessionName": "flink",
        f"{ROLE}.externalId": "shared-id",
        f"{NESTED}.basic.accesskeyid": "AKIA",
        f"{NESTED}.basic.secretkey": "s3cr3t",
    }
    assert validate(config) == config


def test_nested_provider_values_are_checked(validate: Validate) -> None:
    found = problems(validate, {**REGION, PROVIDER: "ASSUME_ROLE", NESTED: "basic"})
    assert found[NESTED].endswith("(case-sensitive: Java uses Enum.valueOf); did you mean 'BASIC'?")


@pytest.mark.parametrize(
    "provider", ["AUTO", "ENV_VAR", "SYS_PROP", "PROFILE", "WEB_IDENTITY_TOKEN"]
)
def test_providers_that_need_no_keys(validate: Validate, provider: str) -> None:
    # Java reads PROFILE and WEB_IDENTITY_TOKEN settings from the environment when not given.
    config = {**REGION, PROVIDER: provider}
    assert validate(config) == config


def test_unknown_provider_lists_the_valid_ones(validate: Validate) -> None:
    message = problems(validate, {**REGION, PROVIDER: "IAM"})[PROVIDER]
    assert "is not one of ENV_VAR, SYS_PROP, PROFILE, BASIC, ASSUME_ROLE" in message


def test_custom_needs_its_class(validate: Validate) -> None:
    found = problems(validate, {**REGION, PROVIDER: "CUSTOM"})
    assert (
        found[f"{PROVIDER}.custom.class"] == "missing; aws.credentials.provider = CUSTOM needs it"
    )


def test_custom_credentials_work_with_the_sink_only() -> None:
    config = {**REGION, PROVIDER: "CUSTOM", f"{PROVIDER}.custom.class": "com.example.Creds"}
    assert validate_sink_client(config) == config
    found = problems(validate_consumer, config)
    assert list(found) == [PROVIDER]
    assert "CUSTOM does not work with FlinkKinesisConsumer" in found[PROVIDER]


def test_custom_credentials_nested_under_a_role_are_rejected_by_the_consumer() -> None:
    config = {
        **REGION,
        PROVIDER: "ASSUME_ROLE",
        f"{ROLE}.arn": "arn:aws:iam::123456789012:role/reader",
        f"{ROLE}.sessionName": "flink",
        NESTED: "CUSTOM",
        f"{NESTED}.custom.class": "com.example.Creds",
    }
    assert validate_sink_client(config) == config
    assert list(problems(validate_consumer, config)) == [NESTED]
