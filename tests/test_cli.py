"""The pyflink-kinesis command: each subcommand as a shell user runs it (exit codes, output), and
every error a user can meet: one line on stderr, exit code 1, a traceback only with --debug."""

from __future__ import annotations

import argparse
import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
import pytest

from pyflink_kinesis import cli, jars
from pyflink_kinesis.errors import KinesisRecordsError
from pyflink_kinesis.testing import LocalKinesis, npm
from tests.support.environment import fresh_process_environment
from tests.support.kinesis_fixtures import MakeStream

COMMANDS = ("jars", "config", "local-kinesis", "put", "tail", "bundle")


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


def subcommand_parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and every parser under it."""
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found += subcommand_parsers(sub)
    return found


def test_every_option_of_every_command_has_help_text() -> None:
    parsers = subcommand_parsers(cli._parser())
    assert len(parsers) >= len(COMMANDS) + 3  # the top level, and jars' path, fetch, verify
    missing = [
        f"{parser.prog} {action.dest}"
        for parser in parsers
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not action.help
    ]
    assert missing == []


def one_line_error(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    """Run the command in this process; assert it failed with exit 1 and one line on stderr,
    nothing on stdout; return that line without its prefix."""
    assert cli.main(list(argv)) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.splitlines()
    assert len(lines) == 1, captured.err
    prefix = f"pyflink-kinesis {argv[0]}: error: "
    assert lines[0].startswith(prefix), lines[0]
    return lines[0][len(prefix):]


def unused_endpoint() -> str:
    """A loopback endpoint where nothing listens."""
    return f"http://127.0.0.1:{free_port()}"


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                 "AWS_DEFAULT_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_put_and_tail_errors_are_one_line(
    capsys: pytest.CaptureFixture[str], local_kinesis: LocalKinesis, tmp_path: Path
) -> None:
    endpoint = local_kinesis.endpoint
    lines = tmp_path / "orders.jsonl"
    lines.write_text('{"customer": "ann"}\n')
    nowhere = unused_endpoint()
    assert one_line_error(capsys, "put", "orders", str(lines), "--endpoint", nowhere).startswith(
        f"cannot reach {nowhere}: Could not connect to the endpoint URL")
    assert one_line_error(capsys, "tail", "orders", "--endpoint", nowhere).startswith(
        f"cannot reach {nowhere}")
    missing = (f"stream 'no-such-stream' does not exist at {endpoint}; check the name, region "
               f"and endpoint, or create the stream")
    assert one_line_error(
        capsys, "put", "no-such-stream", str(lines), "--endpoint", endpoint) == missing
    assert one_line_error(capsys, "tail", "no-such-stream", "--endpoint", endpoint) == missing
    assert one_line_error(capsys, "put", "bad/name", str(lines)) == (
        "'bad/name' is not a Kinesis stream name (1 to 128 of a-z A-Z 0-9 _ . -)")
    assert one_line_error(
        capsys, "put", "orders", str(tmp_path / "none.jsonl"), "--endpoint", endpoint
    ) == f"{tmp_path / 'none.jsonl'}: no such file"
    assert one_line_error(
        capsys, "tail", "orders", "--from", "2024-13-01", "--endpoint", endpoint
    ).startswith("--from '2024-13-01' is not TRIM_HORIZON, LATEST, an ISO 8601 time")
    assert one_line_error(
        capsys, "put", "orders", str(lines), "--key", "k" * 300, "--endpoint", endpoint
    ) == "--key is 300 characters long; Kinesis takes partition keys of 1 to 256"


@pytest.mark.usefixtures("no_aws_credentials")
def test_aws_without_credentials_or_profile_is_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert one_line_error(capsys, "tail", "orders", "--region", "eu-west-1").startswith(
        "no AWS credentials found: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    assert one_line_error(capsys, "put", "orders", "--profile", "prod").startswith(
        "no AWS profile 'prod' in the AWS config files")


def test_debug_shows_the_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(KinesisRecordsError, match="cannot reach"):
        cli.main(["tail", "orders", "--endpoint", unused_endpoint(), "--debug"])


def test_an_error_of_another_kind_is_one_line_with_its_type(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(args: argparse.Namespace) -> int:
        raise RuntimeError("first line\nsecond line")

    monkeypatch.setattr(cli, "_config", broken)
    assert one_line_error(capsys, "config") == (
        "RuntimeError: first line (--debug shows the rest)")


def test_put_reads_stdin_after_options_or_a_file_named_after_them(
    local_kinesis: LocalKinesis, stream_factory: MakeStream, tmp_path: Path
) -> None:
    stream = stream_factory()
    endpoint = local_kinesis.endpoint
    piped = subprocess.run(
        [sys.executable, "-m", "pyflink_kinesis", "put", stream, "--endpoint", endpoint,
         "--key-field", "customer"],
        input='{"customer": "ann", "n": 1}\n\n{"customer": "bob", "n": 2}\n', text=True,
        capture_output=True, timeout=120, env=fresh_process_environment(),
    )
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout == ""
    assert piped.stderr.startswith(f"put 2 records into {stream!r} in ")
    assert piped.stderr.endswith(" s (1 request to 1 shard)\n")
    named = tmp_path / "more.txt"
    named.write_text("three\n")
    assert cli.main(["put", stream, "--endpoint", endpoint, "--key", "k", str(named)]) == 0
    stored = local_kinesis.read_all(stream)
    assert [(r.partition_key, r.text) for r in stored] == [
        ("ann", '{"customer": "ann", "n": 1}'), ("bob", '{"customer": "bob", "n": 2}'),
        ("k", "three")]


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
    five_x = run("config", "source.shard.discovery.interval", "retry-strategy.attempts.max")
    assert five_x.returncode == 0
    assert ("| `source.shard.discovery.interval` | duration | `10 s` | >= 1 ms |"
            in five_x.stdout)
    assert "| `retry-strategy.attempts.max` | int | `50` | >= 1 |" in five_x.stdout
    assert five_x.stdout.count("## `KinesisStreamsSource` (FLIP-27) options") == 2


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


def test_local_kinesis_on_a_port_in_use_exits_1_with_one_line() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run("local-kinesis", "--port", str(port), timeout=60)
    assert result.returncode == 1
    assert result.stderr == (f"pyflink-kinesis local-kinesis: error: kinesalite could not "
                             f"listen: port {port} is in use: choose another\n")


def test_local_kinesis_refuses_bad_streams_and_quotas_with_one_line(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert one_line_error(capsys, "local-kinesis", "--stream", "orders:zero") == (
        "--stream takes NAME or NAME:SHARDS (SHARDS >= 1), not 'orders:zero'")
    assert one_line_error(capsys, "local-kinesis", "--stream", "orders/eu") == (
        "--stream 'orders/eu' is not a Kinesis stream name (1 to 128 of a-z A-Z 0-9 _ . -)")
    assert one_line_error(capsys, "local-kinesis", "--quota", "write_records_per_s=0") == (
        "--quota takes NAME=VALUE with NAME one of write_records_per_s, write_bytes_per_s, "
        "read_calls_per_s, read_bytes_per_s and VALUE > 0, not 'write_records_per_s=0'")
    assert one_line_error(capsys, "local-kinesis", "--server", "kinesis-mock", "--aws-quotas") == (
        "--aws-quotas and --quota work with kinesalite only; kinesis-mock has no per-shard quotas")


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
