"""A new user's first hour: local jobs that just run, and failures they can see.

``first_job.py`` runs as a user runs it, ``.venv/bin/python first_job.py`` with the
virtualenv not on PATH (there ``python`` is another interpreter, or none): its workers still
start, its records arrive, its Flink log is a file of its own that ``pyflink-kinesis logs``
finds; then its second job, with checkpointing and a typo in the partition key's field, shows
its cause on stderr once while Flink restarts it. The other tests run in this process: a
worker interpreter without PyFlink, thread mode, and a Table API job's failure.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Callable, Iterator

import pytest
from py4j.protocol import Py4JJavaError
from pyflink.common import Configuration, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import StreamExecutionEnvironment
from pyflink.table import DataTypes, EnvironmentSettings, TableEnvironment
from pyflink.table.udf import udf

from pyflink_kinesis import FlinkKinesisConsumer, JobFailedError, PythonWorkerError
from pyflink_kinesis.testing import LocalKinesis
from tests.support.environment import STARTUP_ENVIRONMENT, fresh_process_environment
from tests.support.interpreters import python_without_packages

JOB = Path(__file__).with_name("first_job.py")
StreamFactory = Callable[..., str]
COUNT = 30
# The cause first_job.py's second job fails of, as printed (its first line).
TYPO_CAUSE = "    java.lang.IllegalArgumentException: json_field('customr') has no partition key"
RESTARTING = re.compile(r"Job first job \(customr\) \([0-9a-f]{32}\) switched from state "
                        r"RUNNING to RESTARTING")


class Child:
    """A process whose stdout and stderr lines are collected as they come."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        text=True, env=env, start_new_session=True)
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._readers = [
            threading.Thread(target=self._read, args=(stream, lines), daemon=True)
            for stream, lines in ((self.process.stdout, self.stdout),
                                  (self.process.stderr, self.stderr))
        ]
        for reader in self._readers:
            reader.start()

    @staticmethod
    def _read(stream: object, lines: list[str]) -> None:
        for line in stream:  # type: ignore[attr-defined]
            lines.append(line.rstrip("\n"))

    def wait_for(self, probe: Callable[[], bool], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not probe():
            if self.process.poll() is not None:
                time.sleep(1)  # let the readers drain
                raise AssertionError(f"the job ended ({self.process.returncode}) before "
                                     f"{what}:\n{self.output()}")
            assert time.monotonic() < deadline, f"no {what} in {timeout_s:.0f} s:\n{self.output()}"
            time.sleep(0.2)

    def output(self) -> str:
        return "\n".join(["stdout:", *self.stdout, "stderr:", *self.stderr])[-6000:]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=60)
        for reader in self._readers:
            reader.join(timeout=10)


def path_without_virtualenv() -> str:
    """PATH as the user's shell has it when the virtualenv is not activated."""
    venv_bin = str(Path(sys.executable).parent)
    return os.pathsep.join(entry for entry in STARTUP_ENVIRONMENT.get("PATH", "").split(os.pathsep)
                           if entry and entry != venv_bin)


def logs_command(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pyflink_kinesis", "logs", *args],
                          capture_output=True, text=True, timeout=120,
                          env=fresh_process_environment())


@pytest.fixture
def first_job(local_kinesis: LocalKinesis, stream_factory: StreamFactory) -> Iterator[
        tuple[Child, str]]:
    out = stream_factory()
    child = Child([sys.executable, str(JOB), local_kinesis.endpoint, out, str(COUNT)],
                  fresh_process_environment(PATH=path_without_virtualenv()))
    try:
        yield child, out
    finally:
        child.stop()


def test_a_job_run_without_the_virtualenv_on_path_runs_and_shows_its_failures_once(
    first_job: tuple[Child, str], local_kinesis: LocalKinesis
) -> None:
    child, out = first_job
    # Without python.executable, Flink runs `python` from PATH: not this virtualenv's.
    child.wait_for(lambda: f"moved {COUNT}" in child.stdout, 300, "records moved")
    texts = sorted(json.loads(record.text)["n"] for record in local_kinesis.read_all(out))
    assert texts == list(range(COUNT))
    assert child.stderr == [], child.output()  # nothing but the job's own output

    # The process's Flink log is a file of its own, which `pyflink-kinesis logs` finds.
    found = logs_command("--pid", str(child.process.pid))
    assert found.returncode == 0, found.stderr
    log = Path(found.stdout.splitlines()[0])
    assert log.is_file() and f"-{child.process.pid}-" in log.name
    assert f"process {child.process.pid} (first_job), running" in found.stdout
    assert "last job 'first job (custom" in found.stdout

    # The second job fails at its first record; with checkpointing Flink restarts it forever.
    child.wait_for(lambda: RESTARTING.search(log.read_text()) is not None, 300,
                   "restart in the Flink log")
    child.wait_for(lambda: TYPO_CAUSE in "\n".join(child.stderr), 30, "cause on stderr")
    child.wait_for(lambda: len(RESTARTING.findall(log.read_text())) >= 3, 300, "3 restarts")
    child.stop()
    stderr = "\n".join(child.stderr)
    assert stderr.count("json_field('customr')") == 1, child.output()
    assert stderr.count("failed in Sink: Writer (1/1), restarting:") == 1, child.output()
    assert stderr.count(f"the job's full log: {log}") == 1, child.output()
    assert all(line.startswith(("pyflink-kinesis: ", "    ")) for line in child.stderr), stderr


@pytest.mark.timeout(180)  # broken, the job would restart forever
def test_a_worker_interpreter_without_pyflink_fails_the_job_before_it_starts(
    tmp_path: Path,
) -> None:
    python = python_without_packages(tmp_path)
    config = Configuration()
    config.set_string("python.executable", python)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.enable_checkpointing(1000)  # a job that started would restart forever
    env.from_collection(["a"], Types.STRING()).map(str.upper, output_type=Types.STRING()).print()
    with pytest.raises(PythonWorkerError) as raised:
        env.execute("worker without pyflink")
    message = str(raised.value)
    assert f"python.executable is {python!r}, which cannot import pyflink." in message
    assert sys.executable in message  # the way out: this interpreter


def test_a_thread_mode_job_from_the_virtualenv_moves_records(
    local_kinesis: LocalKinesis, stream_factory: StreamFactory, aws_config: dict[str, object]
) -> None:
    """Kinesis -> a Python map run by thread mode's embedded interpreter -> collected here
    (``execute_and_collect``, whose job has a way of its own into the JVM)."""
    stream = stream_factory()
    local_kinesis.put_records(stream, [f"r{i}" for i in range(COUNT)])
    config = Configuration()
    config.set_string("python.execution-mode", "thread")
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(1)
    consumer = FlinkKinesisConsumer(stream, SimpleStringSchema(),
                                    {**aws_config, "flink.stream.initpos": "TRIM_HORIZON"})
    mapped = env.add_source(consumer).map(str.upper, output_type=Types.STRING())
    collected = mapped.execute_and_collect("thread mode", limit=COUNT)
    assert sorted(collected) == sorted(f"R{i}" for i in range(COUNT))


@udf(result_type=DataTypes.BIGINT())  # type: ignore[untyped-decorator]
def divide_by_zero(x: int) -> int:
    return x // 0


def test_a_failed_table_job_raises_its_cause_after_py4js_error() -> None:
    t_env = TableEnvironment.create(EnvironmentSettings.in_streaming_mode())
    t_env.get_config().set("parallelism.default", "1")
    t_env.create_temporary_function("divide_by_zero", divide_by_zero)
    t_env.execute_sql("CREATE TEMPORARY TABLE numbers (x BIGINT) WITH ("
                      "'connector' = 'datagen', 'number-of-rows' = '5')")
    t_env.execute_sql("CREATE TEMPORARY TABLE nowhere (y BIGINT) WITH ('connector' = 'blackhole')")
    result = t_env.execute_sql("INSERT INTO nowhere SELECT divide_by_zero(x) FROM numbers")
    with pytest.raises(JobFailedError) as raised:
        result.wait()
    assert isinstance(raised.value.__cause__, Py4JJavaError)
    assert "ZeroDivisionError" in raised.value.cause
    message = str(raised.value)
    assert message.startswith("job 'insert-into_default_catalog.default_database.nowhere' (")
    log = message.split("every stack trace: ", 1)[1].split(" ", 1)[0]
    assert Path(log).is_file()
