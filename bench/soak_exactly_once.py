"""Soak: many records through two exactly-once jobs under injected faults and producer failures.

input stream -> producer job (``KinesisStreamsSource`` -> ``set_delivery_guarantee(
'exactly-once')``, parallelism 2, checkpoints every 2 s, fixed-delay restarts) -> middle
stream -> consumer job (``KinesisStreamsSource`` with ``source.deduplication``, parallelism 2)
-> output stream, on kinesalite. Only the producer's sink talks to Kinesis through a
``FaultProxy``, which throttles, partly fails and resets (before and after forwarding) the
committer's PutRecords at seeded rates for the whole run, and answers one PutRecords with
``ResourceNotFoundException`` once a third and once two thirds of the records are in the input
stream: the committer fails the job at once, and it restarts from its last checkpoint. The
records (JSON, about 30 bytes) are put at a steady rate while the jobs run.

At the end every record must be in the output once (0 lost, 0 copies), and ``aws-kinesis-agg``
must read every record from the middle stream with payload and key as written. Prints the
counts and saves them to docs/benchmarks/soak_exactly_once.json; exits 1 on any loss or copy.
Not a test (it takes minutes): ``make soak-exactly-once``.

Usage: python -m bench.soak_exactly_once [--records 200000] [--rate 2000]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from pyflink_kinesis.testing import KINESALITE_VERSION, LocalKinesis
from pyflink_kinesis.testing.fault_proxy import (
    FaultProxy,
    PartialFailure,
    Rate,
    Reset,
    throttle,
)
from tests.e2e.test_exactly_once_reshard import (
    LandedThenReset,
    count,
    not_found,
    start_consumer,
    start_producer,
    texts,
    wait_for_output,
)

OUT = Path(__file__).parents[1] / "docs" / "benchmarks" / "soak_exactly_once.json"
BATCH = 500
SHARDS = 4
PARALLELISM = 2
#: How long the jobs may take to bring the last record to the output, after the last put.
DRAIN_S = 600.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rate", type=int, default=2000, help="records put per second")
    args = parser.parse_args()
    written = texts(0, args.records)
    started = time.monotonic()
    with LocalKinesis() as server, FaultProxy(server.endpoint, seed=28) as proxy, \
            tempfile.TemporaryDirectory(prefix="soak-exactly-once-") as tmp:
        source, middle, out = "soak-input", "soak-middle", "soak-output"
        for name in (source, middle, out):
            server.create_stream(name, SHARDS)
        aws_config: dict[str, object] = {
            "aws.region": server.region,
            "aws.endpoint": server.endpoint,
            "aws.credentials.provider.basic.accesskeyid": "soak",
            "aws.credentials.provider.basic.secretkey": "soak",
        }
        landed_then_reset = LandedThenReset()
        rules = {
            "throttled_requests": proxy.inject(throttle(), operation="PutRecords",
                                               when=Rate(0.1)),
            "partly_failed_requests": proxy.inject(PartialFailure(entry_rate=0.3),
                                                   operation="PutRecords", when=Rate(0.15)),
            "reset_before_forwarding": proxy.inject(Reset(), operation="PutRecords",
                                                     when=Rate(0.05)),
            "reset_after_forwarding": proxy.inject(
                landed_then_reset, operation="PutRecords", when=Rate(0.05)),
        }
        producer = start_producer(aws_config, proxy.endpoint, source, middle,
                                  Path(tmp) / "checkpoints", PARALLELISM)
        consumer = start_consumer(aws_config, middle, out, PARALLELISM)
        failures = []
        try:
            producer.wait_running()
            consumer.wait_running()
            failure_at = {args.records // 3, 2 * args.records // 3}
            put_started = time.monotonic()
            for first in range(0, args.records, BATCH):
                if any(first <= at < first + BATCH for at in failure_at):
                    failures.append(proxy.inject(not_found(), operation="PutRecords",
                                                 when=Rate(1.0), limit=1))
                server.put_records(source, written[first:first + BATCH])
                ahead_s = (first + BATCH) / args.rate - (time.monotonic() - put_started)
                if ahead_s > 0:
                    time.sleep(ahead_s)
            put_s = time.monotonic() - put_started
            output = wait_for_output(server, producer, consumer, out, args.records, DRAIN_S)
        finally:
            producer.cancel_and_wait()
            consumer.cancel_and_wait()
        counts = count(server.read_all(middle), output, written)
    elapsed_s = time.monotonic() - started
    injected = {name: rule.injected for name, rule in rules.items()}
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {platform.system()}, Python {platform.python_version()}",
        "server": f"kinesalite {KINESALITE_VERSION}",
        "setup": f"{SHARDS}-shard streams, parallelism {PARALLELISM}, puts of {BATCH} at "
                 f"{args.rate} records/s, checkpoints every 2 s",
        **asdict(counts),
        "producer_failures": sum(rule.injected for rule in failures),
        "putrecords_requests": rules["throttled_requests"].matched,
        **injected,
        "entries_failed": rules["partly_failed_requests"].failed_entries,
        "aggregates_stored_before_a_reset": sum(landed_then_reset.landed),
        "put_s": round(put_s, 1),
        "elapsed_s": round(elapsed_s, 1),
    }
    print(json.dumps(result, indent=2))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {OUT}")
    ok = counts.lost == 0 and counts.copies_out == 0 and result["producer_failures"] == 2
    if not ok:
        print("SOAK FAILED: records lost or copied, or the producer did not fail twice",
              file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
