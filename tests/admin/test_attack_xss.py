"""Attack: script through what customers and partners control, shown in the console.

A customer chooses their names and address, a partner (or dynamic registration) its client
name and URIs, a customer's complaint is worded by whoever took it, and audit reasons and
search terms are typed by admins. Each is put where the console shows it, with markup
that would run if it were rendered raw; every page must show it as text. The console's
CSP (no inline script) is the second line, checked on the same pages.
"""

from __future__ import annotations

import pytest

from idp.db import new_session
from idp.models import Client, User
from tests.admin.complaints_flow import open_by_service
from tests.admin.console import meta_csrf, session_for

PAYLOAD = '"><script>alert(1)</script><img src=x onerror=alert(1)>'
RAW = (b"<script>alert(1)", b"<img src=x")


def _plant(app, make_user, make_client) -> tuple[str, str]:
    user = make_user(name=PAYLOAD)
    rp, _ = make_client(name=PAYLOAD)
    with app.app_context():
        s = new_session(app)
        found = s.get(User, user.id)
        found.given_name = PAYLOAD
        found.family_name = PAYLOAD
        found.address = {"street_address": PAYLOAD, "locality": PAYLOAD}
        found.phone_number = PAYLOAD[:30]
        client = s.get(Client, rp.client_id)
        # as stored by an older registration or by hand: the console must not trust it
        client.redirect_uris = [f"https://rp.example.com/cb?x={PAYLOAD}"]
        client.post_logout_redirect_uris = [f"https://rp.example.com/bye#{PAYLOAD}"]
        s.commit()
        s.close()
    return user.id, rp.client_id


def _assert_inert(resp, where: str) -> None:
    assert resp.status_code < 500, where
    body = resp.data
    for raw in RAW:
        assert raw not in body, (where, raw, body[body.find(raw) - 200 : body.find(raw) + 50])
    csp = resp.headers.get("Content-Security-Policy", "")
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, where


@pytest.mark.parametrize("role", ["owner", "auditor"])
def test_customer_and_partner_text_is_shown_as_text(app, client, make_user, make_client, role):
    user_id, client_id = _plant(app, make_user, make_client)
    owner_id = session_for(app, client, "owner")
    csrf = meta_csrf(client, f"/admin/customers/{user_id}")
    complaint_id = open_by_service(app, owner_id, user_id, PAYLOAD)
    # audit reasons and a search term, typed by an admin
    lock = client.post(
        f"/admin/customers/{user_id}/lock", data={"reason": PAYLOAD, "csrf_token": csrf}
    )
    assert lock.status_code == 302
    client.get("/admin/customers", query_string={"q": PAYLOAD})
    if role != "owner":
        client.delete_cookie("avain_admin", path="/admin")
        session_for(app, client, role)
    pages = [
        "/admin/",
        f"/admin/customers?q={PAYLOAD}",
        "/admin/customers?q=Testi&kind=name",
        f"/admin/customers/{user_id}",
        "/admin/complaints?state=all",
        f"/admin/complaints/{complaint_id}",
        f"/admin/complaints/new?customer={PAYLOAD}",
        "/admin/clients",
        f"/admin/clients/{client_id}",
        f"/admin/clients/{client_id}/delete",
        "/admin/sharing",
        f"/admin/sharing/{client_id}",
        "/admin/audit",
        f"/admin/audit?admin={PAYLOAD}&action={PAYLOAD}",
        "/admin/admins",
        f"/admin/sign-in?next=/admin/{PAYLOAD}",
        f"/admin/reverify?next=/admin/{PAYLOAD}",
    ]
    shown = 0
    for page in pages:
        resp = client.get(page)
        if resp.status_code == 403:  # the auditor's read-only role does not reach it
            continue
        _assert_inert(resp, page)
        shown += b"&lt;script&gt;alert(1)" in resp.data
    assert shown >= 6  # the payload was really on the pages, escaped


def test_a_hostile_client_form_comes_back_as_text(app, client):
    session_for(app, client, "partners")
    csrf = meta_csrf(client, "/admin/clients/new")
    form = {
        "client_name": PAYLOAD,
        "redirect_uris": f"https://x.example/cb\n{PAYLOAD}",
        "post_logout_redirect_uris": PAYLOAD,
        "backchannel_logout_uri": PAYLOAD,
        "grant_types": ["authorization_code", PAYLOAD],
        "token_endpoint_auth_method": PAYLOAD,
        "subject_type": PAYLOAD,
        "scope": PAYLOAD,
        "id_token_signed_response_alg": PAYLOAD,
        "jwks": PAYLOAD,
        "client_id": PAYLOAD,
        "csrf_token": csrf,
    }
    resp = client.post("/admin/clients/new", data=form)
    assert resp.status_code == 400
    _assert_inert(resp, "clients/new")
