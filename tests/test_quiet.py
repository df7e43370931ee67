"""pyflink_kinesis._quiet: a cancelled job's Beam reader thread dies quietly, nothing else."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pyflink_kinesis._quiet import READER_THREAD, quieting


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
    from pyflink_kinesis import _quiet

    assert pyflink_kinesis is not None and _quiet._installed
