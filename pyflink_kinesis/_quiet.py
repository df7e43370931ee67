"""Keep the noise of a local job's Python workers out of the user's terminal.

A job run in this process (a local mini-cluster) runs its Python functions in Beam worker
threads here. When the job stops, failed or cancelled, its Java side hangs up on them, and Beam
tells the terminal in two ways, after the job has already ended or while it fails for a reason
of its own (which :mod:`pyflink_kinesis.failures` shows):

* Beam's data-plane and state reader threads (``read_grpc_client_inputs``, ``read_state``) die
  with a ``CANCELLED`` status, which Python prints as an uncaught thread exception
  ("Multiplexer hanging up", "Stream removed");
* Beam's logging client prints "Logging client failed: ... CANCELLED ... resetting" to stderr;
* a bundle that was being processed ends with ``RuntimeError: Channel closed prematurely.``,
  whose traceback Beam's worker prints to stderr (``SdkHarness._execute``), one per worker.

Only those are dropped: any other exception, in those threads or others, reaches stderr as
before, and so does the traceback of an exception in your function, which Beam's worker prints
each time the job fails of it: once per process here (the job's failure report has it too).
Also dropped: the warning that apache-beam's import of ``pkg_resources`` causes at each job's
start.
"""

from __future__ import annotations

import sys
import threading
import warnings
from typing import IO, Any, Callable, ClassVar

#: The threads Beam reads its gRPC data channel (apache_beam/runners/worker/data_plane) and its
#: state channel (sdk_worker) on.
READER_THREADS = ("read_grpc_client_inputs", "read_state")
#: The last line of the traceback of a bundle whose data channel the job closed.
CLOSED_CHANNEL = "RuntimeError: Channel closed prematurely."
#: The module whose ``sys.stderr`` gets the bundles' tracebacks.
BEAM_WORKER = "apache_beam.runners.worker.sdk_worker"
#: The module whose ``sys.stderr`` gets the logging client's complaints.
BEAM_LOG_HANDLER = "apache_beam.runners.worker.log_handler"
#: How the logging client's complaint starts (log_handler._read_log_control_messages).
LOGGING_CLIENT_FAILED = "Logging client failed: "
_installed = False


def install() -> None:
    """Wrap ``threading.excepthook`` and filter the ``pkg_resources`` warning, once."""
    global _installed
    if not _installed:
        threading.excepthook = quieting(threading.excepthook)
        warnings.filterwarnings("ignore", message="pkg_resources is deprecated",
                                category=UserWarning, module=r"apache_beam\.")
        _installed = True


def quiet_beam_worker() -> None:
    """Filter what Beam's worker and logging client print (call before a local job)."""
    import importlib

    for module, stderr in ((BEAM_WORKER, WorkerTracebacks), (BEAM_LOG_HANDLER, LoggingClient)):
        loaded = importlib.import_module(module)
        if not isinstance(getattr(loaded, "sys", None), _FilteredSys):
            setattr(loaded, "sys", _FilteredSys(stderr))  # noqa: B010 - a module's global


class _FilteredSys:
    """What one of Beam's modules sees as ``sys``: the real one, with ``stderr`` filtered."""

    def __init__(self, stderr: Callable[[IO[str]], _Dropping]) -> None:
        self._stderr = stderr

    def __getattr__(self, name: str) -> Any:
        if name == "stderr":
            return self._stderr(sys.stderr)
        return getattr(sys, name)


class _Dropping:
    """A stream that passes writes on to ``stream`` except those :meth:`drops` says, and the
    line end ``print`` writes after a dropped one."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._dropped = False

    def drops(self, text: str) -> bool:
        raise NotImplementedError

    def write(self, text: str) -> int:
        dropped, self._dropped = self._dropped, False
        if dropped and text == "\n":
            return len(text)
        if self.drops(text):
            self._dropped = True
            return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


class WorkerTracebacks(_Dropping):
    """Drops a traceback ending in :data:`CLOSED_CHANNEL` or written before (in this process)."""

    _written: ClassVar[set[str]] = set()  # shared by every filter of the process
    _lock = threading.Lock()

    def drops(self, text: str) -> bool:
        if not text.startswith("Traceback"):
            return False
        with self._lock:
            seen = text in self._written
            self._written.add(text)
        return seen or text.rstrip().endswith(CLOSED_CHANNEL)


class LoggingClient(_Dropping):
    """Drops the logging client's complaint that its stream was CANCELLED (the job hung up)."""

    def drops(self, text: str) -> bool:
        return text.startswith(LOGGING_CLIENT_FAILED) and "CANCELLED" in text


def quieting(previous: Callable[[Any], object]) -> Callable[[Any], None]:
    """An excepthook that drops a reader thread's CANCELLED death and passes the rest on."""

    def excepthook(args: Any) -> None:
        thread = args.thread
        if thread is not None and thread.name in READER_THREADS and _cancelled(args.exc_value):
            return
        previous(args)

    return excepthook


def _cancelled(error: BaseException | None) -> bool:
    """A gRPC error whose status is CANCELLED (grpc.RpcError has ``code()``)."""
    code = getattr(error, "code", None)
    if not callable(code):
        return False
    try:
        status = code()
    except Exception:
        return False
    return getattr(status, "name", None) == "CANCELLED"
