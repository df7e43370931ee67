"""Pytest plugin: session-wide local Kinesis servers and per-test streams.

Load it from ``tests/conftest.py`` with ``pytest_plugins = ["tests.support.kinesis_fixtures"]``.

* ``local_kinesis`` (session): one kinesalite server for the whole run, stopped at the end.
  It needs kinesalite installed (``make kinesis-server``); if it is missing, every test that
  uses it errors with install instructions.
* ``stream_factory`` (function): ``make_stream(shard_count=1) -> str`` creates a uniquely named
  ACTIVE stream; all of them are deleted after the test, once no cancelled job is still
  stopping (``tests.support.stopping``).
* ``kinesis_mock`` (session): one kinesis-mock server (enhanced fan-out, UpdateShardCount) for
  the whole run, started on first use and stopped at the end; it also needs
  ``make kinesis-server``.
* ``aws_config`` (function): client settings for ``local_kinesis``, written as a user would
  (BASIC credentials, the secret key ``local-secret-key``).
* ``mock_stream_factory`` (function): like ``stream_factory``, on ``kinesis_mock``; the streams
  are deleted with their consumers after the test.

When a test that used a server fails, the tail of that server's log is added to its report.
"""

from __future__ import annotations

import re
import uuid
from typing import Any, Generator, Iterator, Protocol

import pytest

from pyflink_kinesis.testing import KinesisMock, LocalKinesis, LocalKinesisServer
from tests.support import stopping

__all__ = [
    "MakeStream",
    "aws_config",
    "client_config",
    "kinesis_mock",
    "local_kinesis",
    "mock_stream_factory",
    "pytest_runtest_makereport",
    "stream_factory",
]

_SERVER_KEY = pytest.StashKey[LocalKinesis]()
_MOCK_KEY = pytest.StashKey[KinesisMock]()
_LOG_TAIL_LINES = 60


class MakeStream(Protocol):
    """Type of the ``stream_factory`` fixtures: creates a stream, returns its name."""

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
        stopping.wait_for_jobs()
        server.stop()


@pytest.fixture(scope="session")
def kinesis_mock(request: pytest.FixtureRequest) -> Iterator[KinesisMock]:
    """A running kinesis-mock server shared by the whole test session."""
    server = KinesisMock()
    request.config.stash[_MOCK_KEY] = server
    server.start()
    try:
        yield server
    finally:
        stopping.wait_for_jobs()
        server.stop()


def _streams_for_test(
    server: LocalKinesisServer, request: pytest.FixtureRequest
) -> Iterator[MakeStream]:
    prefix = re.sub(r"[^a-zA-Z0-9_.-]+", "-", request.node.name).strip("-")[:80] or "stream"
    created: list[str] = []

    def make_stream(shard_count: int = 1) -> str:
        name = f"{prefix}-{len(created)}-{uuid.uuid4().hex[:8]}"
        server.create_stream(name, shard_count)
        created.append(name)
        return name

    yield make_stream

    def delete() -> None:
        if server.is_running:
            for name in reversed(created):
                server.delete_stream(name)

    stopping.when_jobs_stopped(delete)


@pytest.fixture
def stream_factory(
    local_kinesis: LocalKinesis, request: pytest.FixtureRequest
) -> Iterator[MakeStream]:
    """Create uniquely named streams on ``local_kinesis``; deletes them after the test."""
    yield from _streams_for_test(local_kinesis, request)


def client_config(server: LocalKinesisServer) -> dict[str, object]:
    """Client settings for ``server``, written as a user would (BASIC credentials): what
    ``aws_config`` gives, for fixtures of a wider scope."""
    return {
        "aws.region": server.region,
        "aws.endpoint": server.endpoint,
        "aws.credentials.provider.basic.accesskeyid": "local-access-key",
        "aws.credentials.provider.basic.secretkey": "local-secret-key",
    }


@pytest.fixture
def aws_config(local_kinesis: LocalKinesis) -> dict[str, object]:
    """Client settings for the local server, written as a user would (BASIC credentials)."""
    return client_config(local_kinesis)


@pytest.fixture
def mock_stream_factory(
    kinesis_mock: KinesisMock, request: pytest.FixtureRequest
) -> Iterator[MakeStream]:
    """Create uniquely named streams on ``kinesis_mock``; deletes them (and their consumers)
    after the test."""
    yield from _streams_for_test(kinesis_mock, request)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """Add the server log tails to the report of a failed test that used a server fixture."""
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    if not report.failed:
        return
    fixtures = getattr(item, "fixturenames", ())
    servers: list[tuple[str, LocalKinesisServer | None]] = [
        ("local Kinesis server", item.config.stash.get(_SERVER_KEY, None)),
        ("kinesis-mock server", item.config.stash.get(_MOCK_KEY, None)),
    ]
    for (title, server), fixture in zip(servers, ("local_kinesis", "kinesis_mock")):
        if server is None or fixture not in fixtures:
            continue
        tail = server.log_tail(_LOG_TAIL_LINES) or "(the server printed nothing)"
        where = server.log_path or "log removed after stop"
        report.sections.append((f"{title} log, last {_LOG_TAIL_LINES} lines ({where})", tail))
