"""Jobs still stopping after a test, and the clean-ups that must wait for them.

Cancelling a job is acknowledged at once, but the job takes a while to stop (about 2 s for a
Python job, tens of seconds for EFO readers on kinesis-mock). A test need not wait for that,
unless something the job still uses goes away: a stream deleted under a source fails the job
while it is being cancelled, Flink 1.20 can then restart it after CANCELED, and its mini-cluster
stops the whole JVM (FatalExitExceptionHandler), failing the next test (seen once in CI). So
``Job.cancel`` registers the job here and returns, stream deletions are run once no registered
job is still stopping (at a later test's clean-up, or at the end of the session, where the
servers wait for every job to stop before they go).
"""

from __future__ import annotations

import time
from typing import Callable

_stopped_probes: list[Callable[[], bool]] = []
_waiting: list[Callable[[], None]] = []


def track(is_stopped: Callable[[], bool]) -> None:
    """A job being cancelled; ``is_stopped`` says whether it has stopped (an error: stopped)."""
    _stopped_probes.append(is_stopped)


def _still_stopping() -> bool:
    def stopped(probe: Callable[[], bool]) -> bool:
        try:
            return probe()
        except Exception:  # the gateway or the job's mini-cluster is gone: nothing runs
            return True

    _stopped_probes[:] = [probe for probe in _stopped_probes if not stopped(probe)]
    return bool(_stopped_probes)


def when_jobs_stopped(action: Callable[[], None]) -> None:
    """Run ``action`` now if no tracked job is still stopping, else once none is."""
    _waiting.append(action)
    if not _still_stopping():
        _run_waiting()


def wait_for_jobs(timeout_s: float = 120.0) -> None:
    """Wait until every tracked job has stopped (at most ``timeout_s``), then run what waited."""
    deadline = time.monotonic() + timeout_s
    while _still_stopping() and time.monotonic() < deadline:
        time.sleep(0.2)
    _stopped_probes.clear()
    _run_waiting()


def _run_waiting() -> None:
    actions = list(_waiting)
    _waiting.clear()
    for action in actions:
        action()
