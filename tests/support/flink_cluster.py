"""A standalone Flink cluster from the installed PyFlink distribution, for end-to-end tests.

A JobManager and a TaskManager, each its own JVM on loopback, neither with the connector on its
class path; its Python workers run ``python`` (default: this interpreter), with ``pythonpath``
added to their PYTHONPATH. :func:`clean_runtime` makes a Python that has apache-flink and nothing
else, and its Flink distribution, for a cluster where only what a job brings can be imported.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
import venv
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Sequence

import pyflink

from pyflink_kinesis.config.endpoint import JSON_PROTOCOL_SYSTEM_PROPERTIES
from pyflink_kinesis.testing import LocalKinesisServer
from tests.support.environment import STARTUP_ENVIRONMENT, fresh_process_environment

FLINK_HOME = Path(pyflink.__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Runtime:
    """A Python with apache-flink and the Flink distribution that package installed."""

    python: str
    flink_home: Path

    @property
    def flink(self) -> Path:
        """The ``flink`` command of the distribution."""
        return self.flink_home / "bin" / "flink"


#: This test session's Python and Flink: pyflink_kinesis and its dependencies importable.
THIS_RUNTIME = Runtime(sys.executable, FLINK_HOME)


def clean_runtime(folder: Path) -> Runtime:
    """A new virtualenv in ``folder`` with only ``pip install apache-flink==<this session's
    version>``: no pyflink_kinesis, no boto3, no path into this environment."""
    venv.create(folder, with_pip=True)
    python = folder / "bin" / "python"
    wanted = f"apache-flink=={metadata.version('apache-flink')}"
    installed = subprocess.run([str(python), "-m", "pip", "install", "-q", wanted],
                               capture_output=True, text=True, timeout=900,
                               env=fresh_process_environment(), cwd=folder)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    home = subprocess.run([str(python), "-c", "import os, pyflink; "
                           "print(os.path.dirname(pyflink.__file__))"],
                          capture_output=True, text=True, check=True, cwd=folder)
    return Runtime(str(python), Path(home.stdout.strip()))


class Cluster:
    """A JobManager and a TaskManager started in the foreground from the runtime's Flink."""

    def __init__(
        self, workdir: Path, runtime: Runtime = THIS_RUNTIME, pythonpath: Sequence[Path] = ()
    ) -> None:
        self.runtime = runtime
        python = runtime.python
        self.workdir = workdir
        self.rest_port = free_port()
        self.conf_dir = workdir / "conf"
        self.log_dir = workdir / "log"
        self.conf_dir.mkdir()
        self.log_dir.mkdir()
        for name in ("log4j-console.properties", "log4j-cli.properties", "log4j.properties"):
            (self.conf_dir / name).write_text((runtime.flink_home / "conf" / name).read_text())
        base = (runtime.flink_home / "conf" / "config.yaml").read_text()
        java_opts = re.search(r"^\s+all: (.*)$", base, re.MULTILINE)
        assert java_opts is not None, "no env.java.opts.all in the distribution's config.yaml"
        # What docs/local-kinesis.md tells users of a separate cluster: JSON for local servers.
        system = " ".join(f"-D{k}={v}" for k, v in JSON_PROTOCOL_SYSTEM_PROPERTIES.items())
        settings = {
            "env.java.opts.all": f"{java_opts.group(1)} {system}",
            "jobmanager.rpc.address": "localhost",
            "jobmanager.bind-host": "localhost",
            "jobmanager.rpc.port": free_port(),
            "jobmanager.memory.process.size": "1024m",
            "taskmanager.host": "localhost",
            "taskmanager.bind-host": "localhost",
            "taskmanager.numberOfTaskSlots": 2,
            "taskmanager.memory.process.size": "1536m",
            "rest.address": "localhost",
            "rest.bind-address": "localhost",
            "rest.port": self.rest_port,
            "parallelism.default": 2,
            "python.executable": python,
            "python.client.executable": python,
        }
        (self.conf_dir / "config.yaml").write_text(
            "".join(f"{key}: {value}\n" for key, value in settings.items())
        )
        self.env = fresh_process_environment(
            FLINK_CONF_DIR=str(self.conf_dir),
            FLINK_LOG_DIR=str(self.log_dir),
            PYTHONPATH=os.pathsep.join(
                [*map(str, pythonpath), STARTUP_ENVIRONMENT.get("PYTHONPATH", "")]
            ),
        )
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self) -> None:
        for script in ("jobmanager.sh", "taskmanager.sh"):
            self.processes.append(subprocess.Popen(
                [str(self.runtime.flink_home / "bin" / script), "start-foreground"], env=self.env,
                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=self.workdir,  # not the checkout: its pyflink_kinesis would be importable
            ))
        self.wait_for(lambda: self.rest("/overview").get("taskmanagers") == 1, 120, "a TM")

    def rest(self, path: str, method: str = "GET") -> Any:
        request = urllib.request.Request(
            f"http://localhost:{self.rest_port}{path}", method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=5) as response:
                body = response.read()
        except OSError:
            return {}
        return json.loads(body) if body else {}

    def wait_for(self, probe: Callable[[], object], timeout_s: float, what: str) -> None:
        deadline = time.monotonic() + timeout_s
        while not probe():
            if time.monotonic() > deadline:
                raise AssertionError(f"cluster: timed out waiting for {what}\n{self.logs()}")
            time.sleep(0.5)

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
            for p in sorted(self.log_dir.glob("*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            os.killpg(process.pid, 15)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, 9)


    def cancel_running_jobs(self) -> None:
        for job in self.rest("/jobs").get("jobs", []):
            if job["status"] == "RUNNING":
                self.rest(f"/jobs/{job['id']}?mode=cancel", method="PATCH")
        self.wait_for(
            lambda: all(j["status"] != "RUNNING" for j in self.rest("/jobs").get("jobs", [])),
            60, "the jobs to be cancelled",
        )

    def files_mentioning(self, text: str) -> list[str]:
        """The cluster's log and output files (JobManager, TaskManager, CLI) holding ``text``."""
        return [
            path.name for path in sorted(self.log_dir.iterdir())
            if path.is_file() and text.encode() in path.read_bytes()
        ]


def wait_for_output(
    cluster: Cluster, local_kinesis: LocalKinesisServer, out: str, expected: Sequence[object]
) -> list[str]:
    """Poll ``out`` until it holds as many records as expected (failing fast if a job fails),
    cancel the cluster's jobs, return what arrived."""
    deadline = time.monotonic() + 180
    arrived: list[str] = []
    try:
        while len(arrived) < len(expected) and time.monotonic() < deadline:
            jobs = cluster.rest("/jobs").get("jobs", [])
            assert all(j["status"] != "FAILED" for j in jobs), cluster.logs()
            time.sleep(1)
            arrived = [r.text for r in local_kinesis.read_all(out)]
    finally:
        cluster.cancel_running_jobs()
    return arrived
