"""The consent log's public endpoints and the operator's verification command."""

from __future__ import annotations

import base64
from datetime import UTC, datetime

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from consent import Actor, Channel, ConsentEvent, EventType, ledger as L, merkle
from consent.store import EventRow
from idp.db import new_session
from idp.ledger.service import sync_purposes


def _append(app, n=5):
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context():
        s = new_session(app)
        for i in range(n):
            L.append(
                s,
                keys,
                ConsentEvent(
                    customer_id=f"c{i % 2}",
                    recipient_id="garage",
                    purpose_id="garage_booking",
                    purpose_version=1,
                    type=EventType.GIVEN,
                    at=datetime.now(UTC),
                    actor=Actor.CUSTOMER,
                    channel=Channel.CONSENT_SCREEN,
                    claims=frozenset({"email"}),
                ),
                {"language": "fi"},
            )
            L.checkpoint(s, keys)
        s.commit()
        leaves = [bytes.fromhex(r.leaf_hash) for r in s.query(EventRow).order_by(EventRow.seq)]
        s.close()
    return leaves


def _key(client):
    jwk = client.get("/consent-log/key").json["keys"][0]
    raw = base64.urlsafe_b64decode(jwk["x"] + "==")
    return Ed25519PublicKey.from_public_bytes(raw), jwk["kid"]


def test_checkpoint_and_inclusion_proofs_verify_with_the_published_key(app, client):
    leaves = _append(app)
    public, kid = _key(client)
    note = client.get("/consent-log/checkpoint")
    assert note.mimetype == "text/plain"
    cp = merkle.verify_checkpoint(note.data.decode(), public, kid)
    assert cp.size == 5 and cp.origin == "localhost/consent-log"
    for seq in range(1, 6):
        body = client.get(f"/consent-log/proof/inclusion?seq={seq}&size=5").json
        path = [base64.b64decode(h) for h in body["inclusion_path"]]
        assert merkle.verify_inclusion(leaves[seq - 1], seq - 1, 5, path, cp.root)
    body = client.get("/consent-log/proof/consistency?old=2&new=5").json
    old_root = merkle.root(leaves[:2])
    path = [base64.b64decode(h) for h in body["consistency_path"]]
    assert merkle.verify_consistency(2, 5, old_root, cp.root, path)


def test_bad_proof_requests_are_clear_errors(app, client):
    _append(app, 2)
    for url in (
        "/consent-log/proof/inclusion?seq=0&size=2",
        "/consent-log/proof/inclusion?seq=3&size=2",
        "/consent-log/proof/inclusion?seq=1&size=99",
        "/consent-log/proof/inclusion?seq=x&size=2",
        "/consent-log/proof/consistency?old=2&new=1",
        "/consent-log/proof/consistency?old=-1&new=2",
    ):
        resp = client.get(url)
        assert resp.status_code in (400, 404), url
        assert "error" in resp.json


def test_empty_log_has_a_signed_empty_checkpoint(client):
    public, kid = _key(client)
    cp = merkle.verify_checkpoint(client.get("/consent-log/checkpoint").data.decode(), public, kid)
    assert cp.size == 0 and cp.root == merkle.EMPTY_ROOT


def test_purpose_versions_follow_the_catalogue(app, db):
    catalogue = app.extensions["avain.catalogue"]  # numbered at start-up
    assert catalogue.purposes["garage_booking"].version == 1
    again = sync_purposes(db, catalogue)
    db.commit()
    assert again.purposes["garage_booking"].version == 1
    import dataclasses

    changed = dataclasses.replace(
        catalogue,
        purposes={
            **catalogue.purposes,
            "garage_booking": dataclasses.replace(
                catalogue.purposes["garage_booking"], content_hash="changed"
            ),
        },
    )
    assert sync_purposes(db, changed).purposes["garage_booking"].version == 2
    assert sync_purposes(db, changed).purposes["garage_booking"].version == 2
    assert sync_purposes(db, catalogue).purposes["garage_booking"].version == 3  # changed back


def test_the_privacy_notice_is_served_in_the_pages_language(client):
    fi = client.get("/privacy/2026-11", headers={"Accept-Language": "fi"})
    assert fi.status_code == 200 and "Tietosuojaseloste" in fi.data.decode()
    assert "**" not in fi.data.decode()
    sv = client.get("/privacy/2026-11?ui_locales=sv")
    assert "Avain Demo Oy" in sv.data.decode() and 'lang="sv"' in sv.data.decode()
    assert client.get("/privacy/1999-01").status_code == 404


def test_the_worker_records_expired_consents(app, db):
    import time
    from datetime import timedelta

    from idp.events.outbox import start_worker

    keys = app.extensions["avain.ledger_keys"]
    with app.app_context():
        L.append(
            db,
            keys,
            ConsentEvent(
                customer_id="c9",
                recipient_id="garage",
                purpose_id="garage_booking",
                purpose_version=1,
                type=EventType.GIVEN,
                at=datetime.now(UTC) - timedelta(days=91),
                actor=Actor.CUSTOMER,
                channel=Channel.CONSENT_SCREEN,
                expires_at=datetime.now(UTC) - timedelta(days=1),
            ),
            {},
        )
        L.checkpoint(db, keys)
        db.commit()
    start_worker(app, interval=0.05)
    try:
        for _ in range(100):
            db.expire_all()
            if L.states(db, keys, "c9")[("garage", "garage_booking")].status == "expired":
                break
            time.sleep(0.05)
    finally:
        app.extensions["avain.outbox_stop"].set()
    assert L.states(db, keys, "c9")[("garage", "garage_booking")].status == "expired"
    assert L.verify(db, keys.origin).ok


def test_a_proof_that_cannot_be_built_is_a_503_not_a_500(app, client, monkeypatch):
    """A stored subtree hash missing (a log sequenced by an older version) is the operator's
    to mend: the public endpoints say so in their format and log the cause."""
    from idp.ledger import views

    _append(app, n=3)

    def missing(*_args):
        raise ValueError("stored hash of entries 1..256 is missing")

    monkeypatch.setattr(views.ledger, "inclusion", missing)
    monkeypatch.setattr(views.ledger, "consistency", missing)
    for url in (
        "/consent-log/proof/inclusion?seq=1&size=3",
        "/consent-log/proof/consistency?old=1&new=3",
    ):
        resp = client.get(url)
        assert resp.status_code == 503
        assert resp.json["error"] == "temporarily_unavailable"
