"""The pyflink-kinesis command: each subcommand as a shell user runs it (exit codes, output)."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from pyflink_kinesis import jars
from pyflink_kinesis.testing import npm
from tests.support.environment import fresh_process_environment

COMMANDS = ("jars", "config", "local-kinesis", "bundle")


def run(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyflink_kinesis", *args], capture_output=True, text=True,
        timeout=timeout, env=fresh_process_environment(),
    )


def test_help_lists_every_command_and_each_has_its_own() -> None:
    top = run("--help")
    assert top.returncode == 0
    assert all(command in top.stdout for command in COMMANDS)
    for command in COMMANDS:
        assert run(command, "--help").returncode == 0, command
    assert run("jars", "fetch", "--help").returncode == 0


def test_a_command_line_it_cannot_read_exits_2_saying_why() -> None:
    missing = run()
    assert missing.returncode == 2
    assert "required: COMMAND" in missing.stderr
    assert run("nope").returncode == 2
    assert run("bundle", "app.py").returncode == 2  # -o is required


def test_jars_path_and_verify() -> None:
    path = run("jars", "path")
    assert path.returncode == 0, path.stderr
    printed = [Path(line) for line in path.stdout.splitlines()]
    assert printed == jars.resolve_jars()
    verify = run("jars", "verify")
    assert verify.returncode == 0, verify.stderr
    assert sum(line.startswith("ok  ") for line in verify.stdout.splitlines()) == len(
        jars.load_manifest().jars_for(jars.installed_flink_version()))
    assert not path.stderr




def test_jars_errors_exit_1_with_the_reason() -> None:
    unknown = run("jars", "path", "--extra", "nope")
    assert unknown.returncode == 1
    assert unknown.stderr.startswith("pyflink-kinesis jars: error: pyflink_kinesis has no "
                                     "'nope' jars for Flink 1.20")


def test_config_prints_the_reference_or_the_keys_named() -> None:
    everything = run("config")
    assert everything.returncode == 0
    assert everything.stdout.startswith("# Configuration reference")
    one = run("config", "flink.stream.initpos")
    assert one.returncode == 0
    assert "| `flink.stream.initpos` | enum |" in one.stdout
    assert "## `FlinkKinesisConsumer` keys" in one.stdout
    wrong = run("config", "flink.stream.initpoz", "aws.region")
    assert wrong.returncode == 1
    assert "'flink.stream.initpoz': unknown key; did you mean 'flink.stream.initpos'?" in (
        wrong.stderr)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_local_kinesis_serves_until_ctrl_c() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "pyflink_kinesis", "local-kinesis", "--port", str(port),
         "--stream", "orders:2", "--stream", "out"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env=fresh_process_environment(),
    )
    try:
        assert server.stdout is not None
        lines: list[str] = []
        deadline = time.monotonic() + 60
        while not lines or lines[-1] != "Ctrl-C stops it.\n":
            assert time.monotonic() < deadline and server.poll() is None, "".join(lines)
            lines.append(server.stdout.readline())
        text = "".join(lines)
        endpoint = f"http://127.0.0.1:{port}"
        assert f"kinesalite is listening at {endpoint}" in text
        config = json.loads(text[text.index("{"):text.index("}") + 1])
        assert config["aws.endpoint"] == endpoint and config["aws.region"] == "us-east-1"
        kinesis = boto3.client("kinesis", endpoint_url=endpoint, region_name="us-east-1",
                               aws_access_key_id="k", aws_secret_access_key="s")
        summary = kinesis.describe_stream_summary(StreamName="orders")
        assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2
        assert sorted(kinesis.list_streams()["StreamNames"]) == ["orders", "out"]
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=30) == 0
        assert "kinesalite stopped" in server.stdout.read()
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    finally:
        server.kill()
        server.wait()


def test_local_kinesis_on_a_port_in_use_exits_1() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("local-kinesis", "--port", str(port), timeout=60)
    assert result.returncode == 1
    assert f"port {port} is in use" in result.stderr


def test_local_kinesis_rejects_a_bad_stream_spec() -> None:
    result = run("local-kinesis", "--stream", "orders:zero")
    assert result.returncode != 0
    assert "--stream takes NAME or NAME:SHARDS" in result.stderr


def test_the_pinned_servers_install_with_npm_where_a_user_has_none(tmp_path: Path) -> None:
    installed = npm.install(tmp_path / "servers")
    assert (installed / "node_modules" / ".bin" / "kinesalite").exists()
    assert (installed / "node_modules" / "kinesis-local" / "main.js").is_file()
    lock = json.loads((installed / "package-lock.json").read_text())
    assert lock["packages"]["node_modules/kinesalite"]["version"] == "3.3.3"


def test_bundle_refuses_a_script_that_does_not_exist(tmp_path: Path) -> None:
    result = run("bundle", str(tmp_path / "app.py"), "-o", str(tmp_path / "app.zip"))
    assert result.returncode == 1
    assert "app.py: no such Python script" in result.stderr
