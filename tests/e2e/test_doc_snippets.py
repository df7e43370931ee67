"""Every Python block of README.md and docs/*.md runs as pasted.

Each block runs alone in a fresh Python process (its own folder, nothing imported before it,
this virtualenv's ``python`` and commands first on PATH, as in a user's activated virtualenv),
against the local servers the documentation points at: kinesalite on localhost:4567 and
kinesis-mock on localhost:4568 (``pyflink-kinesis local-kinesis --port 4567``, and the same
with ``--server kinesis-mock --port 4568``), with the streams the documentation names. Comments
of the form ``<!-- doc-test: ... -->`` just before a block say more:

* ``runs until stopped; reads A; writes B``: the block starts a job that never ends by itself.
  Records are put into A while it runs; it passes when they come out of B (then it is stopped).
* ``needs kinesis-mock``: the block uses enhanced fan-out, so kinesis-mock must run.
* ``file NAME``: the block (of any language) is the file NAME the page tells users to save;
  ``puts NAME`` (with ``runs until stopped``) puts NAME's lines into A instead of test records.
* ``prints the next block``: before a ```` ```bash ```` block, whose commands run in a fresh
  folder holding a link to the repository's ``demo/``. Their output must be the
  ```` ```text ```` block that follows, where each ``…`` stands for what differs between
  machines and releases (a folder, a size, a count).

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
_ANY_BLOCK = re.compile(r"```\w*\n(.*?)```\n", re.DOTALL)
_SHELL_WITH_OUTPUT = re.compile(
    r"<!-- doc-test: prints the next block -->\n```bash\n(.*?)```\n\s*```text\n(.*?)```",
    re.DOTALL)
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


def directives_before(text: str, start: int) -> tuple[str, ...]:
    """The directives of the ``<!-- doc-test: ... -->`` line just before ``start``, if any."""
    before = text[:start].rstrip("\n").rsplit("\n", 1)[-1]
    directive = _DIRECTIVE.search(before)
    return tuple(d.strip() for d in directive.group(1).split(";")) if directive else ()


def named_files(path: Path) -> dict[str, str]:
    """The blocks of a page marked ``file NAME``, by NAME: what the page tells users to save."""
    text = path.read_text(encoding="utf-8")
    found = {}
    for match in _ANY_BLOCK.finditer(text):
        for directive in directives_before(text, match.start()):
            if directive.startswith("file "):
                found[directive.removeprefix("file ")] = match.group(1)
    return found


def snippets() -> list[Snippet]:
    found = []
    for path in DOCUMENTS:
        text = path.read_text(encoding="utf-8")
        for match in _BLOCK.finditer(text):
            directives = directives_before(text, match.start())
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
    known = ("runs until stopped", "reads ", "writes ", "needs kinesis-mock", "file ", "puts ")
    for snippet in found:
        assert all(d.startswith(known) for d in snippet.directives), snippet.name
        puts = snippet.directive("puts ")
        assert puts is None or puts.removeprefix("puts ") in named_files(snippet.path), puts
    assert {"job.py", "orders.jsonl"} <= set(named_files(REPO / "README.md"))
    assert shell_samples(), "no sample output to check"


@pytest.mark.parametrize("snippet", snippets(), ids=lambda s: s.name)
def test_the_block_runs_as_pasted(
    snippet: Snippet, kinesalite: LocalKinesis, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    if snippet.directive("needs kinesis-mock"):
        request.getfixturevalue("kinesis_mock")
    command = [sys.executable, "-c", snippet.code]
    environment = user_environment()
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


def user_environment() -> dict[str, str]:
    """A shell of a user of this virtualenv: its ``python`` and ``pyflink-kinesis`` come first
    on PATH (PyFlink starts Python workers with ``python``), downloads off."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return fresh_process_environment(PATH=path, PYFLINK_KINESIS_OFFLINE="1")


def run_until_output(snippet: Snippet, command: list[str], environment: dict[str, str],
                     server: LocalKinesis, folder: Path) -> None:
    reads = (snippet.directive("reads ") or "").removeprefix("reads ")
    writes = (snippet.directive("writes ") or "").removeprefix("writes ")
    assert reads and writes, f"{snippet.name}: say which stream it reads and writes"
    puts = snippet.directive("puts ")
    records = (named_files(snippet.path)[puts.removeprefix("puts ")].splitlines() if puts
               else None)
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
            server.put_records(reads, [records[sent % len(records)] if records
                                       else f'{{"doc-test": {sent}}}'])
            sent += 1
            time.sleep(1.0)
    finally:
        os.killpg(process.pid, 9)
        process.wait()


@dataclass(frozen=True)
class ShellSample:
    """A shell block marked ``prints the next block``, and the output the page shows."""

    path: Path
    line: int
    commands: str
    output: str

    @property
    def name(self) -> str:
        return f"{self.path.relative_to(REPO)}:{self.line}"

    def matches(self, printed: str) -> bool:
        """Whether ``printed`` is the page's output, each ``…`` standing for any text in a line."""
        pattern = ".+?".join(re.escape(part) for part in self.output.rstrip("\n").split("…"))
        return re.fullmatch(pattern, printed.rstrip("\n")) is not None


def shell_samples() -> list[ShellSample]:
    return [ShellSample(path, text[: match.start()].count("\n") + 3, match.group(1),
                        match.group(2))
            for path in DOCUMENTS
            for text in [path.read_text(encoding="utf-8")]
            for match in _SHELL_WITH_OUTPUT.finditer(text)]


@pytest.mark.parametrize("sample", shell_samples(), ids=lambda s: s.name)
def test_the_sample_output_is_what_the_command_prints(sample: ShellSample, tmp_path: Path
                                                       ) -> None:
    (tmp_path / "demo").symlink_to(REPO / "demo")
    done = subprocess.run(["bash", "-euc", sample.commands], capture_output=True, text=True,
                          timeout=_RUN_TIMEOUT_S, cwd=tmp_path, env=user_environment())
    assert done.returncode == 0, f"{sample.name} failed:\n{done.stderr[-4000:]}"
    assert sample.matches(done.stdout), (
        f"{sample.name}: the page shows\n{sample.output}\nthe command printed\n{done.stdout}")
