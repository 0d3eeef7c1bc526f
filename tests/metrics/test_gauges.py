"""The gauges a scrape reads from the database: the consent intake's queue and how long its
oldest event has waited (the sequencer's lag), and the outbox's pending deliveries per
kind; on SQLite and PostgreSQL, against rows queued the way the app queues them. On
PostgreSQL the outbox's count reads the partial index of pending deliveries, not the table
of every delivery ever made."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, func, select, text, update
from sqlalchemy.orm import Session

from consent import ledger
from consent.store import IntakeRow
from idp.db import utcnow
from idp.ledger import sequencer
from idp.models import Delivery
from tests.conftest import BACKENDS
from tests.consent.events import ev
from tests.metrics.conftest import scrape
from tests.test_hot_path_plans import explain

WAITED = 120  # seconds the oldest queued event has waited


def _queue_consent_events(app: Flask, count: int) -> None:
    """Accepted into the intake and committed, with no sequencer to move them on: a session
    of the engine, without the app's after-commit hook that would sequence them now (as
    when the workers' sequencer threads have stopped)."""
    with Session(app.extensions["avain.engine"]) as session:
        keys = app.extensions["avain.ledger_keys"]
        ledger.submit_many(session, keys, [(ev(customer=f"c{n}"), {}) for n in range(count)])
        session.commit()
        oldest = session.scalar(select(func.min(IntakeRow.id)))
        session.execute(
            update(IntakeRow)
            .where(IntakeRow.id == oldest)
            .values(received_at=utcnow() - timedelta(seconds=WAITED))
        )
        session.commit()


def _delivery(kind: str, **state: Any) -> Delivery:
    return Delivery(kind=kind, client_id="rp", url="https://rp.example/bc", payload="t", **state)


def test_the_gauges_show_what_waits(app, client, db):
    now = utcnow()
    db.add_all(
        [
            _delivery("backchannel_logout"),
            _delivery("backchannel_logout", attempts=2, next_attempt_at=now + timedelta(hours=1)),
            _delivery("mail"),
            _delivery("backchannel_logout", delivered_at=now),
            _delivery("mail", failed_at=now, attempts=8),
        ]
    )
    db.commit()
    _queue_consent_events(app, 3)

    waiting = scrape(client)
    assert waiting.value("avain_metrics_database_up") == 1
    assert waiting.value("avain_consent_intake_queued") == 3
    assert WAITED <= waiting.value("avain_consent_sequencer_lag_seconds") < WAITED + 60
    assert waiting.value("avain_outbox_pending", kind="backchannel_logout") == 2
    assert waiting.value("avain_outbox_pending", kind="mail") == 1

    assert sequencer.drain(app) == 3
    drained = scrape(client)
    assert drained.value("avain_consent_intake_queued") == 0
    assert drained.value("avain_consent_sequencer_lag_seconds") == 0
    assert ("avain_outbox_pending", frozenset({("kind", "mail")})) in drained.samples


# the planner that matters is PostgreSQL's (tests/test_hot_path_plans.py says why)
@pytest.mark.parametrize("database_url", [b for b in BACKENDS if b == "postgresql"], indirect=True)
def test_the_outbox_backlog_is_counted_from_its_index(app, client, db):
    db.execute(
        text(
            "INSERT INTO deliveries (kind, client_id, url, payload, created_at, "
            "next_attempt_at, attempts, attempt_log, delivered_at) "
            "SELECT 'backchannel_logout', 'rp', 'https://rp.example/bc', 't', now(), now(), "
            "1, '[]', now() FROM generate_series(1, 20000)"
        )
    )
    db.add_all([_delivery("backchannel_logout"), _delivery("mail")])
    db.commit()
    engine = app.extensions["avain.engine"]
    with engine.connect() as conn:
        conn.execute(text("ANALYZE deliveries"))
        conn.commit()

    sent: list[tuple[str, Any]] = []

    def record(_conn: Any, _cur: Any, sql: str, params: Any, *_: Any) -> None:
        sent.append((sql, params))

    event.listen(engine, "before_cursor_execute", record)
    try:
        shown = scrape(client)
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert shown.value("avain_outbox_pending", kind="backchannel_logout") == 1

    (sql, params) = next((s, p) for s, p in sent if "deliveries" in s)
    plan = explain(engine, sql, params)
    nodes = list(_nodes(plan))
    assert not [n for n in nodes if n["Node Type"] == "Seq Scan"], plan
    assert "ix_deliveries_pending" in {n.get("Index Name") for n in nodes}, plan


def _nodes(plan: dict[str, Any]) -> Any:
    yield plan
    for child in plan.get("Plans", ()):
        yield from _nodes(child)
