"""Run streaming jobs that never finish by themselves: start, wait for a condition, cancel."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

from pyflink.common import JobStatus
from pyflink.common.job_client import JobClient
from pyflink.datastream import StreamExecutionEnvironment

T = TypeVar("T")

_FINISHED = (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.FINISHED)


class Job:
    """A running job; ``wait_for`` polls a probe until it returns a value, failing fast if the
    job dies (the job's own exception is raised)."""

    def __init__(self, client: JobClient) -> None:
        self.client = client

    def status(self) -> JobStatus:
        return self.client.get_job_status().result()

    def wait_running(self, timeout_s: float = 60.0) -> None:
        """Wait until every task is past scheduling (the job is RUNNING)."""
        self.wait_for(lambda: self.status() == JobStatus.RUNNING or None, timeout_s, "RUNNING")

    def wait_for(self, probe: Callable[[], T | None], timeout_s: float, what: str) -> T:
        deadline = time.monotonic() + timeout_s
        while True:
            value = probe()
            if value:
                return value
            status = self.status()
            if status in _FINISHED:
                self.client.get_job_execution_result().result()  # raises the job's failure
                raise AssertionError(f"job ended ({status}) before {what}")
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
            time.sleep(0.5)

    def cancel(self) -> None:
        if self.status() not in _FINISHED:
            self.client.cancel().result()


def start(env: StreamExecutionEnvironment, name: str) -> Job:
    """Submit the job asynchronously."""
    return Job(env.execute_async(name))
