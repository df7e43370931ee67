"""Keep the noise of a cancelled local job's Python workers out of the user's terminal.

A job run in this process (a local mini-cluster) runs its Python functions in Beam worker
threads here. When the job is cancelled, its Java side hangs up their gRPC channels and Beam's
data-plane reader thread (``read_grpc_client_inputs``) dies with a ``CANCELLED`` status, which
Python prints as an uncaught thread exception ("Multiplexer hanging up") after the job has
already ended as asked. Only that is dropped: any other exception, in that thread or another,
reaches the previous ``threading.excepthook`` as before.
"""

from __future__ import annotations

import threading
from typing import Any, Callable

#: The thread Beam's gRPC data channel reads inputs on (apache_beam/runners/worker/data_plane).
READER_THREAD = "read_grpc_client_inputs"
_installed = False


def install() -> None:
    """Wrap ``threading.excepthook`` once."""
    global _installed
    if not _installed:
        threading.excepthook = quieting(threading.excepthook)
        _installed = True


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
