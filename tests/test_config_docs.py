"""The Markdown reference generated from the key tables."""

from __future__ import annotations

import subprocess
import sys

from pyflink_kinesis.config import CONSUMER_KEYS, SINK_CLIENT_KEYS, SINK_OPTIONS
from pyflink_kinesis.config.docs import render_markdown


def table_rows(markdown: str) -> dict[str, str]:
    """Each table row by the key in its first cell."""
    rows = {}
    for line in markdown.splitlines():
        if line.startswith("| `"):
            rows[line.split("`")[1]] = line
    return rows


def test_every_key_and_option_has_exactly_one_row() -> None:
    markdown = render_markdown()
    names = {
        key.name for table in (CONSUMER_KEYS, SINK_CLIENT_KEYS, SINK_OPTIONS) for key in table.keys
    }
    row_count = sum(1 for line in markdown.splitlines() if line.startswith("| `"))
    assert set(table_rows(markdown)) == names
    assert row_count == len(names)


def test_rows_show_type_default_range_and_notes() -> None:
    rows = table_rows(render_markdown())
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


def test_module_prints_the_reference() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pyflink_kinesis.config.docs"],
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
