"""Who gets into the admin API: a token of an active admin API client, checked on every
call; everyone else gets RFC 6750 errors as RFC 9457 problem details, never HTML."""

from __future__ import annotations

import time
from datetime import timedelta

from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select, update

from idp import signing
from idp.admin import api_clients
from idp.db import new_session, utcnow
from idp.models import AdminAuditEntry, Client, Token, digest
from tests.admin.api.client import API, basic, bearer, token_response


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, (resp.status_code, resp.data[:300])
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["Cache-Control"] == "no-store"
    body = resp.json
    assert body["status"] == status and body["code"] == code
    assert body["type"] == f"urn:avain:problem:{code}"
    return body


def test_no_token_is_401_with_the_bearer_challenge(client):
    resp = client.get(f"{API}/overview")
    problem(resp, 401, "missing_token")
    assert resp.headers["WWW-Authenticate"] == 'Bearer realm="avain-admin-api"'
    assert "Set-Cookie" not in resp.headers


def test_a_console_session_cookie_is_no_way_in(app, client):
    from tests.admin.console import session_for

    session_for(app, client, "owner")
    problem(client.get(f"{API}/overview"), 401, "missing_token")


def test_garbage_and_other_schemes_are_refused(client):
    problem(client.get(f"{API}/overview", headers=bearer("not-a-token")), 401, "invalid_token")
    resp = client.get(f"{API}/overview", headers=basic("a", "b"))
    problem(resp, 401, "missing_token")
    resp = client.get(f"{API}/overview", headers=bearer("x" * 9000))
    problem(resp, 401, "missing_token")


def test_an_owner_token_gets_in_and_the_call_is_audited(app, client, api_token):
    value, client_id = api_token("owner")
    resp = client.get(f"{API}/overview", headers=bearer(value))
    assert resp.status_code == 200, resp.json
    assert resp.headers["Cache-Control"] == "no-store"
    assert "Set-Cookie" not in resp.headers
    with app.app_context():
        s = new_session(app)
        entry = s.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq.desc())).first()
        assert entry is not None
        assert (entry.action, entry.target, entry.api_client_id) == (
            "viewed",
            "overview",
            client_id,
        )
        assert entry.role == "owner" and entry.admin_id is None
        s.close()


def test_the_token_is_for_the_admin_api_only(client, api_token):
    value, _ = api_token("auditor")
    # a customer-facing resource refuses it: it names no customer
    assert client.get("/userinfo", headers=bearer(value)).status_code == 401


def test_an_expired_token_is_refused(client, api_token, monkeypatch):
    value, _ = api_token("owner")
    later = utcnow() + timedelta(seconds=601)
    monkeypatch.setattr("idp.admin.sessions.clock", lambda: later)
    problem(client.get(f"{API}/overview", headers=bearer(value)), 401, "invalid_token")


def test_a_revoked_token_is_refused(app, client, api_token):
    value, _ = api_token("owner")
    with app.app_context():
        s = new_session(app)
        s.execute(
            update(Token)
            .where(Token.access_token_hash == digest(value))
            .values(revoked_at=utcnow())
        )
        s.commit()
        s.close()
    problem(client.get(f"{API}/overview", headers=bearer(value)), 401, "invalid_token")


def test_a_disabled_client_loses_its_tokens_and_gets_no_new_one(app, client, make_api_client):
    client_id, secret = make_api_client("owner")
    value = token_response(client, client_id, secret).json["access_token"]
    with app.app_context():
        s = new_session(app)
        row = api_clients.find(s, client_id)
        assert row is not None
        assert api_clients.disable(s, row, utcnow()) == 1
        s.commit()
        s.close()
    problem(client.get(f"{API}/overview", headers=bearer(value)), 401, "invalid_token")
    resp = token_response(client, client_id, secret)
    assert resp.status_code == 400 and resp.json["error"] == "unauthorized_client"


def _forged(app, value: str, **changes) -> str:
    """The token re-signed by Avain's key with ``changes`` to its claims, and its row moved
    to the new value, so that only the changed claim can refuse it."""
    with app.app_context():
        s = new_session(app)
        key = signing.signing_key(s, "RS256")
        claims = dict(jwt.decode(value, key, algorithms=["RS256"]).claims) | changes
        new = jwt.encode({"alg": "RS256", "kid": key.kid, "typ": "at+jwt"}, claims, key)
        s.execute(
            update(Token)
            .where(Token.access_token_hash == digest(value))
            .values(access_token_hash=digest(new))
        )
        s.commit()
        s.close()
    return new


def test_the_audience_is_checked(app, client, api_token):
    value, _ = api_token("owner")
    assert client.get(f"{API}/overview", headers=bearer(_forged(app, value))).status_code == 200
    value, _ = api_token("owner")
    forged = _forged(app, value, aud="http://localhost")
    problem(client.get(f"{API}/overview", headers=bearer(forged)), 401, "invalid_token")


def test_the_signature_is_checked(app, client, api_token):
    value, _ = api_token("owner")
    with app.app_context():
        s = new_session(app)
        claims = dict(
            jwt.decode(value, signing.signing_key(s, "RS256"), algorithms=["RS256"]).claims
        )
        s.close()
    other = RSAKey.generate_key(2048, parameters={"kid": "mine"})
    forged = jwt.encode({"alg": "RS256", "kid": "mine", "typ": "at+jwt"}, claims, other)
    with app.app_context():
        s = new_session(app)
        s.execute(
            update(Token)
            .where(Token.access_token_hash == digest(value))
            .values(access_token_hash=digest(forged))
        )
        s.commit()
        s.close()
    problem(client.get(f"{API}/overview", headers=bearer(forged)), 401, "invalid_token")


def test_an_expired_exp_claim_is_refused_even_if_the_row_lives(app, client, api_token):
    value, _ = api_token("owner")
    forged = _forged(app, value, exp=int(time.time()) - 5)
    problem(client.get(f"{API}/overview", headers=bearer(forged)), 401, "invalid_token")


def test_a_role_without_the_permission_gets_403_and_an_audit_entry(app, client, api_token):
    value, client_id = api_token("support")
    body = problem(client.get(f"{API}/admins", headers=bearer(value)), 403, "insufficient_scope")
    assert "admins.view" in body["detail"]
    resp = client.get(f"{API}/admins", headers=bearer(value))
    challenge = resp.headers["WWW-Authenticate"]
    assert 'error="insufficient_scope"' in challenge and "admin:owner" in challenge
    with app.app_context():
        s = new_session(app)
        entry = s.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq.desc())).first()
        assert entry is not None
        assert (entry.action, entry.api_client_id, entry.reason) == (
            "refused",
            client_id,
            "admins.view",
        )
        s.close()


def test_an_ordinary_client_never_gets_an_admin_scope(app, client, make_client):
    rp, secret = make_client(
        grant_types=["client_credentials"],
        redirect_uris=[],
        scope="openid admin:owner admin:dangerous",
    )
    assert "admin:" not in rp.scope  # not registrable
    resp = token_response(client, rp.client_id, secret, "admin:owner admin:dangerous")
    assert resp.status_code == 200 and "admin:" not in resp.json["scope"]
    problem(
        client.get(f"{API}/overview", headers=bearer(resp.json["access_token"])),
        401,
        "invalid_token",
    )
    # even a clients row edited to carry the scope (not through any Avain path) gets none
    with app.app_context():
        s = new_session(app)
        s.execute(
            update(Client).where(Client.client_id == rp.client_id).values(scope="admin:owner")
        )
        s.commit()
        s.close()
    resp = token_response(client, rp.client_id, secret, "admin:owner")
    assert resp.status_code == 200 and "admin:" not in resp.json["scope"]
    problem(
        client.get(f"{API}/overview", headers=bearer(resp.json["access_token"])),
        401,
        "invalid_token",
    )


def test_dynamic_registration_cannot_register_an_admin_scope(client):
    resp = client.post(
        "/connect/register",
        json={
            "client_name": "Sneaky",
            "grant_types": ["client_credentials"],
            "redirect_uris": [],
            "scope": "admin:owner admin:dangerous openid",
        },
        headers=bearer("initial-access-token-for-tests"),
    )
    assert resp.status_code == 201, resp.json
    assert "admin:" not in resp.json["scope"]
    token = token_response(
        client, resp.json["client_id"], resp.json["client_secret"], "admin:owner"
    )
    assert token.status_code == 200 and "admin:" not in token.json["scope"]


def test_an_api_client_gets_its_own_role_scope_only(client, make_api_client):
    client_id, secret = make_api_client("auditor")
    resp = token_response(client, client_id, secret, "admin:owner admin:dangerous")
    assert resp.status_code == 200
    assert resp.json["scope"] == "admin:auditor"
    assert resp.json["expires_in"] == 600
