"""README.md's quickstart, run as a new user runs it: its commands, its job, its data.

The ``## Quickstart`` section of README.md holds a shell block with the commands (``pip install``,
``pyflink-kinesis local-kinesis``, ``python job.py``, ``pyflink-kinesis put ... < orders.jsonl``,
``pyflink-kinesis tail ...``); the files they use are the README's blocks marked ``file NAME``
(tests/e2e/test_doc_snippets.py's convention). Each command runs as a subprocess in that order,
in an empty folder holding those files, from the shell of a user of this virtualenv; the server
and the job run in the background, as in their own terminals. The only change is the port: a
free one instead of 4567, which other tests and servers may hold. The package is already
installed, so ``pip install`` is checked, not run.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from tests.e2e.test_doc_snippets import _ANY_BLOCK, REPO, named_files, user_environment

README = REPO / "README.md"
README_PORT = "4567"
TIMEOUT_S = 300
_SECTION = re.compile(r"^## Quickstart\b.*?(?=^## |\Z)", re.DOTALL | re.MULTILINE)


def quickstart_commands() -> list[list[str]]:
    """The commands of the quickstart's shell block, split as the shell splits them."""
    section = _SECTION.search(README.read_text(encoding="utf-8"))
    assert section is not None, "README.md has no '## Quickstart' section"
    shell = next((match.group(1) for match in _ANY_BLOCK.finditer(section.group())
                  if "pyflink-kinesis tail" in match.group(1)), None)
    assert shell is not None, "the quickstart has no block with the pyflink-kinesis commands"
    return [shlex.split(line, comments=True) for line in shell.splitlines() if line.strip()]


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
    port = free_port()
    on_port = re.compile(rf"\b{README_PORT}\b")
    commands = [[on_port.sub(port, word) for word in words] for words in quickstart_commands()]
    files = named_files(README)
    used = [words[1] for words in commands if words[0] == "python"]
    used += [words[words.index("<") + 1] for words in commands if "<" in words]
    for name in used:
        assert name in files, f"the quickstart uses {name} but shows no block marked 'file {name}'"
        (tmp_path / name).write_text(on_port.sub(port, files[name]))
    environment = user_environment()
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
    given = [json.loads(line) for name in used if name.endswith(".jsonl")
             for line in files[name].splitlines() if line.strip()]
    assert len(printed) == len(given), report()
    assert sorted(record["customer"] for record in printed) == sorted(
        record["customer"] for record in given), report()
    # Each order comes out whole (the job may add fields, like a total).
    assert all(any(order.items() <= record.items() for order in given) for record in printed)


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
