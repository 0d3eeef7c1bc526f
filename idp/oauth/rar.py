"""OAuth 2.0 Rich Authorization Requests (RFC 9396): the ``authorization_details`` parameter.

Avain accepts the types that a partner agreement of the catalogue carries (``[[agreements]]``
``details_types``) and only from that agreement's ``from`` client. The parameter is checked
at the authorization endpoint (§5) and again at the token endpoint (§6.2); a malformed or
unallowed value is ``invalid_authorization_details``.
"""

from __future__ import annotations

import json
from typing import Any

from authlib.oauth2.rfc6749 import OAuth2Error

from consent.catalogue import Catalogue
from consent.model import Agreement

MAX_LENGTH = 4096  # characters of the JSON (the authorization endpoint's parameter limit)
MAX_ENTRIES = 8
MAX_TYPE_LENGTH = 100
MAX_ITEMS = 20


class InvalidAuthorizationDetailsError(OAuth2Error):
    """RFC 9396 §5: the authorization_details are malformed or not allowed for the client."""

    error = "invalid_authorization_details"


def parse(raw: str) -> list[dict[str, Any]]:
    """RFC 9396 §2: a JSON array of objects, each with a string ``type``."""
    if len(raw) > MAX_LENGTH:
        raise InvalidAuthorizationDetailsError(
            f"authorization_details is longer than {MAX_LENGTH} characters."
        )
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):  # a 4096-character array can nest past the limit
        raise InvalidAuthorizationDetailsError(
            "authorization_details is not valid JSON; send a URL-encoded JSON array."
        ) from None
    if not isinstance(value, list) or not value:
        raise InvalidAuthorizationDetailsError(
            "authorization_details must be a non-empty JSON array of objects."
        )
    if len(value) > MAX_ENTRIES:
        raise InvalidAuthorizationDetailsError(
            f"authorization_details has more than {MAX_ENTRIES} entries."
        )
    for index, entry in enumerate(value):
        if not isinstance(entry, dict):
            raise InvalidAuthorizationDetailsError(
                f"authorization_details[{index}] is not a JSON object."
            )
        kind = entry.get("type")
        if not isinstance(kind, str) or not kind or len(kind) > MAX_TYPE_LENGTH:
            raise InvalidAuthorizationDetailsError(
                f"authorization_details[{index}] has no string 'type' "
                f"(1 to {MAX_TYPE_LENGTH} characters)."
            )
        if kind == "tire_fitting":
            _check_tire_fitting(index, entry)
    return value


def types_of(details: list[dict[str, Any]]) -> frozenset[str]:
    return frozenset(str(entry["type"]) for entry in details)


def agreement_for(catalogue: Catalogue, client_id: str, details: list[dict[str, Any]]) -> Agreement:
    """RFC 9396 §5: the partner agreement that lets this client ask for these types."""
    types = types_of(details)
    agreement = catalogue.agreement_for(client_id, types)
    if agreement is None:
        allowed = sorted(
            t
            for a in catalogue.agreements.values()
            if a.from_id == client_id
            for t in a.details_types
        )
        raise InvalidAuthorizationDetailsError(
            f"authorization_details type {', '.join(sorted(types))} is not allowed for client "
            f"{client_id}"
            + (
                f"; allowed: {', '.join(allowed)}."
                if allowed
                else " (it has no partner agreement)."
            )
        )
    return agreement


def _check_tire_fitting(index: int, entry: dict[str, Any]) -> None:
    """The order a ``tire_fitting`` handoff carries, shown on the consent page: its number and
    items (name and quantity) must be there and readable."""
    where = f"authorization_details[{index}] (tire_fitting)"
    order = entry.get("order")
    if not isinstance(order, dict):
        raise InvalidAuthorizationDetailsError(f"{where} has no 'order' object.")
    number = order.get("number")
    if not isinstance(number, str) or not 0 < len(number) <= 40:
        raise InvalidAuthorizationDetailsError(f"{where}: order.number must be a short string.")
    items = order.get("items")
    if not isinstance(items, list) or not 0 < len(items) <= MAX_ITEMS:
        raise InvalidAuthorizationDetailsError(
            f"{where}: order.items must be a list of 1 to {MAX_ITEMS} items."
        )
    for item in items:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not 0 < len(item["name"]) <= 200
            or isinstance(item.get("quantity"), bool)
            or not isinstance(item.get("quantity"), int)
            or not 0 < item["quantity"] <= 99
        ):
            raise InvalidAuthorizationDetailsError(
                f"{where}: each order item needs a name (string) and a quantity (1 to 99)."
            )
    locations = entry.get("locations", [])
    if not isinstance(locations, list) or not all(isinstance(u, str) for u in locations):
        raise InvalidAuthorizationDetailsError(f"{where}: locations must be a list of URIs.")
