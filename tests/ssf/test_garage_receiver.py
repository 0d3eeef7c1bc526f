"""The garage demo as a Shared Signals receiver, over real HTTP: it registers its push stream
at a live Avain with its client credentials, and forgets the handed-over data of a customer
whose consent to garage_booking is withdrawn (or whose account is purged)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from idp.db import new_session, utcnow
from idp.events import signals
from idp.models import Client, User
from idp.oauth.clients import ClientSpec, create
from idp.outbound import policy_from
from idp.subjects import subject
from tests.live_server import LiveServer, free_port, live_avain


@pytest.fixture
def avain(tmp_path: Path) -> Iterator[LiveServer]:
    with live_avain(tmp_path, outbound_allow_hosts=["localhost"], outbound_allow_http=True) as s:
        yield s


def _garage_client(live: LiveServer, site_url: str) -> str:
    with live.app.app_context(), new_session(live.app) as s:
        _, secret = create(
            s,
            ClientSpec(
                name="Korjaamo Virtanen",
                client_id="garage",
                redirect_uris=[f"{site_url}/callback"],
                grant_types=["authorization_code", "refresh_token", "client_credentials"],
                subject_type="pairwise",
            ),
            policy_from(live.app.config["AVAIN"]),
        )
        s.commit()
    assert secret
    return secret


@pytest.fixture
def garage(avain: LiveServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    from examples.garage import create_app

    port = free_port()
    site_url = f"http://localhost:{port}"
    monkeypatch.setenv("AVAIN_ISSUER", avain.url)
    monkeypatch.setenv("SITE_URL", site_url)
    monkeypatch.setenv("SITE_INSTANCE", str(tmp_path / "garage"))
    monkeypatch.setenv("CLIENT_ID", "garage")
    monkeypatch.setenv("CLIENT_SECRET", _garage_client(avain, site_url))
    app = create_app()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield app
    finally:
        server.shutdown()
        thread.join(timeout=10)


def _handoff(garage, sub: str) -> None:  # type: ignore[no-untyped-def]
    with sqlite3.connect(garage.config["DATABASE"]) as conn:
        conn.execute(
            "INSERT INTO handoffs (sub, order_json, claims_json, received_at) VALUES (?, ?, ?, ?)",
            (sub, json.dumps({"number": "R-1042"}), json.dumps({"name": "A"}), int(time.time())),
        )


def _handoffs(garage) -> list[tuple[str, str, str, int | None]]:  # type: ignore[no-untyped-def]
    with sqlite3.connect(garage.config["DATABASE"]) as conn:
        return list(
            conn.execute(
                "SELECT sub, order_json, claims_json, withdrawn_at FROM handoffs ORDER BY id"
            )
        )


def _wait(predicate, seconds: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_garage_registers_and_forgets_on_withdrawal(avain, garage):  # type: ignore[no-untyped-def]
    from examples.garage import signals as garage_signals

    stream = garage_signals.register_stream(garage)
    assert stream["delivery"]["endpoint_url"] == garage.config["SITE_URL"] + "/ssf/events"
    withdrawn = f"{avain.url}/ssf/event-type/consent-withdrawn"
    assert withdrawn in stream["events_delivered"]
    # registering again (a restart) keeps the one stream
    assert garage_signals.register_stream(garage)["stream_id"] == stream["stream_id"]

    from idp.auth import accounts

    app = avain.app
    with app.app_context(), new_session(app) as s:
        alice = accounts.register(s, "alice@example.com", "Alice", "correct horse battery")
        bob = accounts.register(s, "bob@example.com", "Bob", "correct horse battery")
        s.commit()
        client = s.get(Client, "garage")
        alice_sub, bob_sub = subject(s, alice, client), subject(s, bob, client)
        alice_id, bob_id = alice.id, bob.id
    _handoff(garage, alice_sub)
    _handoff(garage, bob_sub)

    def emit(user_id: str, purpose: str, right: str = "withdrawn") -> None:
        with app.app_context(), new_session(app) as s:
            signals.consent_changed(
                s,
                avain.url,
                s.get(User, user_id),
                s.get(Client, "garage"),
                purpose,
                right,
                utcnow(),
                "user",
            )
            s.commit()

    emit(alice_id, "some_other_purpose")  # not the garage's concern: kept
    emit(alice_id, "garage_booking")
    assert _wait(lambda: _handoffs(garage)[0][3] is not None), "the garage did not forget"
    rows = _handoffs(garage)
    assert rows[0][:3] == (alice_sub, "{}", "{}")
    assert rows[1] == (bob_sub, json.dumps({"number": "R-1042"}), json.dumps({"name": "A"}), None)

    with app.app_context(), new_session(app) as s:  # an account purged: forgotten too
        signals.account_purged(s, avain.url, s.get(User, bob_id), [s.get(Client, "garage")])
        s.commit()
    assert _wait(lambda: _handoffs(garage)[1][3] is not None)


def test_the_garage_refuses_a_forged_set(avain, garage):  # type: ignore[no-untyped-def]
    from joserfc import jwt
    from joserfc.jwk import RSAKey

    client = garage.test_client()
    key = RSAKey.generate_key(2048, parameters={"kid": "forged"}, private=True)
    token = jwt.encode(
        {"alg": "RS256", "kid": "forged", "typ": "secevent+jwt"},
        {"iss": avain.url, "aud": "garage", "jti": "x", "iat": int(time.time()), "events": {}},
        key,
    )
    auth = {"Authorization": garage.config["SSF_AUTHORIZATION"]}
    resp = client.post(
        "/ssf/events", data=token, headers={**auth, "Content-Type": "application/secevent+jwt"}
    )
    assert resp.status_code == 400 and resp.get_json()["err"] == "invalid_key"
    resp = client.post(
        "/ssf/events", data=token, headers={"Content-Type": "application/secevent+jwt"}
    )
    assert resp.status_code == 401
