"""``KinesisFirehoseSink`` settings: client property keys, builder options and
``validate_firehose_sink``.

Firehose's PutRecordBatch takes at most 500 records and 4 MiB per call, and 1,000 KiB per
record; the connector's builder defaults are those limits (``KinesisFirehoseSinkBuilder``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Mapping

from pyflink_kinesis.config.aws import AWS_KEYS, check_aws
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.secrets import mask_secrets
from pyflink_kinesis.config.sink import MIB, async_sink_options, check_async_options
from pyflink_kinesis.config.validation import (
    CheckedProperties,
    Problems,
    check_properties,
    mapping_problem,
)

FIREHOSE_CONSTANTS = "org.apache.flink.connector.firehose.sink.KinesisFirehoseConfigConstants"
FIREHOSE_BUILDER = "org.apache.flink.connector.firehose.sink.KinesisFirehoseSinkBuilder"
# Firehose PutRecordBatch limits: records per call, bytes per call, bytes per record.
PUT_RECORD_BATCH_MAX_RECORDS = 500
PUT_RECORD_BATCH_MAX_BYTES = 4 * MIB
FIREHOSE_RECORD_MAX_BYTES = 1000 * 1024
# A delivery stream name: 1-64 of these characters (Firehose's CreateDeliveryStream).
_NAME_CHARACTERS = frozenset(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-"
)
_NAME_MAX = 64

FIREHOSE_CLIENT_KEYS = KeyTable(
    [
        *AWS_KEYS.keys,
        Key(
            "aws.firehose.client.user-agent-prefix",
            ValueType.STRING,
            "User agent prefix of the sink's Firehose client (default: Apache Flink's).",
            java=JavaRef(FIREHOSE_CONSTANTS, "FIREHOSE_CLIENT_USER_AGENT_PREFIX"),
        ),
    ]
)

FIREHOSE_OPTIONS = async_sink_options(
    FIREHOSE_BUILDER,
    "PutRecordBatch",
    PUT_RECORD_BATCH_MAX_RECORDS,
    PUT_RECORD_BATCH_MAX_BYTES,
    FIREHOSE_RECORD_MAX_BYTES,
    "Firehose",
)


@dataclass(frozen=True)
class FirehoseSinkSettings:
    """Everything a ``KinesisFirehoseSink`` builder was given, for
    :func:`validate_firehose_sink`. ``None`` means "not set": the connector's default applies
    (see ``FIREHOSE_OPTIONS``). ``repr()`` masks secret client properties."""

    client_properties: object  # a Mapping when valid
    delivery_stream_name: object  # a str when valid
    has_serialization_schema: bool
    fail_on_error: bool | None = None
    max_batch_size: int | None = None
    max_in_flight_requests: int | None = None
    max_buffered_requests: int | None = None
    max_batch_size_in_bytes: int | None = None
    max_time_in_buffer_ms: int | None = None
    max_record_size_in_bytes: int | None = None

    def __repr__(self) -> str:
        parts = []
        for field in fields(self):
            value = getattr(self, field.name)
            if field.name == "client_properties" and isinstance(value, Mapping):
                value = mask_secrets(value)
            elif field.name == "client_properties" and value is not None:
                value = f"<{type(value).__name__}>"
            parts.append(f"{field.name}={value!r}")
        return f"FirehoseSinkSettings({', '.join(parts)})"


def validate_firehose_sink(
    settings: FirehoseSinkSettings, problems: Problems | None = None
) -> dict[str, str]:
    """Validate everything about a Firehose sink at once; return its client properties.

    Reports, in one ``KinesisConfigError`` with those already in ``problems``: a missing or
    malformed delivery stream name, a missing serialization schema, options outside Firehose's
    and the connector's limits, and every problem of the client properties (``aws.region`` is
    required).
    """
    if problems is None:
        problems = Problems("Firehose sink settings")
    client_properties = settings.client_properties or {}
    if isinstance(client_properties, Mapping):
        checked = check_properties(client_properties, FIREHOSE_CLIENT_KEYS, problems)
        check_aws(checked, problems, client="sink")
    else:
        problems.add("client_properties", mapping_problem(client_properties))
        checked = CheckedProperties()
    problem = delivery_stream_name_problem(settings.delivery_stream_name)
    if problem is not None:
        problems.add("delivery_stream_name", problem)
    if not settings.has_serialization_schema:
        problems.add("serialization_schema", "missing; set how records become bytes")
    check_async_options(settings, FIREHOSE_OPTIONS, problems)
    problems.raise_if_any()
    return checked.properties


def delivery_stream_name_problem(name: object) -> str | None:
    """What is wrong with a delivery stream name, or None: 1-64 letters, digits, ``_.-``."""
    if name is None or name == "":
        return "missing; set the delivery stream to write to"
    if not isinstance(name, str):
        return f"expected a str, got {type(name).__name__}"
    wrong = sorted(set(name) - _NAME_CHARACTERS)
    if wrong:
        return (
            f"{name!r} has characters Firehose does not allow ({''.join(wrong)!r}); use "
            "letters, digits, '_', '.' and '-'"
        )
    if len(name) > _NAME_MAX:
        return f"{name!r} is {len(name)} characters; Firehose allows at most {_NAME_MAX}"
    return None
