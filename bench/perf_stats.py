"""The arithmetic of the performance benchmark: pure functions, unit-tested.

Every figure is a list of repeats summarised as min / median / max; latencies are
nearest-rank percentiles; throughput from a stream is the steady rate on the server's own
arrival clock.
"""

from __future__ import annotations

import itertools
import math
import statistics
from typing import Hashable, Iterable, Mapping, Sequence


def summary(values: Sequence[float], digits: int = 1) -> dict[str, float | int]:
    """``{"min", "median", "max", "n"}`` of the repeats, rounded to ``digits`` decimals.

    Raises ``ValueError`` for an empty sequence: a figure without a measurement is an error.
    """
    if not values:
        raise ValueError("no values to summarise: the measurement produced nothing")
    return {
        "min": round(min(values), digits),
        "median": round(statistics.median(values), digits),
        "max": round(max(values), digits),
        "n": len(values),
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile: the smallest value with at least ``q`` % of values at or below.

    ``q`` is in (0, 100]. Raises ``ValueError`` for no values or a ``q`` out of range.
    """
    if not values:
        raise ValueError("no values for a percentile")
    if not 0 < q <= 100:
        raise ValueError(f"percentile q must be in (0, 100], got {q}")
    ordered = sorted(values)
    rank = math.ceil(q / 100 * len(ordered))
    return ordered[rank - 1]


def steady_rate(arrivals: Sequence[float]) -> float:
    """Records per second between the first and the last arrival time (seconds).

    The records that share the first timestamp (the first PutRecords batch) mark the start,
    so they are not counted: ``(n - n_first) / (last - first)``. Raises ``ValueError`` when
    every record has the same timestamp (too few records to measure a rate).
    """
    if not arrivals:
        raise ValueError("no arrivals to measure a rate from")
    first, last = min(arrivals), max(arrivals)
    if last <= first:
        raise ValueError(
            f"all {len(arrivals)} records arrived at the same instant: use more records"
        )
    at_first = sum(1 for t in arrivals if t == first)
    return (len(arrivals) - at_first) / (last - first)


def middle_rate(arrivals: Sequence[float], trim: float = 0.1) -> float:
    """Records per second over the middle of a run: between the arrivals at the ``trim`` and
    the ``1 - trim`` quantiles (the 10th and 90th percentile by default), so that neither the
    start (the first batch, a first checkpoint) nor the tail (the last writes) counts.

    ``(records arrived after the lower instant, up to the upper) / (upper - lower)``. Raises
    ``ValueError`` for a ``trim`` outside [0, 0.5) or when the two instants are the same.
    """
    if not 0 <= trim < 0.5:
        raise ValueError(f"trim must be in [0, 0.5), got {trim}")
    if not arrivals:
        raise ValueError("no arrivals to measure a rate from")
    ordered = sorted(arrivals)
    low = ordered[int(trim * (len(ordered) - 1))]
    high = ordered[math.ceil((1 - trim) * (len(ordered) - 1))]
    if high <= low:
        raise ValueError(
            f"the middle of {len(ordered)} records arrived at one instant: use more records"
        )
    return sum(1 for t in ordered if low < t <= high) / (high - low)


def keys_out_of_order(records: Iterable[tuple[Hashable, int]]) -> int:
    """Keys with a record whose first copy came after a later record of theirs.

    ``records`` are ``(key, position in the key's order)`` as read back, a key's records in
    the order they were stored; a copy of a record already seen is skipped.
    """
    seen: dict[Hashable, set[int]] = {}
    highest: dict[Hashable, int] = {}
    late: set[Hashable] = set()
    for key, position in records:
        if position in seen.setdefault(key, set()):
            continue
        seen[key].add(position)
        if position < highest.get(key, position):
            late.add(key)
        highest[key] = max(position, highest.get(key, position))
    return len(late)


def ratio(ours: float, other: float) -> float | None:
    """``ours / other`` rounded to 2 decimals, or None when ``other`` is zero."""
    return round(ours / other, 2) if other else None


def ratios(figures: Mapping[str, float], reference: str) -> dict[str, float | None]:
    """Every entry of ``figures`` divided by ``figures[reference]`` (itself gives 1.0)."""
    base = figures[reference]
    return {name: ratio(value, base) for name, value in figures.items()}


def _wins(first: Sequence[float], second: Sequence[float]) -> float:
    """Pairs (x from ``first``, y from ``second``) with x > y; a tie counts half."""
    return sum(1.0 if x > y else 0.5 if x == y else 0.0 for x in first for y in second)


def rank_sum_p(higher: Sequence[float], lower: Sequence[float]) -> float:
    """Exact one-sided Mann-Whitney p-value that the runs of ``higher`` exceed those of ``lower``.

    The share of all ways to split the pooled runs into groups of these two sizes in which the
    first group wins at least as many pairs as ``higher`` did. Small when ``higher`` is faster
    beyond the runs' spread; 3 against 3 runs can reach 0.05 at best (every pair won).
    """
    if not higher or not lower:
        raise ValueError("a comparison needs runs on both sides")
    observed = _wins(higher, lower)
    pooled = [*higher, *lower]
    splits = list(itertools.combinations(range(len(pooled)), len(higher)))
    at_least = 0
    for chosen in splits:
        first = [pooled[i] for i in chosen]
        second = [v for i, v in enumerate(pooled) if i not in chosen]
        at_least += _wins(first, second) >= observed
    return at_least / len(splits)


#: A difference between two clients' runs counts when its rank-sum p-value is at most this.
SIGNIFICANCE = 0.05


def verdict(ours: Sequence[float], other: Sequence[float]) -> str:
    """``ahead``, ``behind`` or ``level``: whether ``ours`` beats ``other`` beyond run-to-run
    spread (one-sided rank-sum test at ``SIGNIFICANCE`` each way)."""
    if rank_sum_p(ours, other) <= SIGNIFICANCE:
        return "ahead"
    if rank_sum_p(other, ours) <= SIGNIFICANCE:
        return "behind"
    return "level"
