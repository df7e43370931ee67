"""The Markdown reference generated from the key tables."""

from __future__ import annotations

import subprocess
import sys

from pyflink_kinesis.config import (
    AGGREGATION_OPTIONS,
    CONSUMER_KEYS,
    EXACTLY_ONCE_OPTIONS,
    FORMAT_KEYS,
    KEY_ORDER_OPTIONS,
    SINK_CLIENT_KEYS,
    SINK_OPTIONS,
    TABLE_KEYS,
)
from pyflink_kinesis.config.docs import AS_WRITTEN, SECTIONS, render_markdown
from pyflink_kinesis.config.firehose import (
    FIREHOSE_CLIENT_KEYS,
    FIREHOSE_OPTIONS,
    FIREHOSE_TABLE_KEYS,
)
from pyflink_kinesis.config.source import SOURCE_OPTIONS
from pyflink_kinesis.config.table import SOURCE_METADATA, STREAM_ARN_TABLE_KEYS

METADATA_SECTION = "SQL `kinesis` tables: source metadata columns"


def section_rows(markdown: str) -> dict[str, list[tuple[str, str]]]:
    """Each section's table rows, in order, as (key in the first cell, row)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for line in markdown.splitlines():
        if line.startswith("## "):
            rows = sections.setdefault(line[3:], [])
        elif line.startswith("| `"):
            rows.append((line.split("`")[1], line))
    return sections


def table_rows(markdown: str, section: str) -> dict[str, str]:
    """The table rows of one section by the key in their first cell."""
    return dict(section_rows(markdown)[section])


def test_every_key_and_option_has_exactly_one_row_in_its_section() -> None:
    sections = section_rows(render_markdown())
    for title, _, keys in SECTIONS:
        assert [name for name, _ in sections[title]] == [
            AS_WRITTEN.get(key.name, key.name) for key in keys
        ]
    metadata = [column.key for column in SOURCE_METADATA]
    assert [name for name, _ in sections[METADATA_SECTION]] == metadata
    assert list(sections) == [title for title, _, _ in SECTIONS] + [METADATA_SECTION]


def test_every_key_table_is_documented() -> None:
    tables = (
        CONSUMER_KEYS, SOURCE_OPTIONS, SINK_CLIENT_KEYS, SINK_OPTIONS, AGGREGATION_OPTIONS,
        KEY_ORDER_OPTIONS, EXACTLY_ONCE_OPTIONS, TABLE_KEYS, STREAM_ARN_TABLE_KEYS,
        *FORMAT_KEYS.values(), FIREHOSE_CLIENT_KEYS, FIREHOSE_OPTIONS, FIREHOSE_TABLE_KEYS,
    )
    documented = {key.name for _, _, keys in SECTIONS for key in keys}
    assert documented == {key.name for table in tables for key in table.keys}


def test_rows_show_type_default_range_and_notes() -> None:
    markdown = render_markdown()
    rows = {
        **table_rows(markdown, "`FlinkKinesisConsumer` keys"),
        **table_rows(markdown, "AWS keys (consumer config and sink client properties)"),
    }
    assert rows["flink.shard.getrecords.intervalmillis"] == (
        "| `flink.shard.getrecords.intervalmillis` | long (ms) | `200` | 0 to 299999 | "
        "Pause between GetRecords calls on a shard; below 300000. |"
    )
    assert "`LAZY`, `EAGER`, `NONE`" in rows["flink.stream.efo.registration"]
    assert "Secret: shown as `****`." in rows["aws.credentials.provider.basic.secretkey"]
    assert "*Sink only.*" in rows["aws.trust.all.certificates"]
    assert (
        "| as the nested key |" in rows["aws.credentials.provider.role.provider.<credential key>"]
    )


def test_sql_rows_name_table_options_in_their_docs_too() -> None:
    markdown = render_markdown()
    common = table_rows(markdown, "SQL `kinesis` tables: options of every table")
    source = table_rows(markdown, "SQL `kinesis` tables with `stream`: source options")
    sink = table_rows(markdown, "SQL `kinesis` tables: sink options")
    assert "Any aws.credentials.* key," in common["aws.credentials.role.provider.<credential key>"]
    timestamp_format = source["scan.stream.initpos-timestamp-format"]
    assert "pattern of scan.stream.initpos-timestamp." in timestamp_format
    assert "more than sink.batch.max-size." in sink["sink.requests.max-buffered"]
    assert "| `\\|` |" in sink["sink.partitioner-field-delimiter"]
    assert table_rows(markdown, METADATA_SECTION)["shard-id"] == (
        "| `shard-id` | `VARCHAR(128) NOT NULL` | The shard the record was read from. |"
    )


def test_the_config_command_prints_the_reference() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyflink_kinesis", "config"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout == render_markdown() + "\n"


def test_the_committed_reference_is_up_to_date() -> None:
    """docs/configuration.md is generated; regenerate it with `make docs` after a table change."""
    from pathlib import Path

    from pyflink_kinesis.config.docs import render_markdown

    committed = Path(__file__).parents[1] / "docs" / "configuration.md"
    assert committed.read_text() == render_markdown() + "\n"
