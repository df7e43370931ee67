"""The ``FlinkKinesisConsumer`` keys (``ConsumerConfigConstants``) and ``consumer_properties``."""

from __future__ import annotations

from typing import Mapping, Sequence

from pyflink_kinesis.config import dates
from pyflink_kinesis.config.aws import AWS_KEYS, check_aws
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.validation import (
    CheckedProperties,
    Problems,
    check_properties,
    mapping_problem,
    shown,
    unknown_key_message,
)
from pyflink_kinesis.config.values import is_epoch_seconds, stream_name_problem

CONSUMER_CONSTANTS = "org.apache.flink.streaming.connectors.kinesis.config.ConsumerConfigConstants"
AWS_UTIL = "org.apache.flink.streaming.connectors.kinesis.util.AWSUtil"
RECORD_EMITTER = "org.apache.flink.streaming.connectors.kinesis.util.RecordEmitter"

RECORD_PUBLISHER = "flink.stream.recordpublisher"
EFO_CONSUMER_NAME = "flink.stream.efo.consumername"
EFO_REGISTRATION = "flink.stream.efo.registration"
EFO_CONSUMER_ARN_PREFIX = "flink.stream.efo.consumerarn."
INITIAL_POSITION = "flink.stream.initpos"
INITIAL_TIMESTAMP = "flink.stream.initpos.timestamp"
TIMESTAMP_FORMAT = "flink.stream.initpos.timestamp.format"
GETRECORDS_INTERVAL = "flink.shard.getrecords.intervalmillis"


def _cc(field: str) -> JavaRef:
    return JavaRef(CONSUMER_CONSTANTS, field)


def _retry_keys(prefix: str, java: str, api: str, defaults: tuple[int, int, int]) -> list[Key]:
    """The four retry keys every Kinesis call of the consumer has: retries and backoff."""
    retries, base, maximum = defaults
    return [
        Key(
            f"{prefix}.maxretries",
            ValueType.INT,
            f"Maximum retries of a failed {api} call.",
            default=str(retries),
            minimum=0,
            java=_cc(f"{java}_RETRIES"),
            java_default=_cc(f"DEFAULT_{java}_RETRIES"),
        ),
        Key(
            f"{prefix}.backoff.base",
            ValueType.LONG,
            f"Base backoff before retrying {api}.",
            default=str(base),
            minimum=0,
            unit="ms",
            java=_cc(f"{java}_BACKOFF_BASE"),
            java_default=_cc(f"DEFAULT_{java}_BACKOFF_BASE"),
        ),
        Key(
            f"{prefix}.backoff.max",
            ValueType.LONG,
            f"Maximum backoff before retrying {api}.",
            default=str(maximum),
            minimum=0,
            unit="ms",
            java=_cc(f"{java}_BACKOFF_MAX"),
            java_default=_cc(f"DEFAULT_{java}_BACKOFF_MAX"),
        ),
        Key(
            f"{prefix}.backoff.expconst",
            ValueType.DOUBLE,
            f"Growth factor of the {api} backoff per attempt.",
            default="1.5",
            minimum=0,
            java=_cc(f"{java}_BACKOFF_EXPONENTIAL_CONSTANT"),
            java_default=_cc(f"DEFAULT_{java}_BACKOFF_EXPONENTIAL_CONSTANT"),
        ),
    ]


def _timeout_key(prefix: str, java: str, api: str) -> Key:
    return Key(
        f"{prefix}.timeout",
        ValueType.INT,
        f"Timeout of {api} (EFO).",
        default="60",
        minimum=0,
        unit="s",
        java=_cc(f"{java}_TIMEOUT_SECONDS"),
        java_default=_cc(f"DEFAULT_{java}_TIMEOUT"),
    )


_DESCRIBE = "flink.stream.describe"
_DESCRIBE_CONSUMER = "flink.stream.describestreamconsumer"
_REGISTER = "flink.stream.registerstreamconsumer"
_DEREGISTER = "flink.stream.deregisterstreamconsumer"
_SUBSCRIBE = "flink.shard.subscribetoshard"
_GET_RECORDS = "flink.shard.getrecords"
_GET_ITERATOR = "flink.shard.getiterator"

# The keys the cross-key checks read defaults or patterns from.
_REGISTRATION_KEY = Key(
    EFO_REGISTRATION,
    ValueType.ENUM,
    "EFO registration: LAZY (job start), EAGER (on the client) or NONE (done outside).",
    default="LAZY",
    allowed=("LAZY", "EAGER", "NONE"),
    java=_cc("EFO_REGISTRATION_TYPE"),
    java_enum=f"{CONSUMER_CONSTANTS}$EFORegistrationType",
)
_FORMAT_KEY = Key(
    TIMESTAMP_FORMAT,
    ValueType.DATE_PATTERN,
    "Java SimpleDateFormat pattern of flink.stream.initpos.timestamp.",
    default="yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
    java=_cc("STREAM_TIMESTAMP_DATE_FORMAT"),
    java_default=_cc("DEFAULT_STREAM_TIMESTAMP_DATE_FORMAT"),
)
_RECOVERABLE_ERROR_KEY = Key(
    "flink.shard.consumer.error.recoverable[<n>].exception",
    ValueType.CLASS_NAME,
    "Exception class retried forever when a shard consumer fails; indices count from 0.",
    java=_cc("RECOVERABLE_EXCEPTIONS_PREFIX"),
)

_CONSUMER_ONLY_KEYS = [
    Key(
        RECORD_PUBLISHER,
        ValueType.ENUM,
        "How records are read: POLLING (GetRecords) or EFO (enhanced fan-out).",
        default="POLLING",
        allowed=("EFO", "POLLING"),
        java=_cc("RECORD_PUBLISHER_TYPE"),
        java_enum=f"{CONSUMER_CONSTANTS}$RecordPublisherType",
    ),
    Key(
        EFO_CONSUMER_NAME,
        ValueType.STRING,
        "EFO consumer name to register; required for EFO with LAZY or EAGER registration.",
        java=_cc("EFO_CONSUMER_NAME"),
    ),
    _REGISTRATION_KEY,
    Key(
        f"{EFO_CONSUMER_ARN_PREFIX}<stream>",
        ValueType.ARN,
        "ARN of the EFO consumer registered for that stream; required per stream with NONE.",
        java=_cc("EFO_CONSUMER_ARN_PREFIX"),
    ),
    Key(
        INITIAL_POSITION,
        ValueType.ENUM,
        "Where to start reading a stream with no checkpointed position.",
        default="LATEST",
        allowed=("TRIM_HORIZON", "LATEST", "AT_TIMESTAMP"),
        java=_cc("STREAM_INITIAL_POSITION"),
        java_default=_cc("DEFAULT_STREAM_INITIAL_POSITION"),
        java_enum=f"{CONSUMER_CONSTANTS}$InitialPosition",
    ),
    Key(
        INITIAL_TIMESTAMP,
        ValueType.TIMESTAMP,
        "Start time for AT_TIMESTAMP: epoch seconds (1459799926.480) or a date in the format.",
        java=_cc("STREAM_INITIAL_TIMESTAMP"),
    ),
    _FORMAT_KEY,
    *_retry_keys(_DESCRIBE, "STREAM_DESCRIBE", "DescribeStreamSummary", (50, 2000, 5000)),
    *_retry_keys("flink.list.shards", "LIST_SHARDS", "ListShards", (10, 1000, 5000)),
    *_retry_keys(
        _DESCRIBE_CONSUMER, "DESCRIBE_STREAM_CONSUMER", "DescribeStreamConsumer", (50, 2000, 5000)
    ),
    *_retry_keys(_REGISTER, "REGISTER_STREAM", "RegisterStreamConsumer", (10, 500, 2000)),
    _timeout_key(_REGISTER, "REGISTER_STREAM", "RegisterStreamConsumer"),
    *_retry_keys(_DEREGISTER, "DEREGISTER_STREAM", "DeregisterStreamConsumer", (10, 500, 2000)),
    _timeout_key(_DEREGISTER, "DEREGISTER_STREAM", "DeregisterStreamConsumer"),
    *_retry_keys(_SUBSCRIBE, "SUBSCRIBE_TO_SHARD", "SubscribeToShard", (10, 1000, 2000)),
    _timeout_key(_SUBSCRIBE, "SUBSCRIBE_TO_SHARD", "SubscribeToShard"),
    *_retry_keys(_GET_RECORDS, "SHARD_GETRECORDS", "GetRecords", (3, 300, 1000)),
    *_retry_keys(_GET_ITERATOR, "SHARD_GETITERATOR", "GetShardIterator", (3, 300, 1000)),
    _RECOVERABLE_ERROR_KEY,
    Key(
        f"{_GET_RECORDS}.maxrecordcount",
        ValueType.INT,
        "Maximum records per GetRecords call (Kinesis allows 1 to 10000).",
        default="10000",
        minimum=1,
        maximum=10000,
        java=_cc("SHARD_GETRECORDS_MAX"),
        java_default=_cc("DEFAULT_SHARD_GETRECORDS_MAX"),
    ),
    Key(
        GETRECORDS_INTERVAL,
        ValueType.LONG,
        "Pause between GetRecords calls on a shard; below 300000.",
        default="200",
        minimum=0,
        maximum=299_999,
        unit="ms",
        java=_cc("SHARD_GETRECORDS_INTERVAL_MILLIS"),
        java_default=_cc("DEFAULT_SHARD_GETRECORDS_INTERVAL_MILLIS"),
    ),
    Key(
        "flink.shard.discovery.intervalmillis",
        ValueType.LONG,
        "Pause between ListShards calls looking for new shards.",
        default="10000",
        minimum=0,
        unit="ms",
        java=_cc("SHARD_DISCOVERY_INTERVAL_MILLIS"),
        java_default=_cc("DEFAULT_SHARD_DISCOVERY_INTERVAL_MILLIS"),
    ),
    Key(
        "flink.shard.adaptivereads",
        ValueType.BOOLEAN,
        "Adapt the records per GetRecords call to the shard's 2 MiB/s read limit (POLLING).",
        default="false",
        java=_cc("SHARD_USE_ADAPTIVE_READS"),
        java_default=_cc("DEFAULT_SHARD_USE_ADAPTIVE_READS"),
    ),
    Key(
        "flink.shard.idle.interval",
        ValueType.LONG,
        "A shard without records for this long stops holding back watermarks; <= 0: never.",
        default="-1",
        unit="ms",
        java=_cc("SHARD_IDLE_INTERVAL_MILLIS"),
        java_default=_cc("DEFAULT_SHARD_IDLE_INTERVAL_MILLIS"),
    ),
    Key(
        "flink.watermark.sync.interval",
        ValueType.LONG,
        "How often subtasks share watermarks through the WatermarkTracker.",
        default="30000",
        minimum=1,
        unit="ms",
        java=_cc("WATERMARK_SYNC_MILLIS"),
        java_default=_cc("DEFAULT_WATERMARK_SYNC_MILLIS"),
    ),
    Key(
        "flink.watermark.lookahead.millis",
        ValueType.LONG,
        "How far records may run ahead of the global watermark (at least 3 sync intervals).",
        default="0",
        minimum=0,
        unit="ms",
        java=_cc("WATERMARK_LOOKAHEAD_MILLIS"),
    ),
    Key(
        "flink.watermark.sync.queue.capacity",
        ValueType.INT,
        "Records buffered per shard while waiting for the global watermark.",
        default="100",
        minimum=1,
        java=_cc("WATERMARK_SYNC_QUEUE_CAPACITY"),
        java_default=JavaRef(RECORD_EMITTER, "DEFAULT_QUEUE_CAPACITY"),
    ),
    Key(
        "flink.stream.efo.http-client.max-concurrency",
        ValueType.INT,
        "Maximum concurrent requests of the EFO HTTP client.",
        default="10000",
        minimum=1,
        java=_cc("EFO_HTTP_CLIENT_MAX_CONCURRENCY"),
        java_default=_cc("DEFAULT_EFO_HTTP_CLIENT_MAX_CONCURRENCY"),
    ),
    Key(
        "flink.stream.efo.http-client.read-timeout",
        ValueType.LONG,
        "Read timeout of the EFO HTTP client.",
        default="360000",
        minimum=0,
        unit="ms",
        java=_cc("EFO_HTTP_CLIENT_READ_TIMEOUT_MILLIS"),
        java_default=_cc("DEFAULT_EFO_HTTP_CLIENT_READ_TIMEOUT"),
    ),
    Key(
        "aws.clientconfig.<field>",
        ValueType.STRING,
        "A property of the polling client's AWS SDK v1 ClientConfiguration, like socketTimeout.",
        java=JavaRef(AWS_UTIL, "AWS_CLIENT_CONFIG_PREFIX"),
    ),
]

CONSUMER_KEYS = KeyTable([key for key in AWS_KEYS.keys if not key.sink_only] + _CONSUMER_ONLY_KEYS)


def consumer_properties(
    config: object, streams: object, problems: Problems | None = None
) -> dict[str, str]:
    """Validate a ``FlinkKinesisConsumer`` config for these streams; return it as str -> str.

    The result is ready for ``java.util.Properties``. Every problem found (streams that are not
    names, unknown keys, bad values, missing keys a setting needs), with those already in
    ``problems``, is reported at once in a ``KinesisConfigError``.
    """
    if problems is None:
        problems = Problems("consumer config")
    valid_streams = _check_streams(streams, problems)
    if not isinstance(config, Mapping):
        problems.add("config", mapping_problem(config))
        problems.raise_if_any()
        return {}
    checked = check_properties(config, CONSUMER_KEYS, problems, _consumer_unknown_key)
    check_aws(checked, problems, client="consumer", region_of="the consumer's streams")
    check_start_position(checked, problems)
    check_efo(checked, valid_streams, problems)
    check_recoverable_errors(checked, problems)
    problems.raise_if_any()
    return checked.properties


def _consumer_unknown_key(checked: CheckedProperties, name: str) -> str:
    key = AWS_KEYS.find(name)
    if key is not None and key.sink_only:
        suggestion = CONSUMER_KEYS.suggest(name)
        hint = f"; did you mean {suggestion!r}?" if suggestion else ""
        return f"has no effect on FlinkKinesisConsumer (only KinesisStreamsSink reads it){hint}"
    return unknown_key_message(CONSUMER_KEYS, name)


def _check_streams(streams: object, problems: Problems) -> list[str]:
    """Report a missing stream, invalid names or a value that is no list; return the valid ones."""
    if isinstance(streams, str):
        streams = [streams]
    elif not isinstance(streams, Sequence):
        problems.add(
            "streams",
            f"expected a stream name (str) or a list of them, got {type(streams).__name__}",
        )
        return []
    if not streams:
        problems.add("streams", "give at least one stream to read")
    valid = []
    for stream in streams:
        problem = stream_name_problem(stream)
        if problem is None:
            valid.append(stream)
        else:
            problems.add("streams", problem)
    return valid


def check_start_position(
    checked: CheckedProperties,
    problems: Problems,
    position: str = INITIAL_POSITION,
    timestamp: str = INITIAL_TIMESTAMP,
    timestamp_format: str = TIMESTAMP_FORMAT,
) -> None:
    """AT_TIMESTAMP needs a timestamp that is epoch seconds or parses in the given format;
    the three keys go by the names given (the source's may differ)."""
    if checked.values.get(position) != "AT_TIMESTAMP":
        return
    text = checked.properties.get(timestamp)
    if text is None:
        problems.add(
            timestamp,
            f"missing; {position} = AT_TIMESTAMP needs it: epoch seconds like "
            f"1459799926.480, or a date in {timestamp_format}",
        )
        return
    if timestamp_format in checked.properties and timestamp_format not in checked.values:
        return  # the format itself is invalid, and reported
    pattern = str(checked.values.get(timestamp_format, _FORMAT_KEY.default))
    if not is_epoch_seconds(text) and dates.matches(text, pattern) is False:
        problems.add(
            timestamp,
            f"{shown(CONSUMER_KEYS, INITIAL_TIMESTAMP, text)} is neither epoch seconds "
            f"(like 1459799926.480) nor a date in the format {pattern!r}",
        )


def check_efo(checked: CheckedProperties, streams: list[str], problems: Problems) -> None:
    """EFO needs a consumer name (LAZY, EAGER) or a consumer ARN per stream (NONE)."""
    if checked.values.get(RECORD_PUBLISHER) != "EFO":
        return
    if EFO_REGISTRATION in checked.properties and EFO_REGISTRATION not in checked.values:
        # The registration itself is reported; a name is still needed unless it meant NONE.
        if EFO_CONSUMER_NAME not in checked.properties:
            problems.add(
                EFO_CONSUMER_NAME,
                f"missing; {RECORD_PUBLISHER} = EFO needs it with every {EFO_REGISTRATION} "
                f"but NONE (whose consumer ARNs come in {EFO_CONSUMER_ARN_PREFIX}<stream>)",
            )
        return
    registration = checked.values.get(EFO_REGISTRATION, _REGISTRATION_KEY.default)
    if registration != "NONE":
        if EFO_CONSUMER_NAME not in checked.properties:
            problems.add(
                EFO_CONSUMER_NAME,
                f"missing; {RECORD_PUBLISHER} = EFO with {EFO_REGISTRATION} = {registration} "
                f"needs it",
            )
        return
    given = [name for name in checked.properties if name.startswith(EFO_CONSUMER_ARN_PREFIX)]
    # Java ignores ARNs of streams not read: name them, one may be meant for a missing one.
    others = f" (ARNs are set for other streams: {', '.join(given)})" if given else ""
    for stream in streams:
        if EFO_CONSUMER_ARN_PREFIX + stream not in checked.properties:
            problems.add(
                EFO_CONSUMER_ARN_PREFIX + stream,
                f"missing; {EFO_REGISTRATION} = NONE needs the consumer ARN of every stream read"
                f"{others}",
            )


def check_recoverable_errors(checked: CheckedProperties, problems: Problems) -> None:
    """Recoverable-exception indices must count up from 0 without gaps, as Java reads them."""
    regex = _RECOVERABLE_ERROR_KEY.pattern()
    indices = {}
    for name in checked.properties:
        match = regex.fullmatch(name)
        if match is not None:
            indices[int(match.group(1))] = name
    first_gap = next(index for index in range(len(indices) + 1) if index not in indices)
    for index in sorted(indices):
        if index > first_gap:
            problems.add(
                indices[index],
                f"is never read: indices must count up from 0 without gaps, and Java stops at "
                f"the first missing one ([{first_gap}])",
            )
