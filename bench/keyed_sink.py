"""Benchmark: sink throughput with keyed partition keys next to ``random()``, same server.

Starts kinesalite and writes the same records through ``KinesisStreamsSink`` with each
generator, alternating the order of the variants from repeat to repeat:

* JSON text records (``SimpleStringSchema``): ``random()``, ``json_field("customer")`` and
  ``fixed()``;
* ``Row(key, payload)`` records (``RowFieldSerializationSchema(1)``, the route for keys made by
  a Python function): ``random()`` and ``from_field(0)``;
* the settings that keep per-key order even when Kinesis throttles (``max_batch_size=1``,
  ``max_in_flight_requests=1``), on fewer records: what strict order costs;
* ``set_keep_key_order()`` with ``from_field(0)``: per-key order at the default settings, next
  to the same sink without it.

Records come from ``from_collection`` (Java only at run time), 1,000 keys over 4 shards,
parallelism 2: the source hands records round-robin to the two sink subtasks, and a customer's
records, 1,000 apart, all reach the same one, in order. Throughput is records/s between the
first and the last arrival on the server's clock (``ApproximateArrivalTimestamp``), distinct
records only; each run also counts the keys with a record written after a later one of theirs
(first copies). Prints the figures and saves
them to docs/benchmarks/keyed_sink.json (``bench.perf_report`` puts them in
docs/performance.md). Not a test: the numbers depend on the machine and its load.

Usage: python -m bench.keyed_sink [--repeats 7] [--records 100000] [--quick] [--variant NAME]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

from pyflink.common import Configuration, Row, Types
from pyflink.common.serialization import SimpleStringSchema
from pyflink.datastream import DataStream, StreamExecutionEnvironment

from bench.perf_common import client, create_stream, delete_stream, read_stream
from bench.perf_stats import keys_out_of_order, ratio, steady_rate, summary, verdict
from pyflink_kinesis import KinesisStreamsSink, PartitionKeyGenerator, RowFieldSerializationSchema
from pyflink_kinesis.testing import KINESALITE_VERSION, LocalKinesis

OUT = Path(__file__).parents[1] / "docs" / "benchmarks" / "keyed_sink.json"
SHARDS = 4
KEYS = 1000
SIZE = 256
PARALLELISM = 2
#: The most throughput a keyed generator may cost next to random() (the goal).
GOAL = 0.95
#: What the ordered sink keeps of the same sink's records/s without it.
ORDERED_GOAL = 0.7
KEY_AND_PAYLOAD = Types.ROW([Types.STRING(), Types.STRING()])


def customer(index: int) -> str:
    return f"customer-{index * 7919 % KEYS}"


def json_text(index: int) -> str:
    """A JSON record of ``SIZE`` bytes: its sequence number, its customer, padding."""
    head = f'{{"seq": {index}, "customer": "{customer(index)}", "pad": "'
    return head + "x" * (SIZE - len(head) - 2) + '"}'


@dataclass(frozen=True)
class Variant:
    """One way to write the records: their shape in the job, the schema and the generator."""

    name: str
    records: Callable[[StreamExecutionEnvironment, int], DataStream]
    schema: Callable[[], Any]
    keys: Callable[[], PartitionKeyGenerator]
    settings: tuple[tuple[str, int], ...] = ()
    #: Fraction of the run's records this variant writes (the slow strict-order one: fewer).
    scale: float = 1.0


def _texts(env: StreamExecutionEnvironment, count: int) -> DataStream:
    return env.from_collection([json_text(i) for i in range(count)], Types.STRING())


def _rows(env: StreamExecutionEnvironment, count: int) -> DataStream:
    rows = [Row(customer(i), json_text(i)) for i in range(count)]
    return env.from_collection(rows, KEY_AND_PAYLOAD)


VARIANTS = (
    Variant("text random()", _texts, SimpleStringSchema, PartitionKeyGenerator.random),
    Variant("text json_field('customer')", _texts, SimpleStringSchema,
            lambda: PartitionKeyGenerator.json_field("customer")),
    Variant("text fixed()", _texts, SimpleStringSchema, PartitionKeyGenerator.fixed),
    Variant("row random()", _rows, lambda: RowFieldSerializationSchema(1),
            PartitionKeyGenerator.random),
    Variant("row from_field(0)", _rows, lambda: RowFieldSerializationSchema(1),
            lambda: PartitionKeyGenerator.from_field(0)),
    Variant("row from_field(0), strict order", _rows, lambda: RowFieldSerializationSchema(1),
            lambda: PartitionKeyGenerator.from_field(0),
            settings=(("max_batch_size", 1), ("max_in_flight_requests", 1)), scale=0.1),
    Variant("row from_field(0), keep_key_order", _rows, lambda: RowFieldSerializationSchema(1),
            lambda: PartitionKeyGenerator.from_field(0), settings=(("keep_key_order", True),)),
)
#: (variant, the variant it is measured against, the share of its records/s it must keep, or
#: None). The strict-order settings are not a generator: their cost is shown, not judged.
PAIRS: tuple[tuple[str, str, float | None], ...] = (
    ("text json_field('customer')", "text random()", GOAL),
    ("text fixed()", "text random()", GOAL),
    ("row from_field(0)", "row random()", GOAL),
    ("row from_field(0), strict order", "row random()", None),
    ("row from_field(0), keep_key_order", "row from_field(0)", ORDERED_GOAL),
)


def run(server: LocalKinesis, variant: Variant, count: int, run_id: str) -> dict[str, Any]:
    """Write ``count`` records with ``variant`` to a new stream; its rate from the arrivals."""
    kinesis = client(server.endpoint, server.region)
    stream = f"keyed-{run_id}"
    create_stream(kinesis, stream, SHARDS)
    config = Configuration()
    config.set_string("python.executable", sys.executable)
    env = StreamExecutionEnvironment.get_execution_environment(config)
    env.set_parallelism(PARALLELISM)
    builder = (
        KinesisStreamsSink.builder()
        .set_kinesis_client_properties({
            "aws.region": server.region, "aws.endpoint": server.endpoint,
            "aws.credentials.provider.basic.accesskeyid": "bench",
            "aws.credentials.provider.basic.secretkey": "bench",
        })
        .set_serialization_schema(variant.schema())
        .set_partition_key_generator(variant.keys())
        .set_stream_name(stream)
    )
    for name, value in variant.settings:
        getattr(builder, f"set_{name}")(value)
    variant.records(env, count).sink_to(builder.build())
    env.execute(f"keyed sink {variant.name}")
    arrivals: dict[bytes, float] = {}
    written = read_stream(kinesis, stream)
    for arrived, data in written:
        arrivals[data] = min(arrived, arrivals.get(data, arrived))
    delete_stream(kinesis, stream)  # kinesalite keeps records in memory: free it for the next
    if len(arrivals) != count:
        raise RuntimeError(f"{variant.name}: {len(arrivals)} of {count} records arrived")
    return {"records": count, "records_per_s": steady_rate(list(arrivals.values())),
            "keys_out_of_order": keys_out_of_order(_customer_and_seq(d) for _, d in written)}


def _customer_and_seq(data: bytes) -> tuple[str, int]:
    record = json.loads(data)
    return str(record["customer"]), int(record["seq"])



def measure(
    repeats: int, records: int, variants: tuple[Variant, ...] = VARIANTS
) -> dict[str, Any]:
    """Run ``variants`` ``repeats`` times, alternating their order; their rates and order."""
    rates: dict[str, list[float]] = {v.name: [] for v in variants}
    disorder: dict[str, list[int]] = {v.name: [] for v in variants}
    with LocalKinesis() as server:
        for repeat in range(repeats):
            order = variants if repeat % 2 == 0 else tuple(reversed(variants))
            for index, variant in enumerate(order):
                count = max(1000, int(records * variant.scale))
                result = run(server, variant, count, f"{repeat}-{index}-{time.time_ns()}")
                rates[variant.name].append(result["records_per_s"])
                disorder[variant.name].append(result["keys_out_of_order"])
                print(f"repeat {repeat + 1}/{repeats}  {variant.name:34} "
                      f"{result['records_per_s']:9.0f} records/s, "
                      f"{result['keys_out_of_order']} keys out of order", flush=True)
    return {"runs": rates, "keys_out_of_order": disorder}


def compared(runs: dict[str, list[float]]) -> dict[str, Any]:
    """Each variant's figures, and every pair of ``PAIRS`` whose variants were both run."""
    figures = {name: summary(values, 0) for name, values in runs.items()}
    comparisons = []
    for keyed, baseline, goal in PAIRS:
        if keyed not in runs or baseline not in runs:
            continue
        share = ratio(float(figures[keyed]["median"]), float(figures[baseline]["median"]))
        comparisons.append({
            "keyed": keyed, "baseline": baseline, "ratio_of_medians": share,
            "verdict": verdict(runs[keyed], runs[baseline]), "goal": goal,
            "meets_goal": (share is not None and share >= goal) if goal is not None else None,
        })
    return {"records_per_s": figures, "comparisons": comparisons}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", help="a smoke run; numbers mean nothing")
    parser.add_argument("--variant", action="append", choices=[v.name for v in VARIANTS],
                        help="run this variant only (repeat the option for more), and merge "
                             "its runs into the saved JSON")
    args = parser.parse_args()
    repeats, records = (1, 4000) if args.quick else (args.repeats, args.records)
    chosen = tuple(v for v in VARIANTS if not args.variant or v.name in args.variant)
    started = datetime.now(timezone.utc).isoformat(timespec="seconds")
    load_before = list(os.getloadavg())
    measured = measure(repeats, records, chosen)
    session = {
        "started": started,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
    }
    if args.variant and OUT.exists():  # keep the other variants' runs, note this session's
        saved = json.loads(OUT.read_text())
        runs = {**saved["runs"], **measured["runs"]}
        disorder = {**saved.get("keys_out_of_order", {}), **measured["keys_out_of_order"]}
        merged = [*saved.get("merged", []),
                  {**session, "variants": list(measured["runs"]), "repeats": repeats,
                   "records": records}]
        report = {**saved, "runs": runs, "keys_out_of_order": disorder, **compared(runs),
                  "merged": merged}
    else:
        report = {
            "what": "KinesisStreamsSink records/s on the server's arrival clock, keyed "
                    "generators next to random() with the same records and schema, and the "
                    "ordered sink next to the same sink without it",
            "server": f"kinesalite {KINESALITE_VERSION} on loopback",
            "quick": args.quick,
            **session,
            "settings": {"repeats": repeats, "records": records, "record_bytes": SIZE,
                         "shards": SHARDS, "keys": KEYS, "parallelism": PARALLELISM,
                         "goal": GOAL, "ordered_goal": ORDERED_GOAL},
            "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                        "platform": platform.platform()},
            **measured,
            **compared(measured["runs"]),
        }
    report["settings"]["ordered_goal"] = ORDERED_GOAL
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(report, indent=2) + "\n")
    for comparison in report["comparisons"]:
        print(f"{comparison['keyed']:34} {comparison['ratio_of_medians']} x "
              f"{comparison['baseline']} ({comparison['verdict']})")
    for name, counts in report["keys_out_of_order"].items():
        print(f"{name:34} keys out of order per run: {counts}")
    print(f"saved {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
