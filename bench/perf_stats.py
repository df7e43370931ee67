"""The arithmetic of the performance benchmark: pure functions, unit-tested.

Every figure is a list of repeats summarised as min / median / max; latencies are
nearest-rank percentiles; throughput from a stream is the steady rate on the server's own
arrival clock.
"""

from __future__ import annotations

import math
import statistics
from typing import Mapping, Sequence


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


def ratio(ours: float, other: float) -> float | None:
    """``ours / other`` rounded to 2 decimals, or None when ``other`` is zero."""
    return round(ours / other, 2) if other else None


def ratios(figures: Mapping[str, float], reference: str) -> dict[str, float | None]:
    """Every entry of ``figures`` divided by ``figures[reference]`` (itself gives 1.0)."""
    base = figures[reference]
    return {name: ratio(value, base) for name, value in figures.items()}
