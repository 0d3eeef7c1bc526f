"""What an instance makes sure of before it serves, so that no request has to write it.

Done once per start (:func:`idp.create_app`, so also by ``idp db upgrade`` and ``idp seed``):

* the consent catalogue's purposes numbered as stored, new and changed ones stored
  (:func:`idp.ledger.service.sync_purposes`); releasing claims then asks the database
  nothing about purposes;
* a signing key per algorithm, so token issuance and ``/jwks.json`` only read;
* the consent log's key and, for a new log, its checkpoint of size 0 (RFC 9162 §2.1.1
  defines the empty tree's hash; a C2SP signed note may carry size 0), so
  ``/consent-log/checkpoint`` and ``/consent-log/key`` only read;
* the installation's salt for pairwise subjects (OIDC Core §8.1).

Every step is idempotent, and instances starting at once take turns (an advisory lock on
PostgreSQL, the single writer lock on SQLite). Configuration, the catalogue among it, is
read once: a changed catalogue is seen after a restart.

A database that is down or not migrated yet does not keep the app from starting (its
liveness answers; ``idp db upgrade`` migrates first): the failure is logged with what to
do, and requests try again, at most every few seconds, until it succeeds. Until then
consent decisions answer 503 (:class:`idp.ledger.consents.NotSynced`).
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass

from flask import Flask, request
from sqlalchemy import false, func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from consent import ledger
from idp.config import Settings
from idp.context import instance_secret
from idp.db import new_session
from idp.ledger.service import sync_purposes
from idp.models import SigningKey
from idp.signing import keys

log = logging.getLogger(__name__)

LOCK_ID = int.from_bytes(hashlib.sha256(b"avain start-up").digest()[:8], "big", signed=True)
PAIRWISE_SALT = "pairwise_salt"  # the salt idp.subjects.subject reads
RETRY_EVERY = 5.0  # seconds between attempts after a failed start-up


@dataclass(frozen=True)
class Prepared:
    """What this start made (a later start of the same installation makes nothing)."""

    created_keys: list[str]  # "kid (alg)"
    signed_first_checkpoint: bool


def prepare(app: Flask) -> Prepared:
    """Make everything above in one transaction; raise when the database cannot."""
    session = new_session(app)
    try:
        _take_turns(session)
        numbered = sync_purposes(session, app.extensions["avain.catalogue"])
        settings: Settings = app.config["AVAIN"]
        created = keys.ensure_keys(session, settings.secret_key)
        first = ledger.latest_checkpoint(session) is None
        if first:
            ledger.checkpoint(session, app.extensions["avain.ledger_keys"])
        instance_secret(session, PAIRWISE_SALT)
        session.commit()
    finally:
        session.close()
    done = Prepared([f"{k.kid} ({k.alg})" for k in created], first)
    app.extensions["avain.catalogue"] = numbered
    app.extensions["avain.prepared"] = done
    return done


def prepared(app: Flask) -> Prepared | None:
    """What start-up made, or None while it has not succeeded."""
    done: Prepared | None = app.extensions.get("avain.prepared")
    return done


def init_app(app: Flask) -> None:
    """Prepare now; if the database does not let us, say what to do and try again later."""
    app.extensions["avain.prepared"] = None
    if _attempt(app, quiet=False):
        return
    state = {"next": time.monotonic() + RETRY_EVERY}
    lock = threading.Lock()

    @app.before_request
    def _retry_start_up() -> None:
        if prepared(app) is not None or request.blueprint == "health":
            return  # liveness must not wait on the database
        if time.monotonic() < state["next"] or not lock.acquire(blocking=False):
            return
        try:
            state["next"] = time.monotonic() + RETRY_EVERY
            _attempt(app, quiet=True)
        finally:
            lock.release()


def _attempt(app: Flask, *, quiet: bool) -> bool:
    try:
        prepare(app)
    except DBAPIError as exc:
        (log.debug if quiet else log.warning)(
            "start-up could not prepare the database (%s); run `idp db upgrade` if it is "
            "not migrated. Requests retry; consent decisions answer 503 until then.",
            type(exc.orig).__name__ if exc.orig is not None else type(exc).__name__,
        )
        return False
    if quiet:
        log.info("start-up's preparation of the database is done")
    return True


def _take_turns(session: Session) -> None:
    """Hold a lock until the commit, so that instances starting at once go one by one."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(LOCK_ID)))
    else:  # SQLite: a write, even of no row, takes its one writer lock
        session.execute(update(SigningKey).where(false()).values(kid=SigningKey.kid))
