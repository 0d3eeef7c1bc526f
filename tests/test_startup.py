"""Start-up prepares the database once, however many instances start at once, and an app
started before its database was migrated prepares it on a later request."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from consent.store import CheckpointRow, LogKeyRow, PurposeVersionRow
from idp import create_app, startup
from idp.migrate import upgrade
from idp.models import InstanceSecret, SigningKey
from tests.conftest import _empty_tables


def _start_at_once(app: Flask, instances: int = 4) -> None:
    barrier = threading.Barrier(instances)
    errors: list[BaseException] = []

    def start() -> None:
        barrier.wait()
        try:
            startup.prepare(app)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(instances)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []


def _keys_by_alg(db: Session) -> dict[str, int]:
    rows = db.execute(select(SigningKey.alg, func.count()).group_by(SigningKey.alg)).all()
    return {alg: n for alg, n in rows}


def test_instances_starting_at_once_make_everything_once(app, app_config, db):
    _empty_tables(app_config["database_url"])
    _start_at_once(app)
    assert _keys_by_alg(db) == {"ES256": 1, "RS256": 1}
    catalogue = app.extensions["avain.catalogue"]
    assert db.scalar(select(func.count()).select_from(PurposeVersionRow)) == len(catalogue.purposes)
    assert {p.version for p in catalogue.purposes.values()} == {1}
    assert db.scalar(select(func.count()).select_from(CheckpointRow)) == 1
    assert db.scalar(select(func.count()).select_from(LogKeyRow)) == 1
    assert db.scalar(select(func.count()).select_from(InstanceSecret)) == 1
    # an installation that lost its keys, the rest in place: made once again
    db.execute(delete(SigningKey))
    db.commit()
    _start_at_once(app)
    assert _keys_by_alg(db) == {"ES256": 1, "RS256": 1}


def test_an_app_started_before_migrating_prepares_on_a_later_request(
    app_config, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.setattr(startup, "RETRY_EVERY", 0.0)
    url = f"sqlite:///{tmp_path / 'later.db'}"
    app = create_app({**app_config, "database_url": url})
    try:
        assert startup.prepared(app) is None
        assert app.extensions["avain.catalogue"].purposes["garage_booking"].version == 0
        client = app.test_client()
        assert client.get("/health/live").status_code == 200
        upgrade(url)
        assert len(client.get("/jwks.json").json["keys"]) == 2
        assert startup.prepared(app) is not None
        assert app.extensions["avain.catalogue"].purposes["garage_booking"].version == 1
        assert client.get("/consent-log/checkpoint").status_code == 200
    finally:
        app.extensions["avain.engine"].dispose()
