"""The benchmark's arithmetic and payloads (bench/perf_stats.py, bench/perf_common.py)."""

from __future__ import annotations

import pytest

from bench.perf_common import (
    PUT_BATCH_BYTES,
    PUT_BATCH_RECORDS,
    batches,
    latency_payload,
    payload,
    put_time_of,
    records_for,
    size_label,
)
from bench.perf_stats import (
    keys_out_of_order,
    middle_rate,
    percentile,
    rank_sum_p,
    ratio,
    ratios,
    steady_rate,
    summary,
    verdict,
)


def test_summary_is_min_median_max_and_count() -> None:
    assert summary([3.0, 1.0, 2.0, 10.0]) == {"min": 1.0, "median": 2.5, "max": 10.0, "n": 4}
    assert summary([1234.567], 0) == {"min": 1235.0, "median": 1235.0, "max": 1235.0, "n": 1}


def test_summary_of_nothing_is_an_error() -> None:
    with pytest.raises(ValueError, match="no values"):
        summary([])


def test_percentile_is_nearest_rank() -> None:
    values = list(range(1, 101))  # 1..100
    assert percentile(values, 50) == 50
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile([5.0, 1.0, 3.0], 50) == 3.0
    assert percentile([7.0], 99) == 7.0


@pytest.mark.parametrize("q", [0, -1, 101])
def test_percentile_rejects_q_out_of_range(q: float) -> None:
    with pytest.raises(ValueError, match="percentile q"):
        percentile([1.0, 2.0], q)


def test_steady_rate_does_not_count_the_first_batch() -> None:
    # 500 records at t=10.0 (first batch), then 1000 more spread until t=12.0
    arrivals = [10.0] * 500 + [10.0 + (i + 1) * 0.002 for i in range(1000)]
    assert steady_rate(arrivals) == pytest.approx(500.0)


def test_steady_rate_needs_two_instants() -> None:
    with pytest.raises(ValueError, match="same instant"):
        steady_rate([1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match="no arrivals"):
        steady_rate([])


def test_middle_rate_leaves_out_a_slow_start_and_tail() -> None:
    # a first checkpoint's burst, 1000 records/s for 8 s, then a slow tail
    arrivals = ([0.0] * 100 + [1.0 + i / 1000 for i in range(8000)]
                + [10.0 + i for i in range(10)])
    assert middle_rate(arrivals) == pytest.approx(1000.0, rel=0.01)
    assert middle_rate(arrivals, trim=0.0) < 900.0


def test_middle_rate_needs_two_instants_and_a_sane_trim() -> None:
    with pytest.raises(ValueError, match="one instant"):
        middle_rate([1.0] * 10)
    with pytest.raises(ValueError, match="no arrivals"):
        middle_rate([])
    with pytest.raises(ValueError, match="trim"):
        middle_rate([1.0, 2.0], trim=0.5)


def test_ratios_against_a_reference() -> None:
    assert ratio(90.0, 100.0) == 0.9
    assert ratio(1.0, 0.0) is None
    assert ratios({"ours": 45.0, "ceiling": 50.0}, "ceiling") == {"ours": 0.9, "ceiling": 1.0}


@pytest.mark.parametrize("size", [100, 1024, 10 * 1024])
def test_payloads_have_the_exact_size_and_carry_their_data(size: int) -> None:
    assert len(payload(12345, size).encode()) == size
    assert payload(12345, size).startswith("0000012345|")
    record = latency_payload(7, 1700000000.123456, size)
    assert len(record.encode()) == size
    assert put_time_of(record) == pytest.approx(1700000000.123456)


def test_batches_respect_the_put_records_limits() -> None:
    small = [payload(i, 100) for i in range(1201)]
    sizes = [len(b) for b in batches(small, [str(i) for i in range(1201)])]
    assert sizes == [PUT_BATCH_RECORDS, PUT_BATCH_RECORDS, 201]
    big = [payload(i, 20 * 1024) for i in range(600)]
    for batch in batches(big, [str(i) for i in range(600)]):
        data = [e["Data"] for e in batch]
        assert all(isinstance(d, bytes) for d in data)
        size = sum(len(d) for d in data if isinstance(d, bytes))
        assert size + sum(len(e["PartitionKey"]) for e in batch) <= PUT_BATCH_BYTES


def test_records_for_a_byte_budget() -> None:
    assert records_for(1024, 10_240_000, 40_000, 800) == 10_000
    assert records_for(100, 10_240_000, 40_000, 800) == 40_000
    assert records_for(10 * 1024, 1_000_000, 40_000, 800) == 800
    assert [size_label(s) for s in (100, 1024, 10 * 1024)] == ["100B", "1KiB", "10KiB"]


def test_rank_sum_p_is_the_exact_share_of_splits() -> None:
    # 3 against 3 runs: 20 splits, one of which wins all 9 pairs.
    assert rank_sum_p([4, 5, 6], [1, 2, 3]) == pytest.approx(1 / 20)
    assert rank_sum_p([1, 2, 3], [4, 5, 6]) == 1.0
    # 5 against 5: complete separation is 1 of 252 splits.
    assert rank_sum_p([6, 7, 8, 9, 10], [1, 2, 3, 4, 5]) == pytest.approx(1 / 252)
    # Interleaved runs win 7 of 9 pairs; 4 of the 20 splits win at least as many.
    assert rank_sum_p([2, 5, 6], [1, 3, 4]) == pytest.approx(4 / 20)
    with pytest.raises(ValueError, match="runs on both sides"):
        rank_sum_p([], [1.0])


def test_verdict_needs_a_difference_beyond_the_spread_of_the_runs() -> None:
    assert verdict([110, 112, 115, 111, 113], [100, 101, 99, 102, 98]) == "ahead"
    assert verdict([100, 101, 99, 102, 98], [110, 112, 115, 111, 113]) == "behind"
    # Medians 5% apart but ranges overlapping: noise, not a gap.
    assert verdict([100, 108, 95, 104, 90], [97, 103, 92, 99, 106]) == "level"
    assert verdict([100.0], [50.0]) == "level"  # one run each can prove nothing


def test_keys_out_of_order_counts_keys_whose_first_copies_are_not_in_order() -> None:
    assert keys_out_of_order([("a", 0), ("b", 0), ("a", 1), ("b", 1)]) == 0
    assert keys_out_of_order([("a", 0), ("a", 1), ("a", 0), ("a", 1), ("a", 2)]) == 0  # copies
    assert keys_out_of_order([("a", 1), ("a", 0), ("b", 2), ("b", 0), ("c", 0)]) == 2
