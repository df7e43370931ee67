"""Prices an order: its amount less the customer's discount (a module beside the script)."""

from __future__ import annotations

from shaping.orders import Order
from shaping.rules import discount_percent


def total(order: Order) -> float:
    """The order's amount in euros after the discount of its customer's tier, rounded to cents."""
    return round(order.amount_cents * (100 - discount_percent(order.tier)) / 10000, 2)
