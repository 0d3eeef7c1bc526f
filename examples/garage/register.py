"""The garage's own customer register, and linking a returning customer to their Avain
identity: a signed-in customer who is not linked yet and whose verified email address or
phone number is in the register is asked "Are you our customer KV-1001?"; only their own
confirmation stores the link (customer number <-> Avain subject)."""

from __future__ import annotations

import re
import sqlite3
import time
from typing import Any

from examples.site import db

SCHEMA = """
CREATE TABLE IF NOT EXISTS customer_links (
    customer_number TEXT PRIMARY KEY REFERENCES customers (number),
    sub TEXT NOT NULL UNIQUE, linked_at INTEGER NOT NULL
);
"""


def normalise_phone(phone: str | None) -> str | None:
    """+358 40 123 4567, 040-123 4567 and +358401234567 are one number."""
    if not phone:
        return None
    digits = re.sub(r"[^\d+]", "", phone)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    elif digits.startswith("0"):
        digits = "+358" + digits[1:]
    return digits if len(digits) >= 6 else None


def linked(sub: str) -> sqlite3.Row | None:
    """The register's entry linked to this Avain subject, if any."""
    row: sqlite3.Row | None = (
        db()
        .execute(
            "SELECT c.* FROM customers c JOIN customer_links l ON l.customer_number = c.number"
            " WHERE l.sub = ?",
            (sub,),
        )
        .fetchone()
    )
    return row


def candidate(sub: str, profile: dict[str, Any]) -> sqlite3.Row | None:
    """An unlinked register entry matching the customer's verified email or phone number."""
    if linked(sub) is not None:
        return None
    email = profile.get("email") if profile.get("email_verified") is True else None
    phone = normalise_phone(profile.get("phone_number"))
    for row in db().execute(
        "SELECT * FROM customers WHERE number NOT IN (SELECT customer_number FROM customer_links)"
        " ORDER BY number"
    ):
        if email and row["email"] and row["email"].strip().lower() == email.strip().lower():
            return row  # type: ignore[no-any-return]
        if phone and normalise_phone(row["phone"]) == phone:
            return row  # type: ignore[no-any-return]
    return None


def link(sub: str, customer_number: str, profile: dict[str, Any]) -> bool:
    """Store the link the customer confirmed; False unless that entry is their candidate."""
    match = candidate(sub, profile)
    if match is None or match["number"] != customer_number:
        return False
    conn = db()
    try:
        conn.execute(
            "INSERT INTO customer_links VALUES (?, ?, ?)", (customer_number, sub, int(time.time()))
        )
    except sqlite3.IntegrityError:
        return False
    conn.commit()
    return True
