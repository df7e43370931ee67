"""Check from Python, before a job starts, that its streams exist and that the config reaches them.

A job finds a missing stream, an unreachable endpoint or rejected credentials only once it runs
on the cluster. :func:`check_streams` asks Kinesis (``DescribeStreamSummary`` through boto3)
from where Python runs, with the same config, and reports every problem at once::

    check_streams(["orders", "payments"], consumer_config)   # raises StreamCheckError

It is opt-in: the machine that builds the job may not have the cluster's network access or
credentials, and a stream may legitimately be created after the job starts. Credentials: BASIC
keys and PROFILE are used as given, ASSUME_ROLE asks STS as the connector does (so a role STS
refuses is reported here); every other provider uses boto3's default chain (env vars, profile,
web identity, instance roles), which is what those providers resolve to for most users.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from pyflink_kinesis.config import consumer_properties
from pyflink_kinesis.config.aws import (
    ACCESS_KEY_ID,
    CREDENTIALS_PROVIDER,
    REGION,
    ROLE_PROVIDER_SUFFIX,
    SECRET_KEY,
)
from pyflink_kinesis.config.tls import untrusted_certificate
from pyflink_kinesis.errors import ConfigProblem, StreamCheckError

_ENDPOINT = "aws.endpoint"
_PROFILE_NAME = f"{CREDENTIALS_PROVIDER}.profile.name"
_PROFILE_PATH = f"{CREDENTIALS_PROVIDER}.profile.path"
_ROLE_ARN = f"{CREDENTIALS_PROVIDER}.role.arn"
_ROLE_SESSION = f"{CREDENTIALS_PROVIDER}.role.sessionName"
_ROLE_EXTERNAL_ID = f"{CREDENTIALS_PROVIDER}.role.externalId"
_STS_ENDPOINT = f"{CREDENTIALS_PROVIDER}.role.stsEndpoint"
_READABLE = ("ACTIVE", "UPDATING")
_CREDENTIAL_ERRORS = (
    "UnrecognizedClientException",
    "InvalidSignatureException",
    "IncompleteSignature",
    "ExpiredTokenException",
    "AccessDeniedException",
    "InvalidClientTokenId",
)


def check_streams(
    streams: str | Sequence[str], config: Mapping[str, object], *, timeout_s: float = 10.0
) -> None:
    """Raise :class:`StreamCheckError` unless every stream exists and is readable.

    ``config`` is the consumer's (``aws.region``, ``aws.endpoint``, credentials); it is
    validated first (:class:`~pyflink_kinesis.KinesisConfigError`). One problem is reported per
    stream: missing, not ACTIVE/UPDATING, credentials rejected, or the endpoint unreachable or
    its TLS certificate not trusted (then every stream is affected and the check stops there;
    like boto3, the check trusts the CAs of ``AWS_CA_BUNDLE`` when it is set). No secret
    appears in the report. Each call waits at most ``timeout_s`` per request and does not retry.
    """
    names = [streams] if isinstance(streams, str) else list(streams)
    describe_streams(names, consumer_properties(config, names), timeout_s)


def describe_streams(
    names: Sequence[str], properties: Mapping[str, str], timeout_s: float = 10.0
) -> dict[str, dict[str, Any]]:
    """``DescribeStreamSummary`` of each stream with validated ``properties``, by name.

    Raises :class:`StreamCheckError` as :func:`check_streams` does.
    """
    import botocore.exceptions as errors

    where = properties.get(_ENDPOINT) or f"region {properties[REGION]}"
    problems = []
    summaries = {}
    try:
        client = _client(properties, timeout_s)
    except errors.ProfileNotFound:
        raise StreamCheckError([_no_credentials(properties)], where) from None
    for name in names:
        try:
            summary = client.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]
        except (errors.NoCredentialsError, errors.PartialCredentialsError):
            raise StreamCheckError([_no_credentials(properties)], where) from None
        except errors.ClientError as error:
            problems.append(ConfigProblem(name, _client_error_message(error)))
            continue
        except errors.SSLError as error:
            detail = str(error.kwargs.get("error", error))
            problems.append(ConfigProblem(_ENDPOINT, untrusted_certificate(where, detail)))
            break
        except (
            errors.EndpointConnectionError, errors.ConnectTimeoutError, errors.ReadTimeoutError
        ) as error:
            problems.append(ConfigProblem(_ENDPOINT, (
                f"cannot reach Kinesis ({type(error).__name__}: {error}); check "
                f"'{_ENDPOINT}' and '{REGION}', and that this machine can reach it"
            )))
            break
        status = summary["StreamStatus"]
        if status not in _READABLE:
            problems.append(ConfigProblem(name, (
                f"the stream is {status}, not ACTIVE; wait until it is, or create it again"
            )))
        summaries[name] = summary
    if problems:
        raise StreamCheckError(problems, where)
    return summaries


def _client(properties: Mapping[str, str], timeout_s: float) -> Any:
    """A boto3 Kinesis client signing as ``properties``' provider does: BASIC and PROFILE as
    given, ASSUME_ROLE through STS (its ``role.provider`` credentials, ``role.stsEndpoint``),
    the others through boto3's default chain."""
    from botocore.config import Config

    config = Config(connect_timeout=timeout_s, read_timeout=timeout_s, retries={"max_attempts": 1})
    session, credentials = _credentials(properties, config)
    client_args: dict[str, Any] = {"region_name": properties[REGION], "config": config,
                                   **credentials}
    if _ENDPOINT in properties:
        client_args["endpoint_url"] = properties[_ENDPOINT]
    return session.client("kinesis", **client_args)


def _credentials(properties: Mapping[str, str], config: Any) -> tuple[Any, dict[str, str]]:
    """The boto3 session and the client keyword arguments for ``properties``' provider."""
    import boto3
    import botocore.session

    core = botocore.session.Session()
    provider = properties.get(CREDENTIALS_PROVIDER, "")
    credentials: dict[str, str] = {}
    if provider == "BASIC" or (not provider and ACCESS_KEY_ID in properties):
        credentials = {"aws_access_key_id": properties[ACCESS_KEY_ID],
                       "aws_secret_access_key": properties[SECRET_KEY]}
    elif provider == "PROFILE":
        if _PROFILE_PATH in properties:
            core.set_config_variable("credentials_file", properties[_PROFILE_PATH])
        if _PROFILE_NAME in properties:
            core.set_config_variable("profile", properties[_PROFILE_NAME])
    elif provider == "ASSUME_ROLE":
        credentials = _assumed_role(properties, config)
    return boto3.session.Session(botocore_session=core), credentials


def _assumed_role(properties: Mapping[str, str], config: Any) -> dict[str, str]:
    """Temporary credentials from STS for ``role.arn``, asked as the connector asks: with the
    ``role.provider`` credentials, at ``role.stsEndpoint`` (else the region's STS), with the
    session name and external id. A refusal raises :class:`StreamCheckError` naming the role."""
    import botocore.exceptions as errors

    nested_prefix = f"{CREDENTIALS_PROVIDER}{ROLE_PROVIDER_SUFFIX}"
    nested = {
        CREDENTIALS_PROVIDER + key[len(nested_prefix):]: value
        for key, value in properties.items() if key.startswith(nested_prefix)
    }
    session, credentials = _credentials(nested, config)
    sts_args: dict[str, Any] = {"region_name": properties[REGION], "config": config,
                                **credentials}
    if _STS_ENDPOINT in properties:
        sts_args["endpoint_url"] = properties[_STS_ENDPOINT]
    request = {"RoleArn": properties[_ROLE_ARN],
               "RoleSessionName": properties.get(_ROLE_SESSION, "pyflink-kinesis-check")}
    if _ROLE_EXTERNAL_ID in properties:
        request["ExternalId"] = properties[_ROLE_EXTERNAL_ID]
    where = properties.get(_STS_ENDPOINT) or f"STS of region {properties[REGION]}"
    try:
        issued = session.client("sts", **sts_args).assume_role(**request)["Credentials"]
    except errors.ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        message = error.response.get("Error", {}).get("Message", "")
        raise StreamCheckError([ConfigProblem(_ROLE_ARN, (
            f"ASSUME_ROLE: STS refused to issue credentials for the role ({code}: {message}); "
            f"check {_ROLE_ARN} and {_ROLE_EXTERNAL_ID}, and that the role's trust policy "
            f"allows the caller (the {nested_prefix} credentials)"
        ))], where) from None
    except (errors.NoCredentialsError, errors.PartialCredentialsError):
        raise StreamCheckError([_no_credentials(nested)], where) from None
    return {"aws_access_key_id": issued["AccessKeyId"],
            "aws_secret_access_key": issued["SecretAccessKey"],
            "aws_session_token": issued["SessionToken"]}


# Where a provider looks for credentials, for the message when Python finds none there.
_LOOKS_IN = {
    "PROFILE": "the profile '{name}' of the credentials file {path}",
    "ENV_VAR": "the environment variables AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY",
    "AUTO": "the default chain: environment variables, profile, web identity, instance role",
}


def _no_credentials(properties: Mapping[str, str]) -> ConfigProblem:
    """The problem of a provider whose credentials Python cannot find: where it looked, what
    to do. SYS_PROP reads the JVM's system properties, which Python cannot see."""
    provider = properties.get(CREDENTIALS_PROVIDER, "AUTO")
    if provider == "SYS_PROP":
        return ConfigProblem(CREDENTIALS_PROVIDER, (
            "SYS_PROP reads the JVM's system properties (aws.accessKeyId, "
            "aws.secretAccessKey), which this check in Python cannot see; run the check with "
            "credentials in the environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY), or skip "
            "it (a FLIP-27 source: give the stream's ARN, set_stream_arn, not its name)"
        ))
    looks_in = _LOOKS_IN.get(provider, "boto3's default chain (Python cannot follow this provider)")
    looks_in = looks_in.format(
        name=properties.get(_PROFILE_NAME, "default (or AWS_PROFILE)"),
        path=properties.get(_PROFILE_PATH, "~/.aws/credentials (or AWS_SHARED_CREDENTIALS_FILE)"),
    )
    return ConfigProblem(CREDENTIALS_PROVIDER, (
        f"{provider} found no credentials in {looks_in}; add them there, or fix the "
        f"{CREDENTIALS_PROVIDER}.* keys"
    ))


def _client_error_message(error: Any) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    if code == "ResourceNotFoundException":
        return "the stream does not exist; create it, or fix the name or the region"
    if code in _CREDENTIAL_ERRORS:
        return (
            f"the credentials were rejected ({code}: {message}); check the access key, the "
            f"secret key and '{CREDENTIALS_PROVIDER}'"
        )
    return f"{code}: {message}"
