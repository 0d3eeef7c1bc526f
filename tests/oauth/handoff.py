"""The tire shop to garage handoff through the test client: the shop's authorization request
with authorization_details (RFC 9396), its token, the handoff token and its redemption
(RFC 8693). Shared by tests/oauth/test_authorization_details.py and test_token_exchange.py."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask.testing import FlaskClient

from idp.oauth.clients import TOKEN_EXCHANGE
from tests.conftest import authorize_params, csrf_of, exchange, login, query_of

SHOP_URI = "http://localhost:5001/callback"
GARAGE_URI = "http://localhost:5002/callback"
ACCESS = "urn:ietf:params:oauth:token-type:access_token"
JWT = "urn:ietf:params:oauth:token-type:jwt"
ORDER = {
    "type": "tire_fitting",
    "locations": ["http://localhost:5002/"],
    "order": {
        "number": "R-1042",
        "bought_at": "2026-12-02T10:14:00Z",
        "items": [{"name": "Nokian Hakkapeliitta R5 205/55 R16", "quantity": 4}],
    },
}
DETAILS = [ORDER]
GRANT_TYPES = ["authorization_code", "refresh_token", TOKEN_EXCHANGE]


@dataclass
class Partner:
    rp: Any
    secret: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.rp.client_id, self.secret)


def partners(make_client: Any, garage_subject: str = "pairwise") -> tuple[Partner, Partner]:
    shop = make_client(
        client_id="tire-shop",
        name="Rengasverkkokauppa",
        redirect_uris=[SHOP_URI],
        grant_types=GRANT_TYPES,
    )
    garage = make_client(
        client_id="garage",
        name="Korjaamo Virtanen",
        redirect_uris=[GARAGE_URI],
        grant_types=GRANT_TYPES,
        subject_type=garage_subject,
    )
    return Partner(*shop), Partner(*garage)


def walk(
    client: FlaskClient, params: dict[str, str], email: str, consent: dict[str, str] | None
) -> tuple[dict[str, str], list[str]]:
    """Follow /authorize as a browser; answer the consent page with ``consent`` (None: no
    page is expected). Returns the callback query and the consent pages' HTML."""
    pages: list[str] = []
    resp = client.get("/authorize", query_string=params)
    for _ in range(8):
        assert resp.status_code == 302, resp.data[:500]
        location = resp.headers["Location"]
        path = urlsplit(location).path
        if path == "/login":
            resp = login(client, email, interaction=query_of(location)["interaction"])
        elif path == "/consent":
            assert consent is not None, "a consent page was not expected"
            page = client.get(location)
            pages.append(page.data.decode())
            data = {
                "interaction": query_of(location)["interaction"],
                "csrf_token": csrf_of(page.data),
                "decision": "allow",
                **consent,
            }
            resp = client.post("/consent", data=data)
        elif path == "/authorize":
            resp = client.get(location)
        else:
            return query_of(location), pages
    raise AssertionError("too many redirects")


AGREE = {"agree:garage_booking": "on"}


def shop_token(
    client: FlaskClient,
    shop: Partner,
    email: str,
    consent: dict[str, str] | None = AGREE,
    details: list[dict[str, Any]] | None = None,
    **extra: str,
) -> dict[str, Any]:
    """Step A: the shop's authorization request with the order; its token response."""
    params, verifier = authorize_params(
        shop.rp,
        scope="openid",
        authorization_details=json.dumps(details or DETAILS),
        **extra,
    )
    callback, _ = walk(client, params, email, consent)
    assert "code" in callback, callback
    resp = exchange(client, shop.rp, shop.secret, callback["code"], verifier)
    assert resp.status_code == 200, resp.json
    body: dict[str, Any] = resp.json
    return body


def hand_over(client: FlaskClient, shop: Partner, access_token: str, **extra: str) -> Any:
    """Step B: the shop exchanges its access token for a handoff token for the garage."""
    data = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": access_token,
        "subject_token_type": ACCESS,
        "audience": "garage",
        **extra,
    }
    return client.post(
        "/token", data={k: v for k, v in data.items() if v is not None}, auth=shop.auth
    )


def redeem(client: FlaskClient, garage: Partner, handoff: str, **extra: str) -> Any:
    """Step C: the garage redeems the handoff token for its own access token."""
    data = {
        "grant_type": TOKEN_EXCHANGE,
        "subject_token": handoff,
        "subject_token_type": JWT,
        **extra,
    }
    return client.post("/token", data=data, auth=garage.auth)


def withdraw_garage(client: FlaskClient) -> None:
    account = client.get("/account/")
    resp = client.post(
        "/account/sharing/withdraw",
        data={
            "recipient": "garage",
            "purpose": "garage_booking",
            "csrf_token": csrf_of(account.data),
        },
    )
    assert resp.status_code == 302 and "notice=withdrawn" in resp.headers["Location"], resp


def error_of(resp: Any) -> tuple[str, str]:
    assert resp.status_code in (400, 401), (resp.status_code, resp.data[:300])
    return resp.json["error"], resp.json.get("error_description", "")


def profile(app: Any, user_id: str, **values: Any) -> None:
    from idp.db import new_session
    from idp.models import User

    with app.app_context():
        session = new_session(app)
        user = session.get(User, user_id)
        for key, value in values.items():
            setattr(user, key, value)
        session.commit()
        session.close()
