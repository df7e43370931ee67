"""Tests of ``KinesisMock`` (kinesis-mock, for enhanced fan-out) against a real server process."""

from __future__ import annotations

import os
import re
import socket
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
import warnings
from pathlib import Path

import pytest

from pyflink_kinesis.testing import (
    ENV_KINESIS_MOCK,
    KINESIS_MOCK_VERSION,
    KinesisMock,
    KinesisMockNotFoundError,
    LocalKinesisError,
    find_kinesis_mock,
    npm,
)
from tests.support.kinesis_fixtures import MakeStream
from tests.support.servers import by_key, listening_addresses, pid_exists
from tests.support.tls import PrivateCA

REPO_ROOT = Path(__file__).resolve().parents[1]
REPO_MAIN_JS = REPO_ROOT / "tools" / "local-kinesis" / "node_modules" / "kinesis-local" / "main.js"


# ----------------------------------------------------------------- server lifecycle


def test_start_answers_on_loopback_on_both_ports_and_stop_leaves_no_process() -> None:
    server = KinesisMock()
    with server:
        pid = server.pid
        assert pid is not None and pid_exists(pid)
        assert server.is_running
        assert server.endpoint == f"http://127.0.0.1:{server.port}"
        assert server.tls_endpoint == f"https://127.0.0.1:{server.tls_port}"
        assert server.port != server.tls_port
        assert server.region == "us-east-1"
        assert server.client().list_streams()["StreamNames"] == []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # urllib3: unverified HTTPS request
            assert server.tls_client().list_streams()["StreamNames"] == []
        if os.path.exists("/proc/net/tcp"):
            assert listening_addresses(server.port) == ["0100007F"]
            assert listening_addresses(server.tls_port) == ["0100007F"]
        ports = (server.port, server.tls_port)
        assert repr(server) == f"<KinesisMock running at {server.endpoint}>"
    assert not server.is_running
    assert server.pid is None
    assert not pid_exists(pid)
    for port in ports:
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(LocalKinesisError, match="not running"):
        _ = server.tls_endpoint
    assert "Starting Kinesis Plain Mock Service" in server.log_text()  # kept after stop
    server.stop()  # a second stop is harmless


def test_stop_is_quick_while_a_client_keeps_a_connection_open() -> None:
    """kinesis-mock's own shutdown waits up to 30 s for keep-alive clients; ours must not."""
    server = KinesisMock().start()
    client = server.client()
    client.list_streams()  # leaves an idle keep-alive connection in the client's pool
    started = time.monotonic()
    server.stop(timeout_s=20)
    assert time.monotonic() - started < 5
    client.close()


def test_short_operation_durations_reach_the_server() -> None:
    """kinesis-mock logs its settings at start; every delay we set must be the short one."""
    with KinesisMock(create_stream_ms=7, consumer_ms=8, update_stream_ms=9) as server:
        log = server.log_text()
    durations = dict(re.findall(r'"(\w+Duration)":\{"length":(\d+),"unit":"MILLISECONDS"', log))
    assert durations == {
        "createStreamDuration": "7",
        "deleteStreamDuration": "10",
        "registerStreamConsumerDuration": "8",
        "deregisterStreamConsumerDuration": "8",
        "startStreamEncryptionDuration": "8",
        "stopStreamEncryptionDuration": "8",
        "updateShardCountDuration": "9",
        "splitShardDuration": "9",
        "mergeShardsDuration": "9",
    }
    assert '"shouldPersist":false' in log


def test_the_tls_port_shows_the_certificate_it_is_given(tmp_path: Path) -> None:
    """A client that trusts only the private CA verifies the port; one that trusts the usual
    CAs does not."""
    import botocore.exceptions

    ca = PrivateCA(tmp_path)

    def certificate_files() -> set[Path]:  # kinesis-mock reads the key from one
        return set(Path(tempfile.gettempdir()).glob("kinesis-mock-cert-*.json"))

    before = certificate_files()
    with KinesisMock(tls_certificate=(ca.server_pem, ca.server_key_pem)) as server:
        assert server.tls_client(verify=ca.ca_pem).list_streams()["StreamNames"] == []
        with pytest.raises(botocore.exceptions.SSLError):
            server.tls_client(verify=True, max_attempts=1).list_streams()
        assert len(certificate_files() - before) == 1
    assert certificate_files() - before == set()


@pytest.mark.skipif(os.name != "posix", reason="kills a process with SIGKILL")
def test_server_exits_when_the_python_process_that_started_it_dies(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pyflink_kinesis.testing import KinesisMock\n"
        "server = KinesisMock(log_path=sys.argv[1]).start()\n"
        "print(server.pid, flush=True)\n"
        "time.sleep(120)\n"
    )
    paths = [p for p in sys.path if p] + [str(REPO_ROOT)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    owner = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "server.log")],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    try:
        assert owner.stdout is not None
        server_pid = int(owner.stdout.readline())
        assert pid_exists(server_pid)
    finally:
        owner.kill()  # SIGKILL: no atexit, no stop()
        owner.wait()
    deadline = time.monotonic() + 10
    while pid_exists(server_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not pid_exists(server_pid), "kinesis-mock outlived the process that started it"


def test_missing_executable_from_env_var_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-main.js"
    monkeypatch.setenv(ENV_KINESIS_MOCK, str(missing))
    with pytest.raises(KinesisMockNotFoundError) as raised:
        KinesisMock().start()
    message = str(raised.value)
    assert ENV_KINESIS_MOCK in message
    assert str(missing) in message
    assert "make kinesis-server" in message
    with pytest.raises(KinesisMockNotFoundError, match="does not exist"):
        KinesisMock(executable=missing).start()


def test_no_executable_anywhere_names_both_install_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_KINESIS_MOCK, raising=False)
    monkeypatch.setattr(npm, "candidates", lambda relative: [tmp_path / "x"])
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KinesisMockNotFoundError) as raised:
        find_kinesis_mock()
    assert "make kinesis-server" in str(raised.value)
    assert "pyflink-kinesis local-kinesis" in str(raised.value)
    assert f"npm install -g kinesis-local@{KINESIS_MOCK_VERSION}" in str(raised.value)


def test_repo_install_is_found_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_KINESIS_MOCK, raising=False)
    if not REPO_MAIN_JS.exists():
        pytest.skip("kinesis-local is not installed in tools/local-kinesis")
    assert find_kinesis_mock() == REPO_MAIN_JS


def test_pinned_version_is_the_installed_one() -> None:
    package_json = REPO_MAIN_JS.with_name("package.json")
    if not package_json.exists():
        pytest.skip("kinesis-local is not installed in tools/local-kinesis")
    assert f'"version" : "{KINESIS_MOCK_VERSION}"' in package_json.read_text(encoding="utf-8")


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as the executable")
def test_wrapper_script_gets_the_settings_and_a_failure_reports_its_log(tmp_path: Path) -> None:
    script = tmp_path / "broken-kinesis-mock"
    script.write_text(
        "#!/bin/sh\n"
        + textwrap.dedent(
            """\
            echo "plain=$KINESIS_MOCK_PLAIN_PORT tls=$KINESIS_MOCK_TLS_PORT cwd=$(pwd)"
            echo "create=$CREATE_STREAM_DURATION persist=$SHOULD_PERSIST_DATA" >&2
            exit 7
            """
        )
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    with pytest.raises(LocalKinesisError) as raised:
        KinesisMock(executable=script).start()
    message = str(raised.value)
    assert "kinesis-mock exited with code 7" in message
    assert re.search(rf"plain=\d+ tls=\d+ cwd={re.escape(str(tmp_path))}", message), message
    assert "create=10ms persist=false" in message


# ----------------------------------------------------------------- streams and records


def test_create_stream_with_two_shards(
    kinesis_mock: KinesisMock, mock_stream_factory: MakeStream
) -> None:
    name = mock_stream_factory(2)
    assert len(kinesis_mock.list_shards(name)) == 2
    summary = kinesis_mock.client().describe_stream_summary(StreamName=name)
    assert summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 2
    arn = f"arn:aws:kinesis:us-east-1:000000000000:stream/{name}"
    assert kinesis_mock.stream_arn(name) == arn


def test_put_and_read_back_records(
    kinesis_mock: KinesisMock, mock_stream_factory: MakeStream
) -> None:
    name = mock_stream_factory(2)
    payloads: list[bytes | str] = [
        f"record-{i}" if i % 2 else bytes([i % 256, 0, 255]) + b"-%d" % i for i in range(600)
    ]
    keys = [f"key-{i % 17}" for i in range(600)]
    results = kinesis_mock.put_records(name, payloads, keys)  # two PutRecords calls

    assert len(results) == 600
    records = kinesis_mock.read_all(name)
    expected = [(k, p.encode() if isinstance(p, str) else p) for k, p in zip(keys, payloads)]
    assert sorted((r.partition_key, r.data) for r in records) == sorted(expected)
    assert {r.shard_id for r in records} == {s["ShardId"] for s in kinesis_mock.list_shards(name)}
    landed = {r.sequence_number: r.shard_id for r in results}
    assert {r.sequence_number: r.shard_id for r in records} == landed
    assert kinesis_mock.wait_for_records(name, 600, timeout_s=5) == records


def test_register_describe_and_list_a_stream_consumer(
    kinesis_mock: KinesisMock, mock_stream_factory: MakeStream
) -> None:
    name = mock_stream_factory(2)
    stream_arn = kinesis_mock.stream_arn(name)
    assert kinesis_mock.list_stream_consumers(name) == []

    consumer = kinesis_mock.register_stream_consumer(name, "efo-app")
    assert consumer["ConsumerStatus"] == "ACTIVE"
    assert consumer["ConsumerName"] == "efo-app"
    assert consumer["StreamARN"] == stream_arn
    assert consumer["ConsumerARN"].startswith(f"{stream_arn}/consumer/efo-app:")

    described = kinesis_mock.client().describe_stream_consumer(ConsumerARN=consumer["ConsumerARN"])[
        "ConsumerDescription"
    ]
    assert described["ConsumerName"] == "efo-app"
    assert described["ConsumerStatus"] == "ACTIVE"

    kinesis_mock.client().register_stream_consumer(StreamARN=stream_arn, ConsumerName="other")
    listed = kinesis_mock.list_stream_consumers(name)
    assert sorted(c["ConsumerName"] for c in listed) == ["efo-app", "other"]
    arns = {c["ConsumerName"]: c["ConsumerARN"] for c in listed}
    assert arns["efo-app"] == consumer["ConsumerARN"]
    # The fixture deletes the stream although consumers are registered on it.


def test_delete_stream_removes_it_together_with_its_consumers(kinesis_mock: KinesisMock) -> None:
    kinesis_mock.create_stream("with-consumer", 1)
    kinesis_mock.register_stream_consumer("with-consumer", "c")
    kinesis_mock.delete_stream("with-consumer")
    assert "with-consumer" not in kinesis_mock.client().list_streams()["StreamNames"]
    kinesis_mock.create_stream("with-consumer", 1)  # the name can be reused at once
    assert kinesis_mock.list_stream_consumers("with-consumer") == []
    kinesis_mock.delete_stream("with-consumer")


def test_update_shard_count_then_read_all_returns_every_record_parents_first(
    kinesis_mock: KinesisMock, mock_stream_factory: MakeStream
) -> None:
    name = mock_stream_factory(2)
    keys = [f"k{i % 20}" for i in range(400)]
    kinesis_mock.put_records(name, [str(i) for i in range(200)], keys[:200])
    parents = {s["ShardId"] for s in kinesis_mock.list_shards(name)}

    kinesis_mock.update_shard_count(name, 4)

    summary = kinesis_mock.client().describe_stream_summary(StreamName=name)
    assert summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 4
    kinesis_mock.put_records(name, [str(i) for i in range(200, 400)], keys[200:])

    shards = kinesis_mock.list_shards(name)
    closed = {s["ShardId"] for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]}
    assert closed == parents
    children = [s for s in shards if s["ShardId"] not in parents]
    assert len(children) == 4
    assert all(s.get("ParentShardId") in parents for s in children)

    records = kinesis_mock.read_all(name)
    assert sorted(int(r.text) for r in records) == list(range(400))
    assert {r.shard_id for r in records if int(r.text) < 200} <= parents
    assert not {r.shard_id for r in records if int(r.text) >= 200} & parents
    # Parents first: every record of a parent shard comes before the records of its children.
    last_parent_index = max(i for i, r in enumerate(records) if r.shard_id in parents)
    first_child_index = min(i for i, r in enumerate(records) if r.shard_id not in parents)
    assert last_parent_index < first_child_index
    for key, values in by_key(records).items():
        assert values == sorted(values), f"records of {key} out of order across the resharding"


def test_update_shard_count_timeout_names_the_stream_state() -> None:
    with KinesisMock(update_stream_ms=5000) as slow:
        slow.create_stream("slow", 1)
        with pytest.raises(LocalKinesisError, match=r"'slow' is UPDATING .* to 2"):
            slow.update_shard_count("slow", 2, timeout_s=0.2)


def test_mock_stream_factory_cleans_up_and_failures_show_the_server_log(tmp_path: Path) -> None:
    """Run a small pytest session with the plugin in a subprocess and check its outcome."""
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(
        textwrap.dedent(
            """\
            import json
            import pathlib

            NAMES = pathlib.Path(__file__).with_name("names.json")

            def test_makes_streams(mock_stream_factory, kinesis_mock):
                names = [mock_stream_factory(1), mock_stream_factory(2)]
                kinesis_mock.register_stream_consumer(names[1], "consumer")
                assert set(names) <= set(kinesis_mock.client().list_streams()["StreamNames"])
                NAMES.write_text(json.dumps(names))

            def test_streams_were_deleted(kinesis_mock):
                names = set(json.loads(NAMES.read_text()))
                assert not names & set(kinesis_mock.client().list_streams()["StreamNames"])

            def test_fails_with_server_log(kinesis_mock):
                assert False, "intentional failure"
            """
        )
    )
    paths = [p for p in sys.path if p] + [str(REPO_ROOT)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    plugin = "tests.support.kinesis_fixtures"
    options = ["-p", plugin, "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-q"]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), *options],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert "1 failed, 2 passed" in result.stdout, output
    assert result.stdout.count("kinesis-mock server log, last") == 1, output
    assert "local Kinesis server log" not in result.stdout, output
    assert "Starting Kinesis Plain Mock Service" in result.stdout, output
