"""Tests of the local Kinesis server helper against a real kinesalite process."""

from __future__ import annotations

import ast
import os
import socket
import stat
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter
from pathlib import Path
from types import ModuleType

import pytest

from pyflink_kinesis.testing import (
    ENV_EXECUTABLE,
    KINESALITE_VERSION,
    KinesaliteNotFoundError,
    LocalKinesis,
    LocalKinesisError,
    RecordsTimeoutError,
    _server,
    find_kinesalite,
    kinesalite,
    kinesis_mock,
    npm,
)
from tests.support.kinesis_fixtures import MakeStream
from tests.support.servers import by_key, listening_addresses, pid_exists

REPO_ROOT = Path(__file__).resolve().parents[1]


def _fake_executable(path: Path, body: str) -> Path:
    path.write_text("#!/bin/sh\n" + textwrap.dedent(body))
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# ----------------------------------------------------------------- server lifecycle


def test_start_answers_on_loopback_and_stop_leaves_no_process() -> None:
    server = LocalKinesis()
    with server:
        pid = server.pid
        assert pid is not None and pid_exists(pid)
        assert server.is_running
        assert server.endpoint == f"http://127.0.0.1:{server.port}"
        assert server.region == "us-east-1"
        assert server.client().list_streams()["StreamNames"] == []
        assert "Listening at http://127.0.0.1:" in server.log_text()
        if os.path.exists("/proc/net/tcp"):
            assert listening_addresses(server.port) == ["0100007F"]
        port = server.port
    assert not server.is_running
    assert server.pid is None
    assert not pid_exists(pid)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()
    with pytest.raises(LocalKinesisError, match="not running"):
        _ = server.endpoint
    assert "Listening at" in server.log_text()  # kept in memory after the temp log is removed
    server.stop()  # a second stop is harmless


@pytest.mark.skipif(os.name != "posix", reason="kills a process with SIGKILL")
def test_server_exits_when_the_python_process_that_started_it_dies(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pyflink_kinesis.testing import LocalKinesis\n"
        "server = LocalKinesis(log_path=sys.argv[1]).start()\n"
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
    assert not pid_exists(server_pid), "kinesalite outlived the process that started it"


def test_two_servers_get_different_ports() -> None:
    with LocalKinesis() as first, LocalKinesis() as second:
        assert first.port != second.port
        first.create_stream("only-on-first")
        assert second.client().list_streams()["StreamNames"] == []
        assert first.client().list_streams()["StreamNames"] == ["only-on-first"]


def test_missing_executable_from_env_var_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    missing = tmp_path / "no-such-kinesalite"
    monkeypatch.setenv(ENV_EXECUTABLE, str(missing))
    with pytest.raises(KinesaliteNotFoundError) as raised:
        LocalKinesis().start()
    message = str(raised.value)
    assert ENV_EXECUTABLE in message
    assert str(missing) in message
    assert "make kinesis-server" in message
    with pytest.raises(KinesaliteNotFoundError, match="does not exist"):
        LocalKinesis(executable=missing).start()


def test_no_executable_anywhere_names_both_install_commands(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv(ENV_EXECUTABLE, raising=False)
    monkeypatch.setattr(npm, "candidates", lambda relative: [tmp_path / "x"])
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(KinesaliteNotFoundError) as raised:
        find_kinesalite()
    assert "make kinesis-server" in str(raised.value)
    assert "pyflink-kinesis local-kinesis" in str(raised.value)
    assert f"npm install -g kinesalite@{KINESALITE_VERSION}" in str(raised.value)


def test_repo_install_is_found_without_configuration(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_EXECUTABLE, raising=False)
    repo_bin = REPO_ROOT / "tools" / "local-kinesis" / "node_modules" / ".bin" / "kinesalite"
    if not repo_bin.exists():
        pytest.skip("kinesalite is not installed in tools/local-kinesis")
    assert find_kinesalite() == repo_bin


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as the executable")
def test_server_that_exits_at_startup_reports_its_log(tmp_path: Path) -> None:
    script = _fake_executable(
        tmp_path / "broken-kinesalite",
        """\
        echo "boom: pretend startup failure" >&2
        exit 7
        """,
    )
    with pytest.raises(LocalKinesisError) as raised:
        LocalKinesis(executable=script).start()
    assert "exited with code 7" in str(raised.value)
    assert "boom: pretend startup failure" in str(raised.value)


@pytest.mark.skipif(os.name != "posix", reason="uses a shell script as the executable")
def test_server_that_never_answers_times_out_and_is_killed(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = _fake_executable(
        tmp_path / "silent-kinesalite",
        f"""\
        echo $$ > {pid_file}
        echo "still warming up"
        exec sleep 60
        """,
    )
    server = LocalKinesis(executable=script, startup_timeout_s=1.0)
    with pytest.raises(LocalKinesisError) as raised:
        server.start()
    assert "did not answer" in str(raised.value)
    assert "still warming up" in str(raised.value)
    assert not server.is_running
    assert not pid_exists(int(pid_file.read_text()))


@pytest.mark.parametrize("module", [_server, kinesalite, kinesis_mock], ids=lambda m: m.__name__)
def test_module_does_not_import_pyflink_or_py4j(module: ModuleType) -> None:
    tree = ast.parse(Path(str(module.__file__)).read_text(encoding="utf-8"))
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    top_level = {name.split(".")[0] for name in imported}
    assert not top_level & {"pyflink", "py4j"}


def test_put_records_rejects_mismatched_partition_keys() -> None:
    with pytest.raises(ValueError, match="2 records but 1 partition keys"):
        LocalKinesis().put_records("any", [b"a", b"b"], ["only-one"])


# ----------------------------------------------------------------- streams and records


def test_create_stream_with_four_shards(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    name = stream_factory(4)
    shards = local_kinesis.list_shards(name)
    assert len(shards) == 4
    summary = local_kinesis.client().describe_stream_summary(StreamName=name)
    assert summary["StreamDescriptionSummary"]["StreamStatus"] == "ACTIVE"
    assert summary["StreamDescriptionSummary"]["OpenShardCount"] == 4


def test_put_and_read_back_1000_records(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    name = stream_factory(4)
    payloads: list[bytes | str] = []
    keys = []
    for i in range(1000):
        # Text and binary payloads (incl. bytes that are not UTF-8), 37 distinct keys.
        payloads.append(f"record-{i}" if i % 2 else bytes([i % 256, 0, 255]) + b"-%d" % i)
        keys.append(f"key-{i % 37}")
    results = local_kinesis.put_records(name, payloads, keys)

    assert len(results) == 1000
    assert len({r.sequence_number for r in results}) == 1000
    records = local_kinesis.read_all(name)
    expected = Counter((k, p.encode() if isinstance(p, str) else p) for k, p in zip(keys, payloads))
    assert Counter((r.partition_key, r.data) for r in records) == expected
    assert len({r.shard_id for r in records}) > 1
    # Each record was read from the shard PutRecords said it went to.
    landed = {r.sequence_number: r.shard_id for r in results}
    assert {r.sequence_number: r.shard_id for r in records} == landed


def test_read_all_keeps_per_key_order(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    name = stream_factory(4)
    # Several PutRecords calls; the first one is sent as two batches (500 + 100).
    for start, stop in ((0, 600), (600, 800), (800, 1000)):
        written = range(start, stop)
        local_kinesis.put_records(name, [str(v) for v in written], [f"k{v % 13}" for v in written])

    grouped = by_key(local_kinesis.read_all(name))
    assert sum(len(v) for v in grouped.values()) == 1000
    assert len(grouped) == 13
    for key, values in grouped.items():
        assert values == sorted(values), f"records of {key} out of order"


def test_read_all_after_split_shard_returns_parent_and_child_records(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    name = stream_factory(1)
    keys = [f"k{i % 20}" for i in range(400)]
    local_kinesis.put_records(name, [str(i) for i in range(200)], keys[:200])
    [parent] = local_kinesis.list_shards(name)
    local_kinesis.client().split_shard(
        StreamName=name, ShardToSplit=parent["ShardId"], NewStartingHashKey=str(2**127)
    )
    local_kinesis.wait_until_active(name)
    local_kinesis.put_records(name, [str(i) for i in range(200, 400)], keys[200:])

    shards = local_kinesis.list_shards(name)
    assert len(shards) == 3
    closed = [s for s in shards if "EndingSequenceNumber" in s["SequenceNumberRange"]]
    assert [s["ShardId"] for s in closed] == [parent["ShardId"]]

    records = local_kinesis.read_all(name)
    assert sorted(int(r.text) for r in records) == list(range(400))
    assert {r.shard_id for r in records} == {s["ShardId"] for s in shards}
    assert {r.shard_id for r in records if int(r.text) < 200} == {parent["ShardId"]}
    for key, values in by_key(records).items():
        assert values == sorted(values), f"records of {key} out of order across the split"


def test_wait_for_records_returns_records_written_later(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    name = stream_factory(2)
    writer = threading.Timer(0.3, local_kinesis.put_records, (name, [b"a", b"b", b"c"]))
    writer.start()
    try:
        records = local_kinesis.wait_for_records(name, 3, timeout_s=20)
    finally:
        writer.join()
    assert sorted(r.data for r in records) == [b"a", b"b", b"c"]


def test_wait_for_records_timeout_says_how_many_arrived(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    name = stream_factory(1)
    local_kinesis.put_records(name, [b"1", b"2", b"3"])
    with pytest.raises(RecordsTimeoutError) as raised:
        local_kinesis.wait_for_records(name, 5, timeout_s=0.3)
    assert "3 of 5 arrived" in str(raised.value)
    assert name in str(raised.value)
    assert (raised.value.arrived, raised.value.expected) == (3, 5)
    assert isinstance(raised.value, TimeoutError)


def test_stream_factory_cleans_up_and_failures_show_the_server_log(tmp_path: Path) -> None:
    """Run a small pytest session with the plugin in a subprocess and check its outcome."""
    test_file = tmp_path / "test_inner.py"
    test_file.write_text(
        textwrap.dedent(
            """\
            import json
            import pathlib

            NAMES = pathlib.Path(__file__).with_name("names.json")

            def test_makes_streams(stream_factory, local_kinesis):
                names = [stream_factory(1), stream_factory(2)]
                assert names[0] != names[1]
                assert set(names) <= set(local_kinesis.client().list_streams()["StreamNames"])
                NAMES.write_text(json.dumps(names))

            def test_streams_were_deleted(local_kinesis):
                names = set(json.loads(NAMES.read_text()))
                assert not names & set(local_kinesis.client().list_streams()["StreamNames"])

            def test_fails_with_server_log(local_kinesis):
                assert False, "intentional failure"
            """
        )
    )
    result = _run_inner_pytest(tmp_path, test_file)
    output = result.stdout + result.stderr
    assert "1 failed, 2 passed" in result.stdout, output
    assert "test_fails_with_server_log" in result.stdout
    # Only the failed test's report carries the server log tail.
    assert result.stdout.count("local Kinesis server log, last") == 1, output
    assert "Listening at http://127.0.0.1:" in result.stdout, output


def _run_inner_pytest(tmp_path: Path, test_file: Path) -> subprocess.CompletedProcess[str]:
    paths = [p for p in sys.path if p] + [str(REPO_ROOT)]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(paths))
    plugin = "tests.support.kinesis_fixtures"
    options = ["-p", plugin, "-p", "no:cacheprovider", "--rootdir", str(tmp_path), "-q"]
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(test_file), *options],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_at_timestamp_on_a_shard_with_no_later_record_answers_at_the_tip(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    """kinesalite alone never answers this request; LocalKinesis makes it behave like Kinesis."""
    from datetime import datetime, timezone

    stream = stream_factory(1)
    client = local_kinesis.client(max_attempts=1, read_timeout_s=5)
    shard_id = client.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(
        StreamName=stream, ShardId=shard_id, ShardIteratorType="AT_TIMESTAMP",
        Timestamp=datetime.now(timezone.utc),
    )["ShardIterator"]
    local_kinesis.put_records(stream, ["after"])
    assert [r["Data"] for r in client.get_records(ShardIterator=iterator)["Records"]] == [b"after"]
