"""Customer mail from the outbox: claimed, written in the customer's language, sent; every
attempt recorded and failures retried with backoff, as back-channel logouts are. The app
factory gives :func:`deliver_due` to the outbox (:func:`idp.events.outbox.init_app`)."""

from __future__ import annotations

import json
import logging
import smtplib
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import Flask, g
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from idp import instruments
from idp.auth import letters
from idp.auth.mail import send_mail
from idp.config import Settings
from idp.db import utcnow
from idp.events.kinds import MAIL
from idp.instruments import DeliveryOutcome
from idp.models import Delivery

log = logging.getLogger(__name__)

BACKOFF_BASE = 15  # seconds, doubled after every failed attempt (as for logouts)
MAX_ATTEMPTS = 8
# A claimed mail is left alone by other workers this long (if its sender dies, it is
# retried after it).
LEASE = timedelta(minutes=5)


def deliver_due(app: Flask, limit: int = 20) -> int:
    """Send the customer mail that is due; returns how many were attempted."""
    factory: sessionmaker[Session] = app.extensions["avain.sessionmaker"]
    attempted = 0
    with factory() as session:
        due = list(
            session.scalars(
                select(Delivery.id)
                .where(
                    Delivery.kind == MAIL,
                    Delivery.delivered_at.is_(None),
                    Delivery.failed_at.is_(None),
                    Delivery.next_attempt_at <= utcnow(),
                )
                .order_by(Delivery.id)
                .limit(limit)
            )
        )
        for delivery_id in due:
            if not _claim(session, delivery_id):
                session.rollback()
                continue
            session.commit()
            delivery = session.get(Delivery, delivery_id)
            if delivery is not None:
                _attempt(app, session, delivery)
                session.commit()
                attempted += 1
    return attempted


def _claim(session: Session, delivery_id: int) -> bool:
    """Take the mail for this worker, in one statement: two workers never send it twice."""
    now = utcnow()
    result = session.execute(
        update(Delivery)
        .where(
            Delivery.id == delivery_id,
            Delivery.delivered_at.is_(None),
            Delivery.failed_at.is_(None),
            Delivery.next_attempt_at <= now,
        )
        .values(next_attempt_at=now + LEASE)
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0) == 1


def _links(app: Flask, issuer: str) -> Callable[..., str]:
    """Absolute links to Avain's pages, outside any request."""
    urls = app.url_map.bind("localhost")  # only the path is built; the issuer gives the rest

    def link(endpoint: str, **values: Any) -> str:
        return issuer + urls.build(endpoint, values)

    return link


def _attempt(app: Flask, session: Session, delivery: Delivery) -> None:
    s: Settings = app.config["AVAIN"]
    payload = json.loads(delivery.payload)
    letter = letters.Letter(payload["letter"])
    to = delivery.url.removeprefix("mailto:")
    now = utcnow()
    entry: dict[str, Any] = {"at": now.isoformat()}
    user = letters.recipient(session, to)
    with app.app_context():
        # the customer's own language first: the request may have come from anyone
        lang = (user.locale if user else None) or payload.get("lang")
        g.lang = lang if lang in s.languages else s.default_language
        theme = app.extensions["avain.brand"].theme
        links = _links(app, s.issuer)
        mail = letters.compose(user, s.secret_key, letter, links, theme) if user else None
        if mail is None:
            entry["result"] = "nothing to send"
            ok = True
        else:
            try:
                signed = replace(s, mail_from=letters.sender(s.mail_from, theme))
                send_mail(signed, to, mail.subject, mail.text, mail.html)
                entry["result"] = "sent"
                ok = True
            except (smtplib.SMTPException, OSError) as exc:
                log.warning("mail %s (delivery %s) failed: %s", letter, delivery.id, exc)
                entry["error"] = type(exc).__name__
                ok = False
    delivery.attempts += 1
    delivery.attempt_log = [*delivery.attempt_log, entry]
    if ok:
        delivery.delivered_at = now
        outcome = DeliveryOutcome.DELIVERED
    elif delivery.attempts >= MAX_ATTEMPTS:
        delivery.failed_at = now
        outcome = DeliveryOutcome.DROPPED
    else:
        delivery.next_attempt_at = now + timedelta(
            seconds=BACKOFF_BASE * 2 ** (delivery.attempts - 1)
        )
        outcome = DeliveryOutcome.FAILED
    instruments.delivery(MAIL, outcome)
    if delivery.delivered_at or delivery.failed_at:
        delivery.url = "mailto:"  # done: the address is not kept
