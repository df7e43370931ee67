"""Labels for orders (a namespace package: its folder has no ``__init__.py``)."""

from __future__ import annotations

from shaping.orders import Order


def label(order: Order) -> str:
    """A short text for the order."""
    return f"{order.tier}/{'large' if order.amount_cents >= 5000 else 'small'}"
