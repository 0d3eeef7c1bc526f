"""The transactional outbox: deliveries written with the change that caused them, sent after
commit, every attempt recorded, failures retried with backoff. Back-channel logouts are
sent here, and the Security Event Tokens of Shared Signals streams (:mod:`idp.events.sets`,
pushed right after each commit that queued some); the app's other senders (customer mail,
:mod:`idp.auth.mailer`) are given to
:func:`init_app` by the app factory and kicked and retried alongside, so the outbox below
every service imports none of them."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, sessionmaker
from urllib3.exceptions import HTTPError

from consent import ledger
from idp import instruments
from idp.config import Settings
from idp.db import utcnow
from idp.events import sets
from idp.events.kinds import BACKCHANNEL_LOGOUT, MAIL, SIGNALS_QUEUED
from idp.instruments import DeliveryOutcome
from idp.models import Delivery
from idp.outbound import OutboundPolicy, Refused, policy_from, post_form

log = logging.getLogger(__name__)

BACKOFF_BASE = 15  # seconds; doubled after every failed attempt


def _attempt(
    delivery: Delivery, timeout: float, max_attempts: int, outbound: OutboundPolicy
) -> None:
    """One POST (Back-Channel Logout 1.0 §2.5); a URI or address that may not be called
    (:mod:`idp.outbound`) fails the delivery at once, with the reason in its log."""
    now = utcnow()
    entry: dict[str, Any] = {"at": now.isoformat()}
    refused = False
    try:
        status = post_form(delivery.url, {"logout_token": delivery.payload}, timeout, outbound)
        entry["status"] = status
        ok = status in (200, 204)
    except Refused as exc:
        entry["error"] = "refused"
        entry["reason"] = f"{delivery.url[:200]} {exc.reason}"
        ok, refused = False, True
    except (OSError, HTTPError) as exc:
        entry["error"] = type(exc).__name__
        ok = False
    except Exception as exc:  # one bad delivery must not stop the others in the batch
        log.exception("back-channel delivery %s failed", delivery.id)
        entry["error"] = type(exc).__name__
        ok = False
    delivery.attempts += 1
    delivery.attempt_log = [*delivery.attempt_log, entry]
    if ok:
        delivery.delivered_at = now
        outcome = DeliveryOutcome.DELIVERED
    elif refused or delivery.attempts >= max_attempts:
        delivery.failed_at = now
        outcome = DeliveryOutcome.DROPPED
    else:
        delivery.next_attempt_at = now + timedelta(
            seconds=BACKOFF_BASE * 2 ** (delivery.attempts - 1)
        )
        outcome = DeliveryOutcome.FAILED
    instruments.delivery(delivery.kind, outcome)


def deliver_due(
    factory: sessionmaker[Session],
    timeout: float,
    max_attempts: int,
    limit: int = 50,
    outbound: OutboundPolicy | None = None,
) -> int:
    """Send what is due now; returns how many were attempted.

    ``outbound`` is the operator's policy (``policy_from(settings)``); without it, only
    https to public addresses.
    """
    policy = outbound or OutboundPolicy()
    with factory() as session:
        stmt = (
            select(Delivery)
            .where(
                Delivery.kind != MAIL,  # customer mail has its own sender (idp.auth.mailer)
                Delivery.delivered_at.is_(None),
                Delivery.failed_at.is_(None),
                Delivery.next_attempt_at <= utcnow(),
            )
            .order_by(Delivery.id)
            .limit(limit)
        )
        if session.get_bind().dialect.name == "postgresql":
            stmt = stmt.with_for_update(skip_locked=True)
        due = list(session.scalars(stmt))
        for delivery in due:
            _attempt(delivery, timeout, max_attempts, policy)
        session.commit()
        return len(due)


def pending(session: Session) -> dict[str, int]:
    """Deliveries neither made nor given up, per kind (zero for a kind with none), read from
    the partial index ``ix_deliveries_pending`` alone."""
    counts = dict.fromkeys((BACKCHANNEL_LOGOUT, MAIL), 0)
    rows = session.execute(
        select(Delivery.kind, func.count())
        .where(Delivery.delivered_at.is_(None), Delivery.failed_at.is_(None))
        .group_by(Delivery.kind)
    )
    counts.update({kind: int(count) for kind, count in rows})
    return counts


Sender = Callable[[Any], object]  # sends what is due of its kind, given the app


def init_app(app: Any, senders: Iterable[Sender] = ()) -> None:
    """Remember the app's other senders (e.g. customer mail), run with every kick and retry,
    and push Security Event Tokens after every commit that queued some."""
    app.extensions["avain.outbox_senders"] = list(senders)
    factory: sessionmaker[Session] = app.extensions["avain.sessionmaker"]

    def after_commit(session: Session) -> None:
        if session.info.pop(SIGNALS_QUEUED, False):
            kick_signals(app)

    event.listen(factory, "after_commit", after_commit)


class _Pusher:
    """At most one SET-pushing thread per app; a kick while it runs makes it go round again
    (many commits in a burst share passes instead of each starting a thread)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending = False
        self.running = False


def push_signals(app: Any, now: Any = None) -> int:
    """Push the SETs due to every push stream now (also the worker's job)."""
    s: Settings = app.config["AVAIN"]
    return sets.push_due(
        app, app.extensions["avain.sessionmaker"], s.backchannel_timeout, policy_from(s), now
    )


def kick_signals(app: Any) -> threading.Thread | None:
    """Push SETs in the background now (after the commit that queued them)."""
    pusher: _Pusher = app.extensions.setdefault("avain.ssf_pusher", _Pusher())
    with pusher.lock:
        pusher.pending = True
        if pusher.running:
            return None
        pusher.running = True

    def run() -> None:
        while True:
            with pusher.lock:
                if not pusher.pending:
                    pusher.running = False
                    return
                pusher.pending = False
            try:
                push_signals(app)
            except Exception:
                log.exception("pushing security event tokens failed")

    thread = threading.Thread(target=run, name="avain-ssf-push", daemon=True)
    thread.start()
    app.extensions.setdefault("avain.outbox_threads", []).append(thread)
    return thread


def _run_senders(app: Any) -> None:
    for send in app.extensions.get("avain.outbox_senders", ()):
        send(app)


def kick(app: Any) -> threading.Thread:
    """Deliver in the background now (after the request's commit)."""
    s: Settings = app.config["AVAIN"]
    factory = app.extensions["avain.sessionmaker"]

    def run() -> None:
        try:
            deliver_due(
                factory,
                s.backchannel_timeout,
                s.backchannel_max_attempts,
                outbound=policy_from(s),
            )
            _run_senders(app)
        except Exception:
            log.exception("outbox delivery failed")

    thread = threading.Thread(target=run, name="avain-outbox", daemon=True)
    thread.start()
    app.extensions.setdefault("avain.outbox_threads", []).append(thread)
    return thread


def expire_consents(app: Any) -> int:
    """Record the consents whose validity ran out (also ``idp ledger expire``)."""
    with app.extensions["avain.sessionmaker"]() as session:
        count = ledger.expire_due(session, app.extensions["avain.ledger_keys"], utcnow())
        session.commit()
    return count


def start_worker(
    app: Any,
    interval: float = 10.0,
    expiry_every: float = 3600.0,
    jobs: Sequence[tuple[float, Callable[[Any], object]]] = (),
) -> threading.Thread:
    """A loop that retries due deliveries and, hourly, records expired consents; ``jobs``
    are more (every N seconds, a function of the app) from packages above this one, e.g.
    ending SSO sessions whose time ran out (:func:`idp.sso.logout.sweep_expired_sessions`)."""
    s: Settings = app.config["AVAIN"]
    factory = app.extensions["avain.sessionmaker"]
    stop = threading.Event()

    def loop() -> None:
        next_expiry = time.monotonic()
        next_job = [time.monotonic() for _ in jobs]
        while not stop.wait(interval):
            try:
                deliver_due(
                    factory,
                    s.backchannel_timeout,
                    s.backchannel_max_attempts,
                    outbound=policy_from(s),
                )
                _run_senders(app)
                push_signals(app)
                if time.monotonic() >= next_expiry:
                    expire_consents(app)
                    next_expiry = time.monotonic() + expiry_every
                for n, (every, job) in enumerate(jobs):
                    if time.monotonic() >= next_job[n]:
                        job(app)
                        next_job[n] = time.monotonic() + every
            except Exception:
                log.exception("outbox worker failed")

    thread = threading.Thread(target=loop, name="avain-outbox-worker", daemon=True)
    thread.start()
    app.extensions["avain.outbox_stop"] = stop
    return thread
