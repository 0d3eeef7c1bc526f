"""A customer whose first name reaches the shop only under marketing, for the complaint tests.

In the demo catalogue the shop (``tire-shop``) receives the first name under
``marketing_email`` (consent, optional) or ``service_reminders`` (legitimate interest). The
customer here objects to the reminders and turns marketing on with the first name ticked, so
that the first name leaves Avain only because of the marketing purpose a complaint pauses.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from idp.admin import complaints
from idp.db import new_session, utcnow
from idp.ledger.context import consent_context
from idp.models import Admin, Complaint, User
from tests.conftest import authorize_params, csrf_of, exchange, query_of
from tests.ledger.flows import consent_page, finish, userinfo

SCOPE = "openid profile email"


def shop_client(make_client: Any, **extra: Any) -> tuple[Any, str]:
    return make_client(
        client_id="tire-shop",
        name="Rengasverkkokauppa",
        redirect_uris=["https://shop.example.com/cb"],
        **extra,
    )


def post_account(client: FlaskClient, path: str, data: dict[str, str]) -> Any:
    account = client.get("/account/")
    return client.post(path, data={**data, "csrf_token": csrf_of(account.data)})


def marketing_customer(
    client: FlaskClient,
    make_user: Any,
    make_client: Any,
    shop: tuple[Any, str] | None = None,
    **extra: Any,
) -> tuple[User, Any, str]:
    """Signed in at the shop, reminders objected to, marketing on with the first name
    (``shop``: the shop's client and secret when it is registered already)."""
    user = make_user(name="Aino Virtanen")
    rp, secret = shop or shop_client(make_client, **extra)
    params, _ = authorize_params(rp, scope=SCOPE)
    interaction, page = consent_page(client, params, user.email)
    finish(client, interaction, page)
    resp = post_account(
        client,
        "/account/sharing/object",
        {"recipient": "tire-shop", "purpose": "service_reminders"},
    )
    assert resp.status_code == 302, resp.data[:300]
    resp = post_account(
        client,
        "/account/sharing/turn-on",
        {"recipient": "tire-shop", "purpose": "marketing_email", "claim:given_name": "on"},
    )
    assert resp.status_code == 302 and "notice=given" in resp.headers["Location"]
    return user, rp, secret


def fresh_tokens(client: FlaskClient, rp: Any, secret: str, **extra: str) -> dict[str, Any]:
    """A new code (the SSO session and the consent stand, so no screen) and its tokens."""
    params, verifier = authorize_params(rp, scope=SCOPE, **extra)
    resp = client.get("/authorize", query_string=params)
    code = query_of(resp.headers["Location"])["code"]
    body = exchange(client, rp, secret, code, verifier).json
    assert "access_token" in body, body
    return dict(body)


def info(client: FlaskClient, tokens: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    resp = userinfo(client, tokens)
    return resp.status_code, (resp.json or {})


def admin_of(app: Flask, admin_id: str) -> Admin:
    with new_session(app) as s:
        admin = s.get(Admin, admin_id)
        assert admin is not None
        s.expunge(admin)
        return admin


def open_by_service(app: Flask, admin_id: str, user_id: str, reason: str = "spam") -> str:
    with app.app_context(), new_session(app) as s:
        admin, user = s.get(Admin, admin_id), s.get(User, user_id)
        assert admin is not None and user is not None
        opened = complaints.open_complaint(s, consent_context(), admin, user, reason, utcnow())
        s.commit()
        return opened.complaint.id


def close_by_service(app: Flask, admin_id: str, complaint_id: str, reason: str = "done") -> None:
    with app.app_context(), new_session(app) as s:
        admin, complaint = s.get(Admin, admin_id), s.get(Complaint, complaint_id)
        assert admin is not None and complaint is not None
        complaints.close_complaint(s, consent_context(), admin, complaint, reason, utcnow())
        s.commit()
