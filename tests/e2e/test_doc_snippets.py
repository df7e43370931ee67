"""Every Python block of README.md and docs/*.md runs as pasted.

Each block runs alone in a fresh Python process (its own folder, nothing imported before it),
against the local servers the documentation points at: kinesalite on localhost:4567 and
kinesis-mock on localhost:4568 (``pyflink-kinesis local-kinesis --port 4567``, and the same
with ``--server kinesis-mock --port 4568``), with the streams the documentation names. Comments
of the form ``<!-- doc-test: ... -->`` just before a block say more:

* ``runs until stopped; reads A; writes B``: the block starts a job that never ends by itself.
  Records are put into A while it runs; it passes when they come out of B (then it is stopped).
* ``needs kinesis-mock``: the block uses enhanced fan-out, so kinesis-mock must run.

A block followed directly by a ```` ```text ```` block that starts with an exception line is
expected to raise it: the process must end with exactly that text on stderr.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, TypeVar

import pytest

from pyflink_kinesis.testing import KinesisMock, LocalKinesis
from tests.support.environment import fresh_process_environment

REPO = Path(__file__).parents[2]
DOCUMENTS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
KINESALITE_PORT, KINESIS_MOCK_PORT = 4567, 4568
#: The streams the documentation's blocks read and write, with their shard counts.
STREAMS = {"stream-1": 2, "your-stream-name": 2, "orders": 2, "orders-out": 2,
           "readings": 1, "kinesis_stream_name": 1}
_BLOCK = re.compile(r"```python\n(.*?)```\n", re.DOTALL)
_DIRECTIVE = re.compile(r"<!-- doc-test: (.*?) -->\s*$")
_ERROR_BLOCK = re.compile(r"\s*```text\n((?:[\w.]+)(?:Error|Exception): .*?)```", re.DOTALL)
_RUN_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Snippet:
    """A Python block: where it is, its code, and what the documentation says it does."""

    path: Path
    line: int
    code: str
    directives: tuple[str, ...]
    expected_error: str | None

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    def directive(self, prefix: str) -> str | None:
        return next((d for d in self.directives if d.startswith(prefix)), None)


def snippets() -> list[Snippet]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            before = text[: match.start()].rstrip("\n").rsplit("\n", 1)[-1]
            directive = _DIRECTIVE.search(before)
            directives = tuple(d.strip() for d in directive.group(1).split(";")
                               ) if directive else ()
            error = _ERROR_BLOCK.match(text, match.end())
            found.append(Snippet(path, text[: match.start()].count("\n") + 2, match.group(1),
                                 directives, error.group(1).strip() if error else None))
    return found


Server = TypeVar("Server", LocalKinesis, KinesisMock)


def with_streams(server: Server) -> Iterator[Server]:
    """``server`` running, with ``STREAMS``, until the module's tests are done."""
    with server:
        for name, shards in STREAMS.items():
            server.create_stream(name, shards)
        yield server


@pytest.fixture(scope="module")
def kinesalite() -> Iterator[LocalKinesis]:
    yield from with_streams(LocalKinesis(port=KINESALITE_PORT))


@pytest.fixture(scope="module")
def kinesis_mock() -> Iterator[KinesisMock]:
    yield from with_streams(KinesisMock(port=KINESIS_MOCK_PORT))


def test_the_documentation_has_blocks_and_directives_that_parse() -> None:
    found = snippets()
    assert len(found) >= 15
    known = ("runs until stopped", "reads ", "writes ", "needs kinesis-mock")
    for snippet in found:
        assert all(d.startswith(known) for d in snippet.directives), snippet.name


@pytest.mark.parametrize("snippet", snippets(), ids=lambda s: s.name)
def test_the_block_runs_as_pasted(
    snippet: Snippet, kinesalite: LocalKinesis, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if snippet.directive("needs kinesis-mock"):
        request.getfixturevalue("kinesis_mock")
    command = [sys.executable, "-c", snippet.code]
    environment = fresh_process_environment(PYFLINK_KINESIS_OFFLINE="1")
    if snippet.directive("runs until stopped"):
        run_until_output(snippet, command, environment, kinesalite, tmp_path)
        return
    done = subprocess.run(command, capture_output=True, text=True, timeout=_RUN_TIMEOUT_S,
                          env=environment, cwd=tmp_path)
    if snippet.expected_error is None:
        assert done.returncode == 0, f"{snippet.name} failed:\n{done.stderr[-4000:]}"
    else:
        assert done.returncode != 0, f"{snippet.name} should raise, and did not"
        assert done.stderr.rstrip().endswith(snippet.expected_error), done.stderr[-4000:]


def run_until_output(snippet: Snippet, command: list[str], environment: dict[str, str],
                     server: LocalKinesis, folder: Path) -> None:
    reads = (snippet.directive("reads ") or "").removeprefix("reads ")
    writes = (snippet.directive("writes ") or "").removeprefix("writes ")
    assert reads and writes, f"{snippet.name}: say which stream it reads and writes"
    before = len(server.read_all(writes))
    log = folder / "stderr.txt"
    with log.open("w") as stderr:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr,
                                   env=environment, cwd=folder, start_new_session=True)
    try:
        deadline = time.monotonic() + _RUN_TIMEOUT_S
        sent = 0
        while len(server.read_all(writes)) == before:
            assert process.poll() is None, f"{snippet.name} ended:\n{log.read_text()[-4000:]}"
            assert time.monotonic() < deadline, f"{snippet.name}: nothing reached {writes}"
            server.put_records(reads, [f'{{"doc-test": {sent}}}'])
            sent += 1
            time.sleep(1.0)
    finally:
        os.killpg(process.pid, 9)
        process.wait()
