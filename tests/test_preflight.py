"""check_streams: missing streams, an unreachable endpoint and rejected credentials are found
from Python before a job starts, all at once, without showing the secret."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from pyflink_kinesis import KinesisConfigError, StreamCheckError, check_streams
from pyflink_kinesis.testing import FaultProxy, LocalKinesis
from pyflink_kinesis.testing.fault_proxy import ErrorResponse, Every, QueryErrorResponse
from tests.support.kinesis_fixtures import MakeStream
from tests.support.moto_fixtures import LocalGlueRegistry

SECRET = "preflight-secret-3f9c2a"


def config(endpoint: str) -> dict[str, object]:
    return {
        "aws.region": "us-east-1",
        "aws.endpoint": endpoint,
        "aws.credentials.provider.basic.accesskeyid": "preflight-access-key",
        "aws.credentials.provider.basic.secretkey": SECRET,
    }


def test_existing_streams_pass(local_kinesis: LocalKinesis, stream_factory: MakeStream) -> None:
    check_streams([stream_factory(1), stream_factory(2)], config(local_kinesis.endpoint))


def test_every_missing_stream_is_named(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    present = stream_factory(1)

    with pytest.raises(StreamCheckError) as error:
        check_streams(["no-such-a", present, "no-such-b"], config(local_kinesis.endpoint))

    assert [p.key for p in error.value.problems] == ["no-such-a", "no-such-b"]
    assert "does not exist" in str(error.value)
    assert local_kinesis.endpoint in str(error.value)
    assert SECRET not in str(error.value)


def test_an_unreachable_endpoint_is_reported_once() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    with pytest.raises(StreamCheckError) as error:
        check_streams(["a", "b"], config(f"http://127.0.0.1:{port}"), timeout_s=2)

    assert [p.key for p in error.value.problems] == ["aws.endpoint"]
    assert "cannot reach Kinesis" in str(error.value)


def test_rejected_credentials_are_named_without_the_secret(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    stream = stream_factory(1)
    rejected = ErrorResponse(
        400, "InvalidSignatureException",
        "The request signature we calculated does not match the signature you provided.",
    )
    with FaultProxy(local_kinesis.endpoint) as proxy:
        proxy.inject(rejected, operation="DescribeStreamSummary", when=Every(1))
        with pytest.raises(StreamCheckError) as error:
            check_streams(stream, config(proxy.endpoint))

    assert "credentials were rejected (InvalidSignatureException" in str(error.value)
    assert SECRET not in str(error.value) and SECRET not in repr(error.value)


@pytest.fixture
def no_python_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """boto3 finds no credentials: no AWS variables, empty credential files, no instance role.
    Returns a credentials file with the profile 'present' only."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN"):
        monkeypatch.delenv(name, raising=False)
    credentials = tmp_path / "credentials"
    credentials.write_text("[present]\naws_access_key_id = a\naws_secret_access_key = s\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    return credentials


def without_keys(endpoint: str, **credentials: str) -> dict[str, object]:
    """``config(endpoint)`` with ``aws.credentials.provider.<key>`` settings instead of BASIC."""
    return {
        "aws.region": "us-east-1", "aws.endpoint": endpoint,
        **{f"aws.credentials.provider{key}": value for key, value in credentials.items()},
    }


def test_a_missing_profile_names_the_profile_and_its_file(
    local_kinesis: LocalKinesis, no_python_credentials: Path
) -> None:
    settings = without_keys(
        local_kinesis.endpoint, **{"": "PROFILE", ".profile.path": str(no_python_credentials),
                                   ".profile.name": "absent"},
    )
    with pytest.raises(StreamCheckError) as error:
        check_streams("orders", settings)

    assert [p.key for p in error.value.problems] == ["aws.credentials.provider"]
    assert (
        f"PROFILE found no credentials in the profile 'absent' of the credentials file "
        f"{no_python_credentials}; add them there" in str(error.value)
    )


def test_sys_prop_says_python_cannot_see_the_jvms_properties(
    local_kinesis: LocalKinesis, no_python_credentials: Path
) -> None:
    with pytest.raises(StreamCheckError) as error:
        check_streams("orders", without_keys(local_kinesis.endpoint, **{"": "SYS_PROP"}))

    assert [p.key for p in error.value.problems] == ["aws.credentials.provider"]
    assert "SYS_PROP reads the JVM's system properties" in str(error.value)
    assert "set_stream_arn" in str(error.value)


def test_the_config_is_checked_first() -> None:
    with pytest.raises(KinesisConfigError, match=r"aws\.region"):
        check_streams("orders", {"aws.endpoint": "http://127.0.0.1:1"})


ROLE_ARN = "arn:aws:iam::123456789012:role/pyflink-kinesis-check"


def assume_role(endpoint: str, sts_endpoint: str, credentials: Path) -> dict[str, object]:
    """ASSUME_ROLE at ``sts_endpoint`` with a nested PROFILE ('present' of ``credentials``)."""
    return without_keys(endpoint, **{
        "": "ASSUME_ROLE", ".role.arn": ROLE_ARN, ".role.sessionName": "check",
        ".role.externalId": "external-id-7f3a", ".role.stsEndpoint": sts_endpoint,
        ".role.provider": "PROFILE", ".role.provider.profile.path": str(credentials),
        ".role.provider.profile.name": "present",
    })


def test_assume_role_signs_with_the_keys_sts_issues(
    local_kinesis: LocalKinesis, stream_factory: MakeStream, glue_registry: LocalGlueRegistry,
    no_python_credentials: Path,
) -> None:
    stream = stream_factory()
    with FaultProxy(glue_registry.endpoint) as sts, FaultProxy(local_kinesis.endpoint) as kinesis:
        check_streams(stream, assume_role(kinesis.endpoint, sts.endpoint, no_python_credentials))
        assert sts.access_keys == {"": {"a"}}  # STS asked with the nested profile's key
    [signer] = kinesis.access_keys["DescribeStreamSummary"]
    assert signer != "a"  # the temporary key STS issued


def test_a_role_sts_refuses_is_named_before_the_job(
    local_kinesis: LocalKinesis, glue_registry: LocalGlueRegistry, no_python_credentials: Path,
) -> None:
    with FaultProxy(glue_registry.endpoint) as sts:
        sts.inject(QueryErrorResponse(403, "AccessDenied", "User: arn:aws:iam::123456789012:"
                                      "user/ci is not authorized to perform: sts:AssumeRole"),
                   operation=None, when=Every(1))
        settings = assume_role(local_kinesis.endpoint, sts.endpoint, no_python_credentials)
        with pytest.raises(StreamCheckError) as error:
            check_streams("orders", settings)

    assert [p.key for p in error.value.problems] == ["aws.credentials.provider.role.arn"]
    assert "ASSUME_ROLE: STS refused to issue credentials for the role (AccessDenied: User:" in (
        str(error.value))
    assert "external-id-7f3a" not in str(error.value)
