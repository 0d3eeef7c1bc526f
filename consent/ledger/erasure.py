"""Erasure (GDPR Art. 17): destroy a customer's key; the log keeps only what no one can read."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from consent.keys import known, lock_id
from consent.store import CustomerKeyRow, IntakeRow


def erase_customer(session: Session, customer_id: str) -> bool:
    """Destroy the customer's key: their details become unreadable, the log still verifies.

    Events still queued for the log go with it: nothing of theirs enters the log after.
    """
    if session.get_bind().dialect.name == "postgresql":  # after any intake of theirs
        session.execute(select(func.pg_advisory_xact_lock(lock_id(customer_id))))
    row = session.get(CustomerKeyRow, customer_id, with_for_update=True)
    if row is None:
        return False
    session.execute(delete(IntakeRow).where(IntakeRow.subject == row.subject))
    session.execute(delete(CustomerKeyRow).where(CustomerKeyRow.customer_id == customer_id))
    session.expunge(row)
    known.drop(customer_id)
    return True
