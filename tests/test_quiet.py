"""pyflink_kinesis._quiet: a stopped job's Beam workers die quietly, nothing else does."""

from __future__ import annotations

import io
import threading
import warnings
from typing import Any

import pytest

from pyflink_kinesis import _quiet
from pyflink_kinesis._quiet import CLOSED_CHANNEL, READER_THREAD, WorkerTracebacks, quieting


class Status:
    def __init__(self, name: str) -> None:
        self.name = name


class RpcError(Exception):
    """Shaped like grpc.RpcError: ``code()`` gives a status with a ``name``."""

    def __init__(self, status: str) -> None:
        super().__init__(f"status {status}")
        self.status = status

    def code(self) -> Status:
        return Status(self.status)


def passed_on(name: str, error: BaseException) -> list[Any]:
    """The exceptions a thread called ``name`` dying of ``error`` passes to the previous hook."""
    seen: list[Any] = []
    hook = quieting(seen.append)

    def fail() -> None:
        raise error

    thread = threading.Thread(target=fail, name=name)
    original, threading.excepthook = threading.excepthook, hook
    try:
        thread.start()
        thread.join()
    finally:
        threading.excepthook = original
    return [args.exc_value for args in seen]


def test_the_reader_thread_dying_cancelled_is_dropped() -> None:
    assert passed_on(READER_THREAD, RpcError("CANCELLED")) == []


@pytest.mark.parametrize(
    ("name", "error"),
    [
        (READER_THREAD, RpcError("UNAVAILABLE")),
        (READER_THREAD, RuntimeError("Channel closed prematurely.")),
        ("another-thread", RpcError("CANCELLED")),
    ],
    ids=["other-status", "other-error", "other-thread"],
)
def test_every_other_thread_exception_reaches_the_previous_hook(
    name: str, error: BaseException
) -> None:
    assert passed_on(name, error) == [error]


def test_importing_the_package_installs_it() -> None:
    import pyflink_kinesis

    assert pyflink_kinesis is not None and _quiet._installed


def traceback(last_line: str) -> str:
    """A traceback as Beam's worker prints it (``traceback.format_exc()``)."""
    return ("Traceback (most recent call last):\n  File \"data_plane.py\", line 508, in "
            f"input_elements\n    raise RuntimeError('Channel closed prematurely.')\n{last_line}\n")


def printed(*texts: str) -> str:
    """What reaches the terminal when Beam's worker prints each of ``texts`` through the
    filter (``print(text, file=sys.stderr)``, one filter per print)."""
    terminal = io.StringIO()
    for text in texts:
        print(text, file=WorkerTracebacks(terminal))
    return terminal.getvalue()


def test_a_closed_channels_traceback_is_dropped_with_its_line_end() -> None:
    assert printed(traceback(CLOSED_CHANNEL)) == ""


def test_any_other_traceback_is_printed_once_per_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(WorkerTracebacks, "_written", set())
    user_error = traceback("ZeroDivisionError: integer division or modulo by zero")
    other_error = traceback("KeyError: 'customer'")
    assert printed(user_error, "a line", user_error, other_error, "a line") == (
        f"{user_error}\na line\n{other_error}\na line\n")


def test_beams_worker_prints_through_the_filter() -> None:
    import importlib

    _quiet.quiet_beam_worker()
    sdk_worker = importlib.import_module(_quiet.BEAM_WORKER)
    assert isinstance(sdk_worker.sys.stderr, WorkerTracebacks)
    assert sdk_worker.sys.argv is __import__("sys").argv  # the rest is the real sys


def test_the_pkg_resources_warning_beam_causes_is_filtered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)  # restored afterwards

    def warn(module: str) -> list[warnings.WarningMessage]:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("default")
            monkeypatch.setattr(_quiet, "_installed", False)
            _quiet.install()
            warnings.warn_explicit("pkg_resources is deprecated as an API.", UserWarning,
                                   "stager.py", 63, module=module)
        return caught

    assert warn("apache_beam.runners.portability.stager") == []
    assert len(warn("my_module")) == 1
