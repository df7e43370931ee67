"""Keep the noise of a local job's Python workers out of the user's terminal.

A job run in this process (a local mini-cluster) runs its Python functions in Beam worker
threads here. When the job stops, failed or cancelled, its Java side hangs up on them, and Beam
tells the terminal in two ways, after the job has already ended or while it fails for a reason
of its own (which :mod:`pyflink_kinesis.failures` shows):

* Beam's data-plane reader thread (``read_grpc_client_inputs``) dies with a ``CANCELLED``
  status, which Python prints as an uncaught thread exception ("Multiplexer hanging up");
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

#: The thread Beam's gRPC data channel reads inputs on (apache_beam/runners/worker/data_plane).
READER_THREAD = "read_grpc_client_inputs"
#: The last line of the traceback of a bundle whose data channel the job closed.
CLOSED_CHANNEL = "RuntimeError: Channel closed prematurely."
#: The module whose ``sys.stderr`` gets the bundles' tracebacks.
BEAM_WORKER = "apache_beam.runners.worker.sdk_worker"
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
    """Filter the tracebacks Beam's worker prints (call before a local job)."""
    import importlib

    worker = importlib.import_module(BEAM_WORKER)
    if not isinstance(getattr(worker, "sys", None), _WorkerSys):
        setattr(worker, "sys", _WorkerSys())  # noqa: B010 - a module's global, not an attribute


class _WorkerSys:
    """What Beam's worker module sees as ``sys``: the real one, with ``stderr`` filtered."""

    def __getattr__(self, name: str) -> Any:
        if name == "stderr":
            return WorkerTracebacks(sys.stderr)
        return getattr(sys, name)


class WorkerTracebacks:
    """A stream that passes writes on to ``stream``, except a traceback ending in
    :data:`CLOSED_CHANNEL` or written before (in this process), and the line end ``print``
    writes after such a one."""

    _written: ClassVar[set[str]] = set()  # shared by every filter of the process
    _lock = threading.Lock()

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._dropped = False

    def write(self, text: str) -> int:
        dropped, self._dropped = self._dropped, False
        if dropped and text == "\n":
            return len(text)
        if text.startswith("Traceback"):
            with self._lock:
                seen = text in self._written
                self._written.add(text)
            if seen or text.rstrip().endswith(CLOSED_CHANNEL):
                self._dropped = True
                return len(text)
        return self._stream.write(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def quieting(previous: Callable[[Any], object]) -> Callable[[Any], None]:
    """An excepthook that drops the reader thread's CANCELLED death and passes the rest on."""

    def excepthook(args: Any) -> None:
        thread = args.thread
        if thread is not None and thread.name == READER_THREAD and _cancelled(args.exc_value):
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
