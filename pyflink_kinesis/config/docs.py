"""Render the key tables as Markdown: ``python -m pyflink_kinesis.config.docs`` prints them."""

from __future__ import annotations

from pyflink_kinesis.config.aws import AWS_KEYS
from pyflink_kinesis.config.consumer import CONSUMER_KEYS
from pyflink_kinesis.config.keys import Key, KeyTable
from pyflink_kinesis.config.sink import SINK_CLIENT_KEYS, SINK_OPTIONS
from pyflink_kinesis.config.values import describe_range


def _not_aws(table: KeyTable) -> tuple[Key, ...]:
    return tuple(key for key in table.keys if key not in AWS_KEYS.keys)


_SECTIONS = (
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
        "`KinesisStreamsSink` client properties",
        "Besides the AWS keys above.",
        _not_aws(SINK_CLIENT_KEYS),
    ),
    (
        "`KinesisStreamsSink` builder options",
        "Set with the builder's methods; unset options take the connector's default.",
        SINK_OPTIONS.keys,
    ),
)


def render_markdown() -> str:
    """The Markdown reference of every key and option, one table per section."""
    lines = ["# Configuration reference", ""]
    lines += ["Generated from the key tables by `python -m pyflink_kinesis.config.docs`.", ""]
    for title, intro, keys in _SECTIONS:
        lines += [f"## {title}", "", intro, "", *_table(keys), ""]
    return "\n".join(lines)


def _table(keys: tuple[Key, ...]) -> list[str]:
    rows = [
        "| Key | Type | Default | Allowed | Description |",
        "| --- | --- | --- | --- | --- |",
    ]
    for key in keys:
        cells = (f"`{key.name}`", _type(key), _code(key.default), _allowed(key), _description(key))
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


if __name__ == "__main__":
    print(render_markdown())
