"""Quix Streams, the Python-native alternative, measured in ``make bench``.

A Quix Application reads and writes Kafka topics, so its Kinesis sink is fed from a Kafka
topic and its Kinesis source writes into one. This module starts a single-node KRaft Kafka
broker from jars pinned in ``tools/quix/pom.xml`` and runs the apps of ``bench/quix_app.py``
in Quix's own virtualenv (``tools/quix/venv``, every package pinned in
``tools/quix/requirements.txt``); ``make bench-quix`` makes both. Each measured run gets a
fresh broker, so no run reads a topic an earlier run left behind (a ``KinesisSource`` names
its topic after the stream).

The figures are taken the same way as the other clients':
the sink on the server's arrival clock, the source from its first record to its last.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, Iterator

from bench.perf_common import client, free_port, latency_payload

REPO = Path(__file__).resolve().parents[1]
QUIX_DIR = REPO / "tools" / "quix"
QUIX_PYTHON = QUIX_DIR / "venv" / "bin" / "python"
KAFKA_LIB = QUIX_DIR / "kafka-lib"
APP = REPO / "bench" / "quix_app.py"
#: Pinned in tools/quix/requirements.txt and tools/quix/pom.xml.
QUIXSTREAMS_VERSION = "3.28.1"
KAFKA_VERSION = "3.9.1"
#: Partitions of the Kafka topic a Quix sink reads (as many as the Kinesis shards would be
#: natural, but one Quix process reads them all either way).
TOPIC_PARTITIONS = 4
BROKER_START_TIMEOUT_S = 90.0
#: The index of the latency app's probe records.
PROBE_INDEX = -1


class QuixError(RuntimeError):
    """A Quix app or the Kafka broker failed; the message carries the tail of its output."""


def unavailable() -> str | None:
    """Why Quix Streams cannot be measured here, or None when it can."""
    if not QUIX_PYTHON.exists():
        return f"{QUIX_PYTHON.relative_to(REPO)} is missing: run `make bench-quix`"
    if not any(KAFKA_LIB.glob(f"kafka_2.13-{KAFKA_VERSION}.jar")):
        return f"the Kafka {KAFKA_VERSION} jars are not in {KAFKA_LIB.relative_to(REPO)}: " \
               "run `make bench-quix`"
    if shutil.which("java") is None:
        return "no `java` on PATH for the Kafka broker"
    return None


def _kafka_command(*args: str) -> list[str]:
    return ["java", "-Xms256m", "-Xmx1g", "-cp", f"{KAFKA_LIB}/*", *args]


def _listening(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def kafka_broker() -> Iterator[str]:
    """A single-node KRaft Kafka broker on loopback with its data in a temporary directory;
    yields its ``host:port``."""
    with tempfile.TemporaryDirectory(prefix="bench-kafka-") as home:
        port, controller = free_port(), free_port()
        properties = Path(home, "server.properties")
        properties.write_text("\n".join([
            "process.roles=broker,controller", "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{controller}",
            f"listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{port}",
            "controller.listener.names=CONTROLLER",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={home}/data", "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1",
            "group.initial.rebalance.delay.ms=0", f"num.partitions={TOPIC_PARTITIONS}", "",
        ]))
        log4j = Path(home, "log4j.properties")
        log4j.write_text("log4j.rootLogger=WARN, stdout\n"
                         "log4j.appender.stdout=org.apache.log4j.ConsoleAppender\n"
                         "log4j.appender.stdout.layout=org.apache.log4j.PatternLayout\n"
                         "log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n\n")
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        formatted = subprocess.run(
            _kafka_command(f"-Dlog4j.configuration={log4j.as_uri()}", "kafka.tools.StorageTool",
                           "format", "-t", cluster_id, "-c", str(properties)),
            capture_output=True, text=True, timeout=120, check=False)
        if formatted.returncode:
            raise QuixError(f"formatting the Kafka broker's storage failed:\n"
                            f"{_tail(formatted.stdout + formatted.stderr)}")
        log_path = Path(home, "broker.log")
        with log_path.open("w") as log:
            broker = subprocess.Popen(
                _kafka_command(f"-Dlog4j.configuration={log4j.as_uri()}", "kafka.Kafka",
                               str(properties)),
                stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + BROKER_START_TIMEOUT_S
            while not _listening(port):
                if broker.poll() is not None or time.monotonic() > deadline:
                    raise QuixError(f"the Kafka broker did not start on port {port}:\n"
                                    f"{_tail(log_path.read_text(errors='replace'))}")
                time.sleep(0.2)
            yield f"127.0.0.1:{port}"
        finally:
            _stop(broker)


def _stop(process: subprocess.Popen[Any], timeout_s: float = 30) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``timeout_s``."""
    process.terminate()
    try:
        process.wait(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _tail(text: str, lines: int = 30) -> str:
    return "\n".join(text.splitlines()[-lines:])


def _plan(command: str, broker: str, state_dir: str, **fields: Any) -> str:
    return json.dumps({"command": command, "broker": broker, "state_dir": state_dir,
                       "group": f"bench-{uuid.uuid4().hex[:8]}", **fields})


def run_app(command: str, broker: str, timeout_s: float = 900, **fields: Any) -> dict[str, Any]:
    """Run one Quix app to its end; its JSON answer."""
    with tempfile.TemporaryDirectory(prefix="bench-quix-") as state_dir:
        done = subprocess.run(
            [str(QUIX_PYTHON), str(APP), _plan(command, broker, state_dir, **fields)],
            cwd=state_dir, capture_output=True, text=True, timeout=timeout_s, check=False,
            env=_quix_environment())
    if done.returncode:
        raise QuixError(f"the Quix {command} app failed (exit {done.returncode}):\n"
                        f"{_tail(done.stderr or done.stdout)}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


def _quix_environment() -> dict[str, str]:
    """Ours without the AWS and virtualenv settings that could point Quix elsewhere."""
    return {k: v for k, v in os.environ.items()
            if not k.startswith("AWS_") and k not in ("VIRTUAL_ENV", "PYTHONPATH")}


def sink(broker: str, endpoint: str, region: str, stream: str, size: int, records: int) -> None:
    """Fill a Kafka topic with ``records`` records, then let a Quix sink app write them to
    ``stream`` (the rate is taken from the server's arrival clock)."""
    topic = f"bench-in-{uuid.uuid4().hex[:8]}"
    run_app("fill", broker, topic=topic, count=records, size=size,
            partitions=TOPIC_PARTITIONS)
    run_app("sink", broker, topic=topic, count=records, endpoint=endpoint, region=region,
            stream=stream)


def drain(broker: str, endpoint: str, region: str, stream: str, records: int) -> dict[str, Any]:
    """A Quix source app reading ``stream`` from the earliest record until ``records`` came
    through: ``run_at``, ``first_at``, ``last_at`` (epoch s) and ``records``."""
    return run_app("source", broker, stream=stream, count=records, endpoint=endpoint,
                   region=region)


class LatencyReader:
    """A Quix source app on an empty stream, reading before the producer starts; collects
    ``(put, seen)`` pairs from its output until stopped."""

    def __init__(self, broker: str, endpoint: str, region: str, stream: str) -> None:
        self._state = tempfile.TemporaryDirectory(prefix="bench-quix-")
        self.pairs: list[tuple[float, float]] = []
        self._stderr_tail: str | None = None
        self._reading = threading.Event()
        self._stderr = Path(self._state.name, "stderr.log")
        with self._stderr.open("w") as stderr:
            self._process = subprocess.Popen(
                [str(QUIX_PYTHON), str(APP), _plan("latency", broker, self._state.name,
                                                   stream=stream, endpoint=endpoint,
                                                   region=region)],
                cwd=self._state.name, stdout=subprocess.PIPE, stderr=stderr, text=True,
                env=_quix_environment())
        assert self._process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self._process.stdout,),
                                        daemon=True)
        self._reader.start()

    def _read(self, stdout: IO[str]) -> None:
        for line in stdout:
            fields = line.split()
            if len(fields) != 3 or not fields[0].lstrip("-").isdigit():
                continue
            if int(fields[0]) == PROBE_INDEX:
                self._reading.set()
            else:
                self.pairs.append((float(fields[1]), float(fields[2])))

    def wait_reading(self, endpoint: str, region: str, stream: str, size: int,
                     timeout_s: float = 120) -> None:
        """Put probe records until the app has seen one: from then on it is polling, so the
        measured records do not wait for its start-up. Probes are not in ``pairs``."""
        kinesis = client(endpoint, region)
        deadline = time.monotonic() + timeout_s
        while not self._reading.wait(0.5):
            if self._process.poll() is not None or time.monotonic() > deadline:
                tail = self.stop()
                raise QuixError(f"the Quix latency app never saw a record:\n{tail}")
            kinesis.put_record(StreamName=stream, PartitionKey="probe",
                               Data=latency_payload(PROBE_INDEX, time.time(), size).encode())

    def wait_for(self, count: int, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        while len(self.pairs) < count and time.monotonic() < deadline:
            if self._process.poll() is not None:
                break
            time.sleep(0.1)

    def stop(self) -> str:
        """Stop the app (again: no-op); the tail of its stderr."""
        if self._stderr_tail is not None:
            return self._stderr_tail
        _stop(self._process)
        self._reader.join(timeout=5)
        self._stderr_tail = _tail(self._stderr.read_text(errors="replace"))
        self._state.cleanup()
        return self._stderr_tail
