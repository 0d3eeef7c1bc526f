"""Login: Argon2id, rehash, throttling, no account enumeration, sessions, CSRF, headers."""

from __future__ import annotations

from passlib.hash import argon2
from sqlalchemy import select

from idp.auth import passwords
from idp.models import SsoSession, User
from tests.conftest import PASSWORD, csrf_of, login


def test_hashes_are_argon2id_with_owasp_parameters(owasp_argon2, db, make_user):
    user = make_user()
    stored = db.get(User, user.id).password_hash
    assert stored.startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    assert PASSWORD not in stored


def test_old_parameters_are_upgraded_at_next_login(owasp_argon2, client, db, make_user):
    user = make_user()
    weak = argon2.using(type="ID", memory_cost=8192, rounds=1, parallelism=1).hash(PASSWORD)
    db.get(User, user.id).password_hash = weak
    db.commit()
    assert login(client, user.email).status_code == 302
    db.expire_all()
    assert db.get(User, user.id).password_hash.startswith("$argon2id$v=19$m=19456,t=2,p=1$")


def test_unknown_email_and_wrong_password_look_the_same(client, make_user):
    user = make_user()
    wrong = login(client, user.email, "not the password")
    unknown = login(client, "ghost@example.com", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda b: b.replace(b"ghost@example.com", b"").replace(user.email.encode(), b"")  # noqa: E731
    import re

    def norm(b):
        # CSRF tokens carry a timestamp; everything else must be identical
        return re.sub(rb'(name="csrf[-_]token" (?:value|content))="[^"]+"', rb"\1", strip(b))

    assert norm(wrong.data) == norm(unknown.data)


def test_unknown_email_still_spends_argon2_time(owasp_argon2, monkeypatch):
    calls = []
    original = passwords.context.verify
    monkeypatch.setattr(
        passwords.context, "verify", lambda *a, **k: calls.append(1) or original(*a, **k)
    )
    assert passwords.verify("whatever", None) == (False, None)
    assert calls


def test_throttling_per_account(client, app, make_user):
    user = make_user()
    max_failures = app.config["AVAIN"].login_max_failures
    for _ in range(max_failures):
        assert login(client, user.email, "wrong password").status_code == 401
    resp = login(client, user.email, PASSWORD)
    assert resp.status_code == 401
    assert b"Too many failed attempts" in resp.data


def test_throttling_per_ip_across_accounts(client, app, make_user):
    user = make_user()
    limit = app.config["AVAIN"].login_max_failures * 4
    for i in range(limit):
        login(client, f"spray{i}@example.com", "wrong password")
    resp = login(client, user.email, PASSWORD)
    assert resp.status_code == 401 and b"Too many" in resp.data


def test_session_id_rotates_at_login_and_is_listed(client, db, make_user):
    user = make_user()
    client.get("/login")
    before = client.get_cookie("avain_session").value
    login(client, user.email)
    after = client.get_cookie("avain_session").value
    assert before != after
    sessions = db.scalars(select(SsoSession).where(SsoSession.user_id == user.id)).all()
    assert len(sessions) == 1
    page = client.get("/account/security")
    assert b"this browser" in page.data


def test_revoking_a_session_from_the_account_page(app, client, db, make_user):
    user = make_user()
    other = app.test_client()
    login(other, user.email)
    login(client, user.email)
    mine = client.get_cookie("avain_session")
    assert mine is not None
    sids = [s.id for s in db.scalars(select(SsoSession).order_by(SsoSession.created_at))]
    page = client.get("/account/")
    client.post(f"/account/sessions/{sids[0]}/revoke", data={"csrf_token": csrf_of(page.data)})
    assert other.get("/account/").status_code == 302
    assert client.get("/account/").status_code == 200


def test_forms_need_csrf(client, make_user):
    user = make_user()
    resp = client.post("/login", data={"email": user.email, "password": PASSWORD})
    assert resp.status_code == 400
    assert b"form expired" in resp.data


def test_security_headers_and_cookie_flags(client, make_user):
    resp = client.get("/login")
    csp = resp.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert resp.headers["X-Frame-Options"] == "DENY"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"
    user = make_user()
    resp = login(client, user.email)
    cookie = resp.headers.get("Set-Cookie", "")
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_open_redirects_are_refused(client, make_user):
    user = make_user()
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        page = client.get("/login")
        resp = client.post(
            "/login",
            data={
                "email": user.email,
                "password": PASSWORD,
                "next": target,
                "csrf_token": csrf_of(page.data),
            },
        )
        assert resp.headers["Location"] == "/account/", target
        page = client.get("/account/")
        client.post("/logout", data={"confirm": "yes", "csrf_token": csrf_of(page.data)})
