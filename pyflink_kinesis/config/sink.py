"""``KinesisStreamsSink`` settings: client property keys, builder options and ``validate_sink``."""

from __future__ import annotations

import operator
from dataclasses import dataclass, fields
from typing import Any, Callable, Mapping

from pyflink_kinesis.config.aws import AWS_KEYS, check_aws, uses_custom_credentials
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.secrets import mask_secrets
from pyflink_kinesis.config.validation import (
    CheckedProperties,
    Problems,
    check_properties,
    mapping_problem,
    unknown_key_message,
)
from pyflink_kinesis.config.values import (
    JAVA_INT_MAX,
    parse,
    stream_name_problem,
    to_property_string,
)

SINK_CONSTANTS = "org.apache.flink.connector.kinesis.sink.KinesisStreamsConfigConstants"
SINK_BUILDER = "org.apache.flink.connector.kinesis.sink.KinesisStreamsSinkBuilder"
MIB = 1024 * 1024
# Kinesis PutRecords limits: records per request, bytes per request, bytes per record.
PUT_RECORDS_MAX_RECORDS = 500
PUT_RECORDS_MAX_BYTES = 5 * MIB
RECORD_MAX_BYTES = 1 * MIB

SINK_CLIENT_KEYS = KeyTable(
    [
        *AWS_KEYS.keys,
        Key(
            "aws.kinesis.client.user-agent-prefix",
            ValueType.STRING,
            "User agent prefix of the sink's Kinesis client (default: Apache Flink's).",
            java=JavaRef(SINK_CONSTANTS, "KINESIS_CLIENT_USER_AGENT_PREFIX"),
        ),
    ]
)


def async_sink_options(
    builder: str,
    request: str,
    max_records: int,
    max_request_bytes: int,
    max_record_bytes: int,
    service: str,
) -> KeyTable:
    """The options every Flink async sink builder takes (``AsyncSinkBaseBuilder``), with the
    service's limits as maxima and defaults, the defaults read from ``builder``'s constants.

    ``request`` names the write call (``PutRecords``), ``service`` the service (``Kinesis``).
    """

    def default(field: str) -> JavaRef:
        return JavaRef(builder, field)

    return KeyTable(
        [
            Key(
                "fail_on_error",
                ValueType.BOOLEAN,
                f"Fail the job when {service} rejects records, instead of retrying them.",
                default="false",
                java_default=default("DEFAULT_FAIL_ON_ERROR"),
            ),
            Key(
                "max_batch_size",
                ValueType.INT,
                f"Records per {request} request ({service} takes at most {max_records}).",
                default=str(max_records),
                minimum=1,
                maximum=max_records,
                unit="records",
                java_default=default("DEFAULT_MAX_BATCH_SIZE"),
            ),
            Key(
                "max_in_flight_requests",
                ValueType.INT,
                f"{request} requests a sink subtask may have in flight.",
                default="50",
                minimum=1,
                unit="requests",
                java_default=default("DEFAULT_MAX_IN_FLIGHT_REQUESTS"),
            ),
            Key(
                "max_buffered_requests",
                ValueType.INT,
                "Records buffered before backpressure; more than max_batch_size.",
                default="10000",
                minimum=1,
                unit="records",
                java_default=default("DEFAULT_MAX_BUFFERED_REQUESTS"),
            ),
            Key(
                "max_batch_size_in_bytes",
                ValueType.LONG,
                f"Bytes per {request} request ({service} takes at most "
                f"{_size(max_request_bytes)}).",
                default=str(max_request_bytes),
                minimum=1,
                maximum=max_request_bytes,
                unit="bytes",
                java_default=default("DEFAULT_MAX_BATCH_SIZE_IN_B"),
            ),
            Key(
                "max_time_in_buffer_ms",
                ValueType.LONG,
                "Longest a record waits in the buffer before it is sent.",
                default="5000",
                minimum=1,
                unit="ms",
                java_default=default("DEFAULT_MAX_TIME_IN_BUFFER_MS"),
            ),
            Key(
                "max_record_size_in_bytes",
                ValueType.LONG,
                f"Largest record accepted ({service} takes at most {_size(max_record_bytes)}); "
                "<= max_batch_size_in_bytes.",
                default=str(max_record_bytes),
                minimum=1,
                maximum=max_record_bytes,
                unit="bytes",
                java_default=default("DEFAULT_MAX_RECORD_SIZE_IN_B"),
            ),
        ]
    )


def _size(size: int) -> str:
    """``5242880`` -> ``5 MiB``, ``1024000`` -> ``1,000 KiB``."""
    if size % MIB == 0:
        return f"{size // MIB} MiB"
    return f"{size // 1024:,} KiB"


SINK_OPTIONS = async_sink_options(
    SINK_BUILDER,
    "PutRecords",
    PUT_RECORDS_MAX_RECORDS,
    PUT_RECORDS_MAX_BYTES,
    RECORD_MAX_BYTES,
    "Kinesis",
)


AGGREGATING_SINK_BUILDER = "io.pyflinkkinesis.aggregation.AggregatingKinesisStreamsSinkBuilder"

# KPL aggregation (``set_aggregation``): our sink, not the connector's; see
# ``pyflink-kinesis docs sink``.
AGGREGATION_OPTIONS = KeyTable(
    [
        Key(
            "aggregation",
            ValueType.BOOLEAN,
            "Pack the records of each shard into KPL-aggregated Kinesis records "
            "(set_aggregation()).",
            default="false",
        ),
        Key(
            "aggregation_max_delay_ms",
            ValueType.LONG,
            "Longest a record waits in its shard's open aggregate before the aggregate is "
            "handed to the sink's buffer (then max_time_in_buffer_ms applies).",
            default="100",
            minimum=1,
            unit="ms",
            java_default=JavaRef(AGGREGATING_SINK_BUILDER, "DEFAULT_MAX_AGGREGATE_DELAY_MS"),
        ),
        Key(
            "aggregation_max_size_in_bytes",
            ValueType.INT,
            "Largest aggregate, its partition key included (a Kinesis record is at most 1 MiB).",
            default=str(RECORD_MAX_BYTES),
            minimum=1024,
            maximum=RECORD_MAX_BYTES,
            unit="bytes",
            java_default=JavaRef(AGGREGATING_SINK_BUILDER, "DEFAULT_MAX_AGGREGATE_SIZE_IN_BYTES"),
        ),
    ]
)

# The argument of set_aggregation() that sets each option: what messages call it.
AGGREGATION_ARGUMENTS = {
    "aggregation": "enabled",
    "aggregation_max_delay_ms": "max_delay_ms",
    "aggregation_max_size_in_bytes": "max_size_in_bytes",
}

# Per-key order (``set_keep_key_order``): our writer, not the connector's; see
# ``pyflink-kinesis docs sink``.
KEY_ORDER_OPTIONS = KeyTable(
    [
        Key(
            "keep_key_order",
            ValueType.BOOLEAN,
            "Write each partition key's records in the order the sink received them, whatever "
            "Kinesis rejects and however many requests are in flight (set_keep_key_order()).",
            default="false",
        ),
    ]
)

EXACTLY_ONCE_SINK_BUILDER = "io.pyflinkkinesis.exactlyonce.CommittingKinesisStreamsSinkBuilder"
AT_LEAST_ONCE = "at-least-once"
EXACTLY_ONCE = "exactly-once"

# The committing sink (``set_delivery_guarantee('exactly-once')``): ours; see
# ``pyflink-kinesis docs sink``.
EXACTLY_ONCE_OPTIONS = KeyTable(
    [
        Key(
            "delivery_guarantee",
            ValueType.ENUM,
            "exactly-once: write each checkpoint's records once it completes, each with an id "
            "a de-duplicating reader drops copies by (set_delivery_guarantee()).",
            default=AT_LEAST_ONCE,
            allowed=(AT_LEAST_ONCE, EXACTLY_ONCE),
        ),
        Key(
            "exactly_once_max_buffered_bytes",
            ValueType.LONG,
            "Most data and partition key bytes one sink subtask holds between two checkpoints "
            "(they are in checkpoint state); past half of it the writer slows its input down to "
            "stay under it: checkpoint more often or raise it for a faster job.",
            default=str(64 * MIB),
            minimum=RECORD_MAX_BYTES,
            unit="bytes",
            java_default=JavaRef(EXACTLY_ONCE_SINK_BUILDER, "DEFAULT_MAX_BUFFERED_BYTES"),
        ),
        Key(
            "exactly_once_commit_timeout_ms",
            ValueType.LONG,
            "How long a commit retries throttled and failed writes; then the job restores its "
            "last checkpoint and writes them again (a commit made on the task's thread is "
            "first retried by Flink, sink.committer.retries times).",
            default="60000",
            minimum=1,
            unit="ms",
            java_default=JavaRef(EXACTLY_ONCE_SINK_BUILDER, "DEFAULT_COMMIT_TIMEOUT_MS"),
        ),
    ]
)

# The argument of set_delivery_guarantee() that sets each option: what messages call it.
EXACTLY_ONCE_ARGUMENTS = {
    "delivery_guarantee": "guarantee",
    "exactly_once_max_buffered_bytes": "max_buffered_bytes",
    "exactly_once_commit_timeout_ms": "commit_timeout_ms",
}

# Relations between options that Flink's AsyncSinkWriter checks when the job starts.
_RELATIONS: tuple[tuple[str, Callable[[int, int], bool], str, str], ...] = (
    ("max_buffered_requests", operator.gt, "max_batch_size", "must be greater than"),
    ("max_record_size_in_bytes", operator.le, "max_batch_size_in_bytes", "must be at most"),
)


@dataclass(frozen=True)
class SinkSettings:
    """Everything a ``KinesisStreamsSink`` builder was given, for :func:`validate_sink`.

    ``None`` means "not set": the connector's default applies (see ``SINK_OPTIONS``).
    ``repr()`` masks secret client properties.
    """

    client_properties: object  # a Mapping when valid
    stream_name: object  # a str when valid
    has_serialization_schema: bool
    has_partition_key_generator: bool
    fail_on_error: bool | None = None
    max_batch_size: int | None = None
    max_in_flight_requests: int | None = None
    max_buffered_requests: int | None = None
    max_batch_size_in_bytes: int | None = None
    max_time_in_buffer_ms: int | None = None
    max_record_size_in_bytes: int | None = None
    aggregation: bool | None = None
    aggregation_max_delay_ms: int | None = None
    aggregation_max_size_in_bytes: int | None = None
    keep_key_order: bool | None = None
    delivery_guarantee: str | None = None
    exactly_once_max_buffered_bytes: int | None = None
    exactly_once_commit_timeout_ms: int | None = None

    def __repr__(self) -> str:
        return masked_repr(self)


def masked_repr(settings: Any) -> str:
    """``Name(field=value, ...)`` of a settings dataclass, its ``client_properties`` masked
    (a mapping's secrets as ``****``, anything else by its type alone)."""
    parts = []
    for field in fields(settings):
        value = getattr(settings, field.name)
        if field.name == "client_properties" and isinstance(value, Mapping):
            value = mask_secrets(value)
        elif field.name == "client_properties" and value is not None:
            value = f"<{type(value).__name__}>"
        parts.append(f"{field.name}={value!r}")
    return f"{type(settings).__name__}({', '.join(parts)})"


def validate_sink(settings: SinkSettings, problems: Problems | None = None) -> dict[str, str]:
    """Validate everything about a sink at once; return its client properties as str -> str.

    Reports, in one ``KinesisConfigError`` with those already in ``problems`` (what the builder
    found in the parts only PyFlink can check): missing stream name, serialization schema or
    partition key generator; options outside the Kinesis and connector limits; and every
    problem of the client properties (``aws.region`` is required).
    """
    if problems is None:
        problems = Problems("sink settings")
    client_properties = settings.client_properties or {}
    if isinstance(client_properties, Mapping):
        checked = check_properties(client_properties, SINK_CLIENT_KEYS, problems, _sink_unknown_key)
        check_aws(checked, problems, client="sink", region_of="the sink's stream")
    else:
        problems.add("kinesis_client_properties", mapping_problem(client_properties))
        checked = CheckedProperties()
    _check_parts(settings, problems)
    check_sink_options(settings, problems)
    problems.raise_if_any()
    return checked.properties


def _sink_unknown_key(checked: CheckedProperties, name: str) -> str | None:
    """Unknown keys are errors, except the custom credential provider's own keys."""
    if uses_custom_credentials(checked) and not name.startswith(("aws.", "flink.")):
        return None
    return unknown_key_message(SINK_CLIENT_KEYS, name)


def _check_parts(settings: SinkSettings, problems: Problems) -> None:
    if not settings.stream_name:
        problems.add("stream_name", "missing; set the stream to write to")
    else:
        problem = stream_name_problem(settings.stream_name)
        if problem is not None:
            problems.add("stream_name", problem)
    if not settings.has_serialization_schema:
        problems.add("serialization_schema", "missing; set how records become bytes")
    if not settings.has_partition_key_generator:
        problems.add("partition_key_generator", "missing; set how records get partition keys")


def check_sink_options(settings: SinkSettings, problems: Problems) -> None:
    """Check each option alone, then the relations AsyncSinkWriter and its rate limit need."""
    check_async_options(settings, SINK_OPTIONS, problems)
    _check_aggregation(settings, problems)
    for key in KEY_ORDER_OPTIONS.keys:
        problem = _option_problem(key, getattr(settings, key.name))
        if problem is not None:
            problems.add(key.name, problem)
    _check_exactly_once(settings, problems)


def _check_exactly_once(settings: SinkSettings, problems: Problems) -> None:
    """The exactly-once options alone; with exactly-once, no option of the other sinks (it
    writes at checkpoints, aggregated and ordered per shard, by itself); without it, none of
    its own."""
    for key in EXACTLY_ONCE_OPTIONS.keys:
        value = getattr(settings, key.name)
        problem = _option_problem(key, value)
        if problem is not None and key.allowed and isinstance(value, str):  # ours: not valueOf
            problem = f"{value!r} is not one of {', '.join(key.allowed)}"
        if problem is not None:
            problems.add(EXACTLY_ONCE_ARGUMENTS[key.name], problem)
    if settings.delivery_guarantee == EXACTLY_ONCE:
        for key in (*SINK_OPTIONS.keys, *AGGREGATION_OPTIONS.keys, *KEY_ORDER_OPTIONS.keys):
            if getattr(settings, key.name) is not None:
                problems.add(
                    key.name,
                    "set, but the exactly-once sink does not use it: it writes each checkpoint's "
                    "records once the checkpoint completes, aggregated and in order per shard",
                )
        return
    for name in ("exactly_once_max_buffered_bytes", "exactly_once_commit_timeout_ms"):
        if getattr(settings, name) is not None:
            problems.add(
                EXACTLY_ONCE_ARGUMENTS[name],
                "set, but the delivery guarantee is at-least-once: use "
                "set_delivery_guarantee('exactly-once', ...)",
            )


def check_async_options(settings: object, options: KeyTable, problems: Problems) -> None:
    """Check the async sink ``options`` of ``settings`` (an object with an attribute per
    option, ``None`` when unset) alone and in the relations AsyncSinkWriter needs."""
    numbers: dict[str, int] = {}  # valid numeric options, set or default
    for key in options.keys:
        value = getattr(settings, key.name)
        problem = _option_problem(key, value)
        if problem is not None:
            problems.add(key.name, problem)
        elif key.type is not ValueType.BOOLEAN:
            numbers[key.name] = int(str(key.default)) if value is None else value
    for left, relation, right, words in _RELATIONS:
        if left in numbers and right in numbers and not relation(numbers[left], numbers[right]):
            problems.add(
                left,
                f"{numbers[left]} {words} {right} ({numbers[right]}"
                f"{'' if getattr(settings, right) is not None else ', the default'})",
            )
    batch, in_flight = numbers.get("max_batch_size"), numbers.get("max_in_flight_requests")
    if batch is not None and in_flight is not None and batch * in_flight > JAVA_INT_MAX:
        problems.add(
            "max_in_flight_requests",
            f"max_batch_size * max_in_flight_requests ({batch * in_flight}) must fit in a Java "
            f"int: the sink's AIMD rate limit is sized by it",
        )


def _check_aggregation(settings: SinkSettings, problems: Problems) -> None:
    wrong = set()
    for key in AGGREGATION_OPTIONS.keys:
        problem = _option_problem(key, getattr(settings, key.name))
        if problem is not None:
            problems.add(AGGREGATION_ARGUMENTS[key.name], problem)
            wrong.add(key.name)
    if wrong & {"aggregation", "aggregation_max_size_in_bytes", "max_record_size_in_bytes"}:
        return
    if settings.aggregation is not True:
        for name in ("aggregation_max_delay_ms", "aggregation_max_size_in_bytes"):
            if getattr(settings, name) is not None:
                problems.add(
                    AGGREGATION_ARGUMENTS[name],
                    "set, but aggregation is off: use set_aggregation(True, ...)",
                )
        return
    size = settings.aggregation_max_size_in_bytes
    record = settings.max_record_size_in_bytes
    size = RECORD_MAX_BYTES if size is None else size
    record = RECORD_MAX_BYTES if record is None else record
    if isinstance(size, int) and isinstance(record, int) and size > record:
        problems.add(
            AGGREGATION_ARGUMENTS["aggregation_max_size_in_bytes"],
            f"{size} must be at most max_record_size_in_bytes ({record}): an aggregate is one "
            f"Kinesis record",
        )


def _option_problem(key: Key, value: object) -> str | None:
    if value is None:
        return None
    expected = {ValueType.BOOLEAN: bool, ValueType.ENUM: str}.get(key.type, int)
    if type(value) is not expected:
        return f"expected {expected.__name__}, got {type(value).__name__}"
    try:
        parse(key, to_property_string(value))
    except ValueError as error:
        return f"{value!r} {error}"
    return None
