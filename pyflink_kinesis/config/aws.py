"""The AWS keys both the consumer and the sink take (``AWSConfigConstants``), and their checks.

Credential keys sit under ``aws.credentials.provider``. For ``ASSUME_ROLE`` the credentials
used to call STS are configured the same way under ``aws.credentials.provider.role.provider``
(and so on, as deep as roles are chained): ``...role.provider.basic.accesskeyid`` and so on.
"""

from __future__ import annotations

from typing import Literal

from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.tls import check_tls
from pyflink_kinesis.config.validation import CheckedProperties, Problems

_SHADED_AWS = "org.apache.flink.kinesis.shaded.org.apache.flink.connector.aws"
AWS_CONSTANTS = f"{_SHADED_AWS}.config.AWSConfigConstants"
AWS_GENERAL_UTIL = f"{_SHADED_AWS}.util.AWSGeneralUtil"
CREDENTIAL_PROVIDER_ENUM = f"{AWS_CONSTANTS}$CredentialProvider"
HTTP_PROTOCOL_ENUM = "org.apache.flink.kinesis.shaded.software.amazon.awssdk.http.Protocol"

REGION = "aws.region"
ENDPOINT = "aws.endpoint"
CREDENTIALS_PROVIDER = "aws.credentials.provider"
ROLE_PROVIDER_SUFFIX = ".role.provider"
CREDENTIAL_PROVIDERS = (
    "ENV_VAR",
    "SYS_PROP",
    "PROFILE",
    "BASIC",
    "ASSUME_ROLE",
    "WEB_IDENTITY_TOKEN",
    "CUSTOM",
    "AUTO",
)
# Which connector a config is for: they read the AWS keys slightly differently.
Client = Literal["consumer", "sink"]
ACCESS_KEY_ID = f"{CREDENTIALS_PROVIDER}.basic.accesskeyid"
SECRET_KEY = f"{CREDENTIALS_PROVIDER}.basic.secretkey"


def _aws(field: str) -> JavaRef:
    return JavaRef(AWS_CONSTANTS, field)


AWS_KEYS = KeyTable(
    [
        Key(
            REGION,
            ValueType.REGION,
            "AWS region of the streams, like us-east-1; required, also with aws.endpoint.",
            java=_aws("AWS_REGION"),
        ),
        Key(
            CREDENTIALS_PROVIDER,
            ValueType.ENUM,
            "Where credentials come from; BASIC when unset and both basic keys are set.",
            default="AUTO",
            allowed=CREDENTIAL_PROVIDERS,
            java=_aws("AWS_CREDENTIALS_PROVIDER"),
            java_enum=CREDENTIAL_PROVIDER_ENUM,
        ),
        Key(
            ACCESS_KEY_ID,
            ValueType.STRING,
            "Access key id, for BASIC.",
            required_by=("BASIC",),
            java=_aws("AWS_ACCESS_KEY_ID"),
        ),
        Key(
            SECRET_KEY,
            ValueType.STRING,
            "Secret access key, for BASIC.",
            secret=True,
            required_by=("BASIC",),
            java=_aws("AWS_SECRET_ACCESS_KEY"),
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}.profile.path",
            ValueType.STRING,
            "Credentials file, for PROFILE (default: the AWS SDK's, ~/.aws/credentials).",
            java=_aws("AWS_PROFILE_PATH"),
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}.profile.name",
            ValueType.STRING,
            "Profile name, for PROFILE (default: AWS_PROFILE, else 'default').",
            java=_aws("AWS_PROFILE_NAME"),
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}.role.arn",
            ValueType.ARN,
            "Role to assume: for ASSUME_ROLE (required), WEB_IDENTITY_TOKEN (else AWS_ROLE_ARN).",
            required_by=("ASSUME_ROLE",),
            java=_aws("AWS_ROLE_ARN"),
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}.role.sessionName",
            ValueType.STRING,
            "Role session name: for ASSUME_ROLE (required), WEB_IDENTITY_TOKEN (optional).",
            required_by=("ASSUME_ROLE",),
            java=_aws("AWS_ROLE_SESSION_NAME"),
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}.role.externalId",
            ValueType.STRING,
            "External id sent with STS AssumeRole, for ASSUME_ROLE.",
            secret=True,
            java=_aws("AWS_ROLE_EXTERNAL_ID"),
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}.role.stsEndpoint",
            ValueType.URL,
            "STS endpoint for ASSUME_ROLE (default: from aws.region); read at top level only "
            "(not by WEB_IDENTITY_TOKEN, whose SDK calls sts.amazonaws.com).",
            java=_aws("AWS_ROLE_STS_ENDPOINT"),
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}{ROLE_PROVIDER_SUFFIX}",
            ValueType.ENUM,
            "For ASSUME_ROLE: where the credentials that call STS come from.",
            default="AUTO",
            allowed=CREDENTIAL_PROVIDERS,
            java=_aws("AWS_ROLE_CREDENTIALS_PROVIDER"),
            java_enum=CREDENTIAL_PROVIDER_ENUM,
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}{ROLE_PROVIDER_SUFFIX}.<credential key>",
            ValueType.STRING,
            "Any aws.credentials.provider.* key, for the credentials that assume the role.",
            nests=CREDENTIALS_PROVIDER,
            java=_aws("AWS_ROLE_CREDENTIALS_PROVIDER"),
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}.custom.class",
            ValueType.CLASS_NAME,
            "For CUSTOM: an AwsCredentialsProvider class with a (Properties) constructor.",
            required_by=("CUSTOM",),
            java=_aws("CUSTOM_CREDENTIALS_PROVIDER_CLASS"),
        ),
        Key(
            f"{CREDENTIALS_PROVIDER}.webIdentityToken.file",
            ValueType.STRING,
            "Token file, for WEB_IDENTITY_TOKEN (default: AWS_WEB_IDENTITY_TOKEN_FILE).",
            java=_aws("AWS_WEB_IDENTITY_TOKEN_FILE"),
        ),
        Key(
            "aws.endpoint",
            ValueType.URL,
            "Endpoint override: a VPC endpoint or a local Kinesis-compatible server.",
            java=_aws("AWS_ENDPOINT"),
        ),
        Key(
            "aws.trust.all.certificates",
            ValueType.BOOLEAN,
            "Trust any TLS certificate (for local servers with self-signed ones only).",
            default="false",
            sink_only=True,
            java=_aws("TRUST_ALL_CERTIFICATES"),
            java_default=JavaRef(AWS_GENERAL_UTIL, "TRUST_ALL_CERTIFICATES"),
        ),
        Key(
            "aws.http.protocol.version",
            ValueType.ENUM,
            "HTTP version of the sink's Kinesis client.",
            default="HTTP2",
            allowed=("HTTP1_1", "HTTP2"),
            sink_only=True,
            java=_aws("HTTP_PROTOCOL_VERSION"),
            java_default=JavaRef(AWS_GENERAL_UTIL, "HTTP_PROTOCOL"),
            java_enum=HTTP_PROTOCOL_ENUM,
        ),
        Key(
            "aws.http-client.max-concurrency",
            ValueType.INT,
            "Maximum concurrent requests of the sink's HTTP client.",
            default="10000",
            minimum=1,
            sink_only=True,
            java=_aws("HTTP_CLIENT_MAX_CONCURRENCY"),
            java_default=JavaRef(AWS_GENERAL_UTIL, "HTTP_CLIENT_MAX_CONCURRENCY"),
        ),
        Key(
            "aws.http-client.read-timeout",
            ValueType.INT,
            "Read timeout of the sink's HTTP client.",
            default="360000",
            minimum=0,
            unit="ms",
            sink_only=True,
            java=_aws("HTTP_CLIENT_READ_TIMEOUT_MILLIS"),
            java_default=JavaRef(AWS_GENERAL_UTIL, "HTTP_CLIENT_READ_TIMEOUT"),
        ),
    ]
)


def check_aws(
    checked: CheckedProperties, problems: Problems, *, client: Client, region_of: str
) -> None:
    """Cross-key AWS checks: the region is set, each credential provider has its keys, and a
    warning for ``aws.trust.all.certificates = true``.

    ``client`` is ``"consumer"`` or ``"sink"``; the consumer cannot use CUSTOM credentials.
    ``region_of`` names what the region is of in the message, like "the sink's stream".
    """
    if REGION not in checked.properties:
        problems.add(REGION, region_missing(region_of, ENDPOINT in checked.properties))
    prefix: str | None = CREDENTIALS_PROVIDER
    while prefix is not None:
        prefix = _check_provider(checked, problems, prefix, client)
    check_tls(checked, problems)


def region_missing(region_of: str, endpoint_set: bool, endpoint_key: str = ENDPOINT) -> str:
    """The problem of a missing region: of what, and why an endpoint does not replace it."""
    message = f"missing; set the region of {region_of}, like 'us-east-1'"
    if endpoint_set:
        message += f" ({endpoint_key} needs it too: the region signs the requests)"
    return message


def uses_custom_credentials(checked: CheckedProperties) -> bool:
    """True when some credential provider key (top-level or nested) is CUSTOM."""
    return any(
        value == "CUSTOM"
        for name, value in checked.values.items()
        if name == CREDENTIALS_PROVIDER or name.endswith(ROLE_PROVIDER_SUFFIX)
    )


def _check_provider(
    checked: CheckedProperties, problems: Problems, prefix: str, client: Client
) -> str | None:
    """Check the provider configured at ``prefix``; return the nested prefix to check next."""
    provider = _provider(checked, problems, prefix)
    required = [_under(prefix, key.name) for key in AWS_KEYS.keys if provider in key.required_by]
    for name in required:
        if name not in checked.properties:
            problems.add(name, f"missing; {prefix} = {provider} needs it")
    if provider == "CUSTOM" and client == "consumer":
        problems.add(
            prefix,
            "CUSTOM does not work with FlinkKinesisConsumer: its polling client (AWS SDK v1, "
            "AWSUtil) has no CUSTOM provider and the job would fail at runtime; CUSTOM works "
            "with KinesisStreamsSink only",
        )
    return prefix + ROLE_PROVIDER_SUFFIX if provider == "ASSUME_ROLE" else None


def _provider(checked: CheckedProperties, problems: Problems, prefix: str) -> str | None:
    """The provider type Java picks at ``prefix`` (None: the value set there is invalid)."""
    if prefix in checked.properties:
        value = checked.values.get(prefix)
        return value if isinstance(value, str) else None
    access_key_id = _under(prefix, ACCESS_KEY_ID)
    secret_key = _under(prefix, SECRET_KEY)
    present = [name for name in (access_key_id, secret_key) if name in checked.properties]
    if len(present) == 2:
        return "BASIC"
    if present:
        missing = secret_key if present == [access_key_id] else access_key_id
        problems.doubt(
            missing,
            f"missing; {present[0]!r} is set alone, and BASIC credentials need both: Java "
            f"ignores the lone key and uses AUTO (the default credentials chain); set both "
            f"keys, or remove the lone one",
        )
    return "AUTO"


def _under(prefix: str, name: str) -> str:
    """``name`` (a top-level credential key) moved under ``prefix``."""
    return prefix + name[len(CREDENTIALS_PROVIDER) :]
