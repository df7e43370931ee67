"""Run streaming jobs that never finish by themselves: start, wait for a condition, cancel."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, Callable, Iterable, TypeVar

from py4j.protocol import Py4JJavaError
from pyflink.common import Configuration, JobStatus, Types
from pyflink.common.job_client import JobClient
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import KeyedProcessFunction, RuntimeContext, StreamExecutionEnvironment
from pyflink.datastream.state import ValueStateDescriptor

from pyflink_kinesis import (
    FlinkKinesisConsumer,
    KinesisStreamsSink,
    KinesisStreamsSinkBuilder,
    KinesisStreamsSource,
    PartitionKeyGenerator,
)
from pyflink_kinesis.logs import log_dir, process_ident
from pyflink_kinesis.testing import LocalKinesisServer
from tests.support import stopping

T = TypeVar("T")

_FINISHED = (JobStatus.FAILED, JobStatus.CANCELED, JobStatus.FINISHED)
#: What ``start_copy`` puts before each record, and ``copied`` takes off again.
COPIED = "copied:"


class Job:
    """A running job; ``wait_for`` polls a probe until it returns a value, failing fast if the
    job dies (the job's own exception is raised)."""

    def __init__(self, client: JobClient) -> None:
        self.client = client

    def status(self) -> JobStatus:
        """The job's status; FAILED once its per-job mini-cluster has shut down after a failure."""
        try:
            return self.client.get_job_status().result()
        except Exception as exc:  # py4j: "MiniCluster is not yet running or ... shut down"
            if "MiniCluster" in str(exc):
                return JobStatus.FAILED
            raise

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
                raise AssertionError(
                    f"job ended ({status}) before {what}; its cause is in the Flink log "
                    "(pyflink/log/ in the virtualenv)"
                )
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s:.0f}s waiting for {what}")
            time.sleep(0.5)

    def cancel(self) -> None:
        """Cancel the job; it goes on stopping after this returns (a Python job takes about
        2 s). The clean-up of the test's streams waits until it has stopped
        (``tests.support.stopping``); call :meth:`wait_stopped` when the test itself needs it."""
        if self.status() in _FINISHED:
            return
        self.client.cancel().result()
        stopping.track(lambda: self.status() in _FINISHED)

    def cancel_and_wait(self, timeout_s: float = 120.0) -> None:
        """Cancel the job and wait until it has stopped: before a restore of its state, which
        must not run beside it."""
        self.cancel()
        deadline = time.monotonic() + timeout_s
        while self.status() not in _FINISHED and time.monotonic() < deadline:
            time.sleep(0.2)

def checkpoint_dirs(root: Path) -> dict[int, Path]:
    """chk-<n> directories under ``root`` (any job), by n."""
    return {int(p.name.removeprefix("chk-")): p for p in root.glob("*/chk-*")}


def wait_for_new_checkpoint(job: Job, root: Path, timeout_s: float = 180.0) -> Path:
    """Wait until a checkpoint triggered after this call has completed; return its directory.

    A checkpoint's directory is created when it is triggered, before the sources get its
    barrier, so one numbered above every directory present now covers all records the sources
    emitted before this call. It is complete once its ``_metadata`` is written."""
    floor = max(checkpoint_dirs(root), default=0)

    def completed() -> Path | None:
        done = [p for n, p in checkpoint_dirs(root).items() if n > floor]
        return next((p for p in done if (p / "_metadata").exists()), None)

    return job.wait_for(completed, timeout_s, f"a checkpoint after chk-{floor} in {root}")


def start(env: StreamExecutionEnvironment, name: str) -> Job:
    """Submit the job asynchronously."""
    return Job(env.execute_async(name))


def string_sink_builder(aws_config: dict[str, object], stream: str) -> KinesisStreamsSinkBuilder:
    """A sink builder for str records to ``stream`` with random keys, flushed every 100 ms;
    set more, then ``build()``."""
    return (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(PartitionKeyGenerator.random())
        .set_stream_name(stream)
        .set_max_time_in_buffer_ms(100)
    )


def string_sink(aws_config: dict[str, object], stream: str) -> KinesisStreamsSink:
    """A sink writing str records to ``stream`` with random keys, flushed every 100 ms."""
    return string_sink_builder(aws_config, stream).build()


def exactly_once_sink(
    aws_config: dict[str, object], stream: str, keys: PartitionKeyGenerator | None = None
) -> KinesisStreamsSink:
    """The exactly-once (committing) sink writing str records to ``stream``, each keyed by
    ``keys`` (by default its JSON field ``key``)."""
    return (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties(aws_config)
        .set_serialization_schema(SimpleStringSchema())
        .set_partition_key_generator(keys or PartitionKeyGenerator.json_field("key"))
        .set_stream_name(stream)
        .set_delivery_guarantee("exactly-once")
        .build()
    )


def flip27_source(aws_config: dict[str, object], stream: str) -> KinesisStreamsSource:
    """A ``KinesisStreamsSource`` reading str records of ``stream`` from TRIM_HORIZON."""
    return (
        KinesisStreamsSource.builder()
        .set_stream_name(stream)
        .set_source_config({**aws_config, "flink.stream.initpos": "TRIM_HORIZON"})
        .set_deserialization_schema(SimpleStringSchema())
        .build()
    )


def start_mapped(
    env: StreamExecutionEnvironment,
    consumer: FlinkKinesisConsumer,
    render: Callable[[Any], str],
    sink: KinesisStreamsSink,
    name: str,
) -> Job:
    """Start ``consumer`` -> Python map ``render`` -> ``sink``."""
    env.add_source(consumer).map(render, output_type=Types.STRING()).sink_to(sink)
    return start(env, name)


def start_copy(
    env: StreamExecutionEnvironment,
    consumer: FlinkKinesisConsumer,
    sink: KinesisStreamsSink,
    name: str,
) -> Job:
    """Start ``consumer`` -> Python map tagging each record ``copied:`` -> ``sink``; the tag
    shows that every record went through Python (``copied`` reads the output back)."""
    return start_mapped(env, consumer, lambda s: COPIED + s, sink, name)


def copied(server: LocalKinesisServer, out: str) -> list[str]:
    """The payloads a ``start_copy`` job wrote to ``out``, without the job's tag."""
    texts = [r.text for r in server.read_all(out)]
    assert all(t.startswith(COPIED) for t in texts), texts[:5]
    return [t.removeprefix(COPIED) for t in texts]


class ArrivalOrder(KeyedProcessFunction):  # type: ignore[misc]
    """Appends the number of records of the key seen before this one: ``<record>|<arrival>``."""

    def open(self, runtime_context: RuntimeContext) -> None:
        self.seen = runtime_context.get_state(ValueStateDescriptor("seen", Types.LONG()))

    def process_element(self, value: str, ctx: KeyedProcessFunction.Context) -> Iterable[str]:
        arrival = self.seen.value() or 0
        self.seen.update(arrival + 1)
        yield f"{value}|{arrival}"


def failing_env(**settings: str) -> StreamExecutionEnvironment:
    """One-subtask environment whose jobs fail at the first error (no restarts)."""
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("restart-strategy.type", "none")
    for key, value in settings.items():
        config.set_string(key, value)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    return env


def metrics_env(port: int, parallelism: int) -> StreamExecutionEnvironment:
    """An environment whose running jobs' metrics the REST API at ``port`` serves fresh
    (fetched every 100 ms)."""
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    config.set_string("rest.bind-address", "127.0.0.1")
    config.set_string("rest.port", str(port))
    config.set_string("metrics.fetcher.update-interval", "100")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(parallelism)
    return env


def job_failure(job: Job, timeout_s: float = 180.0) -> str:
    """Wait for ``job`` to fail; return its exception chain, one ``toString()`` a line."""
    deadline = time.monotonic() + timeout_s
    while (status := job.status()) not in (JobStatus.FAILED, JobStatus.FINISHED):
        assert status != JobStatus.CANCELED, "the job was canceled instead of failing"
        assert time.monotonic() < deadline, f"the job still runs ({status}) after {timeout_s}s"
        time.sleep(0.5)
    try:
        job.client.get_job_execution_result().result()
    except Py4JJavaError as error:
        causes, j_error = [], error.java_exception
        while j_error is not None:
            causes.append(str(j_error.toString()))
            j_error = j_error.getCause()
        return "\n".join(causes)
    raise AssertionError("the job finished without an error")


def flink_log() -> str:
    """This process's Flink log: its JVM's and the mini-cluster's in it."""
    [path] = log_dir().glob(f"flink-{process_ident()}-python-*.log")
    return path.read_text(errors="replace")
