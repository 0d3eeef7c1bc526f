"""Every console response: a CSP without inline script, never framed, never cached; forms
carry a CSRF token and a post without one is refused."""

from __future__ import annotations

import re

from tests.admin.console import enrolled, invite, meta_csrf, sign_in


def _check(resp, where):
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp, where
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, where
    assert resp.headers.get("Cache-Control") == "no-store", where
    assert resp.headers.get("X-Frame-Options") == "DENY", where


def test_every_console_response_has_the_headers(app, client):
    _, token = invite(app)
    _check(client.get("/admin/sign-in"), "sign-in")
    _check(client.get(f"/admin/enrol/{token}"), "enrolment")
    _check(client.get("/admin/enrol/nope"), "an error page")
    _check(client.get("/admin/no-such-page"), "a 404")
    _check(client.get("/admin/"), "the redirect to sign in")
    _, authenticator = enrolled(app, client)
    _check(sign_in(client, authenticator), "the sign-in answer")
    for path in ("/admin/", "/admin/admins", "/admin/reverify"):
        resp = client.get(path)
        assert resp.status_code == 200
        _check(resp, path)
        page = resp.data.decode()
        assert not re.search(r"<script(?![^>]*\bsrc=)", page), f"inline script on {path}"
        assert " style=" not in page and "onclick" not in page


def test_customer_pages_keep_their_own_policy(client):
    resp = client.get("/login")
    assert resp.headers.get("X-Frame-Options") == "DENY"
    assert "default-src 'self'" in resp.headers["Content-Security-Policy"]


def test_forms_need_their_csrf_token(app, client):
    target_id, _ = invite(app, "support")
    _, authenticator = enrolled(app, client)
    sign_in(client, authenticator)
    page = client.get("/admin/admins").data.decode()
    assert page.count('name="csrf_token"') >= 2  # sign-out and disable forms
    refused = client.post(f"/admin/admins/{target_id}/disable", data={"reason": "x"})
    assert refused.status_code == 400
    assert client.post("/admin/sign-out").status_code == 400
    options = client.post("/admin/sign-in/options", json={})
    assert options.status_code == 400
    csrf = meta_csrf(client, "/admin/")
    assert client.post("/admin/sign-in/options", json={}, headers={"X-CSRFToken": csrf}).json
