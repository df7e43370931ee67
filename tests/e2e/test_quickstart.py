"""README.md's quickstart, run as a new user runs it: its commands, its job, its data.

The ``## Quickstart`` section of README.md holds a shell block with the commands (``pip install``,
``pyflink-kinesis local-kinesis``, ``python job.py``, ``pyflink-kinesis put ... < orders.jsonl``,
``pyflink-kinesis tail ...``), the job as its first Python block (the one
tests/e2e/test_doc_snippets.py finds) and the records as a block of JSON lines. Each command runs
as a subprocess in that order, in an empty folder holding the job and the records under the names
the commands use; the server and the job run in the background, as in their own terminals. The
only change is the port: a free one instead of 4567, which other tests and servers may hold. The
package is already installed, so ``pip install`` is checked, not run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tests.e2e.test_doc_snippets import REPO, Snippet, snippets
from tests.support.environment import fresh_process_environment

README = REPO / "README.md"
README_PORT = "4567"
TIMEOUT_S = 300
_SECTION = re.compile(r"^## Quickstart\b.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)
_FENCE = re.compile(r"^```[^\n]*\n(.*?)^```[ \t]*$", re.DOTALL | re.MULTILINE)


@dataclass(frozen=True)
class Quickstart:
    """What the README's quickstart says to run, and the files it uses."""

    commands: list[str]
    job: Snippet
    records: str


def quickstart() -> Quickstart:
    text = README.read_text(encoding="utf-8")
    section = _SECTION.search(text)
    assert section is not None, "README.md has no '## Quickstart' section"
    blocks = [match.group(1) for match in _FENCE.finditer(section.group())]
    shell = next((b for b in blocks if "pyflink-kinesis tail" in b), None)
    assert shell is not None, "the quickstart has no block with the pyflink-kinesis commands"
    commands = [line.split(" #")[0].strip() for line in shell.splitlines()]
    first, last = (text[: section.start()].count("\n") + 1, text[: section.end()].count("\n"))
    job = next((s for s in snippets() if s.path == README and first <= s.line <= last), None)
    assert job is not None, "the quickstart has no Python block (the job)"
    records = next((b for b in blocks if _is_json_lines(b)), None)
    assert records is not None, "the quickstart shows no records (a block of JSON lines)"
    return Quickstart([c for c in commands if c], job, records)


def _is_json_lines(block: str) -> bool:
    lines = [line for line in block.splitlines() if line.strip()]
    try:
        return bool(lines) and all(isinstance(json.loads(line), dict) for line in lines)
    except ValueError:
        return False


def free_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


@dataclass
class Background:
    """A command left running, as in its own terminal; its output goes to a file."""

    command: str
    process: subprocess.Popen[str]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]

    def wait_for(self, line: str, report: Callable[[], str]) -> None:
        """Wait until the command printed ``line`` (it is still starting until then)."""
        deadline = time.monotonic() + TIMEOUT_S
        while line not in self.output():
            assert self.process.poll() is None and time.monotonic() < deadline, report()
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()


def test_the_readme_quickstart_runs_as_written(tmp_path: Path) -> None:
    steps = quickstart()
    port = free_port()
    on_port = re.compile(rf"\b{README_PORT}\b")
    commands = [shlex.split(on_port.sub(port, command)) for command in steps.commands]
    for words in commands:
        if words[0] == "python":
            (tmp_path / words[1]).write_text(on_port.sub(port, steps.job.code))
        if "<" in words:
            (tmp_path / words[words.index("<") + 1]).write_text(steps.records)
    # A user's shell finds the package's command and this virtualenv's python first.
    bin_dir = str(Path(sys.executable).parent)
    environment = fresh_process_environment(
        PATH=os.pathsep.join([bin_dir, os.environ.get("PATH", "")]))
    background: list[Background] = []
    finished: list[tuple[str, subprocess.CompletedProcess[str]]] = []

    def report() -> str:
        return "\n".join(
            [f"--- {b.command} (in the background) ---\n{b.output()}" for b in background]
            + [f"--- {c} (exit {r.returncode}) ---\n{r.stdout}{r.stderr}" for c, r in finished])

    try:
        for words in commands:
            if words[:2] == ["pip", "install"]:
                assert words[2:] == ["pyflink-kinesis"], words
            elif words[0] == "python":
                background.append(start(words, tmp_path, environment))
            elif words[:2] == ["pyflink-kinesis", "local-kinesis"]:
                background.append(start(words, tmp_path, environment))
                background[-1].wait_for("Ctrl-C stops it.", report)
            else:
                finished.append((shlex.join(words), run(words, tmp_path, environment)))
                assert finished[-1][1].returncode == 0, report()
    finally:
        for running in reversed(background):
            running.stop()

    command, tail = finished[-1]
    assert command.startswith("pyflink-kinesis tail"), command
    printed = [json.loads(line) for line in tail.stdout.splitlines()]
    given = [json.loads(line) for line in steps.records.splitlines() if line.strip()]
    assert len(printed) == len(given), report()
    assert sorted(record["customer"] for record in printed) == sorted(
        record["customer"] for record in given), report()


def run(words: list[str], folder: Path, environment: dict[str, str]
        ) -> subprocess.CompletedProcess[str]:
    """Run a command to its end; ``< FILE`` is its stdin."""
    if "<" not in words:
        return subprocess.run(words, capture_output=True, text=True, timeout=TIMEOUT_S,
                              cwd=folder, env=environment)
    with open(folder / words[words.index("<") + 1]) as stdin:
        return subprocess.run(words[: words.index("<")], stdin=stdin, capture_output=True,
                              text=True, timeout=TIMEOUT_S, cwd=folder, env=environment)


def start(words: list[str], folder: Path, environment: dict[str, str]) -> Background:
    log = folder / f"background-{len(list(folder.glob('background-*.log')))}.log"
    with log.open("w") as output:
        process = subprocess.Popen(words, stdout=output, stderr=subprocess.STDOUT, text=True,
                                   cwd=folder, env=environment, start_new_session=True)
    return Background(shlex.join(words), process, log)
