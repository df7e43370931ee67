"""Orders as they come in (JSON text)."""

from __future__ import annotations

import json
from dataclasses import dataclass


@dataclass(frozen=True)
class Order:
    order_id: int
    customer: str
    tier: str
    amount_cents: int
    status: str


def sample_orders(count: int) -> list[str]:
    """Orders as JSON text: every 4th unpaid, customers in three tiers."""
    return [
        json.dumps({"order_id": i, "customer": f"customer-{i % 20}",
                    "tier": ("gold", "silver", "bronze")[i % 3],
                    "amount_cents": 100 + (i * 37) % 9900,
                    "status": "unpaid" if i % 4 == 3 else "paid"})
        for i in range(count)
    ]


def parse(line: str) -> Order:
    """The order in a line of JSON text."""
    return Order(**json.loads(line))


def is_paid(line: str) -> bool:
    """Whether an order (JSON text) is paid."""
    return parse(line).status == "paid"
