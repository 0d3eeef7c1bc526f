"""Liveness and readiness for operators: each dependency named, 503 when a required one fails."""

from __future__ import annotations

import pytest
import redis
from flask import Flask
from sqlalchemy import delete

from idp import create_app
from idp.db import new_session
from idp.ledger import sequencer
from idp.models import SigningKey
from idp.signing import keys


@pytest.fixture
def with_keys(app: Flask) -> None:
    session = new_session(app)
    keys.ensure_keys(session, app.config["AVAIN"].secret_key)
    session.commit()
    session.close()


def test_ready_when_every_dependency_answers(client, with_keys):
    resp = client.get("/health/ready")
    assert resp.status_code == 200, resp.json
    assert resp.json["status"] == "ok"
    checks = resp.json["checks"]
    assert set(checks) == {"database", "startup", "signing_keys", "ledger_sequencer"}  # no Redis
    assert all(c["ok"] for c in checks.values())
    assert checks["ledger_sequencer"]["queued"] == 0
    assert resp.headers["Cache-Control"] == "no-store"


def test_not_ready_until_start_up_has_succeeded(app, client, with_keys):
    """Start-up failed (say the database was not migrated yet): consent decisions would
    answer 503, so the load balancer must not send customers here."""
    app.extensions.pop("avain.prepared")
    resp = client.get("/health/ready")
    assert resp.status_code == 503
    assert resp.json["checks"]["startup"] == {"ok": False, "required": True}
    assert client.get("/health/live").status_code == 200


def test_not_ready_without_signing_keys_and_says_what_to_run(client, db):
    db.execute(delete(SigningKey))  # start-up made them; an operator removed them since
    db.commit()
    resp = client.get("/health/ready")
    assert resp.status_code == 503
    check = resp.json["checks"]["signing_keys"]
    assert check["ok"] is False and sorted(check["missing"]) == ["ES256", "RS256"]
    assert "idp db upgrade" in check["fix"]
    assert client.get("/health/ready").status_code == 503  # a read: nothing was created


def test_a_dead_sequencer_thread_makes_the_instance_not_ready(app, client, with_keys):
    sequencer.start(app, interval=0.05)
    try:
        assert client.get("/health/ready").json["checks"]["ledger_sequencer"]["running"]
    finally:
        sequencer.stop(app)
    # stop() forgets a stopped sequencer; a thread that died leaves itself registered
    dead = sequencer.Sequencer(app)
    app.extensions["avain.sequencer"] = dead
    resp = client.get("/health/ready")
    assert resp.status_code == 503
    assert resp.json["checks"]["ledger_sequencer"] == {
        "ok": False,
        "required": True,
        "running": False,
        "queued": 0,
        "oldest_queued_seconds": 0,
    }


def test_ready_with_redis(app_config, with_keys, redis_url):
    app = create_app({**app_config, "redis_url": redis_url})
    try:
        resp = app.test_client().get("/health/ready")
        assert resp.status_code == 200
        assert resp.json["checks"]["redis"] == {"ok": True, "required": True}
    finally:
        app.extensions["avain.engine"].dispose()
    assert redis.Redis.from_url(redis_url).ping()


def test_database_down_is_not_ready_but_alive(app_config):
    app = create_app({**app_config, "database_url": "postgresql+psycopg://nobody@127.0.0.1:1/none"})
    client = app.test_client()
    assert client.get("/health/live").status_code == 200
    resp = client.get("/health/ready")
    assert resp.status_code == 503
    assert resp.json["checks"]["database"] == {
        "ok": False,
        "required": True,
        "error": "OperationalError",
    }
    assert "nobody" not in resp.get_data(as_text=True)
    app.extensions["avain.engine"].dispose()
