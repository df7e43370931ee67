"""``KinesisFirehoseSink`` settings: client property keys, builder options and
``validate_firehose_sink``.

Firehose's PutRecordBatch takes at most 500 records and 4 MiB per call, and 1,000 KiB per
record; the connector's builder defaults are those limits (``KinesisFirehoseSinkBuilder``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Mapping

from pyflink_kinesis.config.aws import AWS_KEYS, check_aws, uses_custom_credentials
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.sink import (
    MIB,
    async_sink_options,
    check_async_options,
    masked_repr,
)

# The 'kinesis' table's helpers serve the 'firehose' table as they are: the same AWS options
# and async sink options, spelled the same way.
from pyflink_kinesis.config.table import (
    CONNECTOR,
    FACTORY_UTIL,
    FORMAT,
    FORMAT_KEYS,
    SINK_OPTION_NAMES,
    DdlTable,
    Relabelled,
    as_table_key,
    async_sink_table_options,
    ddl_tables,
    java_key,
    prefixed,
    table_spelled,
    to_table_names,
)
from pyflink_kinesis.config.validation import (
    CheckedProperties,
    Problems,
    check_properties,
    mapping_problem,
    unknown_key_message,
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
        return masked_repr(self)


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
        check_aws(checked, problems, client="sink", region_of="the Firehose sink's delivery stream")
    else:
        problems.add("firehose_client_properties", mapping_problem(client_properties))
        checked = CheckedProperties()
    problem = delivery_stream_name_problem(settings.delivery_stream_name)
    if problem is not None:
        problems.add("delivery_stream_name", problem)
    if not settings.has_serialization_schema:
        problems.add("serialization_schema", "missing; set how records become bytes")
    check_async_options(settings, FIREHOSE_OPTIONS, problems)
    problems.raise_if_any()
    return checked.properties


# The options Firehose's API bounds, and their bounds.
FIREHOSE_LIMITS = {
    "max_batch_size": PUT_RECORD_BATCH_MAX_RECORDS,
    "max_batch_size_in_bytes": PUT_RECORD_BATCH_MAX_BYTES,
    "max_record_size_in_bytes": FIREHOSE_RECORD_MAX_BYTES,
}


def within_limits(options: Mapping[str, object]) -> tuple[dict[str, object], list[str]]:
    """``options`` with each integer above Firehose's limit lowered to the limit, and a note
    for each lowered one.

    PyFlink's own examples set Kinesis' 5 MiB and 1 MiB here, which Firehose would refuse
    (a request over 4 MiB, a record over 1,000 KiB); the sink keeps to Firehose's limits
    instead, so a larger record fails the job at once, naming its size, rather than in every
    retry of its batch. Values that are not integers are left for validation.
    """
    lowered = dict(options)
    notes = []
    for name, limit in FIREHOSE_LIMITS.items():
        value = options.get(name)
        if type(value) is int and value > limit:
            lowered[name] = limit
            notes.append(f"{name}={value} is above Firehose's limit; {limit} is used")
    return lowered, notes


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


# --- The SQL 'firehose' table (KinesisFirehoseDynamicTableFactory: a sink only) ----------------

TABLE_IDENTIFIER = "firehose"
DELIVERY_STREAM = "delivery-stream"
FIREHOSE_TABLE_OPTIONS = "org.apache.flink.connector.firehose.table.KinesisFirehoseConnectorOptions"


# The table option of a Firehose builder option: same limits and default.
FIREHOSE_TABLE_KEYS = KeyTable(
    [
        Key(
            CONNECTOR,
            ValueType.STRING,
            f"{TABLE_IDENTIFIER!r}; checked when given (a TableDescriptor for firehose sets it).",
            java=JavaRef(FACTORY_UTIL, "CONNECTOR"),
        ),
        Key(
            DELIVERY_STREAM,
            ValueType.STRING,
            "Name of the Firehose delivery stream the table writes to; required.",
            java=JavaRef(FIREHOSE_TABLE_OPTIONS, "DELIVERY_STREAM"),
        ),
        Key(
            FORMAT,
            ValueType.STRING,
            "Format of the records, like json, csv, raw or avro; required. Neither Firehose nor "
            "json or csv put a delimiter between records: for newline-delimited objects write "
            "raw values that end with one (CONCAT(v, CHR(10))).",
            java=JavaRef(FACTORY_UTIL, "FORMAT"),
        ),
        *(as_table_key(key) for key in FIREHOSE_CLIENT_KEYS.keys),
        *async_sink_table_options(
            FIREHOSE_OPTIONS, FIREHOSE_TABLE_OPTIONS, FIREHOSE_RECORD_MAX_BYTES,
            "Bytes per PutRecordBatch request: from 1,000 KiB (the largest record a table "
            "sink takes) to 4 MiB (Firehose's limit).",
        ),
    ]
)
_WITH_FORMAT = {
    name: KeyTable([*FIREHOSE_TABLE_KEYS.keys, *keys.keys]) for name, keys in FORMAT_KEYS.items()
}


def firehose_table_options(config: Mapping[str, object]) -> dict[str, str]:
    """Validate the WITH options of a ``firehose`` table; return them as str -> str.

    ``delivery-stream``, ``format`` and ``aws.region`` are required; ``connector``, when given,
    must be ``firehose``. Options reach the connector as written, so DataStream spellings
    (``aws.credentials.provider.basic.accesskeyid``) are problems naming the table option.
    Every problem is reported at once in a ``KinesisConfigError``; secrets are ``****``.
    """
    problems = Problems("firehose table options")
    options = check_firehose_table(config, problems)
    problems.raise_if_any()
    return options


def check_firehose_table(config: Mapping[str, object], problems: Problems) -> dict[str, str]:
    """Record every problem of a ``firehose`` table's options in ``problems``; return them."""
    spelled = table_spelled(config, problems, datastream_keys=False)
    table = _WITH_FORMAT.get(str(spelled.get(FORMAT)), FIREHOSE_TABLE_KEYS)
    checked = check_properties(spelled, table, problems, lambda c, name: _unknown(c, name, table))
    for name, needed in ((DELIVERY_STREAM, "the delivery stream's name"), (FORMAT, "like 'json'")):
        if name not in checked.properties:
            problems.add(name, f"missing; set {needed}")
    connector = checked.properties.get(CONNECTOR, TABLE_IDENTIFIER)
    if connector != TABLE_IDENTIFIER:
        problems.add(CONNECTOR, f"{connector!r} is not {TABLE_IDENTIFIER!r}: these are its options")
    if DELIVERY_STREAM in checked.values:
        problem = delivery_stream_name_problem(checked.values[DELIVERY_STREAM])
        if problem is not None:
            problems.add(DELIVERY_STREAM, problem)
    in_table_names = Relabelled(problems, to_table_names, to_table_names)
    java = CheckedProperties(
        {java_key(name): text for name, text in checked.properties.items()},
        {java_key(name): value for name, value in checked.values.items()},
    )
    check_aws(java, in_table_names, client="sink", region_of="the table's delivery stream")
    settings: dict[str, Any] = {
        option: checked.values.get(name) for option, name in SINK_OPTION_NAMES.items()
    }
    check_async_options(
        replace(FirehoseSinkSettings(None, None, True), **settings), FIREHOSE_OPTIONS,
        in_table_names,
    )
    return checked.properties


def _unknown(checked: CheckedProperties, name: str, table: KeyTable) -> str | None:
    """The problem of an option ``table`` does not have, or None to let it through."""
    format_name = checked.properties.get(FORMAT)
    prefix = name.split(".", 1)[0]
    if prefix in FORMAT_KEYS and prefix != format_name:
        return f"is an option of the {prefix!r} format, and 'format' is {format_name!r}"
    if "." in name and prefix == format_name and format_name not in FORMAT_KEYS:
        return None  # an option of a format this package does not know
    if uses_custom_credentials(checked) and name.startswith("aws."):
        return None  # the custom credentials provider gets every aws.* key
    return unknown_key_message(table, name)


def check_firehose_ddl(sql: str) -> list[DdlTable]:
    """Validate every ``firehose`` table of the DDL ``sql``; return them.

    Raises one ``KinesisConfigError`` with the problems of every table, each key prefixed with
    the table's name (``clicks: delivery-stream``).
    """
    tables = ddl_tables(sql, TABLE_IDENTIFIER)
    problems = Problems("firehose tables of the DDL")
    for table in tables:
        check_firehose_table(table.options, Relabelled(problems, prefixed(f"{table.name}: "), str))
    problems.raise_if_any()
    return tables
