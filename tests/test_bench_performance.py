"""bench/performance.py's command line (the benchmark itself is `make bench`)."""

from __future__ import annotations

import argparse

import pytest

from bench.performance import parse_cells


def test_cells_are_size_by_shards_separated_by_commas() -> None:
    assert parse_cells("1024x4,1024x16,10240x4") == ((1024, 4), (1024, 16), (10240, 4))
    with pytest.raises(argparse.ArgumentTypeError, match="expected cells as SIZExSHARDS"):
        parse_cells("1024,4")
