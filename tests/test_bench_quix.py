"""Quix Streams in the benchmark (bench/perf_quix.py, bench.performance.Quix): the parts that
need no Kafka broker. `python -m bench.performance --quick` runs the real thing."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import pytest

from bench import perf_quix
from bench.perf_common import Cell
from bench.performance import PROFILES, Quix, quix_drain_rate


def test_without_its_virtualenv_quix_is_skipped_with_the_command_that_sets_it_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(perf_quix, "QUIX_PYTHON", perf_quix.QUIX_DIR / "no-venv" / "python")
    reason = perf_quix.unavailable()
    assert reason is not None and "make bench-quix" in reason
    quix = Quix()
    assert not quix.on
    assert quix.status["status"] == "skipped" and "make bench-quix" in quix.status["reason"]


def test_without_the_kafka_jars_quix_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    python = tmp_path / "python"
    python.touch()
    monkeypatch.setattr(perf_quix, "QUIX_PYTHON", python)
    monkeypatch.setattr(perf_quix, "KAFKA_LIB", perf_quix.QUIX_DIR / "no-kafka-lib")
    reason = perf_quix.unavailable()
    assert reason is not None and "Kafka 3.9.1 jars" in reason


def test_a_quix_drain_counts_from_its_first_record_and_needs_them_all() -> None:
    cell = Cell(1024, 4, 1001)
    drain = {"records": 1001, "run_at": 0.0, "first_at": 5.0, "last_at": 7.0}
    assert quix_drain_rate(drain, cell) == 500.0
    with pytest.raises(RuntimeError, match="saw 1000 of 1001"):
        quix_drain_rate({**drain, "records": 1000}, cell)


class _Streams:
    """Stands in for a server in the one test where no Kinesis call is reached."""

    endpoint, region = "http://127.0.0.1:1", "us-east-1"

    def new_stream(self, purpose: str, shards: int) -> str:
        return f"bench-{purpose}"

    def drop(self, *streams: str) -> None:
        pass


def test_a_failed_quix_run_is_recorded_and_ends_the_quix_runs(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    @contextmanager
    def broken_broker() -> Iterator[str]:
        raise perf_quix.QuixError("the Kafka broker did not start on port 1")
        yield "never"

    monkeypatch.setattr(perf_quix, "unavailable", lambda: None)
    monkeypatch.setattr(perf_quix, "kafka_broker", broken_broker)
    quix = Quix()
    assert quix.on
    server: Any = _Streams()
    assert quix.cell(server, PROFILES["quick"], 1024, 1, "bench-source") == []
    assert not quix.on
    assert quix.status["status"] == "failed"
    assert quix.status["reason"] == "1KiB x 1 shards: the Kafka broker did not start on port 1"
