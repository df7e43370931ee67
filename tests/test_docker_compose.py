"""docker-compose.yml, checked without a Docker engine (none runs here).

What is checked: the file parses and every service has what it needs (an image, or a build
whose Dockerfile exists and whose COPY sources do; the files its volumes mount; the demo's
properties file where the Flink services are told to find it, pointing at the ``kinesis``
service); and the Kinesis services' commands, run as they are outside Docker (the volumes
mapped to the files they mount, the ports to free ones), install the pinned servers and serve
Kinesis. The submit command's job is run against a cluster started without Docker in
tests/e2e/test_deploy.py. Not checked: building the image, and containers themselves.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

import boto3
import pytest
import yaml

REPO = Path(__file__).parents[1]
COMPOSE = yaml.safe_load((REPO / "docker-compose.yml").read_text())
SERVICES: dict[str, Any] = COMPOSE["services"]


def test_every_service_has_an_image_or_a_build_it_can_find() -> None:
    assert set(SERVICES) == {"kinesis", "kinesis-mock", "jobmanager", "taskmanager", "demo-data"}
    for name, service in SERVICES.items():
        assert "image" in service, name
        if "build" in service:
            dockerfile = REPO / service["build"]["context"] / service["build"]["dockerfile"]
            assert dockerfile.is_file(), name
        for volume in service.get("volumes", []):
            assert (REPO / volume.split(":")[0]).exists(), f"{name}: {volume}"


def test_the_flink_image_copies_what_exists_and_runs_pyflink_jobs() -> None:
    dockerfile = (REPO / "docker" / "flink" / "Dockerfile").read_text()
    assert re.search(r"^FROM flink:1\.20\S*java17$", dockerfile, re.MULTILINE)
    for source in re.findall(r"^COPY (?!--from)(\S+) ", dockerfile, re.MULTILINE):
        assert (REPO / source).exists(), source
    settings = SERVICES["jobmanager"]["environment"]
    flink = yaml.safe_load(settings["FLINK_PROPERTIES"])
    assert flink["python.executable"] == "/opt/venv/bin/python"
    assert "disableCbor=true" in flink["env.java.opts.all"]  # JSON for the local Kinesis
    container_path = settings["PYFLINK_KINESIS_APPLICATION_PROPERTIES"]
    local = REPO / "demo" / container_path.removeprefix("/opt/demo/")
    assert "COPY demo /opt/demo" in dockerfile and local.is_file()
    groups = json.loads(local.read_text())
    assert {g["PropertyMap"]["aws.endpoint"] for g in groups} == {"http://kinesis:4567"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def working_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Kinesis services' working dir, with the files their volumes mount into it."""
    folder = tmp_path_factory.mktemp("local-kinesis")
    for volume in SERVICES["kinesis"]["volumes"]:
        source, target = volume.split(":")[:2]
        if target.startswith(SERVICES["kinesis"]["working_dir"] + "/"):
            shutil.copyfile(REPO / source, folder / Path(target).name)
    return folder


def outside_docker(service: str, working_dir: Path, ports: dict[str, int]) -> list[str]:
    """The service's command with the container's paths and ports replaced."""
    command: list[str] = list(SERVICES[service]["command"])
    text = command[-1]
    for volume in SERVICES[service]["volumes"]:
        source, target = volume.split(":")[:2]
        if not target.startswith(SERVICES[service]["working_dir"]):
            text = text.replace(target, str(REPO / source))
    for container_port, local_port in ports.items():
        text = re.sub(rf"\b{container_port}\b", str(local_port), text)
    return [*command[:-1], text]


@pytest.fixture
def running(working_dir: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def serves_kinesis(port: int, process: subprocess.Popen[bytes], timeout_s: float = 240) -> None:
    kinesis = boto3.client("kinesis", endpoint_url=f"http://127.0.0.1:{port}",
                           region_name="us-east-1", aws_access_key_id="k",
                           aws_secret_access_key="s")
    deadline = time.monotonic() + timeout_s
    while True:
        assert process.poll() is None, "the service's command ended"
        try:
            kinesis.list_streams()
            break
        except Exception:
            assert time.monotonic() < deadline, "the service never answered"
            time.sleep(0.5)
    kinesis.create_stream(StreamName="compose", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName="compose", WaiterConfig={"Delay": 1})
    kinesis.put_record(StreamName="compose", Data=b"hello", PartitionKey="k")
    shard = kinesis.list_shards(StreamName="compose")["Shards"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(StreamName="compose", ShardId=shard,
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    assert [r["Data"] for r in kinesis.get_records(ShardIterator=iterator)["Records"]] == [
        b"hello"]


def test_the_kinesalite_service_command_serves_kinesis(
    working_dir: Path, running: list[subprocess.Popen[bytes]]
) -> None:
    port = free_port()
    command = outside_docker("kinesis", working_dir, {"4567": port})
    assert "/launchers/kinesalite.js node_modules/kinesalite/index.js 0.0.0.0" in command[-1]
    running.append(subprocess.Popen(command, cwd=working_dir, start_new_session=True,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    serves_kinesis(port, running[-1])


def test_the_kinesis_mock_service_command_serves_kinesis(
    working_dir: Path, running: list[subprocess.Popen[bytes]]
) -> None:
    plain, tls = free_port(), free_port()
    environment = {**os.environ, **SERVICES["kinesis-mock"]["environment"],
                   "KINESIS_MOCK_PLAIN_PORT": str(plain), "KINESIS_MOCK_TLS_PORT": str(tls)}
    command = outside_docker("kinesis-mock", working_dir, {})
    running.append(subprocess.Popen(command, cwd=working_dir, env=environment,
                                    start_new_session=True, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL))
    serves_kinesis(plain, running[-1])
