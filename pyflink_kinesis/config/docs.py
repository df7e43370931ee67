"""Render the key tables as Markdown: ``pyflink-kinesis config`` prints them; ``make docs``
writes them as the configuration page (``pyflink-kinesis docs configuration``)."""

from __future__ import annotations

from typing import Sequence

from pyflink_kinesis.config.aws import AWS_KEYS
from pyflink_kinesis.config.consumer import CONSUMER_KEYS
from pyflink_kinesis.config.firehose import (
    FIREHOSE_CLIENT_KEYS,
    FIREHOSE_OPTIONS,
    FIREHOSE_TABLE_KEYS,
)
from pyflink_kinesis.config.keys import Key, KeyTable
from pyflink_kinesis.config.sink import (
    AGGREGATION_ARGUMENTS,
    AGGREGATION_OPTIONS,
    EXACTLY_ONCE_OPTIONS,
    KEY_ORDER_OPTIONS,
    SINK_CLIENT_KEYS,
    SINK_OPTIONS,
)
from pyflink_kinesis.config.source import SOURCE_OPTIONS
from pyflink_kinesis.config.table import (
    FORMAT_KEYS,
    SOURCE_METADATA,
    STREAM_ARN_KEY,
    TABLE_COMMON_KEYS,
    TABLE_KEYS,
    TABLE_SINK_KEYS,
    TABLE_SOURCE_KEYS,
)
from pyflink_kinesis.config.validation import Problems, unknown_key_message
from pyflink_kinesis.config.values import describe_range

# Options a user sets as arguments of one builder method, shown as they write them.
AS_WRITTEN = {
    name: f"set_aggregation({argument}=...)" for name, argument in AGGREGATION_ARGUMENTS.items()
}


def _not_aws(table: KeyTable) -> tuple[Key, ...]:
    return tuple(key for key in table.keys if key not in AWS_KEYS.keys)


# The reference's sections: title, introduction and the keys of its table.
SECTIONS = (
    (
        "AWS keys (consumer config and sink client properties)",
        "Region, endpoint and credentials. `aws.region` is required. Keys marked *sink only* "
        "are read by `KinesisStreamsSink` alone; the consumer config rejects them.",
        AWS_KEYS.keys,
    ),
    (
        "`FlinkKinesisConsumer` keys",
        "Start position, record publisher (polling or EFO), retries of each Kinesis call, "
        "shard discovery and watermarks. Values are checked the way the connector reads them.",
        _not_aws(CONSUMER_KEYS),
    ),
    (
        "`KinesisStreamsSource` (FLIP-27) options",
        "Beside the AWS keys above (and `aws.kinesis.client.user-agent-prefix`), in "
        "`set_source_config`: connector 5.x's names, so a 5.x source's config runs unchanged. "
        "Durations are Flink's (`10 s`, `250 ms`, `1 min`; a number alone is milliseconds). "
        "The last four are connector 4.3.0's names of four of them, accepted instead (one "
        "option under both names is an error). The consumer's other keys are rejected with "
        "their name here or why there is none (see `pyflink-kinesis docs source`).",
        SOURCE_OPTIONS.keys,
    ),
    (
        "`KinesisStreamsSink` client properties",
        "Besides the AWS keys above.",
        _not_aws(SINK_CLIENT_KEYS),
    ),
    (
        "`KinesisStreamsSink` builder options",
        "Set with the builder's methods; unset options take the connector's default.",
        SINK_OPTIONS.keys,
    ),
    (
        "`KinesisStreamsSink` KPL aggregation",
        "Set with `set_aggregation(...)` (our sink, opt-in); see \"KPL aggregation\" in "
        "`pyflink-kinesis docs sink`. With it, `max_batch_size`, `max_buffered_requests` and "
        "the byte limits count aggregates, not user records.",
        AGGREGATION_OPTIONS.keys,
    ),
    (
        "`KinesisStreamsSink` per-key order",
        "Set with `set_keep_key_order()` (our writer, opt-in); see \"Per-key order\" in "
        "`pyflink-kinesis docs sink`. Works with and without aggregation; "
        "`max_in_flight_requests` and the batch limits keep their meaning.",
        KEY_ORDER_OPTIONS.keys,
    ),
    (
        "`KinesisStreamsSink` exactly-once",
        "Set with `set_delivery_guarantee('exactly-once', ...)` (our committing sink, opt-in; "
        "needs checkpointing); see \"Exactly-once\" in `pyflink-kinesis docs sink`. It takes "
        "none of the options above.",
        EXACTLY_ONCE_OPTIONS.keys,
    ),
    (
        "SQL `kinesis` tables: options of every table",
        "The WITH options of a `'connector' = 'kinesis'` table, checked by `table_options` and "
        "`check_ddl`. `stream` (or `stream.arn`, below), `format` and `aws.region` are "
        "required. The AWS keys are those "
        "above, `aws.credentials.provider.` shortened to `aws.credentials.` (a table would not "
        "read the long form). `table_options` also takes the DataStream keys (`flink.*`, "
        "`aws.credentials.provider.*`, `aws.http*`) and returns them under their table names.",
        TABLE_COMMON_KEYS.keys,
    ),
    (
        "SQL `kinesis` tables with `stream`: source options",
        "Read by `FlinkKinesisConsumer` only: its keys with `flink.` written `scan.` "
        "(and `initpos.timestamp` written `initpos-timestamp`). The `source.*` options of "
        "`stream.arn` tables are rejected with their `scan.*` equivalent.",
        TABLE_SOURCE_KEYS.keys,
    ),
    (
        "SQL `kinesis` tables with `stream.arn`",
        "Connector 5.x's `kinesis` DDL: a table that names its stream by `stream.arn` is read "
        "by `KinesisStreamsSource`, with the `source.*` options of the `KinesisStreamsSource` "
        "section above (not its `retry-strategy.*` or 4.3.0 names), besides the options of "
        "every table and the sink options. `scan.*` options are rejected with their "
        "`source.*` equivalent.",
        (STREAM_ARN_KEY,),
    ),
    (
        "SQL `kinesis` tables: sink options",
        "Read by the sink only. Unset options take the `KinesisStreamsSink` builder's defaults. "
        "The `sink.producer.*` options of older sinks are rejected with their replacement.",
        TABLE_SINK_KEYS.keys,
    ),
    (
        "SQL formats' options",
        "Checked against the table's `format`: another format's options are problems. Options "
        "of formats not listed here pass unchecked. Allowed string values take any letter case.",
        tuple(key for keys in FORMAT_KEYS.values() for key in keys.keys),
    ),
    (
        "`KinesisFirehoseSink` client properties",
        "Besides the AWS keys above (`pyflink-kinesis docs firehose`).",
        _not_aws(FIREHOSE_CLIENT_KEYS),
    ),
    (
        "`KinesisFirehoseSink` builder options",
        "Set with the builder's methods; unset options take the connector's default. Values "
        "above Firehose's PutRecordBatch limits are lowered to them, with a warning.",
        FIREHOSE_OPTIONS.keys,
    ),
    (
        "SQL `firehose` tables",
        "The WITH options of a `'connector' = 'firehose'` table (a sink), besides the AWS "
        "options of `kinesis` tables and their `sink.http-client.*` options. "
        "`delivery-stream`, `format` and `aws.region` are required.",
        tuple(key for key in FIREHOSE_TABLE_KEYS.keys if key not in TABLE_KEYS.keys),
    ),
)


def render_markdown() -> str:
    """The Markdown reference of every key and option, one table per section."""
    lines = ["# Configuration reference", ""]
    lines += ["Generated from the key tables by `pyflink-kinesis config`.", ""]
    for title, intro, keys in SECTIONS:
        lines += [f"## {title}", "", intro, "", *_table(keys), ""]
    lines += [*_metadata_section(), ""]
    return "\n".join(lines)


def render_keys(names: Sequence[str]) -> str:
    """The reference rows of the keys ``names``, under the titles of their sections.

    Raises :class:`~pyflink_kinesis.errors.KinesisConfigError` naming each unknown key and the
    closest known one.
    """
    problems = Problems("key names")
    lines: list[str] = []
    for name in names:
        found = [(title, key) for title, _, keys in SECTIONS
                 if (key := KeyTable(list(keys)).find(name)) is not None]
        if not found:
            every = {key.name: key for _, _, keys in SECTIONS for key in keys}  # once each
            problems.add(name, unknown_key_message(KeyTable(list(every.values())), name))
        for title, key in found:
            lines += [f"## {title}", "", *_table((key,)), ""]
    problems.raise_if_any()
    return "\n".join(lines).rstrip("\n")


def _metadata_section() -> list[str]:
    intro = (
        "Declare them as `<column> <type> METADATA FROM '<key>'`, VIRTUAL when the table is "
        "written to as well (the sink has no metadata)."
    )
    rows = [f"| `{column.key}` | `{column.type}` | {column.doc} |" for column in SOURCE_METADATA]
    header = ["| Key | Type | Description |", "| --- | --- | --- |"]
    return ["## SQL `kinesis` tables: source metadata columns", "", intro, "", *header, *rows]


def _table(keys: tuple[Key, ...]) -> list[str]:
    rows = [
        "| Key | Type | Default | Allowed | Description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key in keys:
        name = AS_WRITTEN.get(key.name, key.name)
        cells = (f"`{name}`", _type(key), _code(key.default), _allowed(key), _description(key))
        rows.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return rows


def _type(key: Key) -> str:
    if key.nests is not None:
        return "as the nested key"
    return f"{key.type.value} ({key.unit})" if key.unit else key.type.value


def _code(value: str | None) -> str:
    return f"`{value}`" if value is not None else ""


def _allowed(key: Key) -> str:
    if key.allowed:
        return ", ".join(f"`{value}`" for value in key.allowed)
    return describe_range(key)


def _description(key: Key) -> str:
    notes = [key.doc]
    if key.secret:
        notes.append("Secret: shown as `****`.")
    if key.sink_only:
        notes.append("*Sink only.*")
    return " ".join(notes)
