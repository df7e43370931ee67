"""Discount rules, from the package's data file ``discounts.json`` (a nested package)."""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources


@lru_cache(maxsize=None)
def _discounts() -> dict[str, int]:
    table: dict[str, int] = json.loads(
        resources.files(__name__).joinpath("discounts.json").read_text(encoding="utf-8"))
    return table


def discount_percent(tier: str) -> int:
    """The discount of a customer tier, in percent."""
    return _discounts()[tier]
