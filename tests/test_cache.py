"""Workers keep clients, signing keys and instance secrets in memory (idp/cache.py): a change
reaches the process that made it at once and every other worker within
``cache_check_seconds``; a request never gets a row that was deleted in its own process."""

from __future__ import annotations

import time
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import create_engine, delete, select, text, update

from idp import cache
from idp.models import CacheGeneration, Client, SigningKey, Token
from idp.oauth.clients import ClientSpec, create
from idp.outbound import policy_from


def _token(client: Any, client_id: str, secret: str | None) -> Any:
    return client.post(
        "/token",
        data={"grant_type": "client_credentials"},
        auth=(client_id, secret or ""),
    )


def _counter(db: Any) -> int:
    db.rollback()  # a new snapshot
    return int(
        db.scalar(select(CacheGeneration.value).where(CacheGeneration.name == cache.COUNTER)) or 0
    )


def _garage(make_client: Any) -> tuple[Any, str]:
    rp, secret = make_client(client_id="garage", grant_types=["client_credentials"])
    return rp, secret


def test_a_deleted_client_is_refused_at_once(client, db, make_client) -> None:
    rp, secret = _garage(make_client)
    assert _token(client, rp.client_id, secret).status_code == 200  # now in memory
    db.delete(db.get(Client, rp.client_id))
    db.commit()
    resp = _token(client, rp.client_id, secret)
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"


def test_a_changed_secret_applies_at_once(client, db, make_client) -> None:
    from idp.models import hash_secret

    rp, secret = _garage(make_client)
    assert _token(client, rp.client_id, secret).status_code == 200
    db.execute(
        update(Client)
        .where(Client.client_id == rp.client_id)
        .values(client_secret_hash=hash_secret("a new secret of the garage"))
    )
    db.commit()
    assert _token(client, rp.client_id, secret).status_code == 401
    assert _token(client, rp.client_id, "a new secret of the garage").status_code == 200


def test_every_kind_of_change_moves_the_counter(app, db, make_client) -> None:
    """A flush (insert, update, delete) and an ORM bulk statement on each watched table."""
    before = _counter(db)
    rp, _ = _garage(make_client)  # insert
    assert _counter(db) > before
    before = _counter(db)
    db.get(Client, rp.client_id).client_name = "Korjaamo Virtanen Oy"  # type: ignore[union-attr]
    db.commit()
    assert _counter(db) > before
    before = _counter(db)
    db.execute(update(SigningKey).values(retire_after=None))
    db.commit()
    assert _counter(db) > before
    before = _counter(db)
    db.execute(delete(Client).where(Client.client_id == rp.client_id))
    db.commit()
    assert _counter(db) > before
    before = _counter(db)
    db.execute(select(Client)).all()  # reading moves nothing
    db.commit()
    assert _counter(db) == before


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "cache_check_seconds": 0.5}


def test_core_statements_on_watched_tables_move_the_counter(app, db, make_client) -> None:
    """An INSERT, UPDATE or DELETE on the table itself (not the mapped class), sent through
    a session, is noticed as well as the ORM's."""
    rp, _ = _garage(make_client)
    clients = Client.__table__
    before = _counter(db)
    db.execute(update(clients).where(clients.c.client_id == rp.client_id).values(client_name="Oy"))
    db.commit()
    assert _counter(db) > before
    before = _counter(db)
    db.execute(delete(clients).where(clients.c.client_id == rp.client_id))
    db.commit()
    assert _counter(db) > before
    before = _counter(db)
    db.execute(update(Token.__table__).values(revoked_at=None))  # not a watched table
    db.commit()
    assert _counter(db) == before


def test_another_workers_change_arrives_within_the_check_interval(
    app: Flask, client, make_client, database_url: str
) -> None:
    """Another process changes the row and moves the counter (as its flush would), seen
    through its own connection: this worker keeps its copy until it next asks, then drops
    it. Without the counter moving it would keep serving the copy: the counter is what
    tells it."""
    from idp.models import hash_secret

    rp, secret = _garage(make_client)
    assert _token(client, rp.client_id, secret).status_code == 200
    other = create_engine(database_url)
    try:
        with other.begin() as conn:
            conn.execute(
                update(Client)
                .where(Client.client_id == rp.client_id)
                .values(client_secret_hash=hash_secret("rotated by another worker"))
            )
        time.sleep(0.6)
        assert _token(client, rp.client_id, secret).status_code == 200  # no news: the copy
        with other.begin() as conn:
            conn.execute(
                text("UPDATE cache_generations SET value = value + 1 WHERE name = :n"),
                {"n": cache.COUNTER},
            )
        deadline = time.monotonic() + 5
        while _token(client, rp.client_id, secret).status_code == 200:
            assert time.monotonic() < deadline, "the worker never saw the counter move"
            time.sleep(0.1)
        assert _token(client, rp.client_id, "rotated by another worker").status_code == 200
    finally:
        other.dispose()


def test_unknown_clients_are_not_remembered(app: Flask, client) -> None:
    for n in range(50):
        assert _token(client, f"nobody-{n}", "x").status_code == 401
    kept = app.extensions["avain.cache"]._values
    assert not [k for k in kept if k[0] == "Client"]


def test_a_client_from_memory_belongs_to_the_request(app: Flask, make_client) -> None:
    """Each request gets its own instance, attached to its session and unmodified, so a
    change to one never reaches another request's."""
    from idp.db import new_session

    rp, _ = _garage(make_client)
    with app.test_request_context():
        first_session, second_session = new_session(app), new_session(app)
        try:
            first = cache.row(first_session, Client, rp.client_id)
            second = cache.row(second_session, Client, rp.client_id)  # from memory
            assert first is not None and second is not None and first is not second
            assert second in second_session and not second_session.dirty
            second.redirect_uris.append("https://evil.example/cb")
            third = cache.row(new_session(app), Client, rp.client_id)
            assert third is not None and "https://evil.example/cb" not in third.redirect_uris
        finally:
            first_session.close()
            second_session.close()


def test_jwks_is_answered_from_memory_with_an_etag(client) -> None:
    first = client.get("/jwks.json")
    assert first.status_code == 200 and first.headers["ETag"]
    assert "max-age" in first.headers["Cache-Control"]
    again = client.get("/jwks.json", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and not again.data


def test_a_rotation_is_published_at_once(app: Flask, client, db) -> None:
    from idp.signing import keys

    before = {k["kid"] for k in client.get("/jwks.json").json["keys"]}
    settings = app.config["AVAIN"]
    new = keys.rotate(db, settings.secret_key, 3600, 600)
    db.commit()
    after = client.get("/jwks.json")
    assert {k["kid"] for k in after.json["keys"]} == before | {k.kid for k in new}


def test_a_new_client_is_usable_at_once(app: Flask, client) -> None:
    with app.app_context():
        from idp.db import new_session

        session = new_session(app)
        rp, secret = create(
            session,
            ClientSpec(
                name="Uusi",
                redirect_uris=["https://new.example/cb"],
                grant_types=["client_credentials"],
            ),
            policy_from(app.config["AVAIN"]),
        )
        client_id = rp.client_id
        session.commit()
        session.close()
    assert _token(client, client_id, secret).status_code == 200
