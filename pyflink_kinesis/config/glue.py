"""AWS Glue Schema Registry configs: the library's keys, Flink's credential keys, validation.

A Glue schema takes one flat config: the Glue Schema Registry library's own keys
(``AWSSchemaRegistryConstants``: ``region``, ``endpoint``, ``cacheSize`` ...) and Flink's
``aws.credentials.provider.*`` keys, which choose the credentials the registry client signs
requests with (as for the consumer; default ``AUTO``, the AWS SDK's default chain). Keys only
the library's serializers read are accepted (one config can serve both sides) and documented so.
"""

from __future__ import annotations

from typing import Mapping

from pyflink_kinesis.config.aws import (
    AWS_KEYS,
    CREDENTIALS_PROVIDER,
    REGION,
    check_aws,
    region_missing,
)
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.validation import (
    CheckedProperties,
    Problems,
    check_properties,
    unknown_key_message,
)

GLUE_CONSTANTS = "com.amazonaws.services.schemaregistry.utils.AWSSchemaRegistryConstants"
GLUE_REGION = "region"
GLUE_ENDPOINT = "endpoint"
# Keys whose values the library needs as Java maps or lists: a string config cannot carry them.
_NOT_STRINGS = {
    "tags": "a map of schema tags (serializers only)",
    "metadata": "a map of schema version metadata (serializers only)",
    "jacksonSerializationFeatures": "a list of Jackson features (JSON serializers only)",
    "jacksonDeserializationFeatures": "a list of Jackson features (JSON deserializers only)",
}
_SERIALIZERS = "Serializers only; deserializers ignore it."


def _glue(field: str) -> JavaRef:
    return JavaRef(GLUE_CONSTANTS, field)


GLUE_LIBRARY_KEYS = KeyTable(
    [
        Key(
            GLUE_REGION,
            ValueType.REGION,
            "AWS region of the schema registry, like us-east-1; required.",
            java=_glue("AWS_REGION"),
        ),
        Key(
            GLUE_ENDPOINT,
            ValueType.URL,
            "Endpoint override of the Glue API (a VPC endpoint or a local Glue-compatible server).",
            java=_glue("AWS_ENDPOINT"),
        ),
        Key(
            "proxyUrl",
            ValueType.URL,
            "HTTP proxy for the registry client, like http://proxy:8080.",
            java=_glue("PROXY_URL"),
        ),
        Key(
            "cacheSize",
            ValueType.INT,
            "Schema versions kept in the client's cache.",
            default="200",
            minimum=1,
            unit="schemas",
            java=_glue("CACHE_SIZE"),
        ),
        Key(
            "timeToLiveMillis",
            ValueType.LONG,
            "How long a cached schema version is kept.",
            default="86400000",
            minimum=1,
            unit="ms",
            java=_glue("CACHE_TIME_TO_LIVE_MILLIS"),
        ),
        Key(
            "userAgentApp",
            ValueType.STRING,
            "Application name added to the registry client's user agent.",
            default="default",
            java=_glue("USER_AGENT_APP"),
        ),
        Key(
            "secondaryDeserializer",
            ValueType.CLASS_NAME,
            "Deserializer class for records without a Glue header (the library's Kafka path).",
            java=_glue("SECONDARY_DESERIALIZER"),
        ),
        Key(
            "avroRecordType",
            ValueType.ENUM,
            "Record type of the library's own Avro deserializer; Flink's schemas choose their own.",
            allowed=("GENERIC_RECORD", "SPECIFIC_RECORD", "UNKNOWN"),
            java=_glue("AVRO_RECORD_TYPE"),
        ),
        Key(
            "protobufMessageType",
            ValueType.ENUM,
            "Message type of the library's Protobuf deserializer.",
            allowed=("POJO", "DYNAMIC_MESSAGE", "UNKNOWN"),
            java=_glue("PROTOBUF_MESSAGE_TYPE"),
        ),
        Key(
            "registry.name",
            ValueType.STRING,
            f"Registry new schemas are registered in. {_SERIALIZERS}",
            default="default-registry",
            java=_glue("REGISTRY_NAME"),
        ),
        Key(
            "schemaName",
            ValueType.STRING,
            f"Name of the schema records are registered under. {_SERIALIZERS}",
            java=_glue("SCHEMA_NAME"),
        ),
        Key(
            "schemaNameGenerationClass",
            ValueType.CLASS_NAME,
            f"AWSSchemaNamingStrategy class naming schemas. {_SERIALIZERS}",
            java=_glue("SCHEMA_NAMING_GENERATION_CLASS"),
        ),
        Key(
            "dataFormat",
            ValueType.ENUM,
            f"Data format of registered schemas. {_SERIALIZERS}",
            allowed=("AVRO", "JSON", "PROTOBUF"),
            java=_glue("DATA_FORMAT"),
        ),
        Key(
            "compression",
            ValueType.ENUM,
            f"Compression of written records (readers see it in the header). {_SERIALIZERS}",
            default="NONE",
            allowed=("NONE", "ZLIB"),
            java=_glue("COMPRESSION_TYPE"),
        ),
        Key(
            "compatibility",
            ValueType.ENUM,
            f"Compatibility mode of auto-registered schemas. {_SERIALIZERS}",
            default="BACKWARD",
            allowed=(
                "NONE", "DISABLED", "BACKWARD", "BACKWARD_ALL", "FORWARD", "FORWARD_ALL", "FULL",
                "FULL_ALL",
            ),
            java=_glue("COMPATIBILITY_SETTING"),
        ),
        Key(
            "description",
            ValueType.STRING,
            f"Description of auto-registered schemas. {_SERIALIZERS}",
            java=_glue("DESCRIPTION"),
        ),
        Key(
            "schemaAutoRegistrationEnabled",
            ValueType.BOOLEAN,
            f"Register unknown schemas when writing. {_SERIALIZERS}",
            default="false",
            java=_glue("SCHEMA_AUTO_REGISTRATION_SETTING"),
        ),
    ]
)

# Flink's credential keys (AWSGeneralUtil reads them from the same config), and aws.region, which
# only the STS client of ASSUME_ROLE / WEB_IDENTITY_TOKEN uses (it defaults to ``region``).
_CREDENTIAL_KEYS = tuple(
    key for key in AWS_KEYS.keys
    if key.name == REGION or key.name.startswith(CREDENTIALS_PROVIDER)
)

GLUE_KEYS = KeyTable([*GLUE_LIBRARY_KEYS.keys, *_CREDENTIAL_KEYS])


def glue_properties(
    configs: Mapping[str, object], subject: str = "Glue Schema Registry configs"
) -> dict[str, str]:
    """Validate a Glue schema's configs and return them as the str -> str map Java gets.

    Reports every problem at once in a :class:`~pyflink_kinesis.errors.KinesisConfigError`
    (secret values shown as ``****``): unknown keys (with the closest known key), values of
    the wrong type or out of range, a missing ``region``, and credential providers missing
    their keys. ``aws.region`` is set to ``region`` when absent (the STS client of
    ``ASSUME_ROLE`` needs it).
    """
    problems = Problems(subject)
    checked = check_properties(configs, GLUE_KEYS, problems, _unknown_key)
    region = checked.properties.get(GLUE_REGION)
    if region is None:
        problems.add(
            GLUE_REGION,
            region_missing(
                "the registry", GLUE_ENDPOINT in checked.properties, repr(GLUE_ENDPOINT)
            ),
        )
    credentials = CheckedProperties(
        properties={REGION: region or "unset", **checked.properties}, values=checked.values
    )
    check_aws(credentials, problems, client="sink", region_of="the registry")
    problems.raise_if_any()
    if region is not None:
        checked.properties.setdefault(REGION, region)
    return checked.properties


def _unknown_key(checked: CheckedProperties, name: str) -> str | None:
    if name in _NOT_STRINGS:
        return (
            f"takes {_NOT_STRINGS[name]}, which a string config cannot carry; leave it out "
            "(pyflink_kinesis passes every value to Java as a string)"
        )
    return unknown_key_message(GLUE_KEYS, name)
