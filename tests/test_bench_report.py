"""The benchmark's results file and the page made from it (bench/perf_report.py)."""

from __future__ import annotations

import copy
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

from bench import perf_report, performance
from bench.perf_common import FLIP27, Cell, distinct_arrivals, payload
from bench.perf_stats import summary
from bench.performance import PROFILES, ratio_rows, sink_rate


def throughput(server: str, direction: str, client: str, rate: float) -> dict[str, Any]:
    runs = [rate * 0.9, rate, rate * 1.1]
    return {"server": server, "size": 1024, "shards": 4, "records": 5000,
            "direction": direction, "client": client, "records_per_s": summary(runs, 0),
            "mb_per_s": summary([r * 1024 / 1e6 for r in runs], 2), "runs": runs}


def set_runs(report: dict[str, Any], client: str, runs: list[float]) -> None:
    """Give ``client``'s kinesalite figures these runs, and recompute the ratios."""
    for e in report["throughput"]:
        if e["client"] == client and e["server"] == "kinesalite":
            e.update(runs=runs, records_per_s=summary(runs, 0))
    report["ratios"] = ratio_rows(report["throughput"])


def latency(client: str, p50: float) -> dict[str, Any]:
    return {"server": "kinesalite", "client": client, "poll_interval_ms": 200,
            "p50_ms": summary([p50]), "p99_ms": summary([2 * p50]),
            "max_ms": summary([3 * p50]), "records_measured": [1600]}


def sample_report(profile: str = "full") -> dict[str, Any]:
    rates = {"ceiling": 20000.0, "boto3_loop": 15000.0, "ours": 18765.0, "builtin": 17000.0,
             "quix": 13000.0}
    entries = [throughput("kinesalite", d, c, r) for d in ("sink", "source")
               for c, r in rates.items()]
    entries += [throughput("kinesis-mock", d, "ceiling", 4000.0) for d in ("sink", "source")]
    for e in entries:
        if e["client"] in ("ours", "builtin") and e["direction"] == "source":
            e["execute_to_first_record_s"] = summary([2.5, 2.75, 3.0], 2)
        if e["client"] == "quix" and e["direction"] == "source":
            e["execute_to_first_record_s"] = summary([5.25, 5.5, 6.0], 2)
    chosen = PROFILES[profile]
    construction: dict[str, dict[str, Any]] = {
        variant: {"consumer": {"first_ms": 40.0, "median_ms": 5.0, "py4j_calls": 45},
                  "sink": {"first_ms": 8.0, "median_ms": 4.0, "py4j_calls": 50}}
        for variant in ("ours", "builtin")
    }
    construction["ours"].update(resolve_jars_ms=2.5, validate_consumer_ms=0.02,
                                validate_sink_ms=0.01)
    return {
        "schema": 1,
        "profile": {**{k: v for k, v in chosen.__dict__.items() if k != "tuning"},
                    "tuning": [t["name"] for t in chosen.tuning]},
        "started": "2026-01-01T00:00:00+00:00",
        "machine": {"cpus": 2, "memory_gib": 23.5, "python": "3.11.7"},
        "load_average_before": [0.1, 0.1, 0.1], "load_average_after": [1.5, 1.0, 0.5],
        "duration_s": 1400,
        "python_native_alternative": {"name": "Quix Streams", "client": "quix",
                                      "quixstreams": "3.28.1", "kafka": "3.9.1",
                                      "status": "measured", "reason": ""},
        "import_s": {"pyflink_datastream_s": 0.061, "pyflink_kinesis_s": 0.08},
        "steps": [{"step": "kinesalite 1024 B x 4 shards: raw clients", "seconds": 42.0}],
        "throughput": entries,
        "latency": [latency("ceiling", 5.0), latency("ours", 123.4), latency("quix", 24.5)],
        "construction": construction,
        "tuning": [{"setting": "source getrecords interval 50 ms", "direction": "source",
                    "size": 1024, "shards": 4, "records_per_s": summary([30000.0], 0)}],
        "ratios": ratio_rows(entries),
    }


def test_ratios_use_the_faster_raw_client_as_the_ceiling() -> None:
    rows = {r["direction"]: r for r in ratio_rows(sample_report()["throughput"])}
    assert rows["sink"]["ours_vs_ceiling"] == pytest.approx(18765 / 20000, abs=0.01)
    assert rows["sink"]["ours_vs_best_raw"] == pytest.approx(18765 / 20000, abs=0.01)
    assert rows["sink"]["ours_vs_builtin"] == pytest.approx(18765 / 17000, abs=0.01)
    faster_loop = [throughput("kinesalite", "sink", c, r)
                   for c, r in (("ceiling", 10000.0), ("boto3_loop", 16000.0), ("ours", 8000.0))]
    (row,) = ratio_rows(faster_loop)
    assert row["ours_vs_best_raw"] == 0.5


def test_the_page_shows_the_figures_of_the_json() -> None:
    page = perf_report.render(sample_report(), "performance.png")
    assert "18,765 (16,888-20,642)" in page  # ours, sink: median (min-max)
    assert "| 0.94 | yes |" in page  # ours / best raw, and the 90 % goal
    assert "123.4" in page  # ours latency p50
    assert "2.75 (2.50-3.00)" in page  # execute to first record
    assert "Package overhead 2.5 ms meets the goal of 100 ms" in page
    assert "+60%" in page  # tuning row against the default ours source figure
    assert "**Quix Streams 3.28.1**" in page and "Kafka 3.9.1" in page
    assert "5.50 (5.25-6.00)" in page  # Quix: app.run() to first record
    assert "| Quix Streams | 200 ms | 24.5 |" in page
    assert "Quick (smoke) run" not in page


def test_quix_is_an_alternative_ours_must_be_ahead_of() -> None:
    report = sample_report()
    (sink,) = [r for r in report["ratios"] if r["direction"] == "sink"]
    assert sink["ours_vs_quix"] == pytest.approx(18765 / 13000, abs=0.01)
    assert "quix 1.44 ahead | yes |" in perf_report.goals_section(report)
    set_runs(report, "quix", [19000.0, 18000.0, 20000.0])
    goals = perf_report.goals_section(report)
    assert "quix 0.99 level | no |" in goals  # a level alternative other than the same engine
    assert "Quix Streams" in perf_report.findings_section(report)


def test_ours_must_be_level_with_the_built_in_wrappers_and_ahead_of_the_others() -> None:
    report = sample_report()
    # ours 16,888-20,642 against built-in 15,300-18,700: medians 10% apart, runs overlap.
    goals = perf_report.goals_section(report)
    assert "boto3_loop 1.25 ahead, builtin 1.10 level, quix 1.44 ahead | yes |" in goals
    assert "Mann-Whitney" in goals
    findings = perf_report.findings_section(report)
    assert "Sink against PyFlink's built-in wrappers (rank-sum verdicts over the repeats): " \
        "ahead in 0, level in 1, behind in 0 cells." in findings
    set_runs(report, "builtin", [21000.0, 22000.0, 23000.0])
    assert "builtin 0.85 behind, quix 1.44 ahead | no |" in perf_report.goals_section(report)
    set_runs(report, "quix", [18000.0, 18765.0, 19000.0])
    set_runs(report, "builtin", [17000.0, 18700.0, 19000.0])
    assert "builtin 1.00 level, quix 1.00 level | no |" in perf_report.goals_section(report)


def test_a_cell_under_90_percent_of_the_ceiling_misses_the_goals_even_when_ahead() -> None:
    report = sample_report()
    set_runs(report, "ceiling", [21500.0, 22000.0, 22500.0])  # ours 18,765: 0.85 of it
    goals = perf_report.goals_section(report)
    assert "| 0.85 | no | boto3_loop 1.25 ahead, builtin 1.10 level, quix 1.44 ahead | no |" \
        in goals
    assert "Quix Streams" in perf_report.findings_section(report)


def test_a_skipped_or_failed_quix_says_why() -> None:
    report = sample_report()
    report["python_native_alternative"].update(
        status="failed", reason="1 KiB x 4 shards: the Quix sink app failed (exit 1)")
    page = perf_report.render(report, "performance.png")
    assert "**Quix Streams: failed.** 1 KiB x 4 shards: the Quix sink app failed" in page


def test_a_quick_run_says_so_and_a_busy_machine_is_flagged() -> None:
    report = sample_report("quick")
    report["load_average_before"] = [3.5, 3.0, 2.0]
    page = perf_report.render(report, "performance.png")
    assert "Quick (smoke) run" in page
    assert "The machine was busy" in page


def test_schema_check_names_every_missing_key() -> None:
    report = sample_report()
    perf_report.check_schema(report)
    broken = copy.deepcopy(report)
    del broken["latency"]
    del broken["throughput"][0]["records_per_s"]["median"]
    del broken["construction"]["builtin"]
    with pytest.raises(ValueError) as error:
        perf_report.check_schema(broken)
    message = str(error.value)
    assert "'latency'" in message
    assert "throughput[0].records_per_s is not min/median/max/n" in message
    assert "construction lacks 'builtin'" in message
    assert "make bench" in message


def test_write_all_makes_a_png_and_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    png, doc = perf_report.write_all(sample_report("quick"), quick=True)
    assert png.parent == tmp_path / "performance-quick"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "![throughput and latency](benchmarks/performance.png)" in doc.read_text()


def flip27_block(load: float = 0.3) -> dict[str, Any]:
    """A ``flip27_source`` block: the consumer and the FLIP-27 source on one cell, the source
    also with a 1 s discovery interval, and their latency."""

    def drains(client: str, runs: list[float], first: list[float],
               settings: dict[str, str]) -> dict[str, Any]:
        return {**throughput("kinesalite", "source", client, 0.0), "runs": runs,
                "records_per_s": summary(runs, 0), "parallelism": 2, "short_drains": 0,
                "execute_to_first_record_s": summary(first, 2), "settings": settings,
                "load_average_1min": load}

    return {
        "started": "2026-01-02T00:00:00+00:00", "profile": "full", "git_commit": "abc1234",
        "cpus": 2, "load_average_before": [load, 0.5, 0.5], "load_average_after": [0.4, 0.5, 0.5],
        "duration_s": 1500, "discovery_interval_ms": 10000, "short_discovery_interval_ms": 1000,
        "throughput": [
            drains("ours", [30000.0, 31000.0, 32000.0], [2.0, 2.25, 2.5], {}),
            drains(FLIP27, [40000.0, 41000.0, 42000.0], [11.0, 11.5, 12.0], {}),
            drains(FLIP27, [40500.0], [3.25], {"flink.shard.discovery.intervalmillis": "1000"}),
        ],
        "latency": [
            {**latency("ours", 110.0), "poll_interval_ms": 200, "rate_per_s": 200, "size": 1024,
             "seconds": 10.0, "shards": 4, "warm_up_s": 2.0, "bundle_ms": 10},
            {**latency(FLIP27, 12.5), "poll_interval_ms": 0, "rate_per_s": 200, "size": 1024,
             "seconds": 10.0, "shards": 4, "warm_up_s": 2.0, "bundle_ms": 10},
        ],
    }


def test_the_page_shows_the_flip27_source_next_to_the_consumer() -> None:
    report = sample_report() | {perf_report.FLIP27_KEY: flip27_block()}
    perf_report.check_schema(report)
    section = perf_report.flip27_section(report)
    assert ("| 1KiB | 4 | 5000 | 31,000 (30,000-32,000) | 41,000 (40,000-42,000) | 1.32 | ahead "
            "| 2.25 (2.00-2.50) | 11.50 (11.00-12.00) |") in section
    assert ("`flink.shard.discovery.intervalmillis=1000`, 1KiB x 4: 40,500 records/s, first "
            "record after 3.25 s.") in section
    assert "default 10000 ms" in section
    assert "| `KinesisStreamsSource` | 0 ms | 12.5 |" in section
    assert "| `FlinkKinesisConsumer` | 200 ms | 110.0 |" in section
    assert "load average 0.30 at the start and 0.40 at the end on 2 cores" in section
    assert "3 drains per reader and cell" in section
    assert "busy" not in section
    assert section in perf_report.render(report, "performance.png")


def test_a_busy_flip27_run_is_flagged_and_a_missing_one_says_how_to_measure_it() -> None:
    busy = perf_report.flip27_section({perf_report.FLIP27_KEY: flip27_block(load=3.5)})
    assert "The machine was busy (1-minute load average 3.50 at the start" in busy
    assert "make bench-source" in perf_report.flip27_section(sample_report())
    broken = sample_report() | {perf_report.FLIP27_KEY: flip27_block()}
    del broken[perf_report.FLIP27_KEY]["latency"][0]["p50_ms"]
    del broken[perf_report.FLIP27_KEY]["cpus"]
    with pytest.raises(ValueError, match=r"flip27_source lacks 'cpus'.*"
                                         r"flip27_source.latency\[0\] lacks 'p50_ms'"):
        perf_report.check_schema(broken)


def test_only_flip27_replaces_its_block_and_keeps_every_other_figure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "performance.json"
    before = sample_report() | {perf_report.FLIP27_KEY: {"stale": True}}
    path.write_text(json.dumps(before))
    block = flip27_block()
    monkeypatch.setattr(performance, "only_flip27", lambda profile: block)
    assert performance.main(["--only", "flip27", "--json", str(path), "--no-docs"]) == 0
    after = json.loads(path.read_text())
    assert after.pop(perf_report.FLIP27_KEY) == block
    del before[perf_report.FLIP27_KEY]
    assert after == json.loads(json.dumps(before))
    with pytest.raises(SystemExit, match="merges into an existing results file"):
        performance.main(["--only", "flip27", "--json", str(tmp_path / "none.json")])


def test_the_latency_job_leaves_its_probe_out(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import perf_job

    rows = [(0.0, b"probe,,1.5"), (0.0, b"0,1.000000,xx,1.100000")]
    monkeypatch.setattr(perf_job, "read_stream", lambda kinesis, stream: rows)
    assert perf_job.measured_rows(None, "out") == ["0,1.000000,xx,1.100000"]


def test_before_any_run_the_page_says_how_to_measure() -> None:
    page = perf_report.render_empty()
    assert "make bench" in page
    assert perf_report.METHOD in page


def efo_results() -> dict[str, Any]:
    return {
        "server": "kinesis-mock (npm kinesis-local 0.6.2) on loopback",
        "settings": {"seconds": 20.0, "rate_per_s": 50, "parallelism": 2, "warm_up_s": 3.0,
                     "python.fn-execution.bundle.time_ms": 10},
        "results": {
            "POLLING": {"records_sent": 880, "records_measured": 755, "p50_ms": 114.4,
                        "p99_ms": 213.2, "max_ms": 221.8},
            "EFO": {"records_sent": 910, "records_measured": 770, "p50_ms": 1543.2,
                    "p99_ms": 2001.1, "max_ms": 2008.9},
        },
    }


def test_the_page_shows_efo_latency_from_its_results_file() -> None:
    page = perf_report.render(sample_report(), "performance.png", efo_results())
    section = page.split("## End-to-end latency, POLLING vs EFO (kinesis-mock)")[1]
    assert "| EFO | 1543.2 | 2001.1 | 2008.9 | 770 of 910 |" in section
    assert "| POLLING | 114.4 | 213.2 | 221.8 | 755 of 880 |" in section
    assert "50 records/s for 20 s" in section


def test_without_efo_results_the_page_says_how_to_measure_them() -> None:
    page = perf_report.render(sample_report(), "performance.png")
    section = page.split("## End-to-end latency, POLLING vs EFO (kinesis-mock)")[1]
    assert "Not measured: `make bench-efo`" in section
    assert "docs/benchmarks/efo_latency.json" in section


def keyed_results() -> dict[str, Any]:
    return {
        "server": "kinesalite 3.3.3 on loopback", "started": "2026-11-29T12:00:00+00:00",
        "quick": False,
        "settings": {"repeats": 5, "records": 40000, "record_bytes": 256, "shards": 4,
                     "keys": 1000, "parallelism": 2, "goal": 0.95},
        "records_per_s": {
            "text random()": {"min": 9000, "median": 10000, "max": 11000, "n": 5},
            "text json_field('customer')": {"min": 8800, "median": 9800, "max": 10900, "n": 5},
        },
        "comparisons": [{"keyed": "text json_field('customer')", "baseline": "text random()",
                         "ratio_of_medians": 0.98, "verdict": "level", "meets_goal": True}],
    }


def test_the_page_shows_keyed_generators_next_to_random() -> None:
    page = perf_report.render(sample_report(), "performance.png", keyed=keyed_results())
    section = page.split("## Partition keys")[1].split("\n## ")[0]
    assert "| text json_field('customer') | 9,800 (8,800-10,900) | - |" in section
    assert "| text json_field('customer') | text random() | 0.98 | level | >= 95% | yes |" in (
        section)


def test_the_ordered_sink_is_judged_against_its_own_goal_and_shows_its_order() -> None:
    keyed = keyed_results()
    keyed["settings"]["ordered_goal"] = 0.7
    keyed["records_per_s"]["row ordered"] = {"min": 7000, "median": 7500, "max": 8000, "n": 5}
    keyed["keys_out_of_order"] = {"row ordered": [0, 0, 0], "text random()": [3, 9, 4]}
    keyed["comparisons"].append({"keyed": "row ordered", "baseline": "text random()",
                                 "ratio_of_medians": 0.75, "verdict": "behind", "goal": 0.7,
                                 "meets_goal": True})
    keyed["merged"] = [{"started": "2026-12-01T10:00:00+00:00", "load_average_before": [4.2],
                        "repeats": 3, "records": 50000, "variants": ["row ordered"]}]
    section = perf_report.keyed_sink_section(keyed)
    assert "| row ordered | text random() | 0.75 | behind | >= 70% | yes |" in section
    assert ("(run started 2026-12-01T10:00:00+00:00, load average 4.2 at the start, 3 repeats "
            "of 50000 records): row ordered;") in section
    assert "| text random() | 10,000 (9,000-11,000) | 9 |" in section
    assert "| row ordered | 7,500 (7,000-8,000) | 0 |" in section
    assert "40000 records of 256 bytes (1000 keys) into 4 shards" in section


def test_without_keyed_results_the_page_says_how_to_measure_them() -> None:
    section = perf_report.render(sample_report(), "performance.png").split("## Partition keys")[1]
    assert "Not measured: `make bench` (or `python -m bench.keyed_sink`)" in section


def written(times: list[float], indices: list[int]) -> list[tuple[float, bytes]]:
    """A stream read back: ``(arrival, payload)`` of records with these indices."""
    return [(t, payload(i, 100).encode()) for t, i in zip(times, indices)]


def test_a_sink_rate_needs_every_record_back() -> None:
    cell = Cell(size=1024, shards=4, records=1500)
    times = [10.0] * 500 + [10.0 + (i + 1) * 0.002 for i in range(1000)]
    records = written(times, list(range(1500)))
    assert sink_rate("s", distinct_arrivals(records), cell) == pytest.approx(500.0)
    with pytest.raises(RuntimeError, match=r"bench-sink-3: 1499 of 1500 distinct records arr"):
        sink_rate("bench-sink-3", distinct_arrivals(records[1:]), cell)


def test_copies_of_records_are_counted_apart_and_not_as_throughput() -> None:
    cell = Cell(size=1024, shards=4, records=1500)
    times = [10.0] * 500 + [10.0 + (i + 1) * 0.002 for i in range(1000)]
    # An at-least-once writer retried the last 500 records: they arrived twice, later.
    retried = written([12.5 + i * 0.001 for i in range(500)], list(range(1000, 1500)))
    read_back = distinct_arrivals(written(times, list(range(1500))) + retried)
    assert read_back["duplicates"] == 500
    assert sink_rate("s", read_back, cell) == pytest.approx(500.0)  # first copies only
    # A writer that sent 1,500 records but one of them twice lost one.
    twice = distinct_arrivals(written(times, [*range(1499), 0]))
    assert twice["duplicates"] == 1
    with pytest.raises(RuntimeError, match="1499 of 1500 distinct records arrived"):
        sink_rate("s", twice, cell)



def test_the_page_says_which_writer_put_copies() -> None:
    report = sample_report()
    assert "more than once" not in perf_report.render(report, "performance.png")
    for e in report["throughput"]:
        if e["direction"] == "sink":
            e["duplicates"] = [0, 1145, 0] if e["client"] == "quix" else [0, 0, 0]
    page = perf_report.render(report, "performance.png")
    assert "- Quix Streams, 1KiB x 4 on kinesalite: 1,145 extra copies in 1 of 3 runs." in page
    assert "pyflink_kinesis, 1KiB" not in page


def test_the_goals_table_marks_cells_whose_drains_were_too_short() -> None:
    report = sample_report()
    assert "(rough)" not in perf_report.goals_section(report)
    (source_ours,) = [e for e in report["throughput"] if e["server"] == "kinesalite"
                      and e["direction"] == "source" and e["client"] == "ours"]
    source_ours["short_drains"] = 2
    goals = perf_report.goals_section(report)
    ratios = "| 0.94 | yes | boto3_loop 1.25 ahead, builtin 1.10 level, quix 1.44 ahead |"
    assert f"| source | 1KiB | 4 {ratios} yes (rough) |" in goals
    assert f"| sink | 1KiB | 4 {ratios} yes |" in goals
    assert "not evidence either way" in goals



def test_the_benchmark_waits_for_the_load_left_by_set_up_to_settle(
    monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    slept: list[float] = []
    loads = {"1 min": 1.7}

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        if len(slept) == 3:
            loads["1 min"] = 0.6

    def load() -> tuple[float, float, float]:
        return (loads["1 min"], 1.0, 1.0)

    assert performance.wait_for_quiet(240, 10, load, sleep) == 30
    assert slept == [10, 10, 10]
    # A machine that stays busy is measured anyway after the wait (and the page says so).
    loads["1 min"] = 3.0
    assert performance.wait_for_quiet(25, 10, load, sleep) == 30


# ----------------------------------------------------------------- AWS quotas (bench/aws_quotas.py)


def quota_run(kind: str, variant: str, fraction: float | None, lost: int = 0,
              error: str | None = None) -> dict[str, Any]:
    run: dict[str, Any] = {
        "kind": kind, "variant": variant, "size": 1024, "shards": 4, "records": 90_000,
        "received": 90_000 - lost, "lost": lost, "duplicates": 0, "binding_limit": "records",
        "quota_records_per_s_per_shard": 1000.0, "requests": 200, "error": error,
        "throttled": {"write_records": 1234, "write_requests": 56, "read_calls": 7},
        "steady_s": None if fraction is None else 20.0,
    }
    if fraction is not None:
        run.update(records_per_s_per_shard=1000 * fraction,
                   mb_per_s_per_shard=1.024 * fraction, quota_fraction=fraction)
    return run


def quota_report() -> dict[str, Any]:
    return {
        "server": "kinesalite 3.3.3", "started": "2025-01-01T00:00:00+00:00", "quick": False,
        "minutes": 21.5, "load_average_before": [0.5, 0.5, 0.5],
        "settings": {"steady_s": 20.0, "burst_s": 2.0, "goal": 0.9, "parallelism": 1},
        "variants": {"sink defaults": {"settings": {}, "why": "the defaults"},
                     "source tuned": {"properties": {"flink.shard.adaptivereads": "true"},
                                      "why": "smaller reads"}},
        "runs": [quota_run("sink", "sink defaults", 0.95),
                 quota_run("sink", "sink defaults", 0.97, lost=3),
                 quota_run("source", "source tuned", 0.5),
                 quota_run("source", "source tuned", None, error="job FAILED")],
    }


def test_the_quotas_section_judges_each_run_by_its_fraction_and_its_losses() -> None:
    section = perf_report.aws_quotas_section(quota_report())
    rows = [line for line in section.splitlines() if " | 1KiB | " in line]
    assert [row.rsplit("|", 2)[1].strip() for row in rows] == [
        "yes", "no", "no", "no (job FAILED)"]
    assert "1234 entries in 56 of 200 requests" in rows[0]
    assert "7 of 207 calls" in rows[2]
    assert "95.0%" in rows[0] and "1,000 (records)" in rows[0]
    assert "`flink.shard.adaptivereads=true`" in section


def test_an_ordered_quota_run_must_also_keep_every_key_in_order() -> None:
    report = quota_report()
    report["variants"]["sink ordered"] = {"settings": {"keep_key_order": True}, "why": "order"}
    in_order, late = (quota_run("sink", "sink ordered", 0.95) for _ in range(2))
    in_order["keys_out_of_order"], late["keys_out_of_order"] = 0, 2
    unordered = quota_run("sink", "sink defaults", 0.95)
    unordered["keys_out_of_order"] = 5
    report["runs"] = [in_order, late, unordered]
    report["merged"] = [{"variant": "sink ordered", "started": "2026-12-01T10:00:00+00:00",
                         "minutes": 5.5, "load_average_before": [2.5, 2.0, 1.0]}]
    section = perf_report.aws_quotas_section(report)
    rows = [line for line in section.splitlines() if " | 1KiB | " in line]
    assert [row.rsplit("|", 3)[1:3] for row in rows] == [
        [" 0 ", " yes "], [" 2 ", " no "], [" 5 ", " yes "]]
    assert ("sink ordered: measured on its own later (run started 2026-12-01T10:00:00+00:00, "
            "5.5 minutes; load average 2.5 at the start).") in section


def test_the_page_says_how_to_measure_quotas_when_there_are_no_figures() -> None:
    assert "make bench-quotas" in perf_report.aws_quotas_section(None)


def test_the_quota_bench_measures_whole_delivery_periods_after_the_burst() -> None:
    from bench.aws_quotas import BURST_S, steady

    # A reader that gets 10 records every second, the first at t=1: the window starts at the
    # first delivery BURST_S after it and ends at the one before the last, so it spans whole
    # periods.
    samples = [(t / 4, 10 * int(t / 4)) for t in range(4, 4 * 12 + 1)]
    rate, seconds = steady(samples)
    assert rate == pytest.approx(10.0)
    assert seconds == pytest.approx(11 - 1 - BURST_S)

    # 10 MiB answers under the 2 MiB/s quota, every 4.9 s, the last one what was left of the
    # backlog: the reader ran at the quota, and is measured so.
    deliveries = [(0.0, 10_000), (4.3, 20_000), (9.2, 30_000), (14.1, 40_000), (19.0, 46_876)]
    samples = [(t / 4, max((n for at, n in deliveries if at <= t / 4), default=0))
               for t in range(0, 4 * 20)]
    rate, seconds = steady(samples)
    assert rate == pytest.approx(10_000 / 4.9, rel=0.06)


def test_the_quota_bench_knows_which_quota_binds() -> None:
    from bench.aws_quotas import compare, read_binding, write_binding

    assert write_binding(100) == (1000.0, "records")
    rate, limit = write_binding(10 * 1024)
    assert limit == "bytes" and 100 < rate < 103
    assert read_binding(1024)[1] == "bytes"
    assert compare([b"a", b"a", b"b"], [b"a", b"b", b"b"]) == {"lost": 1, "duplicates": 1}


def test_the_page_shows_the_firehose_sink_next_to_the_kinesis_sink_and_moto() -> None:
    firehose = {
        "servers": "moto 5.2.5 (Firehose, S3), kinesalite 3.3.3, on loopback",
        "started": "2026-11-29T12:00:00+00:00", "load_average_before": [0.5, 0.5, 0.5],
        "machine": {"cpus": 2},
        "settings": {"repeats": 3, "records": 20000, "record_bytes": 256, "parallelism": 2,
                     "ceiling_threads": 4, "ceiling_batch": 500},
        "records_per_s": {"boto3 ceiling": {"min": 9000, "median": 10000, "max": 11000, "n": 3},
                          "firehose sink": {"min": 8000, "median": 9000, "max": 9500, "n": 3},
                          "kinesis sink": {"min": 9000, "median": 12000, "max": 13000, "n": 3}},
        "firehose_share_of_ceiling": 0.9, "firehose_next_to_kinesis": 0.75,
        "verdict_firehose_vs_kinesis": "behind",
    }
    page = perf_report.render(sample_report(), "performance.png", firehose=firehose)
    section = page.split("## Firehose sink")[1].split("\n## ")[0]
    assert "| firehose sink | 9,000 (8,000-9,500) |" in section
    assert "0.9 of moto's ceiling (moto, the server, bounds it)" in section
    assert "The machine was busy" not in section
    assert "0.75 x the Kinesis sink on kinesalite (behind)" in section
    empty = perf_report.render(sample_report(), "performance.png").split("## Firehose sink")[1]
    assert "Not measured: `make bench` (or `make bench-firehose`)" in empty


def exactly_once_results() -> dict[str, Any]:
    measured = {"started": "2026-12-07T05:00:00+00:00", "load_average_before": [3.1, 3.0, 2.9],
                "load_average_after": [3.2, 3.0, 2.9], "quick": False}
    return {
        "server": "kinesalite 3.3.3 on loopback",
        "machine": {"cpus": 2, "python": "3.11", "platform": "Linux"},
        "throughput": {
            "settings": {"records": 100000, "record_bytes": 256, "shards": 4, "parallelism": 2,
                         "repeats": 3, "checkpoint_interval_ms": 1000},
            "steady_records_per_s": {
                "exactly-once": {"median": 9000, "min": 8000, "max": 9500, "n": 3},
                "at-least-once aggregated": {"median": 10000, "min": 9000, "max": 11000, "n": 3},
            },
            "steady_runs": {"exactly-once": [8000, 9000, 9500],
                            "at-least-once aggregated": [10000, 9000, 11000]},
            "span_records_per_s": {
                "exactly-once": {"median": 9500, "min": 9000, "max": 9900, "n": 3},
                "at-least-once aggregated": {"median": 9800, "min": 9600, "max": 9900, "n": 3},
            },
            "span_runs": {"exactly-once": [9000, 9500, 9900],
                          "at-least-once aggregated": [9600, 9800, 9900]},
            "drain_records_per_s": {
                "exactly-once": {"median": 6000, "min": 5000, "max": 7000, "n": 3},
                "at-least-once aggregated": {"median": 8000, "min": 7000, "max": 9000, "n": 3},
            },
            "drain_runs": {"exactly-once": [5000, 6000, 7000],
                           "at-least-once aggregated": [7000, 8000, 9000]},
            "steady_ratio_of_medians": 0.9, "span_ratio_of_medians": 0.97,
            "drain_ratio_of_medians": 0.75,
            "verdict": "no significant difference", "goal": 0.9,
            "meets_goal": True, "measured": measured,
        },
        "state": [{"records": 1000000, "writers": 4, "shards": 4, "generations": 1,
                   "split_state_bytes": 2668, "split_state_bytes_without_marks": 924,
                   "dropped": 0}],
    }


def test_the_page_shows_the_exactly_once_cost_from_its_results_file() -> None:
    page = perf_report.render(sample_report(), "performance.png",
                              exactly_once=exactly_once_results())
    section = page.split("## Exactly-once sink: cost")[1].split("\n## ")[0]
    assert ("| exactly-once | 9,000 (8,000-9,500) | 9,500 (9,000-9,900) "
            "| 6,000 (5,000-7,000) |") in section
    assert "first to last: 0.97; from the job's start: 0.75;" in section
    assert "Exactly-once / at-least-once, steady: 0.90" in section
    assert "goal >= 90%: met" in section
    assert "per repeat (the two runs back to back): 0.80, 1.00, 0.86;" in section
    assert "| 1,000,000 | 4 | 4 | 1 | 2,668 | 924 |" in section
    assert "### Latency" not in section  # not measured: no table


def test_without_exactly_once_results_the_page_says_how_to_measure_them() -> None:
    section = perf_report.render(sample_report(), "performance.png").split(
        "## Exactly-once sink: cost")[1]
    assert "Not measured: `make bench-exactly-once`" in section
