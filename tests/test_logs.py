"""pyflink_kinesis.logs: a log file per process, its owner, pruning, and ``pyflink-kinesis logs``
over a log directory of our own (``FLINK_LOG_DIR``). A real job's log is found by the command in
tests/e2e/test_first_run.py."""

from __future__ import annotations

import getpass
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pyflink_kinesis import cli, logs

USER = getpass.getuser()
LINE = ("2026-01-02 10:00:00,000 INFO  org.apache.flink.runtime.executiongraph.ExecutionGraph"
        "       [] - Job {name} ({id}) switched from state {old} to {new}.\n")
JOB_ID = "a" * 32


def write_log(folder: Path, name: str, *states: str, age_s: float = 0) -> Path:
    path = folder / name
    lines = [LINE.format(name="orders", id=JOB_ID, old=old, new=new)
             for old, new in zip(("CREATED", *states), states)]
    path.write_text("starting\n" + "".join(lines))
    stamp = time.time() - age_s
    os.utime(path, (stamp, stamp))
    return path


def ended_pid() -> int:
    """The id of a process that has ended."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    return int(done.stdout)


def test_the_ident_names_user_script_and_process() -> None:
    assert logs.process_ident(4242, "/home/me/my job.py") == f"{USER}-my_job-4242"
    assert logs.process_ident(1, "") == logs.process_ident(1, "-c") == f"{USER}-python-1"
    assert logs.process_ident(1, "/venv/lib/pytest/__main__.py") == f"{USER}-pytest-1"


def test_a_jvm_gets_a_log_of_its_own_unless_the_user_named_it() -> None:
    own = logs.launch_environment({})
    assert own[logs.IDENT_ENV] == own[logs.OWNED_IDENT_ENV] == logs.process_ident()
    # A parent's ident (inherited, or copied back from a local job's workers) is replaced.
    parents = {logs.IDENT_ENV: f"{USER}-job-1", logs.OWNED_IDENT_ENV: f"{USER}-job-1"}
    assert logs.launch_environment(parents) == own
    assert logs.launch_environment({logs.IDENT_ENV: "mine"}) == {}


def test_a_log_says_whose_it_is_and_its_last_job(tmp_path: Path) -> None:
    ours = write_log(tmp_path, f"flink-{USER}-job-{os.getpid()}-python-host.log",
                     "RUNNING", "RESTARTING")
    assert logs.read_log(ours).owner() == (
        f"process {os.getpid()} (job), running; last job 'orders' ({JOB_ID}) RESTARTING")
    pid = ended_pid()
    ended = write_log(tmp_path, f"flink-{USER}-job-{pid}-python-host.log", "RUNNING")
    assert logs.read_log(ended).owner() == (
        f"process {pid} (job), ended; last job 'orders' ({JOB_ID}) RUNNING when the process "
        "ended")
    shared = write_log(tmp_path, f"flink-{USER}-python-host.log")
    assert logs.read_log(shared).owner() == (
        "shared by PyFlink processes that did not import pyflink_kinesis first; no job yet")


def test_pruning_keeps_the_newest_and_those_of_running_processes(tmp_path: Path) -> None:
    old = [write_log(tmp_path, f"flink-{USER}-job-{ended_pid()}-python-h.log", age_s=100 + i)
           for i in range(3)]
    running = write_log(tmp_path, f"flink-{USER}-job-{os.getpid()}-python-h.log", age_s=500)
    new = write_log(tmp_path, f"flink-{USER}-job-{ended_pid()}-python-h.log")
    shared = write_log(tmp_path, f"flink-{USER}-python-h.log", age_s=900)
    assert logs.prune(tmp_path, keep=2) == old[1:]
    assert sorted(tmp_path.iterdir()) == sorted([old[0], running, new, shared])


def run_logs(monkeypatch: pytest.MonkeyPatch, folder: Path, *args: str) -> int:
    monkeypatch.setenv("FLINK_LOG_DIR", str(folder))
    return cli.main(["logs", *args])


def test_the_command_prints_the_newest_jobs_log_whose_it_is_and_its_end(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = ended_pid()
    older = write_log(tmp_path, f"flink-{USER}-etl-{pid}-python-h.log", "RUNNING", age_s=60)
    newest = write_log(tmp_path, f"flink-{USER}-orders-{os.getpid()}-python-h.log", "RUNNING")
    write_log(tmp_path, f"flink-{USER}-python-h.log")  # newer than `older`, no job

    assert run_logs(monkeypatch, tmp_path, "-n", "1") == 0
    assert capsys.readouterr().out.splitlines() == [
        str(newest),
        f"    process {os.getpid()} (orders), running; last job 'orders' ({JOB_ID}) RUNNING",
        "--- its last 1 lines ---",
        LINE.format(name="orders", id=JOB_ID, old="CREATED", new="RUNNING").rstrip("\n"),
    ]
    assert run_logs(monkeypatch, tmp_path, "--path", "--pid", str(pid)) == 0
    assert capsys.readouterr().out == f"{older}\n"
    assert run_logs(monkeypatch, tmp_path, "--list") == 0
    assert capsys.readouterr().out.count("\n    ") == 3


def test_the_command_says_where_it_looked_when_there_is_no_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run_logs(monkeypatch, tmp_path) == 1
    assert f"no Flink log in {tmp_path}" in capsys.readouterr().err
    write_log(tmp_path, f"flink-{USER}-job-{os.getpid()}-python-h.log")
    assert run_logs(monkeypatch, tmp_path, "--pid", "1") == 1
    assert f"no Flink log of process 1 in {tmp_path}" in capsys.readouterr().err
