"""The body of ``POST /claims/tire_purchase``: one order the tire shop records for the
customer, checked member by member with a description a partner developer can act on."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

CLAIM = "tire_purchase"
WRITE_SCOPE = "tire_purchase:write"
MAX_BODY_BYTES = 16 * 1024
MAX_ITEMS = 20
MAX_QUANTITY = 99
MAX_NAME = 200
#: a purchase reported from the future beyond clock skew is refused
CLOCK_SKEW = timedelta(minutes=5)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)

ORDER_NUMBER_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,63}")  # fullmatch: `$` let "\n" by
MEMBERS = frozenset({"order_number", "items", "bought_at"})
ITEM_MEMBERS = frozenset({"name", "quantity"})


class InvalidPurchase(ValueError):
    """The body is not a purchase; ``description`` says which member and why."""

    def __init__(self, description: str) -> None:
        super().__init__(description)
        self.description = description


@dataclass(frozen=True)
class Item:
    name: str
    quantity: int


@dataclass(frozen=True)
class TirePurchase:
    order_number: str
    bought_at: datetime
    items: tuple[Item, ...]

    def value(self) -> dict[str, Any]:
        """The stored value: what the ``tire_purchase`` claim releases (with its source)."""
        return {
            "order_number": self.order_number,
            "bought_at": self.bought_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "items": [{"name": i.name, "quantity": i.quantity} for i in self.items],
        }


def parse(data: Any, now: datetime) -> TirePurchase:
    """Check a decoded JSON body; raise :class:`InvalidPurchase` at the first fault."""
    if not isinstance(data, dict):
        raise InvalidPurchase("The body must be a JSON object.")
    unknown = sorted(set(data) - MEMBERS)
    if unknown:
        raise InvalidPurchase(
            f"Unknown member '{unknown[0]}'; allowed: {', '.join(sorted(MEMBERS))}."
        )
    return TirePurchase(
        order_number=_order_number(data.get("order_number")),
        bought_at=_bought_at(data.get("bought_at"), now),
        items=_items(data.get("items")),
    )


def _order_number(raw: Any) -> str:
    if not isinstance(raw, str) or not ORDER_NUMBER_RE.fullmatch(raw):
        raise InvalidPurchase(
            "order_number must be a string of 1 to 64 letters, digits and . _ / - "
            "(starting with a letter or digit)."
        )
    return raw


def _bought_at(raw: Any, now: datetime) -> datetime:
    if not isinstance(raw, str) or len(raw) > 40:
        raise InvalidPurchase("bought_at must be an RFC 3339 date-time string.")
    try:
        when = datetime.fromisoformat(raw)
    except ValueError:
        raise InvalidPurchase("bought_at must be an RFC 3339 date-time string.") from None
    if when.tzinfo is None:
        raise InvalidPurchase("bought_at must carry a time zone, e.g. 2026-12-02T10:14:00Z.")
    try:
        when = when.astimezone(UTC).replace(microsecond=0)
    except OverflowError:  # the year 1 or 9999 moved past datetime's range by the offset
        raise InvalidPurchase(
            "bought_at must not be in the future (or before the year 2000)."
        ) from None
    if when < EARLIEST or when > now + CLOCK_SKEW:
        raise InvalidPurchase("bought_at must not be in the future (or before the year 2000).")
    return when


def _items(raw: Any) -> tuple[Item, ...]:
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ITEMS:
        raise InvalidPurchase(f"items must be a list of 1 to {MAX_ITEMS} objects.")
    items = []
    for n, entry in enumerate(raw):
        if not isinstance(entry, dict) or set(entry) - ITEM_MEMBERS:
            raise InvalidPurchase(f"items[{n}] must be an object with name and quantity only.")
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip() or len(name) > MAX_NAME:
            raise InvalidPurchase(
                f"items[{n}].name must be a string of 1 to {MAX_NAME} characters."
            )
        if any(not c.isprintable() for c in name):
            raise InvalidPurchase(f"items[{n}].name must not contain control characters.")
        quantity = entry.get("quantity")
        if type(quantity) is not int or not 1 <= quantity <= MAX_QUANTITY:
            raise InvalidPurchase(
                f"items[{n}].quantity must be an integer from 1 to {MAX_QUANTITY}."
            )
        items.append(Item(" ".join(name.split()), quantity))
    return tuple(items)
