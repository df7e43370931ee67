"""Pytest plugin: a session-wide local Kinesis server and per-test streams.

Load it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.kinesis_fixtures"]``.

* ``local_kinesis`` (session): one kinesalite server for the whole run, stopped at the end.
  It needs kinesalite installed (``make kinesis-server``); if it is missing, every test that
  uses it errors with install instructions.
* ``stream_factory`` (function): ``make_stream(shard_count=1) -> str`` creates a uniquely named
  ACTIVE stream; all of them are deleted after the test.

When a test that used the server fails, the tail of the server log is added to its report.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Generator, Iterator, Protocol

import pytest

from pyflink_kinesis.testing.local_kinesis import LocalKinesis

__all__ = ["MakeStream", "local_kinesis", "pytest_runtest_makereport", "stream_factory"]

_SERVER_KEY = pytest.StashKey[LocalKinesis]()
_LOG_TAIL_LINES = 60


class MakeStream(Protocol):
    """Type of the ``stream_factory`` fixture: creates a stream, returns its name."""

    def __call__(self, shard_count: int = 1) -> str: ...


@pytest.fixture(scope="session")
def local_kinesis(request: pytest.FixtureRequest) -> Iterator[LocalKinesis]:
    """A running kinesalite server shared by the whole test session."""
    server = LocalKinesis()
    request.config.stash[_SERVER_KEY] = server
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def stream_factory(
    local_kinesis: LocalKinesis, request: pytest.FixtureRequest
) -> Iterator[MakeStream]:
    """Create uniquely named streams on ``local_kinesis``; deletes them after the test."""
    prefix = re.sub(r"[^a-zA-Z0-9_.-]+", "-", request.node.name).strip("-")[:80] or "stream"
    created: list[str] = []

    def make_stream(shard_count: int = 1) -> str:
        name = f"{prefix}-{len(created)}-{uuid.uuid4().hex[:8]}"
        local_kinesis.create_stream(name, shard_count)
        created.append(name)
        return name

    yield make_stream
    if local_kinesis.is_running:
        for name in reversed(created):
            local_kinesis.delete_stream(name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Add the server log tail to the report of a failed test that used ``local_kinesis``."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed or "local_kinesis" not in getattr(item, "fixturenames", ()):
        return
    server = item.config.stash.get(_SERVER_KEY, None)
    if server is None:
        return
    tail = server.log_tail(_LOG_TAIL_LINES) or "(the server printed nothing)"
    where = server.log_path or "log removed after stop"
    report.sections.append(
        (f"local Kinesis server log, last {_LOG_TAIL_LINES} lines ({where})", tail)
    )
