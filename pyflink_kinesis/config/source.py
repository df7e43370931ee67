"""``KinesisStreamsSource`` (FLIP-27) settings: its option keys, ``validate_source`` and the
migration of a ``FlinkKinesisConsumer`` config.

The source (ours, on connector 4.3.0-1.19's client) reads one stream named by its ARN and takes
its options in a Flink ``Configuration`` beside the AWS client keys, under connector 5.x's names
(our Java ``SourceOptions``: ``source.init.position`` ..., ``retry-strategy.*``). Four of them
also go by connector 4.3.0's names (the legacy consumer's, ``flink.stream.initpos`` ...), which
are accepted instead, never together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

from pyflink_kinesis.config.aws import AWS_KEYS, REGION, check_aws
from pyflink_kinesis.config.consumer import (
    CONSUMER_KEYS,
    EFO_CONSUMER_ARN_PREFIX,
    EFO_CONSUMER_NAME,
    EFO_REGISTRATION,
    GETRECORDS_INTERVAL,
    INITIAL_POSITION,
    INITIAL_TIMESTAMP,
    RECORD_PUBLISHER,
    TIMESTAMP_FORMAT,
    check_start_position,
    consumer_properties,
)
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.validation import (
    CheckedProperties,
    Problems,
    check_properties,
    mapping_problem,
    unknown_key_message,
)
from pyflink_kinesis.config.values import stream_name_problem, to_property_string

SOURCE_CONSTANTS = (
    "org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants"
)
# Our source's options under connector 5.x's names (KinesisSourceConfigOptions, AWSConfigOptions).
SOURCE_OPTIONS_CLASS = "io.pyflinkkinesis.source.config.SourceOptions"
DISCOVERY_INTERVAL = "flink.shard.discovery.intervalmillis"
USER_AGENT_PREFIX = "aws.kinesis.client.user-agent-prefix"
_SINK_CONSTANTS = "org.apache.flink.connector.kinesis.sink.KinesisStreamsConfigConstants"

INIT_POSITION = "source.init.position"
INIT_TIMESTAMP = "source.init.timestamp"
INIT_TIMESTAMP_FORMAT = "source.init.timestamp.format"
SHARD_DISCOVERY_INTERVAL = "source.shard.discovery.interval"
GET_RECORDS_MAX = "source.shard.get-records.max-record-count"
READER_TYPE = "source.reader.type"
EMPTY_RECORDS_FETCH_INTERVAL = "source.reader.empty-records-fetch-interval"
FETCH_THREADS = "source.reader.fetch-threads"
DEDUPLICATION = "source.deduplication"
EFO_LIFECYCLE = "source.efo.lifecycle"
EFO_CONSUMER = "source.efo.consumer.name"
EFO_SUBSCRIPTION_TIMEOUT = "source.efo.subscription.timeout"
EFO_DESCRIBE_DELAY_MIN = "source.efo.describe.retry-strategy.delay.min"
EFO_DESCRIBE_DELAY_MAX = "source.efo.describe.retry-strategy.delay.max"
EFO_DESCRIBE_ATTEMPTS = "source.efo.describe.retry-strategy.attempts.max"
EFO_DEREGISTER_TIMEOUT = "source.efo.deregister.timeout"
_EFO_PREFIX = "source.efo."

# The 5.x name of each option connector 4.3.0's source also has, and that 4.3.0 name
# (SourceOptions.RENAMED in Java): both are accepted, never together.
LEGACY_NAMES = {
    INIT_POSITION: INITIAL_POSITION,
    INIT_TIMESTAMP: INITIAL_TIMESTAMP,
    INIT_TIMESTAMP_FORMAT: TIMESTAMP_FORMAT,
    SHARD_DISCOVERY_INTERVAL: DISCOVERY_INTERVAL,
}

# arn:<partition>:kinesis:<region>:<12-digit account>:stream/<name>
_STREAM_ARN = re.compile(
    r"arn:(aws[a-z-]*):kinesis:([a-z0-9-]+):([0-9]{12}):stream/([a-zA-Z0-9_.-]{1,128})"
)
# ... /consumer/<name>:<creation timestamp>, an EFO consumer of that stream
_CONSUMER_ARN = re.compile(_STREAM_ARN.pattern + r"/consumer/([a-zA-Z0-9_.-]{1,128}):[0-9]+")


def _own(option: str) -> JavaRef:
    """A ``ConfigOption`` of our ``SourceOptions`` (its key and default are read from it)."""
    return JavaRef(SOURCE_OPTIONS_CLASS, option)


def _five(
    name: str,
    option: str,
    value_type: ValueType,
    doc: str,
    default: str | None = None,
    minimum: int | None = None,
    maximum: int | None = None,
    allowed: tuple[str, ...] = (),
    java_enum: str | None = None,
) -> Key:
    """An option of ``SourceOptions``, connector 5.x's ``option`` of the same name."""
    return Key(
        name, value_type, doc, default=default, allowed=allowed, minimum=minimum,
        maximum=maximum, java=_own(option),
        java_default=_own(option) if default is not None else None, java_enum=java_enum,
    )


def _legacy(name: str, java: str, minimum: int | None = None) -> Key:
    """The consumer's key of the same name, which the source reads for the 5.x option that
    ``LEGACY_NAMES`` maps to it, mirroring connector 4.3.0's ``ConfigOption`` ``java``."""
    key = CONSUMER_KEYS.find(name)
    assert key is not None, name
    five = next(five for five, legacy in LEGACY_NAMES.items() if legacy == name)
    return replace(
        key,
        doc=f"Connector 4.3.0's name of {five}, accepted instead of it (never both).",
        minimum=key.minimum if minimum is None else minimum,
        java=_sc(java),
        java_default=_sc(java) if key.default is not None else None,
        java_enum=f"{SOURCE_CONSTANTS}$InitialPosition" if key.java_enum else None,
    )


def _sc(option: str) -> JavaRef:
    """A ``ConfigOption`` of the connector's source constants."""
    return JavaRef(SOURCE_CONSTANTS, option)


_POSITION = CONSUMER_KEYS.find(INITIAL_POSITION)
assert _POSITION is not None
_EFO_ONLY = "; with source.reader.type = EFO only"

SOURCE_OPTIONS = KeyTable(
    [
        _five(
            INIT_POSITION, "STREAM_INITIAL_POSITION", ValueType.ENUM,
            "Where the shards of the job's first shard listing start (later shards: "
            "TRIM_HORIZON); LATEST reads the open shards from the moment of that listing.",
            default="LATEST", allowed=_POSITION.allowed,
            java_enum=f"{SOURCE_CONSTANTS}$InitialPosition",
        ),
        _five(
            INIT_TIMESTAMP, "STREAM_INITIAL_TIMESTAMP", ValueType.TIMESTAMP,
            "Start time for AT_TIMESTAMP: a date in source.init.timestamp.format, else epoch "
            "seconds (1459799926.480).",
        ),
        _five(
            INIT_TIMESTAMP_FORMAT, "STREAM_TIMESTAMP_DATE_FORMAT", ValueType.DATE_PATTERN,
            "Java SimpleDateFormat pattern of source.init.timestamp.",
            default="yyyy-MM-dd'T'HH:mm:ss.SSSXXX",
        ),
        _five(
            SHARD_DISCOVERY_INTERVAL, "SHARD_DISCOVERY_INTERVAL", ValueType.DURATION,
            "Pause between ListShards calls looking for new shards (children after "
            "resharding); at least 1 ms.",
            default="10 s", minimum=1,
        ),
        _five(
            GET_RECORDS_MAX, "SHARD_GET_RECORDS_MAX", ValueType.INT,
            "The most records one GetRecords call asks for (Kinesis' limit: 10000).",
            default="10000", minimum=1, maximum=10000,
        ),
        _five(
            READER_TYPE, "READER_TYPE", ValueType.ENUM,
            "POLLING (GetRecords calls) or EFO (enhanced fan-out: a SubscribeToShard "
            "subscription per shard, which needs source.efo.consumer.name).",
            default="POLLING", allowed=("POLLING", "EFO"),
            java_enum=f"{SOURCE_OPTIONS_CLASS}$ReaderType",
        ),
        _five(
            EMPTY_RECORDS_FETCH_INTERVAL, "READER_EMPTY_RECORDS_FETCH_INTERVAL",
            ValueType.DURATION,
            "Time from one GetRecords call of a shard at the tip (an answer that is not behind: "
            "empty, or fewer records than the limit with millisBehindLatest 0) or throttled to "
            "the next; a shard that is behind is read again at once. 5.x pauses 250 ms after an "
            "empty answer only; 200 ms from the call's start is the consumer's "
            "flink.shard.getrecords.intervalmillis, for the same latency.",
            default="200 ms", minimum=0,
        ),
        _five(
            FETCH_THREADS, "FETCH_THREADS", ValueType.INT,
            "Ours (not in connector 5.x): GetRecords calls a subtask has in flight at once, "
            "each for a different shard (threads per subtask); a subtask with at most this many "
            "shards reads them all concurrently.",
            default="16", minimum=1,
        ),
        _five(
            DEDUPLICATION, "DEDUPLICATION", ValueType.BOOLEAN,
            "Ours (not in connector 5.x): drop the duplicates of records written by a committing "
            "(exactly-once) sink, by the pfk-id tag of each user record of its KPL aggregates, "
            "with per-shard marks kept in the checkpoints; records without an id pass untouched. "
            "Drops are counted in the duplicatesDropped metric of each source subtask.",
            default="false",
        ),
        _five(
            EFO_LIFECYCLE, "EFO_CONSUMER_LIFECYCLE", ValueType.ENUM,
            "JOB_MANAGED: the job registers the consumer (reusing one of that name) and "
            "deregisters it when stopped; SELF_MANAGED: registered by you, only looked up by "
            "name" + _EFO_ONLY + ".",
            default="JOB_MANAGED", allowed=("JOB_MANAGED", "SELF_MANAGED"),
            java_enum=f"{SOURCE_OPTIONS_CLASS}$ConsumerLifecycle",
        ),
        _five(
            EFO_CONSUMER, "EFO_CONSUMER_NAME", ValueType.STRING,
            "The EFO consumer's name; required with source.reader.type = EFO (and only then).",
        ),
        _five(
            EFO_SUBSCRIPTION_TIMEOUT, "EFO_CONSUMER_SUBSCRIPTION_TIMEOUT", ValueType.DURATION,
            "How long a SubscribeToShard call may take to start" + _EFO_ONLY + ".",
            default="60 s", minimum=1,
        ),
        _five(
            EFO_DESCRIBE_DELAY_MIN, "EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MIN_DELAY",
            ValueType.DURATION,
            "First pause between DescribeStreamConsumer calls while the consumer becomes "
            "active" + _EFO_ONLY + ".",
            default="2 s", minimum=0,
        ),
        _five(
            EFO_DESCRIBE_DELAY_MAX, "EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_DELAY",
            ValueType.DURATION,
            "Longest pause between DescribeStreamConsumer calls" + _EFO_ONLY + ".",
            default="60 s", minimum=0,
        ),
        _five(
            EFO_DESCRIBE_ATTEMPTS, "EFO_DESCRIBE_CONSUMER_RETRY_STRATEGY_MAX_ATTEMPTS",
            ValueType.INT,
            "DescribeStreamConsumer calls before giving up" + _EFO_ONLY + ".",
            default="100", minimum=1,
        ),
        _five(
            EFO_DEREGISTER_TIMEOUT, "EFO_DEREGISTER_CONSUMER_TIMEOUT", ValueType.DURATION,
            "How long a stopping job waits for a JOB_MANAGED consumer's deregistration"
            + _EFO_ONLY + ".",
            default="10 s", minimum=0,
        ),
        _five(
            "retry-strategy.delay.min", "RETRY_STRATEGY_MIN_DELAY", ValueType.DURATION,
            "Base delay of the source's Kinesis client between attempts of a failed call "
            "(exponential back-off, half of each delay random).",
            default="300 ms", minimum=0,
        ),
        _five(
            "retry-strategy.delay.max", "RETRY_STRATEGY_MAX_DELAY", ValueType.DURATION,
            "Longest delay of the source's Kinesis client between attempts of a failed call.",
            default="1 s", minimum=0,
        ),
        _five(
            "retry-strategy.attempts.max", "RETRY_STRATEGY_MAX_ATTEMPTS", ValueType.INT,
            "Attempts of a Kinesis call by the source's client before it fails (the first "
            "included).",
            default="50", minimum=1,
        ),
        _legacy(INITIAL_POSITION, "STREAM_INITIAL_POSITION"),
        _legacy(INITIAL_TIMESTAMP, "STREAM_INITIAL_TIMESTAMP"),
        _legacy(TIMESTAMP_FORMAT, "STREAM_TIMESTAMP_DATE_FORMAT"),
        _legacy(DISCOVERY_INTERVAL, "SHARD_DISCOVERY_INTERVAL_MILLIS", minimum=1),
    ]
)

# The AWS client keys the source's SDK v2 client reads (AWSClientUtil, as the sink's). Its
# HTTP client is built with no settings, so the sink's HTTP keys do nothing here.
SOURCE_CLIENT_KEYS = KeyTable(
    [key for key in AWS_KEYS.keys if not key.sink_only]
    + [
        Key(
            USER_AGENT_PREFIX,
            ValueType.STRING,
            "User agent prefix of the source's Kinesis client (default: Apache Flink's).",
            java=JavaRef(_SINK_CONSTANTS, "KINESIS_CLIENT_USER_AGENT_PREFIX"),
        )
    ]
)
SOURCE_KEYS = KeyTable([*SOURCE_CLIENT_KEYS.keys, *SOURCE_OPTIONS.keys])

_RETRIED = "retried by the source's Kinesis client as every call: retry-strategy.*"
# Why each FlinkKinesisConsumer key the source lacks has no equivalent in it (first match wins).
_NO_EQUIVALENT: tuple[tuple[str, str], ...] = (
    (EFO_CONSUMER_ARN_PREFIX, f"read only with {RECORD_PUBLISHER} = EFO and "
     f"{EFO_REGISTRATION} = NONE, by both"),
    ("flink.stream.efo.http-client.", "the source's EFO HTTP client has no options"),
    ("flink.stream.registerstreamconsumer.", "the source has no options for "
     "RegisterStreamConsumer's retries and timeout"),
    ("flink.stream.deregisterstreamconsumer.", "the source has no options for "
     "DeregisterStreamConsumer's retries; source.efo.deregister.timeout bounds the wait"),
    ("flink.stream.describestreamconsumer.", "the back-off factor has no equivalent; "
     "source.efo.describe.retry-strategy.delay.* bound the pauses between "
     "DescribeStreamConsumer calls"),
    ("flink.shard.subscribetoshard.", "the source has no options for SubscribeToShard's "
     "retries; source.efo.subscription.timeout bounds a subscription's start"),
    ("flink.shard.getrecords.", f"GetRecords is {_RETRIED}"),
    ("flink.shard.adaptivereads", "the source has no adaptive reads; "
     "source.shard.get-records.max-record-count sets the size of each GetRecords call"),
    ("flink.shard.getiterator.", f"GetShardIterator is {_RETRIED}"),
    ("flink.list.shards.", f"ListShards is {_RETRIED}"),
    ("flink.stream.describe.", "the source does not call DescribeStream"),
    ("flink.shard.consumer.error.recoverable", "the source has no recoverable-exception list: "
     "a failing call fails the task and Flink's restart strategy applies"),
    ("flink.shard.idle.interval", "use WatermarkStrategy.with_idleness(...) in "
     "env.from_source(source, strategy, name)"),
    ("flink.watermark.", "use WatermarkStrategy.with_watermark_alignment(...) in "
     "env.from_source(source, strategy, name)"),
    ("aws.clientconfig.", "an AWS SDK v1 client setting; the source's SDK v2 client has "
     "none"),
)


def _seconds(value: str) -> str:
    return f"{value} s"


def _millis(value: str) -> str:
    return f"{value} ms"


def _attempts(retries: str) -> str:
    return str(int(retries) + 1)


def _lifecycle(registration: str) -> str:
    return "SELF_MANAGED" if registration == "NONE" else "JOB_MANAGED"


# FlinkKinesisConsumer keys with an equivalent in the source: its 5.x name, and the value
# the source takes for the consumer's (a str as Java sees it).
_FROM_CONSUMER: dict[str, tuple[str, Callable[[str], str]]] = {
    INITIAL_POSITION: (INIT_POSITION, str),
    INITIAL_TIMESTAMP: (INIT_TIMESTAMP, str),
    TIMESTAMP_FORMAT: (INIT_TIMESTAMP_FORMAT, str),
    DISCOVERY_INTERVAL: (SHARD_DISCOVERY_INTERVAL, _millis),
    "flink.shard.getrecords.maxrecordcount": (GET_RECORDS_MAX, str),
    GETRECORDS_INTERVAL: (EMPTY_RECORDS_FETCH_INTERVAL, _millis),
    RECORD_PUBLISHER: (READER_TYPE, str),
    EFO_CONSUMER_NAME: (EFO_CONSUMER, str),
    EFO_REGISTRATION: (EFO_LIFECYCLE, _lifecycle),
    "flink.shard.subscribetoshard.timeout": (EFO_SUBSCRIPTION_TIMEOUT, _seconds),
    "flink.stream.describestreamconsumer.backoff.base": (EFO_DESCRIBE_DELAY_MIN, _millis),
    "flink.stream.describestreamconsumer.backoff.max": (EFO_DESCRIBE_DELAY_MAX, _millis),
    "flink.stream.describestreamconsumer.maxretries": (EFO_DESCRIBE_ATTEMPTS, _attempts),
    "flink.stream.deregisterstreamconsumer.timeout": (EFO_DEREGISTER_TIMEOUT, _seconds),
}


def no_equivalent_reason(name: str) -> str | None:
    """Why the consumer key ``name`` means nothing to the source, or None when it does."""
    if SOURCE_KEYS.find(name) is not None or name in _FROM_CONSUMER:
        return None
    for prefix, reason in _NO_EQUIVALENT:
        if name.startswith(prefix):
            return reason
    key = AWS_KEYS.find(name)
    if key is not None and key.sink_only:
        return "the source's HTTP client is built with defaults and ignores it"
    return None


@dataclass
class SourceSettings:
    """What a ``KinesisStreamsSource`` builder was given, before any check."""

    stream_arn: object = None
    stream_name: object = None
    source_config: object = None
    has_deserialization_schema: bool = False


def validate_source(settings: SourceSettings, problems: Problems) -> dict[str, str]:
    """Check every setting of a source; return its config as str -> str.

    Every problem (those already in ``problems`` too) is reported at once in a
    ``KinesisConfigError``: a missing or malformed stream, both an ARN and a name, an ARN of
    another region than ``aws.region``, unknown keys (legacy consumer keys say why they do not
    apply, or their name here), bad values, an option given under its 5.x and its 4.3.0 name,
    EFO without a consumer name, EFO options without EFO, AWS keys a setting needs, a missing
    deserialization schema.
    """
    config = settings.source_config
    checked = CheckedProperties()
    if config is None:
        problems.add("source_config", f"missing; call set_source_config({{'{REGION}': ...}})")
    elif not isinstance(config, Mapping):
        problems.add("source_config", mapping_problem(config))
    else:
        checked = check_properties(config, SOURCE_KEYS, problems, _source_unknown_key)
        check_aws(checked, problems, client="sink", region_of="the source's stream")
        _check_spellings(checked, problems)
        check_start_position(checked, problems, *map(_spelling(checked), (
            INIT_POSITION, INIT_TIMESTAMP, INIT_TIMESTAMP_FORMAT)))
        check_reader(checked, problems)
    _check_stream(settings, checked, problems)
    if not settings.has_deserialization_schema:
        problems.add(
            "deserialization_schema",
            "missing; call set_deserialization_schema(SimpleStringSchema()) or another schema",
        )
    problems.raise_if_any()
    return checked.properties


def _check_spellings(checked: CheckedProperties, problems: Problems) -> None:
    for five, legacy in LEGACY_NAMES.items():
        if five in checked.properties and legacy in checked.properties:
            problems.add(
                five,
                f"given twice: also as {legacy!r}, its connector 4.3.0 name; keep one of them",
            )


def _spelling(checked: CheckedProperties) -> Callable[[str], str]:
    """The name an option is given under in ``checked``; for an option not given, the
    spelling of the start position."""
    legacy = INITIAL_POSITION in checked.properties

    def name(five: str) -> str:
        given = five in checked.properties or LEGACY_NAMES[five] in checked.properties
        return five if five in checked.properties or (not given and not legacy) else (
            LEGACY_NAMES[five])

    return name


def check_reader(checked: CheckedProperties, problems: Problems) -> None:
    """EFO needs a consumer name; the EFO options need EFO."""
    if READER_TYPE in checked.properties and READER_TYPE not in checked.values:
        return  # the reader type itself is invalid, and reported
    if checked.values.get(READER_TYPE) == "EFO":
        if EFO_CONSUMER not in checked.properties:
            problems.add(
                EFO_CONSUMER,
                f"missing; {READER_TYPE} = EFO needs the name of the EFO consumer to read "
                f"with (registered by the job, or by you with {EFO_LIFECYCLE} = SELF_MANAGED)",
            )
        return
    reader = f"{READER_TYPE} is POLLING" if READER_TYPE in checked.values else (
        f"{READER_TYPE} is not set (POLLING)")
    for name in checked.properties:
        if name.startswith(_EFO_PREFIX):
            problems.add(
                name,
                f"is read only with {READER_TYPE} = EFO, and {reader}; set {READER_TYPE} to "
                "EFO or leave this key out",
            )


def _check_stream(settings: SourceSettings, checked: CheckedProperties, problems: Problems) -> None:
    arn, name = settings.stream_arn, settings.stream_name
    if arn is None and name is None:
        problems.add(
            "stream",
            "missing; call set_stream_arn('arn:aws:kinesis:<region>:<account>:stream/<name>') "
            "or set_stream_name('<name>')",
        )
    elif arn is not None and name is not None:
        problems.add("stream", "both set_stream_arn and set_stream_name were called; keep one")
    elif name is not None:
        problem = stream_name_problem(name)
        if problem is not None:
            problems.add("stream_name", problem)
    else:
        problem = stream_arn_problem(arn, checked.values.get(REGION))
        if problem is not None:
            problems.add("stream_arn", problem)


def stream_arn_problem(arn: object, region: object = None) -> str | None:
    """Why ``arn`` is not the ARN of a Kinesis stream in ``region`` (if given), or None."""
    if not isinstance(arn, str):
        return f"expected a stream ARN (str), got {type(arn).__name__}"
    match = _STREAM_ARN.fullmatch(arn)
    if match is None:
        return (
            f"{arn!r} is not a Kinesis stream ARN like "
            "arn:aws:kinesis:us-east-1:123456789012:stream/orders"
        )
    if isinstance(region, str) and match.group(2) != region:
        return (
            f"the stream is in {match.group(2)} but aws.region is {region}: the source's client "
            "only reaches streams of aws.region; use the same region"
        )
    return None


def stream_of_arn(arn: str) -> str:
    """The stream name of a valid stream ARN."""
    match = _STREAM_ARN.fullmatch(arn)
    assert match is not None, arn
    return match.group(4)


def _source_unknown_key(checked: CheckedProperties, name: str) -> str:
    equivalent = source_equivalent(name)
    if equivalent is not None:
        return f"is the FlinkKinesisConsumer's key; this source reads {equivalent}"
    reason = no_equivalent_reason(name)
    if reason is not None:
        return (
            f"has no effect on KinesisStreamsSource: {reason}; "
            "pyflink_kinesis.migrate_consumer(...) lists every such key of a consumer config"
        )
    if name == "stream.arn":
        return (
            "is the 5.x source's stream option; here the stream is set with "
            "set_stream_arn(...) or set_stream_name(...)"
        )
    if name == "source.shard-assigner":
        return (
            "is the 5.x SQL table's shard assigner option; here call "
            "set_kinesis_shard_assigner(...)"
        )
    return unknown_key_message(SOURCE_KEYS, name)


def source_equivalent(consumer_key: str) -> str | None:
    """The source's option for the ``FlinkKinesisConsumer`` key ``consumer_key``, quoted, with
    what its value looks like when the consumer's differs; None when it has none."""
    if consumer_key not in _FROM_CONSUMER:
        return None
    five = _FROM_CONSUMER[consumer_key][0]
    return f"{five!r}{_shape(five)}"


def _shape(name: str) -> str:
    """What a value of the source key ``name`` looks like, when the consumer's differs."""
    key = SOURCE_KEYS.find(name)
    assert key is not None, name
    if key.type is ValueType.DURATION:
        return ", a duration like '10 s' or '250 ms'"
    if key.allowed:
        return ", one of " + ", ".join(key.allowed)
    return ""


@dataclass
class Migration:
    """A ``FlinkKinesisConsumer(streams, deserializer, config)`` call as source settings.

    ``source_config`` holds what the source reads, under connector 5.x's names (start
    position, discovery interval, GetRecords size, EFO reader and consumer, the AWS keys);
    ``streams`` one entry per source to build, with :meth:`config_for` its config; ``dropped``
    every legacy key without an equivalent, with the reason; ``changed`` what reads
    differently.
    """

    streams: list[str]
    source_config: dict[str, object]
    dropped: dict[str, str] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)
    consumer_names: dict[str, str] = field(default_factory=dict)

    def config_for(self, stream: str) -> dict[str, object]:
        """The config of ``stream``'s source: :attr:`source_config`, with the name of the
        stream's own EFO consumer for a consumer registered outside the job (NONE)."""
        if stream not in self.consumer_names:
            return dict(self.source_config)
        return {**self.source_config, EFO_CONSUMER: self.consumer_names[stream]}

    def report(self) -> str:
        """What changes for the job, in words: renamed, changed and dropped keys, the union
        of several streams."""
        lines = [f"  - {name!r}: {change}" for name, change in self.changed.items()]
        if lines:
            lines.insert(0, "changed for the source:")
        if self.dropped:
            lines.append(
                f"{len(self.dropped)} FlinkKinesisConsumer key(s) have no equivalent in "
                "KinesisStreamsSource and are not carried over:"
            )
            lines += [f"  - {name!r}: {reason}" for name, reason in self.dropped.items()]
        if len(self.streams) > 1:
            lines.append(
                f"{len(self.streams)} streams: the source reads one stream each, so there is "
                "one source per stream, unioned into one DataStream (MigratedSources.data_stream "
                "does it); each source has its own operator and name"
            )
        return "\n".join(lines)


def migrate_consumer_config(
    streams: object, config: object, problems: Problems | None = None
) -> Migration:
    """The source settings equivalent to a ``FlinkKinesisConsumer`` call's streams and config.

    The config is first validated as the consumer's (a config the consumer would reject raises
    ``KinesisConfigError`` with every problem); the keys the source has are renamed to
    connector 5.x's names (``flink.stream.initpos`` -> ``source.init.position``, EFO's
    ``flink.stream.efo.*`` -> ``source.reader.type``, ``source.efo.*``); keys with no
    equivalent go to :attr:`Migration.dropped`, never silently.
    """
    problems = problems or Problems("consumer config to migrate")
    consumer_properties(config, streams, problems)
    assert isinstance(config, Mapping)
    names = [streams] if isinstance(streams, str) else list(_as_sequence(streams))
    migration = Migration(names, {})
    efo = _is_efo(config)
    for name, value in config.items():
        text = to_property_string(value)
        five, convert = _FROM_CONSUMER.get(name, ("", str))
        if five.startswith(_EFO_PREFIX) and not efo:
            migration.dropped[name] = f"read only with {RECORD_PUBLISHER} = EFO, by both"
        elif five:
            migration.source_config[five] = value if convert is str else convert(text)
        elif SOURCE_KEYS.find(name) is not None:
            migration.source_config[name] = value
        else:
            reason = no_equivalent_reason(name)
            known = name.startswith(EFO_CONSUMER_ARN_PREFIX) or CONSUMER_KEYS.find(name)
            migration.dropped[name] = (reason if known else None) or "not read by the source"
    _note_changes(config, migration)
    return migration


def _note_changes(config: Mapping[str, object], migration: Migration) -> None:
    """What reads differently after the migration, in ``migration.changed`` (the consumer
    names of NONE's consumer ARNs in ``migration.consumer_names``)."""
    source_config, changed = migration.source_config, migration.changed
    if str(config.get(DISCOVERY_INTERVAL, "")) == "0":
        source_config[SHARD_DISCOVERY_INTERVAL] = "1 ms"
        changed[DISCOVERY_INTERVAL] = "0 (no pause) becomes 1 ms: the source needs at least 1"
    if GETRECORDS_INTERVAL in config:
        changed[GETRECORDS_INTERVAL] = (
            f"becomes {EMPTY_RECORDS_FETCH_INTERVAL}: the same time between calls of a shard at "
            "the tip of its records; a shard that is behind is read again at once"
        )
    if not _is_efo(config):
        return
    registration = to_property_string(config.get(EFO_REGISTRATION, "LAZY"))
    if registration == "EAGER":
        changed[EFO_REGISTRATION] = (
            "EAGER becomes JOB_MANAGED: the consumer is registered when the job starts, not "
            "when the source is built"
        )
    retries = config.get("flink.stream.describestreamconsumer.maxretries")
    if retries is not None:
        changed["flink.stream.describestreamconsumer.maxretries"] = (
            f"{retries} retries become {_attempts(str(retries))} attempts "
            f"({EFO_DESCRIBE_ATTEMPTS} counts the first call)"
        )
    if registration != "NONE":
        return
    # The 5.x source finds a consumer registered outside the job by name, not by ARN.
    source_config.pop(EFO_CONSUMER, None)
    for stream in migration.streams:
        key = EFO_CONSUMER_ARN_PREFIX + stream
        arn = str(config[key])
        match = _CONSUMER_ARN.fullmatch(arn)
        if match is None:
            migration.dropped[key] = (
                "not the ARN of a stream consumer "
                "(arn:aws:kinesis:<region>:<account>:stream/<stream>/consumer/<name>:<time>), "
                f"so its name is unknown: set {EFO_CONSUMER} for this stream's source"
            )
            continue
        migration.consumer_names[stream] = match.group(5)
        migration.dropped.pop(key)
        changed[key] = (
            f"the source looks a SELF_MANAGED consumer up by name: {EFO_CONSUMER} = "
            f"{match.group(5)!r} (from the ARN)"
        )
    if EFO_CONSUMER_NAME in config:
        changed[EFO_CONSUMER_NAME] = (
            "with NONE the consumer name is taken from each stream's consumer ARN instead"
        )


def _is_efo(config: Mapping[str, object]) -> bool:
    return to_property_string(config.get(RECORD_PUBLISHER, "POLLING")) == "EFO"


def _as_sequence(streams: object) -> Sequence[str]:
    assert isinstance(streams, Sequence)
    return [str(stream) for stream in streams]
