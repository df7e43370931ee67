"""docs/performance.md and docs/benchmarks/performance.png, generated from the benchmark's JSON.

``python -m bench.perf_report [JSON]`` regenerates both from ``docs/benchmarks/performance.json``
(or the file given). Every number in the page comes from the JSON; the prose around it is
fixed. ``bench.performance`` calls :func:`write_all` after a run.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path
from typing import Any, Iterable, Sequence

from bench.perf_common import FLIP27, size_label
from bench.perf_stats import SIGNIFICANCE, verdict

REPO = Path(__file__).resolve().parents[1]
JSON_PATH = REPO / "docs" / "benchmarks" / "performance.json"
PNG_PATH = REPO / "docs" / "benchmarks" / "performance.png"
DOC_PATH = REPO / "docs" / "performance.md"
#: Written by bench/efo_latency.py (``make bench-efo``; ``make bench`` runs it after the main run).
EFO_JSON_PATH = REPO / "docs" / "benchmarks" / "efo_latency.json"
#: Written by bench/keyed_sink.py (``make bench`` runs it after the main run).
KEYED_JSON_PATH = REPO / "docs" / "benchmarks" / "keyed_sink.json"
#: Written by bench/aws_quotas.py (``make bench-quotas``; ``make bench`` runs it too).
QUOTAS_JSON_PATH = REPO / "docs" / "benchmarks" / "aws_quotas.json"
#: Written by bench/firehose.py (``make bench-firehose``; ``make bench`` runs it too).
FIREHOSE_JSON_PATH = REPO / "docs" / "benchmarks" / "firehose.json"
#: Written by bench/exactly_once.py (``make bench-exactly-once``; ``make bench`` runs it too).
EXACTLY_ONCE_JSON_PATH = REPO / "docs" / "benchmarks" / "exactly_once.json"
CLIENTS = ("ceiling", "boto3_loop", "ours", "builtin", "quix")
CLIENT_LABELS = {
    "ceiling": "ceiling (parallel boto3)",
    "boto3_loop": "boto3 loop (1 process)",
    "ours": "pyflink_kinesis",
    "builtin": "PyFlink built-in",
    "quix": "Quix Streams",
}
#: The alternatives ours must be ahead of (the raw ceiling is a bound, not an alternative).
ALTERNATIVES = {"boto3_loop": "a boto3 loop", "builtin": "PyFlink's built-in wrappers",
                "quix": "Quix Streams"}
#: The alternative that runs the same Java connector as ours: on throughput the goal against
#: it is no gap (not behind); ours is ahead of it only where its own code is in the path.
SAME_ENGINE = "builtin"
OBJECT_LABELS = {
    "consumer": "`FlinkKinesisConsumer(...)`",
    "sink": "`KinesisStreamsSink.builder()...build()`",
}
#: The results file's block with the FLIP-27 source next to the consumer (``make bench-source``).
FLIP27_KEY = "flip27_source"
READER_LABELS = {"ours": "`FlinkKinesisConsumer`", FLIP27: "`KinesisStreamsSource`"}
FLIP27_BLOCK_KEYS = frozenset({"started", "profile", "git_commit", "cpus", "load_average_before",
                               "load_average_after", "duration_s", "discovery_interval_ms",
                               "short_discovery_interval_ms", "throughput", "latency"})
#: The goals the benchmark judges ours by.
CEILING_SHARE_GOAL = 0.9
PACKAGE_OVERHEAD_GOAL_MS = 100.0
#: A run whose 1-minute load average started above this share of the cores is flagged busy
#: (``bench.performance`` waits a while for the load to fall under it first).
BUSY_LOAD_PER_CPU = 0.5


#: Top-level keys of a results file, and the keys of each throughput and latency entry.
REPORT_KEYS = frozenset({
    "schema", "profile", "started", "machine", "load_average_before", "load_average_after",
    "duration_s", "python_native_alternative", "import_s", "throughput", "latency",
    "construction", "tuning", "ratios",
})
THROUGHPUT_KEYS = frozenset({"server", "size", "shards", "records", "direction", "client",
                             "records_per_s", "mb_per_s", "runs"})
LATENCY_KEYS = frozenset({"server", "client", "p50_ms", "p99_ms", "max_ms", "records_measured",
                          "poll_interval_ms"})
SUMMARY_KEYS = frozenset({"min", "median", "max", "n"})


def check_schema(report: dict[str, Any]) -> None:
    """Raise ``ValueError`` naming every missing key, so a bad file fails before any output."""
    problems = [f"missing top-level key {k!r}" for k in sorted(REPORT_KEYS - set(report))]
    for index, e in enumerate(report.get("throughput", [])):
        problems += [f"throughput[{index}] lacks {k!r}" for k in sorted(THROUGHPUT_KEYS - set(e))]
        for figure in ("records_per_s", "mb_per_s"):
            if figure in e and not set(e[figure]) >= SUMMARY_KEYS:
                problems.append(f"throughput[{index}].{figure} is not min/median/max/n")
    for index, e in enumerate(report.get("latency", [])):
        problems += [f"latency[{index}] lacks {k!r}" for k in sorted(LATENCY_KEYS - set(e))]
    for variant in ("ours", "builtin"):
        if variant not in report.get("construction", {}):
            problems.append(f"construction lacks {variant!r}")
    block = report.get(FLIP27_KEY)
    if block is not None:
        problems += [f"{FLIP27_KEY} lacks {k!r}" for k in sorted(FLIP27_BLOCK_KEYS - set(block))]
        for index, e in enumerate(block.get("throughput", [])):
            problems += [f"{FLIP27_KEY}.throughput[{index}] lacks {k!r}"
                         for k in sorted(THROUGHPUT_KEYS - set(e))]
        for index, e in enumerate(block.get("latency", [])):
            problems += [f"{FLIP27_KEY}.latency[{index}] lacks {k!r}"
                         for k in sorted(LATENCY_KEYS - set(e))]
    if problems:
        raise ValueError("not a benchmark results file this page can be made from: "
                         + "; ".join(problems) + ". Run `make bench` again.")


def table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def spread(figure: dict[str, float], digits: int = 0) -> str:
    """``median (min-max)``, or the median alone for a single run."""
    fmt = f"{{:,.{digits}f}}"
    median = fmt.format(figure["median"])
    if figure.get("n", 1) == 1:
        return median
    return f"{median} ({fmt.format(figure['min'])}-{fmt.format(figure['max'])})"


def cells(report: dict[str, Any], server: str) -> list[tuple[int, int]]:
    return sorted({(e["size"], e["shards"]) for e in report["throughput"]
                   if e["server"] == server})


def find(report: dict[str, Any], server: str, direction: str, client: str, size: int,
         shards: int) -> dict[str, Any] | None:
    for e in report["throughput"]:
        if (e["server"], e["direction"], e["client"], e["size"], e["shards"]) == (
                server, direction, client, size, shards):
            found: dict[str, Any] = e
            return found
    return None


def median(entry: dict[str, Any] | None, key: str = "records_per_s") -> float | None:
    return None if entry is None else float(entry[key]["median"])


def share(ours: float | None, other: float | None) -> str:
    return "-" if not ours or not other else f"{ours / other:.2f}"


# ---------------------------------------------------------------------------------- sections


def throughput_section(report: dict[str, Any], direction: str) -> str:
    rows = []
    for size, shards in cells(report, "kinesalite"):
        found = {c: find(report, "kinesalite", direction, c, size, shards) for c in CLIENTS}
        ours = found["ours"]
        rows.append([
            size_label(size), shards, found["ceiling"]["records"] if found["ceiling"] else "-",
            *(figure_cell(e) for e in found.values()),
            spread(ours["mb_per_s"], 1) if ours else "-",
            share(median(ours), median(found["ceiling"])),
            share(median(ours), median(found["builtin"])),
            share(median(ours), median(found["quix"])),
        ])
    header = ["record", "shards", "records", *(f"{CLIENT_LABELS[c]} rec/s" for c in CLIENTS),
              "ours MB/s", "ours / ceiling", "ours / built-in", "ours / Quix"]
    return table(header, rows)


def duplicates_note(report: dict[str, Any]) -> str:
    """Which writers put some records more than once (rates count each record once)."""
    lines = []
    for e in report["throughput"]:  # only sink entries have copies
        copies = [n for n in e.get("duplicates", []) if n]
        if copies:
            lines.append(
                f"- {CLIENT_LABELS[e['client']]}, {size_label(e['size'])} x {e['shards']} "
                f"on {e['server']}: {sum(copies):,} extra copies in {len(copies)} of "
                f"{len(e['duplicates'])} runs.")
    if not lines:
        return ""
    return ("\nSome writers put records more than once (an at-least-once retry of a batch). "
            "Copies are told apart by the index each payload starts with; the rates count "
            "each record once, at its first arrival:\n\n" + "\n".join(lines) + "\n")


def figure_cell(entry: dict[str, Any] | None) -> str:
    """A throughput figure; drains read mostly at the first REST sample are marked rough."""
    if entry is None:
        return "-"
    rough = entry.get("short_drains", 0)
    return spread(entry["records_per_s"]) + (f" ({rough}x rough)" if rough else "")


def first_record_section(report: dict[str, Any]) -> str:
    rows = []
    for size, shards in cells(report, "kinesalite"):
        values = [find(report, "kinesalite", "source", c, size, shards)
                  for c in ("ours", "builtin", "quix")]
        if all(v is None for v in values):
            continue
        rows.append([size_label(size), shards, *(
            spread(v["execute_to_first_record_s"], 2) if v else "-" for v in values)])
    return table(["record", "shards", "pyflink_kinesis (s)", "PyFlink built-in (s)",
                  "Quix Streams, from `app.run()` (s)"], rows)


def flip27_section(report: dict[str, Any]) -> str:
    """``KinesisStreamsSource`` next to ``FlinkKinesisConsumer``, from the results file's
    ``flip27_source`` block (measured apart from the rest by ``make bench-source``)."""
    block = report.get(FLIP27_KEY)
    if block is None:
        return ("Not measured: `make bench-source` (or `make bench`) adds it to "
                "[benchmarks/performance.json](benchmarks/performance.json).")
    cpus = block["cpus"] or 1
    before, after = block["load_average_before"][0], block["load_average_after"][0]
    quick = ("> **Quick (smoke) run: these numbers only show the harness works.**\n\n"
             if block["profile"] != "full" else "")
    busy = (f"> The machine was busy (1-minute load average {before:.2f} at the start, "
            f"{after:.2f} at the end, on {cpus} cores): the figures are rough; compare the two "
            "readers with each other, not with the tables above.\n\n"
            if max(before, after) > BUSY_LOAD_PER_CPU * cpus else "")
    plain = [e for e in block["throughput"] if not e["settings"]]
    first = plain[0] if plain else None
    rows = []
    for size, shards in dict.fromkeys((e["size"], e["shards"]) for e in plain):
        found = {e["client"]: e for e in plain if (e["size"], e["shards"]) == (size, shards)}
        consumer, source = found.get("ours"), found.get(FLIP27)
        rows.append([
            size_label(size), shards, (consumer or source or {}).get("records", "-"),
            figure_cell(consumer), figure_cell(source), share(median(source), median(consumer)),
            verdict(source["runs"], consumer["runs"]) if source and consumer else "-",
            *(spread(e["execute_to_first_record_s"], 2) if e else "-"
              for e in (consumer, source)),
        ])
    drains = table(["record", "shards", "records", "consumer rec/s", "source rec/s",
                    "source / consumer", "source is", "consumer: execute to first record (s)",
                    "source: execute to first record (s)"], rows)
    short = [
        f"- `KinesisStreamsSource` with `{key}={value}`, {size_label(e['size'])} x "
        f"{e['shards']}: {spread(e['records_per_s'])} records/s, first record after "
        f"{spread(e['execute_to_first_record_s'], 2)} s."
        for e in block["throughput"] for key, value in e["settings"].items()
    ]
    latency = table(["reader", "poll interval", "p50 ms", "p99 ms", "max ms",
                     "records measured per run"],
                    [[READER_LABELS[e["client"]], f"{e['poll_interval_ms']:g} ms",
                      spread(e["p50_ms"], 1), spread(e["p99_ms"], 1), spread(e["max_ms"], 1),
                      ", ".join(str(n) for n in e["records_measured"])]
                     for e in block["latency"]])
    return (
        f"{quick}{busy}Measured apart from the tables above (`make bench-source`; run started "
        f"{block['started']}, commit {block['git_commit']}, {block['duration_s'] / 60:.0f} "
        f"minutes; 1-minute load average {before:.2f} at the start and {after:.2f} at the end "
        f"on {cpus} cores; the JSON has the load at the start of each job process too), on "
        "kinesalite: both readers of pyflink_kinesis from TRIM_HORIZON with their defaults"
        + (f" at parallelism {first['parallelism']}, {plural(first['records_per_s']['n'], 'drain')}"
           " per reader and cell" if first else "")
        + ", all drains of a reader in one job process, the same backlog for both (which reader "
        "goes first alternates from cell to cell), measured as in the source throughput table. "
        "*source is*: the rank-sum verdict over the runs.\n\n"
        + drains
        + ("\n\n" + "\n".join(short) if short else "")
        + FLIP27_START_UP.format(default=block["discovery_interval_ms"])
        + (latency_method(block["latency"][0]) if block["latency"] else "")
        + FLIP27_LATENCY + latency
    )


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}" + ("" if count == 1 else "s")


def latency_method(e: dict[str, Any]) -> str:
    return (f"**Latency**: {e['rate_per_s']} records/s of {size_label(e['size'])} for "
            f"{e['seconds']:g} s into {e['shards']} shards, the first {e['warm_up_s']:g} s "
            f"dropped, `python.fn-execution.bundle.time` {e['bundle_ms']} ms. ")


FLIP27_START_UP = """

**Start-up.** The source's enumerator hands the shards out as soon as the last reader subtask
has registered, whatever `flink.shard.discovery.intervalmillis` (default {default} ms) is: the
row above with a 1 s interval starts no sooner. Connector 4.3.0's enumerator, which ours
replaced, kept the shards it listed before the readers registered until its next listing, one
interval later: measured the same way on 2026-11-29 (commit c800732), its first record came
after 12.3-13.2 s (medians per cell), 4.2 s with a 1 s interval, against the consumer's
2.9-6.4 s in the same run.

"""

FLIP27_LATENCY = """\
The producer starts once a probe record has come out of the job, so neither reader's start-up
is in it. Both ask a shard at the tip again 200 ms after the last call began: the source's
`source.reader.empty-records-fetch-interval`, the consumer's
`flink.shard.getrecords.intervalmillis` (the consumer waits so between all calls; the source
reads a shard that is behind again at once).

"""


def servers_section(report: dict[str, Any]) -> str:
    rows = []
    for size, shards in cells(report, "kinesis-mock"):
        row: list[object] = [size_label(size), shards]
        for direction in ("sink", "source"):
            lite = find(report, "kinesalite", direction, "ceiling", size, shards)
            mock = find(report, "kinesis-mock", direction, "ceiling", size, shards)
            row += [spread(lite["mb_per_s"], 1) if lite else "-",
                    spread(mock["mb_per_s"], 1) if mock else "-"]
        rows.append(row)
    return table(["record", "shards", "put: kinesalite MB/s", "put: kinesis-mock MB/s",
                  "get: kinesalite MB/s", "get: kinesis-mock MB/s"], rows)


def latency_section(report: dict[str, Any]) -> str:
    rows = [[CLIENT_LABELS.get(e["client"], e["client"]), f"{e['poll_interval_ms']:g} ms",
             spread(e["p50_ms"], 1), spread(e["p99_ms"], 1), spread(e["max_ms"], 1),
             ", ".join(str(n) for n in e["records_measured"])]
            for e in report["latency"]]
    return table(["reader", "poll interval", "p50 ms", "p99 ms", "max ms",
                  "records measured per run"], rows)


def efo_latency_section(efo: dict[str, Any] | None) -> str:
    """POLLING vs EFO latency (the consumer's, the source's EFO) on kinesis-mock, from
    ``bench/efo_latency.py``'s results file."""
    if efo is None:
        return ("Not measured: `make bench-efo` (or `make bench`, which runs it too) writes "
                f"`{EFO_JSON_PATH.relative_to(REPO).as_posix()}`.")
    settings = efo["settings"]
    rows = [[publisher, f"{r['p50_ms']:.1f}", f"{r['p99_ms']:.1f}", f"{r['max_ms']:.1f}",
             f"{r['records_measured']} of {r['records_sent']}"]
            for publisher, r in efo["results"].items()]
    return (
        f"Measured by `bench/efo_latency.py` on {efo['server']}"
        + (f", run started {efo['started']}" if "started" in efo else "")
        + ": kinesalite has no "
        f"SubscribeToShard. {settings['rate_per_s']} records/s for {settings['seconds']:g} s, "
        f"parallelism {settings['parallelism']}, the first {settings['warm_up_s']:g} s dropped, "
        f"`python.fn-execution.bundle.time` {settings['python.fn-execution.bundle.time_ms']} ms; "
        "put with boto3 -> seen in the job's Python map. POLLING and EFO are "
        "`FlinkKinesisConsumer`'s record publishers, SOURCE_EFO is `KinesisStreamsSource` with "
        "`source.reader.type = EFO`. The EFO figures are kinesis-mock's pacing of subscription "
        "events, not the readers' (see [efo.md](efo.md)).\n\n"
        + table(["reader", "p50 ms", "p99 ms", "max ms", "records measured"], rows)
    )


def keyed_sink_section(keyed: dict[str, Any] | None) -> str:
    """Keyed generators next to random(), and the ordered sink next to the same sink without
    it, from ``bench/keyed_sink.py``'s results file."""
    if keyed is None:
        return ("Not measured: `make bench` (or `python -m bench.keyed_sink`) writes "
                f"`{KEYED_JSON_PATH.relative_to(REPO).as_posix()}`.")
    settings = keyed["settings"]
    disorder = keyed.get("keys_out_of_order", {})
    rates = [[name, spread(figures, 0), max(disorder[name]) if disorder.get(name) else "-"]
             for name, figures in keyed["records_per_s"].items()]
    goal = settings["goal"]
    comparisons = []
    for c in keyed["comparisons"]:
        judged = c.get("goal", goal if c["meets_goal"] is not None else None)
        comparisons.append([
            c["keyed"], c["baseline"], f"{c['ratio_of_medians']:.2f}", c["verdict"],
            "-" if judged is None else f">= {judged:.0%}",
            {True: "yes", False: "no", None: "not judged"}[c["meets_goal"]],
        ])
    quick = "\n> **Quick (smoke) run: these numbers mean nothing.**\n\n" if keyed["quick"] else ""
    return (
        f"{quick}Measured by `bench/keyed_sink.py` on {keyed['server']}, run started "
        f"{keyed['started']}: {settings['records']} records of {settings['record_bytes']} bytes "
        f"({settings['keys']} keys) into {settings['shards']} shards at parallelism "
        f"{settings['parallelism']}, {settings['repeats']} repeats, variants alternating order; "
        "the strict-order variant writes a tenth of the records. Records/s on the server's "
        "arrival clock, and the most keys with a record stored after a later one of theirs in "
        "a run (first copies; `random()` keys no order):\n\n"
        + table(["variant", "records/s", "keys out of order"], rates)
        + f"\n\nGoals: a keyed generator keeps at least {goal:.0%} of `random()`'s records/s "
        "with the same records and schema, and `set_keep_key_order()` at least "
        f"{settings.get('ordered_goal', 0.7):.0%} of the same sink's without it (ratio of "
        "medians; the verdict is the rank-sum test over the runs). The strict-order settings "
        "(`max_batch_size=1`, `max_in_flight_requests=1`) are not judged: they show what order "
        "under throttling costs without the ordered mode (see "
        "[sink.md](sink.md#per-key-order)).\n\n"
        + table(["variant", "next to", "ratio", "verdict", "goal", "met"], comparisons)
        + "".join(
            f"\n\nRe-measured on their own later (run started {m['started']}, load average "
            f"{m['load_average_before'][0]} at the start, {m['repeats']} repeats of "
            f"{m['records']} records): {', '.join(m['variants'])}; each comparison is within "
            "one run."
            for m in keyed.get("merged", [])
        )
    )


def firehose_section(firehose: dict[str, Any] | None) -> str:
    """The Firehose sink next to the Kinesis sink and moto's ceiling, from
    ``bench/firehose.py``'s results file."""
    if firehose is None:
        return ("Not measured: `make bench` (or `make bench-firehose`) writes "
                f"`{FIREHOSE_JSON_PATH.relative_to(REPO).as_posix()}`.")
    settings = firehose["settings"]
    figures = firehose["records_per_s"]
    rows = [[name, spread(figure, 0)] for name, figure in figures.items()]
    ceiling = firehose["firehose_share_of_ceiling"]
    bound = ("moto, the server, bounds it" if ceiling is not None and ceiling >= 0.8
             else "below what moto takes: the job, not the server, bounds it")
    load = firehose["load_average_before"][0]
    cpus = firehose["machine"]["cpus"] or 1
    busy = (f"> The machine was busy (load average {load:.2f} on {cpus} cores at the start): "
            "the spread is wide and the figures are rough.\n\n"
            if load > BUSY_LOAD_PER_CPU * cpus else "")
    return (
        f"{busy}Measured by `bench/firehose.py` on {firehose['servers']}, run started "
        f"{firehose['started']} (load average {load:.2f} on {firehose['machine']['cpus']} "
        f"cores): {settings['records']} records of {settings['record_bytes']} bytes at "
        f"parallelism {settings['parallelism']}, {settings['repeats']} repeats, variants "
        "alternating order. A sink's records/s is its marginal rate over `env.execute`, "
        "`(N - 1) / (t(N) - t(1))`, so JVM and job start cancel out; the ceiling is "
        f"{settings['ceiling_threads']} parallel boto3 clients sending PutRecordBatch calls of "
        f"{settings['ceiling_batch']} records to moto.\n\n"
        + table(["variant", "records/s"], rows)
        + f"\n\nThe Firehose sink reaches {ceiling} of moto's ceiling ({bound}) and "
        f"{firehose['firehose_next_to_kinesis']} x the Kinesis sink on kinesalite "
        f"({firehose['verdict_firehose_vs_kinesis']}). moto writes an S3 object per call in "
        "Python, so these are the local servers' figures, not AWS's."
    )


def exactly_once_section(eo: dict[str, Any] | None) -> str:
    """The exactly-once sink next to the at-least-once aggregated sink, and the
    de-duplicating reader's state, from ``bench/exactly_once.py``'s results file."""
    if eo is None:
        return ("Not measured: `make bench-exactly-once` (or `python -m bench.exactly_once`) "
                f"writes `{EXACTLY_ONCE_JSON_PATH.relative_to(REPO).as_posix()}`.")
    parts = [
        f"Measured by `bench/exactly_once.py` on {eo['server']} ({eo['machine']['cpus']} cores "
        "shared with other engineers' test runs: every pair of variants ran alternately, the "
        "order flipping from repeat to repeat, so both saw the same load; compare within a "
        "table). Both sinks write KPL aggregates; `at-least-once aggregated` is "
        "`set_aggregation()`, the at-least-once sink that packs records as this one does."
    ]
    if "latency" in eo:
        latency = eo["latency"]
        settings = latency["settings"]
        rows = [
            [f"{int(interval) / 1000:g} s", variant, spread(figures["p50_ms"]),
             spread(figures["p99_ms"])]
            for interval, by_variant in latency["by_checkpoint_interval_ms"].items()
            for variant, figures in by_variant.items()
        ]
        parts.append(
            "### Latency, put to receive\n\n"
            f"A `KinesisStreamsSource` -> sink job fed {settings['rate_per_s']} records/s of "
            f"{settings['record_bytes']} bytes for {settings['seconds']:g} s, "
            f"{settings['repeats']} runs per cell ({_load(latency)}): each record's time from "
            "its arrival in the input stream to its arrival in the output stream, both on the "
            "server's clock (ms, median (min-max) over runs of each run's percentile). The "
            f"at-least-once sink flushes every {settings['at_least_once_flush_ms']} ms.\n\n"
            + table(["checkpoint interval", "sink", "p50 ms", "p99 ms"], rows)
            + "\n\nThe exactly-once sink writes a record when the first checkpoint after it "
            "completes: it waits up to one interval (half of one on average) for the "
            "checkpoint, plus the checkpoint's own time and the commit's writes. Choose the "
            "interval as the latency you accept: p99 is about one interval more than the "
            "at-least-once sink's, p50 about half of one more. A shorter interval costs "
            "checkpoints (state written, a barrier through the job) more often; what a "
            "checkpoint holds of the sink grows with interval x input rate "
            "(`max_buffered_bytes`)."
        )
    if "throughput" in eo:
        rate = eo["throughput"]
        settings = rate["settings"]
        rows = [[variant, spread(figures), spread(rate["span_records_per_s"][variant]),
                 spread(rate["drain_records_per_s"][variant])]
                for variant, figures in rate["steady_records_per_s"].items()]
        parts.append(
            "### Records/s\n\n"
            f"`from_collection` -> sink, {settings['records']:,} records of "
            f"{settings['record_bytes']} bytes into {settings['shards']} shards at parallelism "
            f"{settings['parallelism']}, checkpoints every "
            f"{settings['checkpoint_interval_ms']} ms for both, {settings['repeats']} runs each "
            f"({_load(rate)}): distinct user records/s on the server's arrival clock over the "
            "middle 80% of the arrivals (the steady state: neither the exactly-once sink's "
            "first checkpoint nor either sink's last writes count), between the first and the "
            "last arrival, and from the job's start (`execute`) to the last arrival (which "
            "counts the job's start-up, a few seconds, in both).\n\n"
            + table(["sink", "records/s, steady", "first to last", "from the job's start"],
                    rows)
            + f"\n\nExactly-once / at-least-once, steady: "
            f"{rate['steady_ratio_of_medians']:.2f} (ratio of medians; {rate['verdict']}); per "
            "repeat (the two runs back to back): "
            + ", ".join(f"{once / other:.2f}"
                        for once, other in zip(*rate["steady_runs"].values()))
            + f"; first to last: {rate['span_ratio_of_medians']:.2f}; from the job's start: "
            f"{rate['drain_ratio_of_medians']:.2f}; goal >= {rate['goal']:.0%}: "
            f"{'met' if rate['meets_goal'] else 'not met'}. The committer writes a "
            "checkpoint's records on a thread of its own while the task takes in the next "
            "ones; the writer waits for those writes at the next checkpoint, before its state "
            "is taken (else a restore could lose them), and a shard takes one aggregate at a "
            "time (the order the reader's marks need; each aggregate is a request of its own, "
            "so a shard's next goes as soon as its last landed, whatever the other shards are "
            "doing). Every record also passes through checkpoint state once: the writer keeps "
            "a checkpoint's records in its own state and hands Flink's committer a receipt. "
            "Flink 1.20 nests a committer's committables in three lists, asks for each "
            "element's bytes twice per list and copies them at each level; with the records "
            "in the committables (the sink's design until 2026-12-07, and still with chaining "
            "off), the same bench gave 0.75. On AWS a shard's write quota "
            "binds first: see the share of the quota below."
        )
    if "quota" in eo:
        quota = eo["quota"]
        settings = quota["settings"]
        rows = [[variant, run["quota_fraction_of_bytes"], run["requests"],
                 run["throttled"]["write_requests"], run["lost"]]
                for variant, runs in quota["runs"].items() for run in runs]
        parts.append(
            "### Share of the binding quota (kinesalite's quota mode)\n\n"
            f"{settings['record_bytes']}-byte records on {settings['shards']} shard, sized and "
            "measured as in [AWS quotas](#aws-quotas-kinesalites-quota-mode) "
            f"(`aws_quotas.run_sink`, {settings['steady_s']:g} s of steady state), "
            f"{settings['repeats']} runs each ({_load(quota)}): the fraction of the byte quota "
            "(1 MiB/s per shard binds aggregates) the user records took, each counted with its "
            "framing and random key as it travels in an aggregate; PutRecords requests, how "
            "many the server throttled, records lost.\n\n"
            + table(["sink", "fraction of the byte quota", "requests", "throttled", "lost"],
                    rows)
            + f"\n\nGoal: >= {settings['goal']:.0%} (median "
            + ", ".join(f"{variant} {figures['median']}" for variant, figures
                        in quota["quota_fraction_of_bytes"].items())
            + "). The exactly-once committer sends a shard's aggregates one at a time, each up "
            "to 1 MiB; a 1 MiB aggregate fits a shard's write quota only once the shard's "
            "one-second bucket is full again, so the committer sends a throttled aggregate "
            "again 100 ms later, every time, and it lands within 100 ms of the bucket being "
            "full. (With pauses doubling from 50 ms to 2 s, as for other failures, it took "
            "0.60-0.67 of the quota: about 1 MiB per 1.5 s.)"
        )
    if "state" in eo:
        rows = [[f"{s['records']:,}", s["writers"], s["shards"], s["generations"],
                 f"{s['split_state_bytes']:,}", f"{s['split_state_bytes_without_marks']:,}"]
                for s in eo["state"]]
        parts.append(
            "### The de-duplicating reader's state\n\n"
            "Every record, in id order per writer, admitted into the marks of its shard as the "
            "reader does, then every split serialized by `ShardSplitSerializer` (what a "
            "checkpoint holds of the source's splits), by `bench/java/DedupStateSize.java`. "
            "A restart gives every writer a new id (`generations` - 1 restarts on the way):\n\n"
            + table(["records", "writers", "shards", "generations", "split state bytes",
                     "without marks"], rows)
            + "\n\nThe marks are one per writer and intended shard, about 110 bytes each: "
            "they grow with the writer instances seen within the 24-hour retention (restarts "
            "x parallelism x shards), never with the records."
        )
    return "\n\n".join(parts)


def _load(part: dict[str, Any]) -> str:
    measured = part.get("measured", {})
    quick = "; quick run, numbers mean nothing" if measured.get("quick") else ""
    before = measured.get("load_average_before", ["?"])[0]
    return f"run started {measured.get('started', '?')}, load average {before} at the start{quick}"


def quota_row(run: dict[str, Any], goal: float, ordered: bool = False) -> list[object]:
    """One run of ``bench/aws_quotas.py`` as a table row; an ``ordered`` run (per-key order
    kept) must also have no key out of order."""
    throttled = run["throttled"]
    if run["kind"] == "sink":
        throttled_text = (f"{throttled['write_records']} entries in "
                          f"{throttled['write_requests']} of {run['requests']} requests")
    else:
        calls = run["requests"] + throttled["read_calls"]
        throttled_text = f"{throttled['read_calls']} of {calls} calls"
    fraction = run.get("quota_fraction")
    disorder = run.get("keys_out_of_order")
    met = (fraction is not None and fraction >= goal and run["lost"] == 0 and not run["error"]
           and not (ordered and disorder))
    return [
        run["kind"], run["variant"], size_label(run["size"]), run["shards"],
        "-" if fraction is None else f"{run['records_per_s_per_shard']:,.0f}",
        "-" if fraction is None else f"{run['mb_per_s_per_shard']:.2f}",
        f"{run['quota_records_per_s_per_shard']:,.0f} ({run['binding_limit']})",
        "-" if fraction is None else f"{fraction:.1%}",
        throttled_text, run["lost"], run["duplicates"], "-" if disorder is None else disorder,
        ("yes" if met else "no") + (f" ({run['error']})" if run["error"] else ""),
    ]


def aws_quotas_section(quotas: dict[str, Any] | None) -> str:
    """The sink and source under AWS's quotas, from ``bench/aws_quotas.py``'s results file."""
    if quotas is None:
        return ("Not measured: `make bench` (or `make bench-quotas`) writes "
                f"`{QUOTAS_JSON_PATH.relative_to(REPO).as_posix()}`.")
    settings = quotas["settings"]
    goal = settings["goal"]
    variants = [[name, ", ".join(f"`{k}={v}`" for k, v in
                                 (v.get("settings") or v.get("properties") or {}).items())
                 or "(defaults)", v["why"]] for name, v in quotas["variants"].items()]
    quick = ("\n> **Quick (smoke) run: these numbers mean little.**\n\n"
             if quotas["quick"] else "")
    ordered = {name for name, v in quotas["variants"].items()
               if (v.get("settings") or {}).get("keep_key_order")}
    return (
        f"{quick}Measured by `bench/aws_quotas.py` on {quotas['server']} (run started "
        f"{quotas['started']}, {quotas['minutes']} minutes; load average "
        f"{quotas['load_average_before'][0]} at the start). Writes: a PyFlink job writes N "
        "records with `KinesisStreamsSink` (or a boto3 loop putting throttled entries again); "
        "the rate is on the server's arrival clock. Reads: `FlinkKinesisConsumer` drains a "
        "backlog written with quotas off, into a FileSink (or a boto3 loop reading a fifth of "
        "the byte quota per call, each shard every 200 ms); the rate is the server's count of "
        "records returned, sampled every 0.25 s. Parallelism "
        f"{settings['parallelism']}. Each run is sized for {settings['steady_s']:g} s at the "
        f"binding quota; the first {settings['burst_s']:g} s after the first record are left "
        "out (every bucket starts full: one second of quota comes at once), and the window "
        "starts and ends just after a delivery. \"Lost\" and \"dup\" compare the records "
        "read back with those written, as multisets. The binding quota per shard is "
        "min(1,000 records/s, 1 MiB/s / record size) for writes, 2 MiB/s / record size for "
        "reads (5 calls/s of up to 10,000 records never binds here). With keys from the "
        "data, \"keys out of order\" counts the keys with a record stored after a later one "
        "of theirs (first copies). Goal: at least "
        f"{goal:.0%} of it, nothing lost, and no key out of order with "
        "`set_keep_key_order()`.\n\n"
        + table(["", "variant", "record", "shards", "records/s per shard", "MB/s per shard",
                 "quota records/s per shard (binding)", "of quota", "throttled", "lost", "dup",
                 "keys out of order", f">= {goal:.0%}, none lost"],
                [quota_row(run, goal, run["variant"] in ordered) for run in quotas["runs"]])
        + "".join(
            f"\n\n{m['variant']}: measured on its own later (run started {m['started']}, "
            f"{m['minutes']} minutes; load average {m['load_average_before'][0]} at the start)."
            for m in quotas.get("merged", [])
        )
        + "\n\nThe variants:\n\n"
        + table(["variant", "settings", "why"], variants)
        + "\n\nReading them: 2 MiB/s of 100 B records is about 21,000 records/s per shard, more "
        "than kinesalite serves on this machine (about 10,000-15,000 records/s in all, see "
        "[local-kinesis.md](local-kinesis.md#aws-quotas)), and four shards of 1 KiB records "
        "need about what it serves: those read rows measure kinesalite (and, for the boto3 "
        "loop, one Python thread parsing the answers), not the quota. The sink keeps up with "
        "the write quota with its defaults: every throttled entry is put again and AIMD halves "
        "the records in flight, but enough stay in flight to use each second's quota; the cost "
        "is the throttled entries, sent again (several times the records written at 100 B). "
        "The consumer's defaults read 10,000 records per GetRecords: with 1 KiB and larger "
        "records that is Kinesis's 10 MiB cap, which leaves the shard in debt for about 4 s, "
        "so its reads come in bursts, and it retries throttled calls with back-off (3 times "
        "by default, then the job fails). `flink.shard.adaptivereads` sizes each call to a "
        "fifth of 2 MiB/s from the average record size instead."
        + aggregation_paragraph(quotas["runs"])
    )


def aggregation_paragraph(runs: list[dict[str, Any]]) -> str:
    """The aggregated sink's runs next to the plain sink's defaults on the same cell."""
    plain = {(r["size"], r["shards"]): r for r in runs
             if r["kind"] == "sink" and r["variant"] == "sink defaults"}
    lines = []
    for run in runs:
        base = plain.get((run["size"], run["shards"]))
        if "aggregated" not in run["variant"] or base is None:
            continue
        mine, theirs = run.get("records_per_s_per_shard"), base.get("records_per_s_per_shard")
        if not mine or not theirs:
            continue
        lines.append(
            f"- {run['variant']}, {size_label(run['size'])} on {run['shards']} "
            f"shard{'s' if run['shards'] > 1 else ''}: {mine:,.0f} records/s per shard, "
            f"{mine / theirs:.1f} x the plain sink's {theirs:,.0f} ({run['lost']} lost)"
        )
    if not lines:
        return ""
    return (
        "\n\nKPL aggregation (`set_aggregation()`, "
        "[sink.md](sink.md#kpl-aggregation-many-records-per-kinesis-record)): the aggregated "
        "sink against the plain sink with its defaults, same records, same quotas. Aggregates "
        "are bound by the 1 MiB/s byte quota, keys included: a random key (36 bytes) travels "
        "with each record, a key from the data once per aggregate. The goal for 100 B records "
        "is 8 x.\n\n"
        + "\n".join(lines)
    )


def package_overhead_ms(construction: dict[str, Any]) -> float:
    """What pyflink_kinesis adds in pure Python: jar resolution plus both validations."""
    ours = construction["ours"]
    return float(ours["resolve_jars_ms"] + ours["validate_consumer_ms"]
                 + ours["validate_sink_ms"])


def construction_section(report: dict[str, Any]) -> str:
    construction = report["construction"]
    rows = []
    for what in ("consumer", "sink"):
        row: list[object] = [OBJECT_LABELS[what]]
        for variant in ("ours", "builtin"):
            c = construction[variant][what]
            row += [f"{c['first_ms']:.1f}", f"{c['median_ms']:.1f}",
                    f"{c['py4j_calls']} ({c.get('py4j_name_lookups', '?')})"]
        rows.append(row)
    main = table(["object (JVM already up)", "ours first ms", "ours median ms",
                  "ours py4j calls (name lookups)", "built-in first ms", "built-in median ms",
                  "built-in py4j calls (name lookups)"], rows)
    main += ("\n\nA name lookup is one py4j round trip per package segment of a class name "
             "(`jvm.org.apache.flink...`). PyFlink's wrappers resolve their classes this way on "
             "every construction; pyflink_kinesis names its classes directly (py4j "
             "`JavaClass`, no round trip), so the lookups left in its column are PyFlink's own "
             "(the `SimpleStringSchema` passed in).")
    ours = construction["ours"]
    imports = report["import_s"]
    overhead = package_overhead_ms(construction)
    verdict = "meets" if overhead < PACKAGE_OVERHEAD_GOAL_MS else "misses"
    parts = table(["pure-Python work of pyflink_kinesis", "median ms"], [
        ["`jars.resolve_jars()` (manifest, file lookup, size check)",
         f"{ours['resolve_jars_ms']:.2f}"],
        ["consumer config validation", f"{ours['validate_consumer_ms']:.3f}"],
        ["sink config validation", f"{ours['validate_sink_ms']:.3f}"],
        ["**package overhead at job construction**", f"**{overhead:.2f}**"],
    ])
    return (f"{main}\n\n{parts}\n\nPackage overhead {overhead:.1f} ms {verdict} the goal of "
            f"{PACKAGE_OVERHEAD_GOAL_MS:.0f} ms. Import times in a fresh process: "
            f"`import pyflink.datastream` {imports['pyflink_datastream_s'] * 1000:.0f} ms, then "
            f"`import pyflink_kinesis` {imports['pyflink_kinesis_s'] * 1000:.0f} ms more.")


def tuning_section(report: dict[str, Any]) -> str:
    rows = []
    for row in report["tuning"]:
        default_client = find(report, "kinesalite", row["direction"], "ours", row["size"],
                              row["shards"])
        if row["direction"] == "latency":
            default = next((e for e in report["latency"] if e["client"] == "ours"), None)
            figure = f"p50 {spread(row['p50_ms'], 1)} ms, p99 {spread(row['p99_ms'], 1)} ms"
            base = (f"p50 {default['p50_ms']['median']:.1f} ms, p99 "
                    f"{default['p99_ms']['median']:.1f} ms" if default else "-")
            change = "-"
        else:
            figure = f"{spread(row['records_per_s'])} rec/s"
            base_rate = median(default_client)
            base = f"{base_rate:,.0f} rec/s" if base_rate else "-"
            change = (f"{row['records_per_s']['median'] / base_rate - 1:+.0%}"
                      if base_rate else "-")
        rows.append([row["setting"], f"{size_label(row['size'])} x {row['shards']}", figure,
                     base, change])
    return table(["setting (everything else default)", "cell", "result",
                  "defaults, same run", "change"], rows)


def verdicts(report: dict[str, Any], direction: str, size: int,
             shards: int) -> dict[str, str]:
    """``ahead``, ``level`` or ``behind`` of ours against each alternative measured in a
    kinesalite cell (``bench.perf_stats.verdict`` on the runs)."""
    ours = find(report, "kinesalite", direction, "ours", size, shards)
    found = {c: find(report, "kinesalite", direction, c, size, shards) for c in ALTERNATIVES}
    return {client: verdict(ours["runs"], other["runs"])
            for client, other in found.items() if ours and other}


def goals_section(report: dict[str, Any]) -> str:
    rough = {(e["direction"], e["size"], e["shards"]) for e in report["throughput"]
             if e["server"] == "kinesalite" and e.get("short_drains")}
    rows = []
    for r in report["ratios"]:
        if r["server"] != "kinesalite":
            continue
        cell = (r["direction"], r["size"], r["shards"])
        outcomes = {client: outcome for client, outcome in verdicts(report, *cell).items()
                    if r.get(f"ours_vs_{client}") is not None}
        met = all(outcome == "ahead" or (client == SAME_ENGINE and outcome == "level")
                  for client, outcome in outcomes.items())
        compared = [f"{client} {r[f'ours_vs_{client}']:.2f} {outcome}"
                    for client, outcome in outcomes.items()]
        to_ceiling = r.get("ours_vs_best_raw")
        near_ceiling = to_ceiling is not None and to_ceiling >= CEILING_SHARE_GOAL
        rows.append([r["direction"], size_label(r["size"]), r["shards"],
                     f"{to_ceiling:.2f}" if to_ceiling is not None else "-",
                     "yes" if near_ceiling else "no", ", ".join(compared),
                     ("yes" if met and near_ceiling else "no")
                     + (" (rough)" if cell in rough else "")])
    return table(["direction", "record", "shards", "ours / best raw client",
                  f"≥ {CEILING_SHARE_GOAL:.0%} of it", "ours / alternative: ratio, verdict",
                  "both goals met"], rows) + (
        f"\n\nVerdicts compare the runs, not only the medians: *ahead* or *behind* when a "
        f"one-sided rank-sum (Mann-Whitney) test over the repeats gives p ≤ {SIGNIFICANCE}, "
        "*level* when the difference is within the runs' spread. The goal is *ahead* of a "
        "boto3 loop and Quix Streams, and no gap (*level* or *ahead*) to PyFlink's built-in "
        "wrappers: they drive the same Java connector with the same properties, and no Python "
        "code of either is in the sink's or the source's data path, so a gap would be ours and "
        "a lead cannot come from code of ours (it does where our code is in the path: start-up "
        "and construction, below)."
    ) + ("\n\n(rough): a Flink drain of that cell was too short to measure well (see the source "
         "table); its ratios are not evidence either way." if rough else "")


def machine_section(report: dict[str, Any]) -> str:
    m = report["machine"]
    rows = [[k.replace("_", " "), v] for k, v in m.items()]
    rows += [["load average before / after (1, 5, 15 min)",
              f"{report['load_average_before']} / {report['load_average_after']}"
              + (f" (waited {report['waited_for_quiet_s']} s for it to settle first)"
                 if report.get("waited_for_quiet_s") else "")],
             ["run started (UTC)", report["started"]],
             ["run took", f"{report['duration_s'] / 60:.1f} min"]]
    return table(["", ""], rows)


def profile_summary(report: dict[str, Any]) -> str:
    p = report["profile"]
    flink_cells = ", ".join(f"{size_label(s)} x {n}" for s, n in p["flink_cells"])
    mock_cells = ", ".join(f"{size_label(s)} x {n}" for s, n in p["mock_cells"])
    return (
        f"- Profile `{p['name']}`: records of {', '.join(size_label(s) for s in p['sizes'])}; "
        f"{', '.join(str(n) for n in p['shards'])} shards; {p['repeats']} repeats of every "
        f"throughput figure (min / median / max shown as `median (min-max)`), "
        f"{p['quix_repeats']} of Quix Streams' (a Kafka broker per run).\n"
        f"- Raw clients (ceiling, boto3 loop) run every cell on kinesalite "
        f"({p['raw_only_repeats']} repeats in the cells without the Flink "
        f"variants). kinesis-mock is "
        f"much slower, so its ceilings are taken on {mock_cells} only, with "
        f"{p['mock_budget_scale']:.0%} of the records and {p['mock_repeats']} repeats. The "
        f"Flink variants cost a job per repeat, so they run on {len(p['flink_cells'])} of the "
        f"cells: {flink_cells}.\n"
        f"- Sink runs write about {p['sink_budget_bytes'] / 1e6:.0f} MB per run "
        f"({p['sink_records'][0]:,}-{p['sink_records'][1]:,} records); source runs drain a "
        f"backlog of about {p['source_budget_bytes'] / 1e6:.0f} MB "
        f"({p['source_records'][0]:,}-{p['source_records'][1]:,} records).\n"
        f"- Flink jobs run at parallelism {p['parallelism']} on a local mini-cluster; the "
        f"ceiling uses {p['ceiling_processes']} processes.\n"
        f"- Latency: {p['latency_rate']} records/s of {size_label(p['latency_size'])} for "
        f"{p['latency_seconds']:g} s into {p['latency_shards']} shards, the first "
        f"{p['latency_warm_up_s']:g} s dropped, {p['latency_repeats']} runs per reader; "
        f"the Flink jobs set `python.fn-execution.bundle.time` to {p['bundle_ms']} ms."
    )


METHOD = """\
How each figure is taken (`bench/performance.py`, `bench/perf_raw.py`, `bench/perf_job.py`):

- **Sink throughput**: records/s (and MB/s of payload) on the server's own clock: the
  `ApproximateArrivalTimestamp` of every record written, from the first to the last, read back
  after the run (the records of the first timestamp mark the start and are not counted). The
  same measure for every writer, so job start-up is not in it. The Flink job is
  `from_collection` (records in the job graph, Java only, no Python worker) -> the sink, bounded.
  Every writer's stream is deleted right after its run is read back, so each run meets a server
  holding only the source backlog: kinesalite keeps records in its node heap, and a run next to
  the 100-200 MB of earlier runs measured 5-13% slower.
- **Source throughput**: a backlog written beforehand is drained from TRIM_HORIZON. Raw
  clients: first GetRecords to last answer. Flink: consumer -> Java `DiscardingSink` with
  chaining off; the records the source has sent are read from the mini-cluster's REST API every
  50 ms (metrics refreshed every 100 ms); the rate counts from the first sample with records to
  the sample where all have been read.
- **Execute to first record**: from `execute_async` to the first REST sample in which the
  source has emitted a record (a backlog is waiting), so it includes the mini-cluster start.
- **Latency (POLLING)**: a producer process puts time-stamped records at a steady rate into an
  empty stream; the Flink job (consumer from TRIM_HORIZON -> Python map that stamps the time ->
  sink) and the raw readers stamp each record when they see it. Same machine clock on both ends.
- **Construction**: wall time (`time.perf_counter`) and py4j round trips of building a consumer
  and a sink after the JVM is up (first call and median of 20), in the job process of each
  variant; jar resolution and config validation are timed apart.
- **Clients**: *ceiling* is parallel boto3 processes (500-record PutRecords, 10000-record
  GetRecords, each process its own client and share of records or shards); *boto3 loop* is the
  same calls from one process. *PyFlink built-in* is `pyflink.datastream.connectors.kinesis`
  with the same jars added by `env.add_jars`, the JSON-protocol system properties set by hand
  and `aws.http.protocol.version=HTTP1_1` (which pyflink_kinesis sets for a local `http://`
  endpoint); its job process never imports `pyflink_kinesis` (checked on every run).
- Each Flink variant runs all its repeats of one cell in one fresh job process (one JVM);
  each run is a new environment and a new mini-cluster.
"""


def verdict_findings(report: dict[str, Any]) -> list[str]:
    """How many cells ours is ahead of, level with and behind the same-engine wrappers."""
    lines = []
    for direction in ("sink", "source"):
        counts: dict[str, int] = {}
        for size, shards in cells(report, "kinesalite"):
            outcome = verdicts(report, direction, size, shards).get(SAME_ENGINE)
            if outcome:
                counts[outcome] = counts.get(outcome, 0) + 1
        if counts:
            lines.append(f"- {direction.capitalize()} against {ALTERNATIVES[SAME_ENGINE]} "
                         "(rank-sum verdicts over the repeats): " + ", ".join(
                             f"{word} in {counts.get(word, 0)}"
                             for word in ("ahead", "level", "behind")) + " cells.")
    return lines


def findings_section(report: dict[str, Any]) -> str:
    """Sentences computed from the figures: where ours stands, and which settings helped."""
    lines = []
    for direction in ("sink", "source"):
        rows = [r for r in report["ratios"]
                if r["server"] == "kinesalite" and r["direction"] == direction]
        for key, what in (("ours_vs_best_raw", "the best raw boto3 client"),
                          ("ours_vs_builtin", ALTERNATIVES["builtin"]),
                          ("ours_vs_quix", ALTERNATIVES["quix"])):
            values = sorted(r[key] for r in rows if r.get(key) is not None)
            if values:
                reached = (f"{values[0]:.2f}" if len(values) == 1
                           else f"{values[0]:.2f} to {values[-1]:.2f}")
                cells_measured = "1 cell" if len(values) == 1 else f"{len(values)} cells"
                lines.append(f"- {direction.capitalize()}: pyflink_kinesis reached {reached} x "
                             f"{what} ({cells_measured}).")
    lines += verdict_findings(report)
    for row in report["tuning"]:
        if "records_per_s" not in row:
            continue
        base = median(find(report, "kinesalite", row["direction"], "ours", row["size"],
                           row["shards"]))
        if base and row["records_per_s"]["median"] > 1.1 * base:
            lines.append(f"- `{row['setting']}` raised {row['direction']} throughput by "
                         f"{row['records_per_s']['median'] / base - 1:.0%} over the defaults.")
    calls = report["construction"]
    for what in ("consumer", "sink"):
        ours, builtin = calls["ours"][what]["py4j_calls"], calls["builtin"][what]["py4j_calls"]
        lines.append(f"- Building a {what} takes {ours} py4j round trips with pyflink_kinesis "
                     f"and {builtin} with the built-in wrapper.")
    return "\n".join(lines)


SETTINGS = """\
**PyFlink's built-in wrappers drive the same Java connector** as pyflink_kinesis, so their
sink and source throughput can differ by run-to-run noise or by a gap of ours, which the
goals table tests cell by cell.
Where pyflink_kinesis's own code is in the path it differs: the time from `execute` to the
first record (the connector jars are on the JVM's class path from the start instead of a
per-job class loader) and the py4j round trips to build a consumer or a sink (build times of
a few ms vary from run to run; compare them in the construction table).

What can be turned, with the figures above as evidence. The tuning table measures each setting
alone on one cell with two repeats, and the same cell's defaults vary by about as much from
run to run; the defaults stay the connector's, which are the ones that suit AWS (see the
polling interval):

- **Polling interval** (`flink.shard.getrecords.intervalmillis`, default 200 ms): a consumer
  waits this long between GetRecords calls of a shard. It bounds the drain rate of a backlog
  (at most `maxrecordcount` records per shard per interval) and adds up to one interval to
  latency. Lower it for catch-up speed and latency; on AWS, each shard allows 5 GetRecords
  calls per second shared by all consumers, so do not go under 200 ms with several consumers.
- **Records per GetRecords** (`flink.shard.getrecords.maxrecordcount`, default 10000, the
  Kinesis maximum): lowering it only slows a backlog drain.
- **Sink batching** (`set_max_batch_size`, default 500 records, `set_max_in_flight_requests`,
  default 50, `set_max_time_in_buffer_ms`, default 5000 ms): larger batches mean fewer
  PutRecords calls; the buffer time bounds the latency a quiet stream adds (the latency job
  here uses 100 ms).
- **Requests in flight start at one per sink subtask.** Connector 4.3.0's sink writer limits
  itself with Flink's AIMD rate limiter: it starts with `max_batch_size` records in flight
  (one full batch), adds 10 records for every request that succeeds and scales down on every
  partial failure; `max_in_flight_requests` is only the upper bound (read from
  `KinesisStreamsSinkWriter` and `CongestionControlRateLimitingStrategy` in the jars). A
  second 500-record batch can go out only after 50 successful requests, so each sink subtask
  writes one batch at a time for its first 25,000 records, and the connector offers no
  setting to start higher. Concurrency comes from sink parallelism: each subtask has its own
  batch in flight.
  Lowering `max_batch_size` lowers the records in flight with it (see the tuning table).
- **Parallelism**: each sink subtask has its own batch in flight and each source subtask reads
  its own shards; the figures here are at parallelism 2 (one per core), with 1 and 4 in the
  tuning table. On 2 cores more subtasks also compete with the local server for CPU, which
  a server on AWS does not.
- **Python bundles** (`python.fn-execution.bundle.time`, default 1000 ms): a job with Python
  functions hands records to Python per bundle; for low latency set it to 10-100 ms (the
  latency figures here use the value shown in the method).
"""


def steps_section(report: dict[str, Any]) -> str:
    steps = report.get("steps", [])
    rows = [[s["step"], f"{s['seconds']:.0f}"] for s in steps]
    return table(["step", "seconds"], rows)


def python_native_section(report: dict[str, Any]) -> str:
    alt = report["python_native_alternative"]
    if alt["status"] != "measured":
        return f"**{alt['name']}: {alt['status']}.** {alt['reason']}"
    return QUIX_METHOD.format(quixstreams=alt["quixstreams"], kafka=alt["kafka"])


QUIX_METHOD = """\
**Quix Streams {quixstreams}** (`pip install 'quixstreams[kinesis]'`, in its own virtualenv,
`tools/quix/venv`) is measured in the same run, on the same kinesalite, in the cells where the
Flink variants run (its figures are in the tables above). Its Kinesis connectors run inside a
Quix Application, which reads and writes Kafka topics, so each Quix run gets a fresh
single-node Kafka {kafka} broker (KRaft, on loopback, jars from Maven Central; `make
bench-quix` sets both up). Written the way Quix's documentation shows them
(`bench/quix_app.py`), one process each:

- **Sink**: a Kafka topic (4 partitions) filled beforehand with the cell's records ->
  `app.dataframe(topic).sink(KinesisSink(...))`. Its rate is taken on the server's arrival
  clock like every other writer's, so it does not include the fill. `KinesisSink` sends one
  PutRecords at a time from a single thread.
- **Source**: `KinesisSource(..., auto_offset_reset="earliest")` (defaults: 1000 records per
  GetRecords and shard, shards polled round-robin with no pause) -> the Kafka topic the source
  writes -> a dataframe that notes the time of each record. The rate counts from the first
  record the dataframe sees to the last; the start-up column counts from `app.run()`.
- **Latency**: the same source on an empty stream; the producer starts once the app has seen
  a probe record (so its start-up is not counted), and the dataframe stamps each record.
  Its shards are polled back to back (no interval), which on AWS would
  meet the limit of 5 GetRecords per second and shard; the tuning table has pyflink_kinesis
  polling the same way (`flink.shard.getrecords.intervalmillis` 0).
"""


def render(
    report: dict[str, Any],
    png_name: str,
    efo: dict[str, Any] | None = None,
    keyed: dict[str, Any] | None = None,
    quotas: dict[str, Any] | None = None,
    firehose: dict[str, Any] | None = None,
    exactly_once: dict[str, Any] | None = None,
) -> str:
    """The page; ``efo``, ``keyed``, ``quotas``, ``firehose`` and ``exactly_once`` are the
    results of ``bench/efo_latency.py``, ``bench/keyed_sink.py``, ``bench/aws_quotas.py``,
    ``bench/firehose.py`` and ``bench/exactly_once.py`` when there are any."""
    quick = report["profile"]["name"] != "full"
    warning = ("\n> **Quick (smoke) run: these numbers only show the harness works. "
               "Run `make bench` for figures.**\n" if quick else "")
    load = report["load_average_before"][0]
    busy = (f"\n> The machine was busy when this ran (load average {load:.2f} on "
            f"{report['machine']['cpus']} cores at the start): treat the figures as a lower "
            "bound and compare ratios, not absolutes.\n"
            if load > BUSY_LOAD_PER_CPU * (report["machine"]["cpus"] or 1) else "")
    return f"""# Performance

<!-- Generated by `python -m bench.perf_report` from benchmarks/performance.json. Do not edit:
run `make bench` ({report['duration_s'] / 60:.0f} minutes for this run) to measure again. -->
{warning}{busy}
pyflink_kinesis next to what a user would use instead, on the same local server in the same
run: the server's ceiling (parallel boto3), a single-process boto3 loop, PyFlink's built-in
Kinesis wrappers around the same connector jars, and Quix Streams (a Python-native streaming
library; see [below](#python-native-alternative)). Figures are `median (min-max)` over repeats.
The raw numbers are in [benchmarks/performance.json](benchmarks/performance.json).

![throughput and latency](benchmarks/{png_name})

## Goals

Sink and source at least {CEILING_SHARE_GOAL:.0%} of the server's ceiling (ratio of median
records/s) and ahead of every alternative (kinesalite):

{goals_section(report)}

## Sink throughput (kinesalite)

{throughput_section(report, "sink")}
{duplicates_note(report)}

## Source throughput: TRIM_HORIZON backlog drain (kinesalite)

{throughput_section(report, "source")}

"rough": in that many runs the Flink source had read more than half the backlog by the first
REST sample, or the drain took under a second. The connector reads up to 10000 records per
GetRecords call and shard, so with many shards a backlog that fits this machine is read in one
or two rounds, and the figure is rough.

### Time from `execute` to the first record

{first_record_section(report)}

## FLIP-27 `KinesisStreamsSource` next to `FlinkKinesisConsumer` (kinesalite)

{flip27_section(report)}

## End-to-end latency, POLLING (kinesalite)

{latency_section(report)}

## End-to-end latency, POLLING vs EFO (kinesis-mock)

{efo_latency_section(efo)}

## Partition keys

{keyed_sink_section(keyed)}

## AWS quotas (kinesalite's quota mode)

{aws_quotas_section(quotas)}

## Firehose sink

{firehose_section(firehose)}

## Exactly-once sink: cost

{exactly_once_section(exactly_once)}

## Which server bounds what: ceilings of kinesalite and kinesis-mock

The same parallel boto3 clients against each server (MB/s of payload):

{servers_section(report)}

## Cost of building a job

{construction_section(report)}

## Settings of ours tried (tuning)

{tuning_section(report)}

## What the figures say

{findings_section(report)}

{SETTINGS}
## Python-native alternative

{python_native_section(report)}

## Method

{profile_summary(report)}

{METHOD}
## Machine

{machine_section(report)}

Where the run's time went:

{steps_section(report)}
"""


def plot(report: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(13, 10))
    for axis, direction in zip(axes[0], ("sink", "source")):
        keys = cells(report, "kinesalite")
        width = 0.8 / len(CLIENTS)
        for index, client in enumerate(CLIENTS):
            values = [median(find(report, "kinesalite", direction, client, s, n)) or 0
                      for s, n in keys]
            axis.bar([k + index * width for k in range(len(keys))], values, width,
                     label=CLIENT_LABELS[client])
        axis.set_xticks([k + 0.4 - width / 2 for k in range(len(keys))],
                        [f"{size_label(s)}\n{n} sh" for s, n in keys])
        axis.set_yscale("log")
        lowest = min((median(e) or 0 for e in report["throughput"]
                      if e["server"] == "kinesalite" and e["direction"] == direction),
                     default=1)
        axis.set_ylim(bottom=max(lowest / 3, 1))
        axis.set_ylabel("records/s (median, log scale)")
        axis.set_title(f"{direction} throughput, kinesalite")
        axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4)
    mock_keys = cells(report, "kinesis-mock")
    axis = axes[1][0]
    width = 0.2
    series = [(server, direction) for direction in ("sink", "source")
              for server in ("kinesalite", "kinesis-mock")]
    for index, (server, direction) in enumerate(series):
        values = [median(find(report, server, direction, "ceiling", s, n), "mb_per_s") or 0
                  for s, n in mock_keys]
        axis.bar([k + index * width for k in range(len(mock_keys))], values, width,
                 label=f"{'put' if direction == 'sink' else 'get'}: {server}")
    axis.set_xticks([k + 0.3 for k in range(len(mock_keys))],
                    [f"{size_label(s)}\n{n} sh" for s, n in mock_keys])
    axis.set_ylabel("MB/s (median)")
    axis.set_title("server ceilings (parallel boto3)")
    axis.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14), ncol=4)
    axis = axes[1][1]
    latency = report["latency"]
    labels = [CLIENT_LABELS.get(e["client"], e["client"]).replace(" (", "\n(")
              for e in latency]
    positions = range(len(latency))
    axis.bar([p - 0.2 for p in positions], [e["p50_ms"]["median"] for e in latency], 0.4,
             label="p50")
    axis.bar([p + 0.2 for p in positions], [e["p99_ms"]["median"] for e in latency], 0.4,
             label="p99")
    axis.set_xticks(list(positions), labels, fontsize=8)
    axis.set_ylabel("ms (median of runs)")
    axis.set_title("put-to-read latency, POLLING, kinesalite")
    axis.legend(fontsize=8, loc="upper left")
    title = "pyflink_kinesis benchmark"
    if report["profile"]["name"] != "full":
        title += " (QUICK SMOKE RUN: not representative)"
    figure.suptitle(f"{title}, {report['started']}")
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    plt.close(figure)


def render_empty() -> str:
    """The page before any full run: how to make it, and the method."""
    return f"""# Performance

<!-- Generated by `python -m bench.perf_report`. Do not edit. -->

No full benchmark run has been recorded yet. Run `make bench` on a quiet machine (about 25
minutes on 2 cores); it writes [benchmarks/performance.json](benchmarks/performance.json), the
chart `benchmarks/performance.png`, and this page with the figures.
`python -m bench.performance --quick` checks the harness in about 3 minutes (its numbers mean
nothing and it writes to a temporary directory).

## Method

{METHOD}"""


def write_all(report: dict[str, Any], quick: bool = False) -> list[Path]:
    """Write the PNG and the page; a quick run writes them to a temporary directory."""
    if quick:
        folder = Path(tempfile.gettempdir(), "performance-quick")
        folder.mkdir(exist_ok=True)
        png, doc = folder / "performance.png", folder / "performance.md"
    else:
        png, doc = PNG_PATH, DOC_PATH
    check_schema(report)
    plot(report, png)
    efo, keyed, quotas, firehose, exactly_once = (
        json.loads(p.read_text()) if p.exists() else None
        for p in (EFO_JSON_PATH, KEYED_JSON_PATH, QUOTAS_JSON_PATH, FIREHOSE_JSON_PATH,
                  EXACTLY_ONCE_JSON_PATH)
    )
    doc.write_text(render(report, png.name, efo, keyed, quotas, firehose, exactly_once))
    return [png, doc]


def main(argv: list[str]) -> int:
    path = Path(argv[0]) if argv else JSON_PATH
    if not argv and not path.exists():
        DOC_PATH.write_text(render_empty())
        print(f"wrote {DOC_PATH} (no results yet: `make bench` measures them)")
        return 0
    if not path.exists():
        raise SystemExit(f"{path} does not exist: run `make bench` first")
    report = json.loads(path.read_text())
    written = write_all(report, quick=report["profile"]["name"] != "full")
    print("wrote " + ", ".join(str(p) for p in written))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
