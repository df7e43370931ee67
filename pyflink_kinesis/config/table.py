"""The WITH options of a Flink SQL ``kinesis`` table: key tables, ``table_options`` and DDL checks.

A table names its stream one of two ways, and that picks how it is read. ``'stream.arn'``
(connector 5.x's ``kinesis`` DDL) is read by our ``KinesisStreamsSource`` through our table
factory, with ``source.*`` options (:data:`STREAM_ARN_SOURCE_KEYS`, the DataStream source's);
``'stream'`` is connector 4.3.0's ``kinesis`` table, read by ``FlinkKinesisConsumer`` with
``scan.*`` options. Both write with ``KinesisStreamsSink`` and the ``sink.*`` options. Mixing
the families is a problem naming what to change.

The connector jar serves the SQL identifier ``kinesis`` with a source factory and a sink
factory. Both read ``stream``, ``format`` (and ``<format>.*`` options) and the ``aws.*`` keys;
the source also reads ``scan.*``, the sink ``sink.*``. Flink's table factories translate the
options into the keys the DataStream connector reads (:func:`java_key`): ``scan.X`` becomes
``flink.X``, ``aws.credentials.X`` becomes ``aws.credentials.provider.X`` and the sink's
``sink.http-client.*`` become ``aws.http*`` keys. The ``scan.*`` and ``aws.*`` tables here are
derived from the DataStream key tables by that rule, and the DataStream checks run on the
translated options, so a table is checked exactly as a ``FlinkKinesisConsumer`` config is.

A ``Key`` of type STRING with ``allowed`` values (format options) takes one of them in any
letter case, as Flink compares them ignoring case.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Literal, Mapping, Sequence, get_args

from pyflink_kinesis.config.aws import AWS_KEYS, REGION, check_aws, uses_custom_credentials
from pyflink_kinesis.config.consumer import (
    CONSUMER_KEYS,
    check_efo,
    check_recoverable_errors,
    check_start_position,
)
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.sink import (
    AT_LEAST_ONCE,
    EXACTLY_ONCE,
    EXACTLY_ONCE_OPTIONS,
    RECORD_MAX_BYTES,
    SINK_CLIENT_KEYS,
    SINK_OPTIONS,
    SinkSettings,
    check_sink_options,
)
from pyflink_kinesis.config.source import (
    INIT_POSITION,
    INIT_TIMESTAMP,
    INIT_TIMESTAMP_FORMAT,
    SOURCE_OPTIONS,
    check_reader,
    no_equivalent_reason,
    source_equivalent,
    stream_arn_problem,
)
from pyflink_kinesis.config.validation import (
    MASK,
    CheckedProperties,
    Problems,
    check_properties,
    shown,
    unknown_key_message,
)
from pyflink_kinesis.config.values import parse, stream_name_problem
from pyflink_kinesis.errors import ConfigProblem, KinesisConfigError

Role = Literal["source", "sink", "both"]
IDENTIFIER = "kinesis"
# Our table factory: the connector's kinesis table plus options of ours (KEEP_KEY_ORDER). A
# kinesis table that uses one of them is given this identifier (pyflink_kinesis.table).
OWN_IDENTIFIER = "pyflink-kinesis"
OWN_FACTORY = "io.pyflinkkinesis.table.KinesisTableFactory"
KEEP_KEY_ORDER = "sink.keep-key-order"
DELIVERY_GUARANTEE = "sink.delivery-guarantee"
EXACTLY_ONCE_MAX_BUFFERED_BYTES = "sink.exactly-once.max-buffered-bytes"
EXACTLY_ONCE_COMMIT_TIMEOUT = "sink.exactly-once.commit-timeout"
LEGACY_IDENTIFIER = "kinesis-legacy"  # the 5.x connector's name of the table this one calls kinesis
CONNECTOR = "connector"
STREAM = "stream"
STREAM_ARN = "stream.arn"  # connector 5.x's; such a table is read by our KinesisStreamsSource
_NEWER_SOURCE_PREFIX = "source."  # the options of a 'stream.arn' table's source
FORMAT = "format"
SHARD_ASSIGNER = "scan.shard-assigner"
PARTITIONER = "sink.partitioner"
FACTORY_UTIL = "org.apache.flink.table.factories.FactoryUtil"
KINESIS_OPTIONS = "org.apache.flink.connector.kinesis.table.KinesisConnectorOptions"
ASYNC_SINK_OPTIONS = "org.apache.flink.connector.base.table.AsyncSinkConnectorOptions"

# --- Table option <-> connector key --------------------------------------------------------

_SCAN, _FLINK = "scan.", "flink."
_SQL_CREDENTIALS, _JAVA_CREDENTIALS = "aws.credentials.", "aws.credentials.provider."
# KinesisConsumerOptionsUtil spells these two keys with dashes where the flink.* keys have dots.
_SCAN_SPELLINGS = (
    ("initpos-timestamp-format", "initpos.timestamp.format"),
    ("initpos-timestamp", "initpos.timestamp"),
)
# AsyncClientOptionsUtils: the sink's HTTP client options and the AWS keys they become.
_SINK_HTTP_CLIENT = {
    "sink.http-client.max-concurrency": "aws.http-client.max-concurrency",
    "sink.http-client.read-timeout": "aws.http-client.read-timeout",
    "sink.http-client.protocol.version": "aws.http.protocol.version",
}
_HTTP_CLIENT_OPTION = {java: option for option, java in _SINK_HTTP_CLIENT.items()}


def java_key(option: str) -> str:
    """The key the connector reads for the table option ``option``, as Flink translates it.

    ``aws.*``: ``credentials.`` becomes ``credentials.provider.`` (except in
    ``aws.credentials.provider`` itself, so a DataStream spelling like
    ``aws.credentials.provider.basic.secretkey`` ends up as an ignored ``...provider.provider...``
    key). ``scan.X`` becomes ``flink.X``. ``sink.http-client.*`` become ``aws.http*`` keys.
    Anything else is read as it is.
    """
    if option.startswith("aws."):
        if option.endswith("credentials.provider"):
            return option
        return option.replace("credentials.", "credentials.provider.")
    if option.startswith(_SCAN):
        key = _FLINK + option[len(_SCAN) :]
        for dashed, dotted in _SCAN_SPELLINGS:
            if key.endswith(dashed):
                return key.replace(dashed, dotted)
        return key
    return _SINK_HTTP_CLIENT.get(option, option)


def table_key(key: str) -> str:
    """The table option the connector reads as ``key``: the inverse of :func:`java_key`.

    Gives the table spelling of a DataStream key (``flink.stream.initpos`` ->
    ``scan.stream.initpos``); any other name comes back unchanged.
    """
    if key.startswith(_JAVA_CREDENTIALS):
        return _SQL_CREDENTIALS + key[len(_JAVA_CREDENTIALS) :]
    if key.startswith(_FLINK):
        option = _SCAN + key[len(_FLINK) :]
        for dashed, dotted in _SCAN_SPELLINGS:
            if option.endswith(dotted):
                return option[: -len(dotted)] + dashed
        return option
    return _HTTP_CLIENT_OPTION.get(key, key)


# KinesisStreamsSink builder options (SINK_OPTIONS) and the sink's table options. The builder's
# max_record_size_in_bytes has none: a SQL sink sends records of up to 1 MiB.
SINK_OPTION_NAMES = {
    "fail_on_error": "sink.fail-on-error",
    "max_batch_size": "sink.batch.max-size",
    "max_in_flight_requests": "sink.requests.max-inflight",
    "max_buffered_requests": "sink.requests.max-buffered",
    "max_batch_size_in_bytes": "sink.flush-buffer.size",
    "max_time_in_buffer_ms": "sink.flush-buffer.timeout",
}
# A key name in a message or doc: dotted words, with [index] and .* parts.
_KEY_IN_TEXT = re.compile(r"[A-Za-z][\w-]*(?:\.(?:[\w-]+|\*)|\[[^\]]*\])*")


def to_table_names(text: str) -> str:
    """``text`` with every connector key and builder option in it named as its table option."""

    def rename(match: re.Match[str]) -> str:
        name = match.group()
        return SINK_OPTION_NAMES.get(name) or table_key(name)

    return _KEY_IN_TEXT.sub(rename, text)


def as_table_key(key: Key, **changes: Any) -> Key:
    """A connector key renamed to the table option Java reads as it, its doc too."""
    # Nested credentials sit under aws.credentials.* in a table, not aws.credentials.provider.*.
    nests = None if key.nests is None else table_key(key.nests + ".")[:-1]
    renamed = {"name": table_key(key.name), "doc": to_table_names(key.doc), "nests": nests}
    return replace(key, **{**renamed, "sink_only": False, **changes})


def sink_option(
    builder: str,
    field: str,
    cls: str = ASYNC_SINK_OPTIONS,
    options: KeyTable = SINK_OPTIONS,
    **changes: Any,
) -> Key:
    """The table option of a builder option of ``options`` (``KinesisStreamsSink``'s by
    default): same limits and default."""
    key = options.find(builder)
    if key is None:
        raise KeyError(builder)
    named = replace(key, name=SINK_OPTION_NAMES[builder], java=JavaRef(cls, field))
    return as_table_key(named, **changes)


def exactly_once_option(builder: str, name: str, field: str) -> Key:
    """The table option ``name`` of our table factory's ConfigOption ``field`` for the
    exactly-once sink's builder option ``builder``: same limits and default."""
    key = EXACTLY_ONCE_OPTIONS.find(builder)
    if key is None:
        raise KeyError(builder)
    return replace(key, name=name, java=JavaRef(OWN_FACTORY, field))


def async_sink_table_options(
    options: KeyTable, fail_on_error_cls: str, request_bytes_minimum: int, request_bytes_doc: str
) -> list[Key]:
    """The table options of an async sink's six builder options, from the builder's key table
    ``options``: a table sink takes records up to ``request_bytes_minimum`` bytes, so a request
    must hold at least one."""
    return [
        sink_option("fail_on_error", "SINK_FAIL_ON_ERROR", fail_on_error_cls, options),
        sink_option("max_batch_size", "MAX_BATCH_SIZE", options=options),
        sink_option("max_in_flight_requests", "MAX_IN_FLIGHT_REQUESTS", options=options),
        sink_option("max_buffered_requests", "MAX_BUFFERED_REQUESTS", options=options),
        sink_option("max_batch_size_in_bytes", "FLUSH_BUFFER_SIZE", options=options,
                    minimum=request_bytes_minimum, doc=request_bytes_doc),
        sink_option("max_time_in_buffer_ms", "FLUSH_BUFFER_TIMEOUT", options=options),
    ]


# --- Key tables ----------------------------------------------------------------------------

TABLE_COMMON_KEYS = KeyTable(
    [
        Key(
            CONNECTOR,
            ValueType.STRING,
            "'kinesis'; checked when given (a TableDescriptor for kinesis sets it).",
            java=JavaRef(FACTORY_UTIL, "CONNECTOR"),
        ),
        Key(
            STREAM,
            ValueType.STRING,
            "Name (not ARN) of the Kinesis stream the table reads or writes; required.",
            java=JavaRef(KINESIS_OPTIONS, "STREAM"),
        ),
        Key(
            FORMAT,
            ValueType.STRING,
            "Format of the records, like json, csv, raw or avro; required.",
            java=JavaRef(FACTORY_UTIL, "FORMAT"),
        ),
        *(as_table_key(key) for key in AWS_KEYS.keys if not key.sink_only),
    ]
)

TABLE_SOURCE_KEYS = KeyTable(
    [
        Key(
            SHARD_ASSIGNER,
            ValueType.STRING,
            "Shard-to-subtask assigner: default, uniform, or a KinesisDynamicShardAssignerFactory "
            "id; unknown ids fall back to default.",
            default="default",
            java=JavaRef(KINESIS_OPTIONS, "SHARD_ASSIGNER"),
        ),
        *(as_table_key(key) for key in CONSUMER_KEYS.keys if key not in AWS_KEYS.keys),
    ]
)

TABLE_SINK_KEYS = KeyTable(
    [
        Key(
            PARTITIONER,
            ValueType.STRING,
            "Partition keys: random, fixed (one key per sink subtask, its index) or a "
            "PartitionKeyGenerator class; not with PARTITIONED BY (which keys by those columns).",
            java=JavaRef(KINESIS_OPTIONS, "SINK_PARTITIONER"),
        ),
        Key(
            "sink.partitioner-field-delimiter",
            ValueType.STRING,
            "Joins the PARTITIONED BY column values into a partition key.",
            default="|",
            java=JavaRef(KINESIS_OPTIONS, "SINK_PARTITIONER_FIELD_DELIMITER"),
        ),
        Key(
            KEEP_KEY_ORDER,
            ValueType.BOOLEAN,
            "Write each partition key's records in the order the sink received them, whatever "
            "Kinesis rejects and however many requests are in flight (our table factory).",
            default="false",
            java=JavaRef(OWN_FACTORY, "SINK_KEEP_KEY_ORDER"),
        ),
        Key(
            DELIVERY_GUARANTEE,
            ValueType.STRING,
            "exactly-once: write each checkpoint's rows once it completes, each with an id a "
            "de-duplicating source ('source.deduplication') drops copies by; needs "
            "checkpointing (our table factory).",
            default=AT_LEAST_ONCE,
            allowed=(AT_LEAST_ONCE, EXACTLY_ONCE),
            java=JavaRef(OWN_FACTORY, "SINK_DELIVERY_GUARANTEE"),
        ),
        exactly_once_option(
            "exactly_once_max_buffered_bytes", EXACTLY_ONCE_MAX_BUFFERED_BYTES,
            "SINK_EXACTLY_ONCE_MAX_BUFFERED_BYTES",
        ),
        Key(
            EXACTLY_ONCE_COMMIT_TIMEOUT,
            ValueType.DURATION,
            "How long an exactly-once commit retries throttled and failed writes; then the job "
            "restores its last checkpoint and writes them again (a commit made on the task's "
            "thread is first retried by Flink, sink.committer.retries times).",
            default="60 s",
            minimum=1,
            java=JavaRef(OWN_FACTORY, "SINK_EXACTLY_ONCE_COMMIT_TIMEOUT"),
        ),
        *async_sink_table_options(
            SINK_OPTIONS, KINESIS_OPTIONS, RECORD_MAX_BYTES,
            "Bytes per PutRecords request: from 1 MiB (the largest record a table sink takes) "
            "to 5 MiB (Kinesis' limit).",
        ),
        *(
            as_table_key(key)
            for key in SINK_CLIENT_KEYS.keys
            if key.sink_only or key not in AWS_KEYS.keys
        ),
    ]
)

# Every option of a kinesis table, format options aside.
TABLE_KEYS = KeyTable([*TABLE_COMMON_KEYS.keys, *TABLE_SOURCE_KEYS.keys, *TABLE_SINK_KEYS.keys])
# The options only our table factory reads.
OWN_TABLE_OPTIONS = (
    KEEP_KEY_ORDER,
    DELIVERY_GUARANTEE,
    EXACTLY_ONCE_MAX_BUFFERED_BYTES,
    EXACTLY_ONCE_COMMIT_TIMEOUT,
    STREAM_ARN,
)


STREAM_ARN_KEY = Key(
    STREAM_ARN,
    ValueType.STRING,
    "ARN of the Kinesis stream (in aws.region), instead of stream: the table is then read by "
    "KinesisStreamsSource and takes source.* options, not scan.*.",
    java=JavaRef(OWN_FACTORY, "STREAM_ARN"),
)
# The source options of a 'stream.arn' table: those of KinesisStreamsSource under connector
# 5.x's names (its retry-strategy.* and 4.3.0 names are not table options, as in 5.x's table).
STREAM_ARN_SOURCE_KEYS = KeyTable(
    key for key in SOURCE_OPTIONS.keys if key.name.startswith(_NEWER_SOURCE_PREFIX)
)
# Every option of a 'stream.arn' table, format options aside.
STREAM_ARN_TABLE_KEYS = KeyTable(
    [
        *(key for key in TABLE_COMMON_KEYS.keys if key.name != STREAM),
        STREAM_ARN_KEY,
        *STREAM_ARN_SOURCE_KEYS.keys,
        *TABLE_SINK_KEYS.keys,
    ]
)

_JSON = "org.apache.flink.formats.json.JsonFormatOptions"
_CSV = "org.apache.flink.formats.csv.CsvFormatOptions"
_RAW = "org.apache.flink.formats.raw.RawFormatOptions"
_AVRO = "org.apache.flink.formats.avro.AvroFormatOptions"

# The options of each format the package ships, named "<format>.<option>" as a table takes them.
FORMAT_KEYS: Mapping[str, KeyTable] = {
    "json": KeyTable(
        [
            Key(
                "json.fail-on-missing-field",
                ValueType.BOOLEAN,
                "Fail on a missing field instead of reading it as null.",
                default="false",
                java=JavaRef(_JSON, "FAIL_ON_MISSING_FIELD"),
            ),
            Key(
                "json.ignore-parse-errors",
                ValueType.BOOLEAN,
                "Skip records that fail to parse; not together with json.fail-on-missing-field.",
                default="false",
                java=JavaRef(_JSON, "IGNORE_PARSE_ERRORS"),
            ),
            Key(
                "json.timestamp-format.standard",
                ValueType.ENUM,
                "Timestamps like 2020-12-30 12:13:14.123 (SQL) or 2020-12-30T12:13:14.123 "
                "(ISO-8601).",
                default="SQL",
                allowed=("SQL", "ISO-8601"),
                java=JavaRef(_JSON, "TIMESTAMP_FORMAT"),
            ),
            Key(
                "json.map-null-key.mode",
                ValueType.STRING,
                "Writing a map with a null key: FAIL, DROP the entry, or write "
                "json.map-null-key.literal.",
                default="FAIL",
                allowed=("FAIL", "DROP", "LITERAL"),
                java=JavaRef(_JSON, "MAP_NULL_KEY_MODE"),
                java_enum=f"{_JSON}$MapNullKeyMode",
            ),
            Key(
                "json.map-null-key.literal",
                ValueType.STRING,
                "The key written for a null map key in LITERAL mode.",
                default="null",
                java=JavaRef(_JSON, "MAP_NULL_KEY_LITERAL"),
            ),
            Key(
                "json.encode.decimal-as-plain-number",
                ValueType.BOOLEAN,
                "Write decimals as plain numbers, never in scientific notation.",
                default="false",
                java=JavaRef(_JSON, "ENCODE_DECIMAL_AS_PLAIN_NUMBER"),
            ),
            Key(
                "json.encode.ignore-null-fields",
                ValueType.BOOLEAN,
                "Leave out null fields when writing.",
                default="false",
                java=JavaRef(_JSON, "ENCODE_IGNORE_NULL_FIELDS"),
            ),
        ]
    ),
    "csv": KeyTable(
        [
            Key(
                "csv.field-delimiter",
                ValueType.STRING,
                "Field separator: one character, or a Java escape like \\t.",
                default=",",
                java=JavaRef(_CSV, "FIELD_DELIMITER"),
            ),
            Key(
                "csv.disable-quote-character",
                ValueType.BOOLEAN,
                "Never quote fields; not together with csv.quote-character.",
                default="false",
                java=JavaRef(_CSV, "DISABLE_QUOTE_CHARACTER"),
            ),
            Key(
                "csv.quote-character",
                ValueType.STRING,
                "Character that encloses field values.",
                default='"',
                java=JavaRef(_CSV, "QUOTE_CHARACTER"),
            ),
            Key(
                "csv.allow-comments",
                ValueType.BOOLEAN,
                "Skip lines starting with # when reading.",
                default="false",
                java=JavaRef(_CSV, "ALLOW_COMMENTS"),
            ),
            Key(
                "csv.ignore-parse-errors",
                ValueType.BOOLEAN,
                "Read fields that fail to parse as null instead of failing.",
                default="false",
                java=JavaRef(_CSV, "IGNORE_PARSE_ERRORS"),
            ),
            Key(
                "csv.array-element-delimiter",
                ValueType.STRING,
                "Separator of array and row elements.",
                default=";",
                java=JavaRef(_CSV, "ARRAY_ELEMENT_DELIMITER"),
            ),
            Key(
                "csv.escape-character",
                ValueType.STRING,
                "Character that escapes special characters (default: none).",
                java=JavaRef(_CSV, "ESCAPE_CHARACTER"),
            ),
            Key(
                "csv.null-literal",
                ValueType.STRING,
                "Field text read and written as null (default: none).",
                java=JavaRef(_CSV, "NULL_LITERAL"),
            ),
            Key(
                "csv.write-bigdecimal-in-scientific-notation",
                ValueType.BOOLEAN,
                "Write DECIMAL values in scientific notation, like 1E+2.",
                default="true",
                java=JavaRef(_CSV, "WRITE_BIGDECIMAL_IN_SCIENTIFIC_NOTATION"),
            ),
        ]
    ),
    "raw": KeyTable(
        [
            Key(
                "raw.endianness",
                ValueType.STRING,
                "Byte order of numeric values.",
                default="big-endian",
                allowed=("big-endian", "little-endian"),
                java=JavaRef(_RAW, "ENDIANNESS"),
            ),
            Key(
                "raw.charset",
                ValueType.STRING,
                "Charset of string values.",
                default="UTF-8",
                java=JavaRef(_RAW, "CHARSET"),
            ),
        ]
    ),
    "avro": KeyTable(
        [
            Key(
                "avro.encoding",
                ValueType.STRING,
                "Avro's binary or JSON encoding.",
                default="binary",
                allowed=("binary", "json"),
                java=JavaRef(_AVRO, "AVRO_ENCODING"),
                java_enum=f"{_AVRO}$AvroEncoding",
            ),
            Key(
                "avro.timestamp_mapping.legacy",
                ValueType.BOOLEAN,
                "Map TIMESTAMP and TIMESTAMP_LTZ as Flink did before 1.19 (both to Avro "
                "timestamps).",
                default="true",
                java=JavaRef(_AVRO, "AVRO_TIMESTAMP_LEGACY_MAPPING"),
            ),
        ]
    ),
}
# The table to check options against, per value of 'format', for 'stream' and 'stream.arn'.
_TABLE_WITH_FORMAT = {
    name: KeyTable([*TABLE_KEYS.keys, *keys.keys]) for name, keys in FORMAT_KEYS.items()
}
_ARN_TABLE_WITH_FORMAT = {
    name: KeyTable([*STREAM_ARN_TABLE_KEYS.keys, *keys.keys])
    for name, keys in FORMAT_KEYS.items()
}


@dataclass(frozen=True)
class MetadataColumn:
    """A metadata column of the source: ``<column> <type> METADATA FROM '<key>'``."""

    key: str
    type: str
    doc: str


METADATA_ENUM = (
    "org.apache.flink.streaming.connectors.kinesis.table.RowDataKinesisDeserializationSchema"
    "$Metadata"
)
SOURCE_METADATA = (
    MetadataColumn("timestamp", "TIMESTAMP_LTZ(3) NOT NULL", "When Kinesis received the record."),
    MetadataColumn(
        "sequence-number", "VARCHAR(128) NOT NULL", "The record's sequence number in its shard."
    ),
    MetadataColumn("shard-id", "VARCHAR(128) NOT NULL", "The shard the record was read from."),
)

SHARD_ASSIGNERS = ("default", "uniform")
PARTITIONERS = ("random", "fixed")
SOURCE_SHARD_ASSIGNER = "source.shard-assigner"  # 5.x's table declares it and does not read it
# Options of the 5.x connector's 'kinesis' table (flink-connector-aws-kinesis-streams), and the
# option of this connector's legacy ('stream') table that does the same.
NEWER_CONNECTOR_OPTIONS = {
    STREAM_ARN: STREAM,
    SOURCE_SHARD_ASSIGNER: SHARD_ASSIGNER,
    "source.init.position": "scan.stream.initpos",
    "source.init.timestamp": "scan.stream.initpos-timestamp",
    "source.init.timestamp.format": "scan.stream.initpos-timestamp-format",
    "source.shard.discovery.interval": "scan.shard.discovery.intervalmillis",
    "source.shard.get-records.max-record-count": "scan.shard.getrecords.maxrecordcount",
    "source.reader.type": "scan.stream.recordpublisher",
    "source.reader.empty-records-fetch-interval": "scan.shard.getrecords.intervalmillis",
    "source.efo.consumer.name": "scan.stream.efo.consumername",
    "source.efo.lifecycle": "scan.stream.efo.registration",
    "source.efo.subscription.timeout": "scan.shard.subscribetoshard.timeout",
    "source.efo.describe.retry-strategy.delay.min": (
        "scan.stream.describestreamconsumer.backoff.base"
    ),
    "source.efo.describe.retry-strategy.delay.max": (
        "scan.stream.describestreamconsumer.backoff.max"
    ),
    "source.efo.describe.retry-strategy.attempts.max": (
        "scan.stream.describestreamconsumer.maxretries"
    ),
}
# KinesisProducer (KPL) options of older sinks that Java still maps, and what to set instead.
_PRODUCER_PREFIX = "sink.producer."
DEPRECATED_PRODUCER_OPTIONS = {
    "sink.producer.collection-max-size": "sink.batch.max-size",
    "sink.producer.collection-max-count": "sink.requests.max-inflight",
    "sink.producer.record-max-buffered-time": "sink.flush-buffer.timeout",
    "sink.producer.fail-on-error": "sink.fail-on-error",
    "sink.producer.kinesis-endpoint": "aws.endpoint",
    "sink.producer.kinesis-port": "aws.endpoint",
    "sink.producer.verify-certificate": "aws.trust.all.certificates",
}
_ROLES = get_args(Role)
# Options a kinesis table passes on without checking them against the factories' ConfigOptions.
UNVALIDATED_PREFIXES = ("aws.", "scan.", "sink.")
_PARTITIONER_CLASS = Key(PARTITIONER, ValueType.CLASS_NAME, "A PartitionKeyGenerator class.")

# --- table_options ---------------------------------------------------------------------------


def table_options(
    config: Mapping[str, object],
    *,
    role: Role = "both",
    partitioned_by: Sequence[str] = (),
    datastream_keys: bool = True,
) -> dict[str, str]:
    """Validate the WITH options of a ``kinesis`` table; return them as str -> str.

    Besides table options, takes the DataStream keys (``flink.stream.initpos``,
    ``aws.credentials.provider.basic.accesskeyid``, ``aws.http-client.max-concurrency`` ...) and
    returns them under their table names, so one config dict serves a ``FlinkKinesisConsumer``
    and a table; a key given in both spellings is a problem. ``stream``, ``format`` and
    ``aws.region`` are required; ``connector``, when given, must be ``kinesis``. ``role`` is how
    the table is used ('source', 'sink' or 'both'): options only the other side reads are
    problems. ``partitioned_by`` are the table's PARTITIONED BY columns. Options of the json,
    csv, raw and avro formats are checked, any other format's pass unchecked. Every problem is
    reported at once in a ``KinesisConfigError``; secret values are shown as ``****``.

    ``datastream_keys=False`` is for options that reach Flink as they are (a TableDescriptor's):
    DataStream keys the connector would not read (``flink.*``, ``aws.credentials.provider.*``
    sub-keys) are then problems.
    """
    problems = Problems("kinesis table options")
    # A problem of a translated DataStream key names the key as the user wrote it.
    written = {
        table_key(name): name
        for name in config
        if isinstance(name, str) and table_key(name) != name and table_key(name) not in config
    }
    as_written = Relabelled(
        problems, lambda key: f"{written[key]} (as {key})" if key in written else key, str
    )
    options = _check_table(
        config, role, partitioned_by, as_written, datastream_keys=datastream_keys
    )
    problems.raise_if_any()
    return options


class Relabelled(Problems):
    """Passes each problem on to ``target`` with its key (and message) rewritten."""

    def __init__(
        self, target: Problems, key: Callable[[str], str], message: Callable[[str], str]
    ) -> None:
        super().__init__(target.subject)
        self._target, self._key, self._message = target, key, message

    def add(self, key: str, message: str) -> None:
        self._target.add(self._key(key), self._message(message))

    def doubt(self, key: str, message: str) -> None:
        self._target.doubt(self._key(key), self._message(message))


def _check_table(
    config: Mapping[str, object],
    role: Role,
    partitioned_by: Sequence[str],
    problems: Problems,
    *,
    datastream_keys: bool,
) -> dict[str, str]:
    """Record every problem of a table's options in ``problems``; return them as strings.

    ``datastream_keys``: translate DataStream keys to table options (else they are problems).
    """
    if role not in _ROLES:
        raise ValueError(f"role must be 'source', 'sink' or 'both', got {role!r}")
    if not isinstance(config, Mapping):
        raise TypeError(f"a config must be a mapping of str to value, got {type(config).__name__}")
    options = table_spelled(config, problems, datastream_keys)
    by_arn = STREAM_ARN in options
    tables = _ARN_TABLE_WITH_FORMAT if by_arn else _TABLE_WITH_FORMAT
    table = tables.get(str(options.get(FORMAT)), STREAM_ARN_TABLE_KEYS if by_arn else TABLE_KEYS)
    checked = check_properties(
        options, table, problems, lambda c, name: _unknown(c, name, table, by_arn)
    )
    _check_table_keys(checked, table, role, problems)
    # The DataStream connector's checks, on the options as it will read them.
    connector = CheckedProperties(
        {java_key(name): text for name, text in checked.properties.items()},
        {java_key(name): value for name, value in checked.values.items()},
    )
    in_table_names = Relabelled(problems, to_table_names, to_table_names)
    # The source of a 'stream.arn' table has an AWS SDK v2 client, as the sink.
    check_aws(connector, in_table_names, client="sink" if role == "sink" or by_arn else "consumer",
              region_of="the table's stream")
    if role != "sink" and by_arn:
        _check_arn_source(checked, problems)
    elif role != "sink":
        _check_source(checked, connector, in_table_names)
    if role != "source":
        _check_sink(checked, partitioned_by, in_table_names)
    return checked.properties


def table_spelled(
    config: Mapping[str, object], problems: Problems, datastream_keys: bool
) -> dict[str, object]:
    """``config`` with its DataStream keys renamed to table options (or reported).

    Without ``datastream_keys`` only the DataStream keys a table passes on to the connector
    unchanged (``aws.http-client.*``, ``aws.http.protocol.version``) are renamed.
    """
    options: dict[str, object] = {}
    for name, value in config.items():
        option = table_key(name) if isinstance(name, str) else name
        if option == name or TABLE_KEYS.find(option) is None:
            options[name] = value
        elif not (datastream_keys or _passed_on_as(name, option)):
            problems.add(name, f"is a DataStream key, which a table does not read; set {option!r}")
        elif option in config:
            problems.add(name, f"is the DataStream key of {option!r}, which is set too; keep one")
        else:
            options[option] = value
    return options


def _passed_on_as(name: str, option: str) -> bool:
    """True when a table passes the key ``name`` on to the connector as it does ``option``."""
    return name.startswith(UNVALIDATED_PREFIXES) and java_key(name) == java_key(option)


def _unknown(
    checked: CheckedProperties, name: str, table: KeyTable, by_arn: bool
) -> str | None:
    """The problem of an option ``table`` does not have, or None to let it through.

    ``by_arn``: the table is a 'stream.arn' one.
    """
    if by_arn and (name == STREAM or name.startswith(_SCAN)):
        return _legacy_option_problem(name)
    if by_arn and name == SOURCE_SHARD_ASSIGNER:
        return (
            "is not read (connector 5.x's table does not read it either): a 'stream.arn' table "
            "assigns shards with the uniform assigner; remove it"
        )
    if not by_arn and (name in NEWER_CONNECTOR_OPTIONS or name.startswith(_NEWER_SOURCE_PREFIX)):
        return _newer_connector_problem(checked, name)
    if name.startswith(_PRODUCER_PREFIX):
        replacement = DEPRECATED_PRODUCER_OPTIONS.get(name)
        if replacement is None:
            return "is a KinesisProducer (KPL) option; this sink has none (Java ignores it)"
        return f"is a deprecated KinesisProducer (KPL) option; set {replacement!r} instead"
    format_name = checked.properties.get(FORMAT)
    prefix = name.split(".", 1)[0]
    if prefix in FORMAT_KEYS and prefix != format_name:
        return f"is an option of the {prefix!r} format, and 'format' is {format_name!r}"
    if "." in name and prefix == format_name and format_name not in FORMAT_KEYS:
        return None  # an option of a format this package does not know
    if uses_custom_credentials(checked) and name.startswith("aws."):
        return None  # the custom credentials provider gets every aws.* key
    return unknown_key_message(table, table_key(name))


_SWITCH_TO_ARN = (
    "or name the stream with 'stream.arn' instead of 'stream' to read with KinesisStreamsSource, "
    "which takes the source.* options"
)


def _newer_connector_problem(checked: CheckedProperties, name: str) -> str:
    newer = (
        "is an option of 'stream.arn' tables (connector 5.x's 'kinesis' DDL); this table names "
        "its stream with 'stream' and is read by FlinkKinesisConsumer"
    )
    option = NEWER_CONNECTOR_OPTIONS.get(name)
    if option is None:
        return f"{newer}, which takes 'scan.*' source options; {_SWITCH_TO_ARN}"
    if option in checked.properties:
        return f"{newer}, and its equivalent {option!r} is set too; keep {option!r} only"
    key = TABLE_KEYS.find(option)
    unit = f", in {key.unit}" if key is not None and key.unit else ""
    return f"{newer}: set {option!r}{unit}, {_SWITCH_TO_ARN}"


def _legacy_option_problem(name: str) -> str:
    """The problem of a ``'stream'`` table's option (``stream``, ``scan.*``) in a 'stream.arn'
    table."""
    legacy = "is an option of 'stream' tables (read by FlinkKinesisConsumer)"
    if name == STREAM:
        return (
            "and 'stream.arn' are both set: keep 'stream.arn' to read with KinesisStreamsSource "
            "(source.* options), or 'stream' to read with FlinkKinesisConsumer (scan.* options)"
        )
    equivalent = source_equivalent(java_key(name))
    if equivalent is not None:
        return f"{legacy}; this 'stream.arn' table takes {equivalent}"
    reason = no_equivalent_reason(java_key(name))
    because = f": {reason}" if reason else ""
    return f"{legacy}; this 'stream.arn' table has no equivalent, so remove it{because}"


def _check_table_keys(
    checked: CheckedProperties, table: KeyTable, role: Role, problems: Problems
) -> None:
    """Check the options every table has, case-insensitive choices and the role's options."""
    by_arn = STREAM_ARN in checked.properties
    stream_option = (STREAM_ARN, "the Kinesis stream's ARN") if by_arn else (
        STREAM, "the Kinesis stream's name (or 'stream.arn', its ARN)")
    for name, needed in (stream_option, (FORMAT, "like 'json'")):
        if name not in checked.properties:
            problems.add(name, f"missing; set {needed}")
    connector = checked.properties.get(CONNECTOR)
    if connector == LEGACY_IDENTIFIER:
        problems.add(
            CONNECTOR, f"is the 5.x connector's name of this table; 4.3 calls it {IDENTIFIER!r}"
        )
    elif connector is not None and connector not in (IDENTIFIER, OWN_IDENTIFIER):
        problems.add(CONNECTOR, f"{connector!r} is not {IDENTIFIER!r}: these are kinesis options")
    stream = checked.properties.get(STREAM, "")
    if stream.startswith("arn:") and not by_arn:
        problems.add(
            STREAM,
            "is an ARN; give the stream's name, or set the ARN as 'stream.arn' to read with "
            "KinesisStreamsSource (source.* options)",
        )
    elif STREAM in checked.values and stream_name_problem(stream) is not None:
        problems.add(STREAM, str(stream_name_problem(stream)))
    format_name = checked.properties.get(FORMAT, "")
    if format_name not in FORMAT_KEYS and format_name.lower() in FORMAT_KEYS:
        problems.add(FORMAT, f"did you mean {format_name.lower()!r}? Formats are case-sensitive")
    for name, value in checked.values.items():
        key = table.find(name)
        allowed = () if key is None or key.type is not ValueType.STRING else key.allowed
        if allowed and str(value).lower() not in {choice.lower() for choice in allowed}:
            choices = ", ".join(allowed)
            problems.add(name, f"{shown(table, name, str(value))} is not one of {choices}")
    if role != "both":
        reader = "sink" if role == "source" else "source"
        sources = STREAM_ARN_SOURCE_KEYS if by_arn else TABLE_SOURCE_KEYS
        other = TABLE_SINK_KEYS if role == "source" else sources
        for name in checked.properties:
            if other.find(name) is not None:
                problems.add(name, f"only the {reader} reads it, and this table's role is {role!r}")


def _case_twin(value: object, names: tuple[str, ...]) -> str | None:
    """The name of ``names`` that ``value`` spells in another letter case, if any."""
    lowered = str(value).lower()
    return lowered if lowered in names and value not in names else None


def _check_source(
    checked: CheckedProperties, connector: CheckedProperties, problems: Problems
) -> None:
    assigner = _case_twin(checked.values.get(SHARD_ASSIGNER), SHARD_ASSIGNERS)
    if assigner is not None:
        problems.add(
            SHARD_ASSIGNER,
            f"did you mean {assigner!r}? Java matches assigner ids case-sensitively and falls "
            f"back to 'default' for unknown ones",
        )
    stream = checked.values.get(STREAM)
    valid = isinstance(stream, str) and stream_name_problem(stream) is None
    check_start_position(connector, problems)
    check_efo(connector, [str(stream)] if valid else [], problems)
    check_recoverable_errors(connector, problems)


def _check_arn_source(checked: CheckedProperties, problems: Problems) -> None:
    """The stream ARN (a Kinesis stream's, in ``aws.region``), the start position, the reader
    options (checked as the DataStream source's)."""
    arn = checked.values.get(STREAM_ARN)
    if arn is not None:
        problem = stream_arn_problem(arn, checked.values.get(REGION))
        if problem is not None:
            problems.add(STREAM_ARN, problem)
    check_start_position(checked, problems, INIT_POSITION, INIT_TIMESTAMP, INIT_TIMESTAMP_FORMAT)
    check_reader(checked, problems)


def _check_sink(
    checked: CheckedProperties, partitioned_by: Sequence[str], problems: Problems
) -> None:
    partitioner = checked.values.get(PARTITIONER)
    if partitioner is not None and partitioned_by:
        problems.add(
            PARTITIONER,
            f"cannot be set on a table with PARTITIONED BY ({', '.join(partitioned_by)}): "
            f"its partition keys are then made of those columns",
        )
    elif isinstance(partitioner, str) and partitioner not in PARTITIONERS:
        problem = _partitioner_problem(partitioner)
        if problem is not None:
            problems.add(PARTITIONER, problem)
    # The relations KinesisStreamsSink's options must keep, the table options being its settings.
    settings: dict[str, Any] = {
        builder: checked.values.get(name) for builder, name in SINK_OPTION_NAMES.items()
    }
    check_sink_options(replace(SinkSettings(None, None, True, True), **settings), problems)
    _check_exactly_once(checked, problems)


# What the exactly-once sink takes of the sink options: the stream, client and partition keys.
_NOT_EXACTLY_ONCE = (KEEP_KEY_ORDER, *SINK_OPTION_NAMES.values())


def _check_exactly_once(checked: CheckedProperties, problems: Problems) -> None:
    """With exactly-once, none of the options of the other sinks (it writes at checkpoints,
    aggregated and ordered per shard, by itself); without it, none of its own."""
    guarantee = checked.values.get(DELIVERY_GUARANTEE)
    if isinstance(guarantee, str) and guarantee.lower() == EXACTLY_ONCE:
        for name in _NOT_EXACTLY_ONCE:
            if name in checked.properties:
                problems.add(
                    name,
                    f"set, but with '{DELIVERY_GUARANTEE}' = '{EXACTLY_ONCE}' the sink does not "
                    f"use it: it writes each checkpoint's rows once the checkpoint completes, "
                    f"aggregated and in order per shard",
                )
        return
    for name in (EXACTLY_ONCE_MAX_BUFFERED_BYTES, EXACTLY_ONCE_COMMIT_TIMEOUT):
        if name in checked.properties:
            problems.add(
                name, f"set, but the sink is at-least-once: add '{DELIVERY_GUARANTEE}' = "
                f"'{EXACTLY_ONCE}'"
            )


def _partitioner_problem(partitioner: str) -> str | None:
    named = _case_twin(partitioner, PARTITIONERS)
    if named is not None:
        return f"did you mean {named!r}? Java compares case-sensitively and would load a class"
    try:
        parse(_PARTITIONER_CLASS, partitioner)
    except ValueError as error:
        return f"{partitioner!r} is neither random nor fixed, and {error}"
    return None


# --- DDL ---------------------------------------------------------------------------------------


def mask_table_secrets(options: Mapping[str, str]) -> dict[str, str]:
    """A copy of a table's ``options`` with every secret value replaced by ``'****'``: the
    options in their SQL spelling (``aws.credentials.role.externalId``, also nested), and any
    unknown option named like a secret."""
    return {name: MASK if TABLE_KEYS.is_secret(name) else value for name, value in options.items()}


@dataclass(frozen=True)
class DdlTable:
    """A ``CREATE TABLE`` of a DDL script whose ``'connector'`` is ``'kinesis'``.

    ``name`` is as written, backquotes removed (``db.orders``). ``with_end`` is the offset in the
    SQL of the ``)`` closing the WITH clause, where more options can be inserted;
    ``value_spans`` maps each option to the start and end offsets of its quoted value, where it
    can be replaced. ``repr()`` masks secret options.
    """

    name: str
    options: dict[str, str]
    partitioned_by: tuple[str, ...]
    with_end: int
    value_spans: dict[str, tuple[int, int]] = field(default_factory=dict, repr=False)

    def __repr__(self) -> str:
        options = mask_table_secrets(self.options)
        return (
            f"DdlTable(name={self.name!r}, options={options!r}, "
            f"partitioned_by={self.partitioned_by!r}, with_end={self.with_end!r})"
        )


def ddl_tables(
    sql: str, connector: str | tuple[str, ...] = (IDENTIFIER, OWN_IDENTIFIER)
) -> list[DdlTable]:
    """Every ``CREATE TABLE ... WITH (...)`` of ``sql`` whose ``'connector'`` is ``connector``
    (by default ``'kinesis'`` or ours, ``'pyflink-kinesis'``; or ``'firehose'``).

    Reads Flink SQL scripts: several statements, ``--`` and ``/* */`` comments, string literals
    with ``''`` escapes, backquoted names, ``TEMPORARY``, ``IF NOT EXISTS``, ``OR REPLACE``.
    Tables of other connectors are skipped. A CREATE TABLE whose name, PARTITIONED BY or WITH
    clause cannot be read, an option given twice or an unclosed literal or comment raises a
    ``KinesisConfigError`` naming the line.
    """
    try:
        statements = _statements(sql)
    except _SqlError as error:
        raise KinesisConfigError([ConfigProblem(f"line {error.line}", str(error))], "DDL") from None
    problems = Problems("DDL")
    connectors = (connector,) if isinstance(connector, str) else connector
    tables = []
    for statement in statements:
        try:
            table = _create_table(_Cursor(statement))
        except _SqlError as error:
            problems.add(f"line {error.line}", str(error))
            continue
        if table is not None and table.options.get(CONNECTOR) in connectors:
            tables.append(table)
    problems.raise_if_any()
    return tables


def check_ddl(sql: str) -> None:
    """Validate every ``kinesis`` table of the DDL ``sql`` as :func:`table_options` does.

    The tables' role is 'both' (a DDL does not say how a table is used). Flink passes the options
    on as written, so DataStream keys the connector would not read are problems. Raises one
    ``KinesisConfigError`` with the problems of every table, each key prefixed with the table's
    name (``orders: aws.region``); a DDL it cannot read raises as :func:`ddl_tables` does.
    """
    problems = Problems("kinesis tables of the DDL")
    for table in ddl_tables(sql):
        in_table = Relabelled(problems, prefixed(f"{table.name}: "), str)
        _check_table(table.options, "both", table.partitioned_by, in_table, datastream_keys=False)
    problems.raise_if_any()


def prefixed(prefix: str) -> Callable[[str], str]:
    return lambda key: prefix + key


class _SqlError(ValueError):
    """A DDL that cannot be read, at ``line``."""

    def __init__(self, line: int, message: str) -> None:
        super().__init__(message)
        self.line = line


@dataclass(frozen=True)
class _Token:
    """A SQL token: ``kind`` is word, name (backquoted), string or symbol; ``text`` unquoted.

    ``start`` and ``end`` are its offsets in the SQL, ``line`` the line it starts on.
    """

    kind: str
    text: str
    line: int
    start: int
    end: int

    def is_word(self, word: str) -> bool:
        return self.kind == "word" and self.text.upper() == word

    def is_symbol(self, symbol: str) -> bool:
        return self.kind == "symbol" and self.text == symbol

    def __str__(self) -> str:
        quotes = {"string": "'", "name": "`"}.get(self.kind, "")
        return f"{quotes}{self.text}{quotes}"


_SQL_TOKEN = re.compile(
    r"""(?P<skip>\s+|--[^\n]*|/\*.*?\*/)
      | (?P<string>'(?:[^']|'')*')
      | (?P<name>`(?:[^`]|``)*`)
      | (?P<word>[\w$]+)
      | (?P<unclosed>/\*|'|`)
      | (?P<symbol>.)""",
    re.VERBOSE | re.DOTALL,
)
_UNCLOSED = {"/*": "comment", "'": "string literal", "`": "backquoted name"}


def _statements(sql: str) -> list[list[_Token]]:
    """The tokens of each statement of ``sql``, comments left out."""
    statements: list[list[_Token]] = [[]]
    line = 1
    for match in _SQL_TOKEN.finditer(sql):
        kind, text = str(match.lastgroup), match.group()
        if kind == "unclosed":
            raise _SqlError(line, f"a {_UNCLOSED[text]} is never closed")
        if kind in ("string", "name"):
            text = text[1:-1].replace(text[0] * 2, text[0])
        if kind == "symbol" and text == ";":
            statements.append([])
        elif kind != "skip":
            statements[-1].append(_Token(kind, text, line, match.start(), match.end()))
        line += match.group().count("\n")
    return [statement for statement in statements if statement]


class _Cursor:
    """Reads one statement's tokens front to back."""

    def __init__(self, tokens: list[_Token]) -> None:
        self._tokens = tokens
        self._index = 0

    def peek(self) -> _Token | None:
        return self._tokens[self._index] if self._index < len(self._tokens) else None

    def next(self, expected: str) -> _Token:
        """The next token; a ``_SqlError`` saying ``expected`` at the statement's end."""
        token = self.peek()
        if token is None:
            raise _SqlError(self._tokens[-1].line, f"expected {expected}, the statement ended")
        self._index += 1
        return token

    def take_words(self, *words: str) -> bool:
        """Consume the keywords ``words`` if they come next (in any case)."""
        ahead = self._tokens[self._index : self._index + len(words)]
        if len(ahead) < len(words) or not all(t.is_word(w) for t, w in zip(ahead, words)):
            return False
        self._index += len(words)
        return True

    def expect(self, expected: str, kind: str, *texts: str) -> _Token:
        """The next token, which must be of ``kind`` (and one of ``texts`` when given)."""
        token = self.next(expected)
        if token.kind != kind or (texts and token.text not in texts):
            raise _SqlError(token.line, f"expected {expected}, found {token}")
        return token

    def skip_group(self) -> None:
        """Skip a parenthesized group, the ``(`` being next."""
        depth = 0
        while True:
            token = self.next("')'")
            depth += token.is_symbol("(") - token.is_symbol(")")
            if depth == 0:
                return


def _create_table(cursor: _Cursor) -> DdlTable | None:
    """The table a ``CREATE TABLE ... WITH`` statement creates, or None for other statements."""
    if not cursor.take_words("CREATE"):
        return None
    cursor.take_words("OR", "REPLACE")
    cursor.take_words("TEMPORARY")
    if not cursor.take_words("TABLE"):
        return None
    cursor.take_words("IF", "NOT", "EXISTS")
    name = _qualified_name(cursor)
    partitioned_by: tuple[str, ...] = ()
    token = cursor.peek()
    # Schema, COMMENT, DISTRIBUTED BY ... until WITH; AS and LIKE end the table's own clauses.
    while token is not None and not (token.is_word("AS") or token.is_word("LIKE")):
        if cursor.take_words("PARTITIONED", "BY"):
            partitioned_by = _column_list(cursor, name)
        elif cursor.take_words("WITH"):
            options, spans, end = _with_options(cursor, name)
            return DdlTable(name, options, partitioned_by, end.start, spans)
        elif token.is_symbol("("):
            cursor.skip_group()
        else:
            cursor.next("")
        token = cursor.peek()
    return None


def _identifier(cursor: _Cursor, expected: str) -> str:
    token = cursor.next(expected)
    if token.kind not in ("word", "name"):
        raise _SqlError(token.line, f"expected {expected}, found {token}")
    return token.text


def _qualified_name(cursor: _Cursor) -> str:
    parts = [_identifier(cursor, "the table's name")]
    while (token := cursor.peek()) is not None and token.is_symbol("."):
        cursor.next("")
        parts.append(_identifier(cursor, "the table's name"))
    return ".".join(parts)


def _column_list(cursor: _Cursor, table: str) -> tuple[str, ...]:
    where = f"in PARTITIONED BY of {table}"
    cursor.expect(f"'(' {where}", "symbol", "(")
    columns = [_identifier(cursor, f"a column {where}")]
    while cursor.expect(f"',' or ')' {where}", "symbol", ",", ")").text == ",":
        columns.append(_identifier(cursor, f"a column {where}"))
    return tuple(columns)


def _with_options(
    cursor: _Cursor, table: str
) -> tuple[dict[str, str], dict[str, tuple[int, int]], _Token]:
    """The options of a WITH clause, the spans of their values and the ``)`` closing it."""
    where = f"in the WITH clause of {table}"
    cursor.expect(f"'(' {where}", "symbol", "(")
    options: dict[str, str] = {}
    spans: dict[str, tuple[int, int]] = {}
    if (token := cursor.peek()) is not None and token.is_symbol(")"):
        return options, spans, cursor.next("")
    while True:
        key = cursor.expect(f"an option name in quotes {where}", "string")
        cursor.expect(f"'=' after '{key.text}' {where}", "symbol", "=")
        value = cursor.expect(f"a value in quotes for '{key.text}' {where}", "string")
        if key.text in options:
            raise _SqlError(key.line, f"'{key.text}' is given twice {where}")
        options[key.text] = value.text
        spans[key.text] = (value.start, value.end)
        end = cursor.expect(f"',' or ')' {where}", "symbol", ",", ")")
        if end.text == ")":
            return options, spans, end
