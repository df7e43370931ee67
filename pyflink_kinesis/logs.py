"""Flink's log of a PyFlink process: one file per process, and the ``pyflink-kinesis logs`` command.

PyFlink's JVM (and a local job's mini-cluster in it: every failure's full stack trace) logs to
``flink-<ident>-python-<host>.log`` in PyFlink's log directory (``site-packages/pyflink/log``
unless ``FLINK_LOG_DIR`` or ``env.log.dir`` says otherwise). Every PyFlink process on the machine
writes there, and by default to that one file, which each new JVM empties. When this package
starts the JVM it gives the process a file of its own instead: ``<ident>`` becomes
``<user>-<script>-<pid>`` (``FLINK_IDENT_STRING``; a value you set is kept). The newest
:data:`KEEP` such files stay, plus those of processes still running; older ones are deleted when
a JVM starts.

Nothing here imports PyFlink at module level: the command stays fast.
"""

from __future__ import annotations

import argparse
import getpass
import os
import re
import sys
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Mapping, NoReturn, Sequence

#: How many per-process log files to keep (those of running processes are kept too).
KEEP = 20
#: PyFlink names the log file after this variable (``flink-<ident>-python-<host>.log``).
IDENT_ENV = "FLINK_IDENT_STRING"
#: Holds the ident this package chose, so an inherited one is told from one set by the user.
OWNED_IDENT_ENV = "PYFLINK_KINESIS_LOG_IDENT"

_ANY_LOG = re.compile(r"^flink-.+-python-.+\.log$")
# ExecutionGraph: "Job <name> (<id>) switched from state RUNNING to RESTARTING."
_JOB_STATE = re.compile(
    r"Job (?P<name>.*) \((?P<id>[0-9a-f]{32})\) switched from state \w+ to (?P<state>\w+)\."
)
_ENDED = ("FINISHED", "FAILED", "CANCELED", "SUSPENDED")
# Read at most this much of a log's end to find its last job (a restart loop logs a lot).
_TAIL_BYTES = 4 << 20


def process_ident(pid: int | None = None, argv0: str | None = None) -> str:
    """``<user>-<script>-<pid>`` for this process: the middle of its log file's name.

    ``<script>`` is the script's name without ``.py``, the package's for ``python -m``, and
    ``python`` for ``python -c`` or an interactive session.
    """
    argv0 = sys.argv[0] if argv0 is None else argv0
    path = Path(argv0)
    stem = path.parent.name if path.stem == "__main__" else path.stem
    if argv0.startswith("-"):
        stem = ""
    script = re.sub(r"[^A-Za-z0-9_]+", "_", stem).strip("_") or "python"
    return f"{getpass.getuser()}-{script}-{os.getpid() if pid is None else pid}"


def _own_log() -> re.Pattern[str]:
    """The names :func:`process_ident` gives this user's log files."""
    user = re.escape(getpass.getuser())
    return re.compile(rf"^flink-{user}-(?P<script>\w+)-(?P<pid>\d+)-python-.+\.log$")


def launch_environment(environ: Mapping[str, str]) -> dict[str, str]:
    """The variables a JVM launched now by this process needs for a log file of its own.

    Empty when ``FLINK_IDENT_STRING`` was set by the user; an ident this package set in a
    parent process (children inherit it, and a local job copies the JVM's environment into
    ``os.environ``) is replaced.
    """
    current = environ.get(IDENT_ENV)
    if current is not None and current != environ.get(OWNED_IDENT_ENV):
        return {}
    ident = process_ident()
    return {IDENT_ENV: ident, OWNED_IDENT_ENV: ident}


def log_dir() -> Path:
    """The directory PyFlink's JVM logs to, found as PyFlink's launcher finds it."""
    from pyflink.pyflink_gateway_server import (
        construct_log_settings,
        prepare_environment_variables,
    )

    environ = dict(os.environ)
    prepare_environment_variables(environ)
    for setting in construct_log_settings(environ):
        if setting.startswith("-Dlog.file="):
            return Path(setting[len("-Dlog.file="):]).parent
    raise AssertionError("PyFlink's launcher sets no -Dlog.file")  # pragma: no cover


@dataclass(frozen=True)
class LogFile:
    """A Flink log in the log directory: whose it is, and the last job state it records."""

    path: Path
    #: The process that wrote it, when this package named the file (else None: a shared file).
    pid: int | None
    script: str | None
    #: The last "Job <name> (<id>) switched from state ... to <state>" line: (name, id, state).
    last_job: tuple[str, str, str] | None

    @property
    def running(self) -> bool:
        """True when the process that writes this file still runs."""
        return self.pid is not None and _alive(self.pid)

    def owner(self) -> str:
        """One line saying whose file this is and what its last job did."""
        if self.pid is None:
            whose = "shared by PyFlink processes that did not import pyflink_kinesis first"
        else:
            state = "running" if self.running else "ended"
            whose = f"process {self.pid} ({self.script}), {state}"
        if self.last_job is None:
            return f"{whose}; no job yet"
        name, job_id, state = self.last_job
        if self.pid is not None and not self.running and state not in _ENDED:
            state += " when the process ended"
        return f"{whose}; last job {name!r} ({job_id}) {state}"


def read_log(path: Path) -> LogFile:
    """A :class:`LogFile` for ``path``."""
    match = _own_log().match(path.name)
    return LogFile(path, int(match["pid"]) if match else None, match["script"] if match else None,
                   _last_job(path))


def _last_job(path: Path) -> tuple[str, str, str] | None:
    try:
        with path.open("rb") as log:
            log.seek(max(0, path.stat().st_size - _TAIL_BYTES))
            text = log.read().decode("utf-8", "replace")
    except OSError:
        return None
    last = None
    for last in _JOB_STATE.finditer(text):  # noqa: B007 - the last match is wanted
        continue
    return (last["name"], last["id"], last["state"]) if last else None


def logs_in(directory: Path) -> list[LogFile]:
    """Every Flink client log in ``directory``, the most recently written first."""
    paths = [p for p in directory.glob("flink-*-python-*.log") if _ANY_LOG.match(p.name)]
    return [read_log(p) for p in sorted(paths, key=_mtime, reverse=True)]


def prune(directory: Path, keep: int = KEEP) -> list[Path]:
    """Delete this package's per-process logs beyond the newest ``keep``, except those of
    processes that still run; return the deleted paths."""
    own_log = _own_log()
    own = [p for p in directory.glob("flink-*-python-*.log") if own_log.match(p.name)]
    deleted = []
    for path in sorted(own, key=_mtime, reverse=True)[keep:]:
        if not read_log(path).running:
            try:
                path.unlink()
            except OSError:
                continue
            deleted.append(path)
    return deleted


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return 0.0


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user (or a platform without signal 0)
        return True
    return True


def tail(path: Path, lines: int) -> list[str]:
    """The last ``lines`` lines of a text file."""
    with path.open(encoding="utf-8", errors="replace") as text:
        return [line.rstrip("\n") for line in deque(text, maxlen=lines)]


def run_command(args: argparse.Namespace) -> int:
    """``pyflink-kinesis logs [-n LINES] [--pid PID] [--path] [--list]``: the newest job's log
    (or that of process PID), whose it is and its end; raises FileNotFoundError if none."""
    directory = log_dir()
    found = logs_in(directory) if directory.is_dir() else []
    if args.list:
        for log in found:
            print(f"{log.path}\n    {log.owner()}")
        return 0 if found else _none(directory)
    chosen = _choose(found, args.pid)
    if chosen is None:
        return _none(directory, args.pid)
    if args.path:
        print(chosen.path)
        return 0
    print(f"{chosen.path}\n    {chosen.owner()}")
    print(f"--- its last {args.lines} lines ---")
    for line in tail(chosen.path, args.lines):
        print(line)
    return 0


def _choose(found: Sequence[LogFile], pid: int | None) -> LogFile | None:
    if pid is not None:
        return next((log for log in found if log.pid == pid), None)
    with_jobs: Iterable[LogFile] = (log for log in found if log.last_job is not None)
    return next(iter(with_jobs), found[0] if found else None)


def _none(directory: Path, pid: int | None = None) -> NoReturn:
    what = f"of process {pid} " if pid is not None else ""
    raise FileNotFoundError(f"no Flink log {what}in {directory} (a job writes one when it "
                            "starts; FLINK_LOG_DIR or env.log.dir move the directory)")
