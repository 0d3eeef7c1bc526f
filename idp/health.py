"""Health for operators: ``/health/live`` (the process answers), ``/health/ready`` (each
dependency, 503 when a required one fails) and ``/health`` (the database, as before).

Readiness names every check in its JSON body: ``database``; ``startup`` (the catalogue
synced and the keys made, :mod:`idp.startup`); ``redis`` when configured
(without it throttling and replay caches refuse with 503, see :mod:`idp.redis_store`);
``signing_keys`` (a key per algorithm that signs now and decrypts with this secret);
``ledger_sequencer`` (this process's sequencer thread alive, and the intake's backlog,
which is reported but does not fail readiness: queued events are safe and every instance
shares one queue, so taking instances out would not drain it). Errors are named by their
class only: the body is public and must not leak hosts or credentials.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify
from sqlalchemy import func, select, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from consent import ledger
from consent.store import IntakeRow
from idp.config import Settings
from idp.db import aware, get_session, utcnow
from idp.redis_store import problem
from idp.signing import keys
from idp.startup import prepared

bp = Blueprint("health", __name__, url_prefix="/health")

Check = dict[str, Any]


def _json(body: dict[str, Any], status: int = 200) -> Response:
    resp = jsonify(body)
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("", strict_slashes=False)
def health() -> Response:
    """Kept for existing monitors: ok when the database answers."""
    get_session().execute(text("SELECT 1"))
    return Response('{"status":"ok"}', mimetype="application/json")


@bp.route("/live")
def live() -> Response:
    """The process serves requests; no dependency is asked."""
    return _json({"status": "ok"})


@bp.route("/ready")
def ready() -> Response:
    app: Flask = current_app._get_current_object()  # type: ignore[attr-defined]
    checks = readiness(app, get_session())
    ok = all(c["ok"] for c in checks.values() if c["required"])
    return _json({"status": "ok" if ok else "unavailable", "checks": checks}, 200 if ok else 503)


def readiness(app: Flask, session: Session) -> dict[str, Check]:
    checks = {"database": _database(session), "startup": _startup(app)}
    client = app.extensions.get("avain.redis")
    if client is not None:
        error = problem(client)
        checks["redis"] = {"ok": error is None, "required": True} | _error(error)
    settings: Settings = app.config["AVAIN"]
    checks["signing_keys"] = _signing_keys(session, settings.secret_key)
    checks["ledger_sequencer"] = _sequencer(app, session)
    return checks


def _startup(app: Flask) -> Check:
    """Start-up synced the catalogue and made the keys (:mod:`idp.startup`); until it has,
    consent decisions answer 503, so the instance is not ready."""
    return {"ok": prepared(app) is not None, "required": True}


def _error(name: str | None) -> Check:
    return {"error": name} if name else {}


def _database(session: Session) -> Check:
    try:
        session.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        session.rollback()
        return {"ok": False, "required": True, "error": type(exc).__name__}
    return {"ok": True, "required": True}


def _signing_keys(session: Session, secret_key: str) -> Check:
    """Every algorithm Avain signs with has a key that signs now and can be decrypted."""
    missing = []
    try:
        for alg in keys.ALGORITHMS:
            try:
                keys.signing_key(session, secret_key, alg)
            except keys.KeyError_:
                missing.append(alg)
    except SQLAlchemyError as exc:
        session.rollback()
        return {"ok": False, "required": True, "error": type(exc).__name__}
    if missing:
        return {
            "ok": False,
            "required": True,
            "missing": missing,
            "fix": "run `idp db upgrade` (creates keys) or `idp keys rotate --now`",
        }
    return {"ok": True, "required": True}


def _sequencer(app: Flask, session: Session) -> Check:
    """A sequencer thread that was started must be alive; without one (tests, the CLI)
    commits sequence their own events. The backlog is reported for the operator."""
    sequencer = app.extensions.get("avain.sequencer")
    running = sequencer is not None and sequencer.thread.is_alive()
    check: Check = {"ok": sequencer is None or running, "required": True, "running": running}
    try:
        oldest: datetime | None = session.scalar(select(func.min(IntakeRow.received_at)))
        check["queued"] = ledger.queued(session)
    except SQLAlchemyError as exc:
        session.rollback()
        return check | {"error": type(exc).__name__}
    check["oldest_queued_seconds"] = (
        round((utcnow() - aware(oldest)).total_seconds(), 1) if oldest else 0
    )
    return check
