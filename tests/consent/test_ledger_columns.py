"""The ledger's column lists come from the tables' one declaration and fit what they feed."""

from __future__ import annotations

from dataclasses import fields
from datetime import UTC, datetime

import pytest

from consent import ConsentEvent
from consent.ledger import columns
from consent.ledger.leaves import leaf_data_of
from consent.store import EventRow, IntakeRow


def test_event_fields_are_the_event_columns_both_tables_hold():
    logged = {c.name for c in EventRow.__table__.columns}
    queued = {c.name for c in IntakeRow.__table__.columns}
    event = {f.name for f in fields(ConsentEvent)}
    assert set(columns.EVENT_FIELDS) == logged & queued & event
    assert "recipient_id" in columns.EVENT_FIELDS and "subject" not in columns.EVENT_FIELDS


def _leaf_values() -> dict[str, object]:
    at = datetime(2026, 1, 1, tzinfo=UTC)
    values: dict[str, object] = {name: "x" for name in columns.LEAF_COLUMNS}
    values.update(seq=1, purpose_version=1, at=at, expires_at=None, claims=["email"])
    return values


def test_the_leaf_commits_to_every_leaf_column_and_no_other():
    values = _leaf_values()
    leaf_data_of(values)
    for name in columns.LEAF_COLUMNS:
        with pytest.raises(KeyError):
            leaf_data_of({k: v for k, v in values.items() if k != name})
    assert "details" not in columns.LEAF_COLUMNS and "leaf_hash" not in columns.LEAF_COLUMNS


def test_queued_columns_are_every_intake_column_but_its_id_and_subject():
    names = {c.name for c in IntakeRow.__table__.columns} - {"id", "subject"}
    assert set(columns.QUEUED_COLUMNS) == names
    # no length in a cast: CAST(... AS varchar(n)) would cut a longer value silently
    assert columns.QUEUED_COLUMNS["recipient_id"] == "varchar"
    assert columns.QUEUED_COLUMNS["at"] == "timestamp with time zone"
    assert columns.QUEUED_COLUMNS["claims"] == "json"
