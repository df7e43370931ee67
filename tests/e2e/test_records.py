"""``pyflink-kinesis put`` and ``tail`` as a shell user runs them, against kinesalite.

Records go in with ``put`` (and one KPL aggregate with boto3 and ``aws-kinesis-agg``), come out
with ``tail``: every record once, in order per key, from TRIM_HORIZON, a time, or LATEST; and
across a SplitShard made while ``tail`` runs.
"""

from __future__ import annotations

import contextlib
import json
import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

from aws_kinesis_agg.aggregator import RecordAggregator

from pyflink_kinesis.testing import LocalKinesis
from tests.support.environment import fresh_process_environment
from tests.support.kinesis_fixtures import MakeStream

TIMEOUT_S = 120


def cli(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pyflink_kinesis", *args], input=stdin, capture_output=True,
        text=True, timeout=TIMEOUT_S, env=fresh_process_environment(),
    )


def orders(first: int, count: int) -> list[dict[str, Any]]:
    return [{"customer": f"c{n % 5}", "n": n} for n in range(first, first + count)]


def as_lines(records: list[dict[str, Any]]) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def in_key_order(printed: list[dict[str, Any]]) -> bool:
    """True when each customer's orders came in the order of ``n``."""
    last: dict[str, int] = {}
    for record in printed:
        order = json.loads(record["data"])
        if last.get(order["customer"], -1) > order["n"]:
            return False
        last[order["customer"]] = order["n"]
    return True


def test_put_then_tail_every_record_once_in_order_per_key_from_any_start(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    stream, endpoint = stream_factory(2), local_kinesis.endpoint
    written = orders(0, 40)
    put = cli("put", stream, "--endpoint", endpoint, "--key-field", "customer",
              stdin=as_lines(written))
    assert put.returncode == 0, put.stderr
    assert put.stderr.startswith(f"put 40 records into {stream!r} in ")
    aggregator = RecordAggregator()
    for index in range(3):
        aggregator.add_user_record(f"agg-{index}", f"user record {index}".encode())
    key, _, data = aggregator.clear_and_get().get_contents()
    local_kinesis.client().put_record(StreamName=stream, PartitionKey=key, Data=data)

    tail = cli("tail", stream, "--endpoint", endpoint, "--from", "TRIM_HORIZON", "--count", "43",
               "--format", "json", "--timeout", "60")
    assert tail.returncode == 0, tail.stderr
    printed = [json.loads(line) for line in tail.stdout.splitlines()]
    plain = [record for record in printed if "sub_sequence_number" not in record]
    assert sorted(json.loads(r["data"])["n"] for r in plain) == list(range(40))
    assert all(r["partition_key"] == json.loads(r["data"])["customer"] for r in plain)
    assert in_key_order(plain)
    assert {r["shard"] for r in plain} == {s["ShardId"] for s in local_kinesis.list_shards(stream)}
    unpacked = [(r["data"], r["partition_key"], r["sub_sequence_number"])
                for r in printed if "sub_sequence_number" in r]
    assert unpacked == [(f"user record {i}", f"agg-{i}", i) for i in range(3)]
    arrivals = [datetime.fromisoformat(r["arrival"]) for r in printed]
    assert all(r["encoding"] == "utf-8" for r in printed)

    # --from a time: only what arrived since.
    since = max(arrivals) + timedelta(milliseconds=1)
    while datetime.now(timezone.utc) <= since:
        time.sleep(0.001)
    later = orders(40, 2)
    assert cli("put", stream, "--endpoint", endpoint, stdin=as_lines(later)).returncode == 0
    from_time = cli("tail", stream, "--endpoint", endpoint, "--from", since.isoformat(),
                    "--count", "2", "--timeout", "60")
    assert from_time.returncode == 0, from_time.stderr
    assert sorted(from_time.stdout.splitlines()) == sorted(json.dumps(r) for r in later)

    # A reader that stops early (head) ends tail quietly, with exit 0.
    piped = subprocess.run(
        ["bash", "-c", f"set -o pipefail; {shlex.quote(sys.executable)} -m pyflink_kinesis tail "
         f"{stream} --endpoint {endpoint} --from TRIM_HORIZON | head -n 1"],
        capture_output=True, text=True, timeout=TIMEOUT_S, env=fresh_process_environment())
    assert (piped.returncode, piped.stderr, len(piped.stdout.splitlines())) == (0, "", 1)

    # LATEST: nothing new comes, so the timeout ends it with exit 1 and one line.
    nothing = cli("tail", stream, "--endpoint", endpoint, "--count", "1", "--timeout", "1")
    assert (nothing.returncode, nothing.stdout) == (1, "")
    assert nothing.stderr == (f"pyflink-kinesis tail: error: timed out after 1 s with 0 of 1 "
                              f"records from {stream!r}\n")


PROBE = '{"probe": true}'


def test_tail_follows_a_split_and_prints_a_keys_records_in_order_across_it(
    local_kinesis: LocalKinesis, stream_factory: MakeStream
) -> None:
    stream, endpoint = stream_factory(1), local_kinesis.endpoint
    tail = subprocess.Popen(
        [sys.executable, "-m", "pyflink_kinesis", "tail", stream, "--endpoint", endpoint,
         "--format", "json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=fresh_process_environment(),
    )
    lines: queue.Queue[str] = queue.Queue()
    stdout, stderr = tail.stdout, tail.stderr
    assert stdout is not None and stderr is not None

    def forward() -> None:
        for line in stdout:
            lines.put(line)

    threading.Thread(target=forward, daemon=True).start()
    try:
        # From LATEST: probes go in until one comes out, so tail is reading.
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            assert time.monotonic() < deadline and tail.poll() is None, "tail printed no probe"
            local_kinesis.put_records(stream, [PROBE])
            with contextlib.suppress(queue.Empty):
                assert json.loads(lines.get(timeout=1.0))["data"] == PROBE
                break

        before = orders(0, 20)
        local_kinesis.put_records(stream, [json.dumps(o) for o in before],
                                  [o["customer"] for o in before])
        (parent,) = local_kinesis.list_shards(stream)
        local_kinesis.client().split_shard(StreamName=stream, ShardToSplit=parent["ShardId"],
                                           NewStartingHashKey=str(2**127))
        local_kinesis.wait_until_active(stream)
        after = orders(20, 20)
        local_kinesis.put_records(stream, [json.dumps(o) for o in after],
                                  [o["customer"] for o in after])
        printed: list[dict[str, Any]] = []
        while len(printed) < 40:
            record = json.loads(lines.get(timeout=TIMEOUT_S))
            if record["data"] != PROBE:
                printed.append(record)
    finally:
        tail.send_signal(signal.SIGINT)
        code = tail.wait(timeout=30)
    assert (code, stderr.read()) == (130, "")  # Ctrl-C: no traceback
    assert sorted(json.loads(r["data"])["n"] for r in printed) == list(range(40))
    assert in_key_order(printed)
    children = {r["shard"] for r in printed} - {parent["ShardId"]}
    assert len(children) == 2  # followed both new shards
    first_child = min(i for i, r in enumerate(printed) if r["shard"] in children)
    assert all(r["shard"] == parent["ShardId"] for r in printed[:first_child])
    assert all(r["shard"] in children for r in printed[first_child:])
