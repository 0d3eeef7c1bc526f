"""Behind https the console's cookies are Secure as well; a next URL never leaves the console."""

from __future__ import annotations

from typing import Any

import pytest

from idp.admin.guards import safe_next
from tests.admin.console import enrol, invite
from tests.auth.soft_authenticator import SoftAuthenticator


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "issuer": "https://localhost", "outbound_allow_http": False}


def test_cookies_are_secure_behind_https(app):
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"
    _, token = invite(app)
    _, resp = enrol(client, token, SoftAuthenticator(origin="https://localhost"))
    assert resp.status_code == 200, resp.json
    cookies = resp.headers.getlist("Set-Cookie")
    admin = next(c for c in cookies if c.startswith("avain_admin="))
    assert "Secure" in admin and "HttpOnly" in admin and "SameSite=Strict" in admin
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/admin/", "//evil.example/admin/", "/admin.evil", "/account/", "", None],
)
def test_next_stays_in_the_console(target):
    assert safe_next(target) == "/admin/"


def test_next_inside_the_console_is_kept():
    assert safe_next("/admin/admins?x=1") == "/admin/admins?x=1"
