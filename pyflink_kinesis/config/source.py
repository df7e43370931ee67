"""``KinesisStreamsSource`` (FLIP-27) settings: its option keys, ``validate_source`` and the
migration of a ``FlinkKinesisConsumer`` config.

The source (ours, on connector 4.3.0-1.19's client) polls (GetRecords, no EFO), reads one stream
named by its ARN, and takes the connector's four options in a Flink ``Configuration`` beside the
AWS client keys. The options keep the legacy consumer's names (``flink.stream.initpos`` ...), read
from ``KinesisStreamsSourceConfigConstants``; later connector lines rename them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Mapping, Sequence

from pyflink_kinesis.config.aws import AWS_KEYS, REGION, check_aws
from pyflink_kinesis.config.consumer import (
    CONSUMER_KEYS,
    EFO_CONSUMER_ARN_PREFIX,
    INITIAL_POSITION,
    INITIAL_TIMESTAMP,
    TIMESTAMP_FORMAT,
    check_start_position,
    consumer_properties,
)
from pyflink_kinesis.config.keys import JavaRef, Key, KeyTable, ValueType
from pyflink_kinesis.config.table import NEWER_CONNECTOR_OPTIONS, STREAM, java_key
from pyflink_kinesis.config.validation import (
    CheckedProperties,
    Problems,
    check_properties,
    mapping_problem,
    unknown_key_message,
)
from pyflink_kinesis.config.values import stream_name_problem

SOURCE_CONSTANTS = (
    "org.apache.flink.connector.kinesis.source.config.KinesisStreamsSourceConfigConstants"
)
DISCOVERY_INTERVAL = "flink.shard.discovery.intervalmillis"
USER_AGENT_PREFIX = "aws.kinesis.client.user-agent-prefix"
_SINK_CONSTANTS = "org.apache.flink.connector.kinesis.sink.KinesisStreamsConfigConstants"

# arn:<partition>:kinesis:<region>:<12-digit account>:stream/<name>
_STREAM_ARN = re.compile(
    r"arn:(aws[a-z-]*):kinesis:([a-z0-9-]+):([0-9]{12}):stream/([a-zA-Z0-9_.-]{1,128})"
)


def _sc(option: str) -> JavaRef:
    """A ``ConfigOption`` of the source's constants (its key and default are read from it)."""
    return JavaRef(SOURCE_CONSTANTS, option)


def _option(name: str, java: str, doc: str | None = None, minimum: int | None = None) -> Key:
    """The consumer's key of the same name, mirroring the source's ``ConfigOption`` ``java``."""
    key = CONSUMER_KEYS.find(name)
    assert key is not None, name
    return replace(
        key,
        doc=doc or key.doc,
        minimum=key.minimum if minimum is None else minimum,
        java=_sc(java),
        java_default=_sc(java) if key.default is not None else None,
        java_enum=f"{SOURCE_CONSTANTS}$InitialPosition" if key.java_enum else None,
    )


SOURCE_OPTIONS = KeyTable(
    [
        _option(
            INITIAL_POSITION,
            "STREAM_INITIAL_POSITION",
            doc="Where the shards of the job's first shard listing start (later shards: "
            "TRIM_HORIZON); LATEST reads the open shards from the moment of that listing.",
        ),
        _option(
            INITIAL_TIMESTAMP,
            "STREAM_INITIAL_TIMESTAMP",
            doc="Start time for AT_TIMESTAMP: a date in the format, else epoch seconds "
            "(1459799926.480).",
        ),
        _option(TIMESTAMP_FORMAT, "STREAM_TIMESTAMP_DATE_FORMAT"),
        _option(
            DISCOVERY_INTERVAL,
            "SHARD_DISCOVERY_INTERVAL_MILLIS",
            doc="Pause between ListShards calls looking for new shards (children after "
            "resharding); at least 1.",
            minimum=1,
        ),
        Key(
            "source.reader.fetch-threads",
            ValueType.INT,
            "GetRecords calls a subtask has in flight at once, each for a different shard "
            "(threads per subtask); a subtask with at most this many shards reads them all "
            "concurrently.",
            default="16",
            minimum=1,
            java=JavaRef("io.pyflinkkinesis.source.reader.ReaderOptions", "FETCH_THREADS"),
        ),
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

# Why each FlinkKinesisConsumer key the source lacks has no equivalent in it (first match wins).
_NO_EQUIVALENT: tuple[tuple[str, str], ...] = (
    ("flink.stream.recordpublisher", "this source only polls (no EFO) in connector 4.3.0"),
    ("flink.stream.efo.", "EFO: this source only polls in connector 4.3.0"),
    ("flink.stream.registerstreamconsumer.", "EFO: this source only polls in connector 4.3.0"),
    ("flink.stream.deregisterstreamconsumer.", "EFO: this source only polls in connector 4.3.0"),
    ("flink.stream.describestreamconsumer.", "EFO: this source only polls in connector 4.3.0"),
    ("flink.shard.subscribetoshard.", "EFO: this source only polls in connector 4.3.0"),
    ("flink.shard.getrecords.", "GetRecords is fixed in this source: Kinesis' default limit, "
     "200 ms after an empty answer, the AWS SDK's retries"),
    ("flink.shard.adaptivereads", "GetRecords is fixed in this source (no adaptive reads)"),
    ("flink.shard.getiterator.", "the source retries GetShardIterator with the AWS SDK's "
     "policy, not configurable"),
    ("flink.list.shards.", "the source retries ListShards with the AWS SDK's policy, "
     "not configurable"),
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


def no_equivalent_reason(name: str) -> str | None:
    """Why the consumer key ``name`` means nothing to the source, or None when it does."""
    if SOURCE_KEYS.find(name) is not None:
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
    apply), bad values, AWS keys a setting needs, a missing deserialization schema.
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
        check_start_position(checked, problems)
    _check_stream(settings, checked, problems)
    if not settings.has_deserialization_schema:
        problems.add(
            "deserialization_schema",
            "missing; call set_deserialization_schema(SimpleStringSchema()) or another schema",
        )
    problems.raise_if_any()
    return checked.properties


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
    reason = no_equivalent_reason(name)
    if reason is not None:
        return (
            f"has no effect on KinesisStreamsSource (connector 4.3.0): {reason}; "
            "pyflink_kinesis.migrate_consumer(...) lists every such key of a consumer config"
        )
    if name in NEWER_CONNECTOR_OPTIONS:
        return _newer_connector_problem(name)
    return unknown_key_message(SOURCE_KEYS, name)


def _newer_connector_problem(name: str) -> str:
    """The problem of a 5.x source key (the SQL table's map of them says what 4.3 reads)."""
    newer = "is a key of the 5.x connector's KinesisStreamsSource"
    option = NEWER_CONNECTOR_OPTIONS[name]
    if option == STREAM:
        return f"{newer}; here the stream is set with set_stream_arn(...) or set_stream_name(...)"
    key = java_key(option)
    found = SOURCE_KEYS.find(key)
    if found is not None:
        unit = f", in {found.unit}" if found.unit else ""
        return f"{newer}; this 4.3 source reads {key!r}{unit}"
    reason = no_equivalent_reason(key)
    return f"{newer}; connector 4.3.0's source has no equivalent" + (
        f" ({reason})" if reason else "")


@dataclass
class Migration:
    """A ``FlinkKinesisConsumer(streams, deserializer, config)`` call as source settings.

    ``source_config`` holds the keys the source reads (start position and its timestamp, the
    discovery interval, the AWS keys), ``streams`` one entry per source to build, and
    ``dropped`` every legacy key without an equivalent, with the reason.
    """

    streams: list[str]
    source_config: dict[str, object]
    dropped: dict[str, str] = field(default_factory=dict)
    changed: dict[str, str] = field(default_factory=dict)

    def report(self) -> str:
        """What changes for the job, in words: dropped keys and the union of several streams."""
        lines = [f"  - {name!r}: {change}" for name, change in self.changed.items()]
        if lines:
            lines.insert(0, "changed for the source:")
        if self.dropped:
            lines.append(
                f"{len(self.dropped)} FlinkKinesisConsumer key(s) have no equivalent in "
                "KinesisStreamsSource (connector 4.3.0) and are not carried over:"
            )
            lines += [f"  - {name!r}: {reason}" for name, reason in self.dropped.items()]
        if len(self.streams) > 1:
            lines.append(
                f"{len(self.streams)} streams: the source reads one stream each, so there is "
                "one source per stream, unioned into one DataStream (Migration.from_sources "
                "does it); each source has its own operator and name"
            )
        return "\n".join(lines)


def migrate_consumer_config(
    streams: object, config: object, problems: Problems | None = None
) -> Migration:
    """The source settings equivalent to a ``FlinkKinesisConsumer`` call's streams and config.

    The config is first validated as the consumer's (a config the consumer would reject raises
    ``KinesisConfigError`` with every problem); keys with no equivalent go to
    :attr:`Migration.dropped`, never silently.
    """
    problems = problems or Problems("consumer config to migrate")
    consumer_properties(config, streams, problems)
    assert isinstance(config, Mapping)
    names = [streams] if isinstance(streams, str) else list(_as_sequence(streams))
    kept: dict[str, object] = {}
    dropped: dict[str, str] = {}
    for name, value in config.items():
        if SOURCE_KEYS.find(name) is not None:
            kept[name] = value
        elif name.startswith(EFO_CONSUMER_ARN_PREFIX) or CONSUMER_KEYS.find(name) is not None:
            dropped[name] = no_equivalent_reason(name) or "not read by the source"
        else:
            dropped[name] = "not read by the source"
    changed = {}
    if str(kept.get(DISCOVERY_INTERVAL, "")) == "0":
        kept[DISCOVERY_INTERVAL] = 1
        changed[DISCOVERY_INTERVAL] = "0 (no pause) becomes 1 ms: the source needs at least 1"
    return Migration(names, kept, dropped, changed)


def _as_sequence(streams: object) -> Sequence[str]:
    assert isinstance(streams, Sequence)
    return [str(stream) for stream in streams]
