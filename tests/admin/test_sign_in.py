"""Enrolment and sign-in with a passkey only, the console's own session, sign-out."""

from __future__ import annotations

from sqlalchemy import select

from idp.db import new_session
from idp.models import Admin, AdminAuditEntry, AdminSession
from tests.admin.console import enrol, enrolled, invite, meta_csrf, post_json, sign_in
from tests.auth.soft_authenticator import SoftAuthenticator
from tests.conftest import login


def _actions(app):
    with app.app_context():
        s = new_session(app)
        found = [(e.action, e.admin_email, e.target) for e in s.scalars(select(AdminAuditEntry))]
        s.close()
    return found


def test_enrolment_link_makes_a_passkey_and_signs_the_admin_in(app, client):
    admin_id, token = invite(app, "privacy", "dpo@example.com")
    page = client.get(f"/admin/enrol/{token}")
    assert page.status_code == 200 and b"dpo@example.com" in page.data
    _, resp = enrol(client, token)
    assert resp.status_code == 200 and resp.json["redirect"] == "/admin/"
    cookie = next(c for c in resp.headers.getlist("Set-Cookie") if c.startswith("avain_admin="))
    assert "avain_admin=" in cookie and "Path=/admin" in cookie
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert client.get("/admin/").status_code == 200
    actions = [a for a, _, _ in _actions(app)]
    assert actions[-3:] == ["enrolled", "signed_in", "viewed"]
    # the link works once
    again = client.get(f"/admin/enrol/{token}")
    assert again.status_code == 410


def test_sign_in_with_the_enrolled_passkey(app, client):
    admin_id, authenticator = enrolled(app, client, "support", "agent@example.com")
    assert client.get("/admin/").status_code == 302  # signed out
    resp = sign_in(client, authenticator)
    assert resp.status_code == 200, resp.json
    assert client.get("/admin/").status_code == 200
    assert ("signed_in", "agent@example.com", None) in _actions(app)
    with app.app_context():
        s = new_session(app)
        assert s.get(Admin, admin_id).last_sign_in_at is not None
        s.close()


def test_an_unknown_or_lying_passkey_is_refused_and_recorded(app, client):
    _, authenticator = enrolled(app, client, "owner", "boss@example.com")
    stranger = SoftAuthenticator()
    assert sign_in(client, stranger).status_code == 401
    assert sign_in(client, authenticator, uv=False).status_code == 401
    assert sign_in(client, authenticator, origin="https://evil.example").status_code == 401
    assert client.get("/admin/").status_code == 302
    failed = [(who, why) for a, who, why in _actions(app) if a == "sign_in_failed"]
    assert failed == [
        (None, "unknown_passkey"),
        ("boss@example.com", "verification_failed"),
        ("boss@example.com", "verification_failed"),
    ]


def test_a_challenge_is_used_once(app, client):
    _, authenticator = enrolled(app, client)
    csrf = meta_csrf(client)
    options = post_json(client, "/admin/sign-in/options", {}, csrf).json
    first = authenticator.assert_(options)
    assert (
        post_json(client, "/admin/sign-in/verify", {"credential": first}, csrf).status_code == 200
    )
    client.delete_cookie("avain_admin", path="/admin")
    again = post_json(
        client, "/admin/sign-in/verify", {"credential": authenticator.assert_(options)}, csrf
    )
    assert again.status_code == 401 and again.json["error"] == "no_challenge"


def test_a_counter_that_goes_back_refuses_the_sign_in(app, client):
    _, authenticator = enrolled(app, client)
    assert sign_in(client, authenticator).status_code == 200
    client.delete_cookie("avain_admin", path="/admin")
    assert sign_in(client, authenticator, counter=1).json["error"] == "cloned"


def test_there_is_no_password_way_in(app, client, make_user):
    user = make_user(email="customer@example.com")
    # a customer's signed-in session is not a console session
    login(client, user.email)
    assert client.get("/account/").status_code == 200
    resp = client.get("/admin/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/admin/sign-in")
    # no form takes a password: the sign-in page has none and refuses a posted one
    page = client.get("/admin/sign-in").data.decode()
    assert 'type="password"' not in page
    csrf = meta_csrf(client)
    posted = client.post(
        "/admin/sign-in",
        data={"email": user.email, "password": "correct horse battery", "csrf_token": csrf},
    )
    assert posted.status_code == 405
    assert client.get("/admin/").status_code == 302
    # a customer's passkey is not an admin's
    from tests.auth.passkey_flows import register_passkey

    customer_key = register_passkey(client, user)
    assert sign_in(client, customer_key).json["error"] == "unknown_passkey"


def test_sign_out_ends_the_session_on_the_server(app, client):
    _, authenticator = enrolled(app, client)
    sign_in(client, authenticator)
    token = client.get_cookie("avain_admin", path="/admin").value
    csrf = meta_csrf(client, "/admin/")
    assert client.post("/admin/sign-out", data={"csrf_token": csrf}).status_code == 302
    client.set_cookie("avain_admin", token, path="/admin")  # a copy of the old cookie
    assert client.get("/admin/").status_code == 302


def test_disabling_an_admin_ends_their_sessions(app, client):
    admin_id, authenticator = enrolled(app, client, "support")
    sign_in(client, authenticator)
    assert client.get("/admin/").status_code == 200
    with app.app_context():
        s = new_session(app)
        from idp.admin import accounts
        from idp.db import utcnow

        accounts.disable(s, s.get(Admin, admin_id), utcnow())
        s.commit()
        assert all(r.ended_at for r in s.scalars(select(AdminSession)))
        s.close()
    assert client.get("/admin/").status_code == 302
    client.delete_cookie("avain_admin", path="/admin")
    assert sign_in(client, authenticator).json["error"] == "disabled"


def test_an_expired_or_unknown_enrolment_link_is_a_readable_page(app, client, monkeypatch):
    from datetime import timedelta

    from idp.admin import sessions

    assert client.get("/admin/enrol/not-a-token").status_code == 410
    _, token = invite(app)
    later = sessions.clock() + timedelta(hours=25)
    monkeypatch.setattr(sessions, "clock", lambda: later)
    page = client.get(f"/admin/enrol/{token}")
    assert page.status_code == 410 and b"expired" in page.data


def test_the_console_speaks_finnish_and_swedish(client):
    fi = client.get("/admin/sign-in", headers={"Accept-Language": "fi"}).data.decode()
    assert "Kirjautuminen hallintaan" in fi and "Kirjaudu pääsyavaimella" in fi
    sv = client.get("/admin/sign-in", headers={"Accept-Language": "sv"}).data.decode()
    assert "Inloggning till administrationen" in sv


def test_failed_sign_ins_from_one_ip_are_throttled(app, client, monkeypatch):
    from idp.admin import entry

    monkeypatch.setattr(entry, "ATTEMPTS_PER_IP", 3)
    _, authenticator = enrolled(app, client)
    assert sign_in(client, authenticator).status_code == 200  # a success counts nothing
    client.delete_cookie("avain_admin", path="/admin")
    for _ in range(3):
        assert sign_in(client, SoftAuthenticator()).status_code == 401
    refused = sign_in(client, authenticator)
    assert refused.status_code == 429 and refused.json["error"] == "too_many_attempts"
    assert [a for a, _, _ in _actions(app)].count("sign_in_failed") == 3
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert sign_in(other, authenticator).status_code == 200


def test_two_enrolments_with_one_link_keep_one_passkey(app, client, monkeypatch):
    """The second of two enrolments in flight with one link (the other committed between
    its check and its end) is refused, and its passkey is not kept."""
    from flask import request

    from idp.admin import accounts
    from idp.db import utcnow
    from idp.models import AdminEnrolment, AdminPasskey

    admin_id, token = invite(app, "owner", "race@example.com")
    checked = accounts.enrolment

    def checked_then_spent_elsewhere(session, token_, now):
        found = checked(session, token_, now)
        if request.path.endswith("/verify"):  # checked, then spent by another request
            with app.app_context(), new_session(app) as other:
                other.get(AdminEnrolment, found[0].token_hash).used_at = utcnow()
                other.commit()
        return found

    monkeypatch.setattr(accounts, "enrolment", checked_then_spent_elsewhere)
    _, resp = enrol(client, token)
    assert resp.status_code == 400 and resp.json["error"] == "link_invalid"
    with app.app_context(), new_session(app) as s:
        assert list(s.scalars(select(AdminPasskey).where(AdminPasskey.admin_id == admin_id))) == []
