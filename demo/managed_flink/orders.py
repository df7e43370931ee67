"""The demo's business logic, a local module of the application (the bundle carries it)."""

from __future__ import annotations

import json


def sample_orders(count: int) -> list[dict[str, object]]:
    """Orders with an id, a customer, an amount in cents and a status (every 4th unpaid)."""
    return [
        {
            "order_id": i,
            "customer": f"customer-{i % 50}",
            "amount_cents": 100 + (i * 37) % 9900,
            "status": "unpaid" if i % 4 == 3 else "paid",
        }
        for i in range(count)
    ]


def is_paid(line: str) -> bool:
    """Whether an order (JSON text) is paid."""
    return bool(json.loads(line)["status"] == "paid")


def enrich(line: str) -> str:
    """Euros from cents, and a flag for large orders."""
    order = json.loads(line)
    order["amount_eur"] = order.pop("amount_cents") / 100
    order["large"] = order["amount_eur"] >= 50
    return json.dumps(order, sort_keys=True)
