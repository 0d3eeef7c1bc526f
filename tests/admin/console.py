"""Driving the console through the test client: admins made by the service, enrolment and
sign-in with the software authenticator, sessions started directly for the role tests."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from idp.admin import accounts, sessions
from idp.db import new_session, utcnow
from idp.models import Role
from tests.auth.soft_authenticator import SoftAuthenticator


def meta_csrf(client: FlaskClient, path: str = "/admin/sign-in") -> str:
    page = client.get(path).data.decode()
    found = re.search(r'name="csrf-token" content="([^"]+)"', page)
    assert found, page[:300]
    return found.group(1)


def post_json(client: FlaskClient, url: str, body: dict[str, Any], csrf: str) -> Any:
    return client.post(url, json=body, headers={"X-CSRFToken": csrf})


def invite(app: Flask, role: str = "owner", email: str | None = None) -> tuple[str, str]:
    """A new admin (by the service, as the CLI makes them): its id and enrolment token."""
    with app.app_context():
        s = new_session(app)
        made = accounts.create(
            s, email or f"{role}-{utcnow().timestamp()}@example.com", Role(role), None, utcnow()
        )
        s.commit()
        found = made.admin.id, made.token
        s.close()
    return found


def enrol(
    client: FlaskClient, token: str, authenticator: SoftAuthenticator | None = None
) -> tuple[SoftAuthenticator, Any]:
    authenticator = authenticator or SoftAuthenticator()
    csrf = meta_csrf(client, f"/admin/enrol/{token}")
    options = post_json(client, f"/admin/enrol/{token}/options", {}, csrf).json
    resp = post_json(
        client,
        f"/admin/enrol/{token}/verify",
        {"credential": authenticator.register(options)},
        csrf,
    )
    return authenticator, resp


def enrolled(
    app: Flask, client: FlaskClient, role: str = "owner", email: str | None = None
) -> tuple[str, SoftAuthenticator]:
    """An enrolled admin, signed out again: its id and its authenticator."""
    admin_id, token = invite(app, role, email)
    authenticator, resp = enrol(client, token)
    assert resp.status_code == 200, resp.json
    client.delete_cookie(sessions.COOKIE, path=sessions.PATH)
    return admin_id, authenticator


def sign_in(
    client: FlaskClient, authenticator: SoftAuthenticator, next_: str = "/admin/", **lie: Any
) -> Any:
    csrf = meta_csrf(client)
    options = post_json(client, "/admin/sign-in/options", {}, csrf).json
    return post_json(
        client,
        "/admin/sign-in/verify",
        {"credential": authenticator.assert_(options, **lie), "next": next_},
        csrf,
    )


def session_for(app: Flask, client: FlaskClient, role: str) -> str:
    """Sign a new admin of ``role`` in without a ceremony (the role tests): its id."""
    admin_id, _ = invite(app, role)
    with app.app_context():
        s = new_session(app)
        from idp.models import Admin

        token = sessions.start(s, s.get(Admin, admin_id), sessions.clock())
        s.commit()
        s.close()
    client.set_cookie(sessions.COOKIE, token, path=sessions.PATH)
    return admin_id
