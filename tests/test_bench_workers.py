"""bench.perf_raw's worker processes: a worker that dies is reported at once, not waited for."""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest

from bench import perf_raw


def dies_or_reports(barrier: Any, queue: Any, code: int) -> None:
    if code:
        sys.exit(code)
    barrier.wait()  # never passes when another worker died: it must be stopped from outside
    queue.put(code)


def test_workers_report_their_results() -> None:
    assert perf_raw._run_workers(dies_or_reports, [(0,), (0,)]) == [0, 0]


def test_a_worker_that_dies_is_an_error_within_seconds() -> None:
    started = time.monotonic()
    with pytest.raises(RuntimeError, match=r"exited with code 3 before reporting.*__main__"):
        perf_raw._run_workers(dies_or_reports, [(0,), (3,)])
    assert time.monotonic() - started < 30
