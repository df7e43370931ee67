"""The Python interpreter of a local job's workers: the one running the script, unless set.

PyFlink starts a job's Python workers with ``python.executable``, and when that is not set,
with ``python`` from PATH: ``.venv/bin/python job.py`` without the virtualenv on PATH then
fails in every worker (``No module named 'pyflink'``), and with checkpointing on the job
restarts forever. Before a local job starts (:func:`prepare_local_job`, called by the hooks in
:mod:`pyflink_kinesis.gateway`):

* ``python.executable`` and ``python.client.executable`` default to ``sys.executable``;
* in thread mode (``python.execution-mode: thread``) the embedded interpreter gets this
  interpreter's import path in ``python.pythonpath`` (it does not see a virtualenv's
  site-packages by itself: ``No module named 'pemja'``);
* an interpreter set to something else is checked once: one that is missing or cannot import
  what its workers need raises :class:`~pyflink_kinesis.errors.PythonWorkerError` before the
  job is submitted.

A value you set is never replaced. Jobs sent to a cluster are left alone: their workers run the
cluster's Python. This module touches no JVM; ``settings`` are read and written through
:class:`JobSettings`.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from typing import Protocol, Sequence

from pyflink_kinesis.errors import PythonWorkerError

EXECUTABLE = "python.executable"
CLIENT_EXECUTABLE = "python.client.executable"
#: Flink reads this variable when ``python.client.executable`` is not set.
CLIENT_EXECUTABLE_ENV = "PYFLINK_CLIENT_EXECUTABLE"
PYTHON_PATH = "python.pythonpath"
EXECUTION_MODE = "python.execution-mode"
#: Set by PyFlink on a local environment whose workers run in this process (loopback mode).
LOOPBACK_ADDRESS = "python.loopback-server.address"

# Prints the modules of argv that the interpreter cannot find, without importing them.
_FIND_MODULES = (
    "import importlib.util, sys; "
    "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m) is None))"
)


class JobSettings(Protocol):
    """A job's configuration as this module reads and writes it."""

    def get(self, key: str) -> str | None:
        """The value set for ``key``, or None."""

    def set(self, key: str, value: str) -> None:
        """Set ``key`` for the job."""


def prepare_local_job(settings: JobSettings) -> None:
    """Default the interpreters of a local job to this one, give thread mode this interpreter's
    import path, and raise :class:`PythonWorkerError` if the workers' interpreter cannot run
    them."""
    if settings.get(EXECUTABLE) is None:
        settings.set(EXECUTABLE, sys.executable)
    if settings.get(CLIENT_EXECUTABLE) is None and CLIENT_EXECUTABLE_ENV not in os.environ:
        settings.set(CLIENT_EXECUTABLE, sys.executable)
    executable = settings.get(EXECUTABLE) or sys.executable
    thread_mode = (settings.get(EXECUTION_MODE) or "").lower() == "thread"
    if thread_mode and settings.get(PYTHON_PATH) is None and _resolve(executable) == _this():
        entries = import_path(sys.path)
        if entries:
            settings.set(PYTHON_PATH, entries)
    if thread_mode:
        needed: tuple[str, ...] = ("pemja", "pyflink", "pyflink_kinesis")
    elif settings.get(LOOPBACK_ADDRESS) is not None:
        # The workers run in this process; Flink runs the interpreter only to find PyFlink.
        needed = ("pyflink",)
    else:
        needed = ("pyflink", "pyflink_kinesis")
    problem = interpreter_problem(executable, needed)
    if problem is not None:
        path = _resolve(executable)
        shown = f" ({path})" if path not in (None, executable) else ""
        raise PythonWorkerError(
            f"the job's Python workers cannot start: {EXECUTABLE} is {executable!r}{shown}, "
            f"which {problem}. Install apache-flink and pyflink-kinesis into that interpreter, set "
            f"{EXECUTABLE} to one that has them, or leave it unset: a local job's workers then "
            f"run with the interpreter of this script ({sys.executable})."
        )


def import_path(path: Sequence[str]) -> str:
    """The entries of ``path`` (``sys.path``) that an embedded interpreter of this Python
    installation would lack: all but those of the base installation (a virtualenv's
    site-packages, editable installs, the script's folder), as ``os.pathsep``-joined text."""
    prefix = os.path.abspath(sys.prefix)
    bases = {os.path.abspath(sys.base_prefix), os.path.abspath(sys.base_exec_prefix)}
    kept: list[str] = []
    for entry in path:
        full = os.path.abspath(entry or os.getcwd())
        in_base = any(_within(full, base) for base in bases) and not _within(full, prefix)
        if not in_base and os.path.exists(full) and full not in kept:
            kept.append(full)
    return os.pathsep.join(kept)


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _this() -> str:
    return os.path.abspath(sys.executable)


def _resolve(executable: str) -> str | None:
    """The interpreter's absolute path as Flink would run it (PATH is searched for a bare name;
    symlinks are kept: a virtualenv's python is a link to its base interpreter)."""
    found = shutil.which(executable)
    return os.path.abspath(found) if found else None


@functools.lru_cache(maxsize=None)
def interpreter_problem(executable: str, modules: tuple[str, ...]) -> str | None:
    """What keeps ``executable`` from running workers that import ``modules``, or None.

    This interpreter is taken as it is; another one is started once (cached per process).
    """
    path = _resolve(executable)
    if path is None:
        return "is not an executable file" + ("" if os.sep in executable else " on PATH")
    if path == _this():
        return None
    try:
        found = subprocess.run([path, "-c", _FIND_MODULES, *modules], capture_output=True,
                               text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"does not start ({exc})"
    if found.returncode != 0:
        last = (found.stderr.strip().splitlines() or ["no output"])[-1]
        return f"does not start (exit status {found.returncode}: {last})"
    missing = found.stdout.split()
    return f"cannot import {', '.join(missing)}" if missing else None
