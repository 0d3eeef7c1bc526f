"""``POST /claims/tire_purchase``: the tire shop records a purchase with the customer's access
token; the ``tire_purchase`` claim then releases the latest one, only where decide() allows."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from idp.db import new_session
from idp.models import ContributedClaim
from tests.conftest import authorize_params, exchange, follow_to_code, login
from tests.ledger.flows import consent_page, finish, userinfo

ORDER = {
    "order_number": "R-1042",
    "bought_at": "2026-12-01T10:14:00Z",
    "items": [{"name": "Nokian Hakkapeliitta R5 205/55 R16", "quantity": 4}],
}
WRITE = "openid profile email tire_purchase:write"
CLAIMS = json.dumps({"userinfo": {"tire_purchase": None}})


@pytest.fixture
def shop(make_client):
    return make_client(
        client_id="tire-shop",
        name="Rengasverkkokauppa",
        redirect_uris=["https://shop.example.com/cb"],
        scope=WRITE,
    )


def _token(client, rp, secret, email, scope=WRITE):
    params, verifier = authorize_params(rp, scope=scope)
    q = follow_to_code(client, params, email)
    resp = exchange(client, rp, secret, q["code"], verifier)
    assert resp.status_code == 200, resp.json
    return resp.json


def _post(client, token, body=ORDER, content_type="application/json"):
    headers = {"Authorization": f"Bearer {token['access_token']}"} if token else {}
    data = json.dumps(body) if isinstance(body, (dict, list)) else body
    return client.post(
        "/claims/tire_purchase", data=data, headers=headers, content_type=content_type
    )


def _rows(app):
    with app.app_context(), new_session(app) as s:
        rows = list(s.scalars(select(ContributedClaim).order_by(ContributedClaim.id)))
        s.expunge_all()
        return rows


def test_discovery_lists_the_write_scope_and_the_claim(client):
    meta = client.get("/.well-known/openid-configuration").json
    assert "tire_purchase:write" in meta["scopes_supported"]
    assert "tire_purchase" in meta["claims_supported"]


def test_a_purchase_is_recorded_once_per_order(app, client, make_user, shop):
    user = make_user()
    rp, secret = shop
    token = _token(client, rp, secret, user.email)
    assert "tire_purchase:write" in token["scope"].split()
    first = _post(client, token)
    assert first.status_code == 201, first.json
    assert first.json["order_number"] == "R-1042" and first.json["created"] is True
    again = _post(client, token)  # a retry after a lost response
    assert again.status_code == 200 and again.json["created"] is False
    changed = _post(client, token, {**ORDER, "items": [{"name": "Other", "quantity": 2}]})
    assert changed.status_code == 409 and changed.json["error"] == "conflict"
    rows = _rows(app)
    assert [(r.user_id, r.source_client_id, r.source_ref) for r in rows] == [
        (user.id, "tire-shop", "R-1042")
    ]
    assert rows[0].value["items"] == ORDER["items"]


def test_the_purchase_lands_with_the_customer_the_token_names(app, client, make_user, shop):
    """Another customer's token writes to that customer, never to the one signed in."""
    aino, ville = make_user(), make_user()
    rp, secret = shop
    villes_token = _token(app.test_client(), rp, secret, ville.email)
    login(client, aino.email)  # Aino's browser, Ville's token
    assert _post(client, villes_token).status_code == 201
    assert [r.user_id for r in _rows(app)] == [ville.id]


def test_without_the_write_scope_it_is_insufficient_scope(app, client, make_user, shop):
    user = make_user()
    rp, secret = shop
    token = _token(client, rp, secret, user.email, scope="openid email")
    resp = _post(client, token)
    assert resp.status_code == 403 and resp.json["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    assert _rows(app) == []


def test_a_client_not_registered_for_the_scope_never_gets_it(app, client, make_user, make_client):
    user = make_user()
    rp, secret = make_client()  # the default scope: the OpenID ones only
    token = _token(client, rp, secret, user.email)
    assert "tire_purchase:write" not in token["scope"].split()
    assert _post(client, token).status_code == 403
    assert _rows(app) == []


@pytest.mark.parametrize("auth", ["", "Bearer not-a-token", "Basic dGlyZS1zaG9wOng=", "Bearer "])
def test_no_or_an_unknown_token_is_refused(client, auth):
    headers = {"Authorization": auth} if auth else {}
    resp = client.post("/claims/tire_purchase", json=ORDER, headers=headers)
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_revoked_token_is_invalid_token(app, client, make_user, shop):
    user = make_user()
    rp, secret = shop
    token = _token(client, rp, secret, user.email)
    client.post("/revoke", data={"token": token["access_token"]}, auth=(rp.client_id, secret))
    resp = _post(client, token)
    assert resp.status_code == 401 and resp.json["error"] == "invalid_token"
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert _rows(app) == []


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ("{not json", "not valid JSON"),
        ("[]", "JSON object"),
        ({**ORDER, "price": 1}, "Unknown member 'price'"),
        ({**ORDER, "order_number": ""}, "order_number"),
        ({**ORDER, "order_number": "R 1042<script>"}, "order_number"),
        ({**ORDER, "order_number": 1042}, "order_number"),
        ({**ORDER, "bought_at": "yesterday"}, "bought_at"),
        ({**ORDER, "bought_at": "2026-12-01T10:14:00"}, "time zone"),
        ({**ORDER, "bought_at": "2999-01-01T00:00:00Z"}, "future"),
        # an offset that moves the date past datetime's range (an OverflowError was a 500)
        ({**ORDER, "bought_at": "0001-01-01T00:00:00+23:59"}, "bought_at"),
        ({**ORDER, "bought_at": "9999-12-31T23:59:59-23:59"}, "bought_at"),
        ({**ORDER, "order_number": "R-1042\n"}, "order_number"),  # `$` matched before it
        ({**ORDER, "items": []}, "items must be a list"),
        ({**ORDER, "items": "4 tires"}, "items must be a list"),
        ({**ORDER, "items": [{"name": "x", "quantity": 1}] * 21}, "1 to 20"),
        ({**ORDER, "items": [{"name": "x", "quantity": 0}]}, "quantity"),
        ({**ORDER, "items": [{"name": "x", "quantity": True}]}, "quantity"),
        ({**ORDER, "items": [{"name": "x", "quantity": 4.0}]}, "quantity"),
        ({**ORDER, "items": [{"name": "", "quantity": 4}]}, "name"),
        ({**ORDER, "items": [{"name": "a\x07b", "quantity": 4}]}, "control"),
        ({**ORDER, "items": [{"name": "x" * 201, "quantity": 4}]}, "name"),
        ({**ORDER, "items": [{"name": "x", "quantity": 4, "ean": 1}]}, "name and quantity"),
        ({**ORDER, "order_number": "R" * 17000}, "larger than"),
    ],
)
def test_a_bad_body_is_a_400_that_says_what_to_fix(app, client, make_user, shop, body, says):
    user = make_user()
    rp, secret = shop
    token = _token(client, rp, secret, user.email)
    resp = _post(client, token, body)
    assert resp.status_code in (400, 413), resp.data
    assert resp.json["error"] == "invalid_request" and says in resp.json["error_description"]
    assert _rows(app) == []


def test_a_body_that_is_not_json_is_415(client, make_user, shop):
    user = make_user()
    rp, secret = shop
    token = _token(client, rp, secret, user.email)
    resp = _post(client, token, "order_number=R-1", content_type="text/plain")
    assert resp.status_code == 415 and resp.json["error"] == "invalid_request"


def test_only_post_is_allowed(client):
    resp = client.get("/claims/tire_purchase")
    assert resp.status_code == 405 and resp.json["error"] == "method_not_allowed"


def _garage_token(client, garage, secret, email, **choices):
    params, verifier = authorize_params(garage, scope="openid profile", claims=CLAIMS)
    interaction, page = consent_page(client, params, email)
    q = finish(client, interaction, page, **choices)
    return exchange(client, garage, secret, q["code"], verifier).json


def _buy_twice(client, shop, email):
    rp, secret = shop
    token = _token(client, rp, secret, email)
    older = {**ORDER, "order_number": "R-1001", "bought_at": "2025-10-01T08:00:00Z"}
    assert _post(client, token, older).status_code == 201
    assert _post(client, token).status_code == 201
    return token


@pytest.mark.parametrize("ticked", [True, False])
def test_the_garage_gets_the_latest_purchase_only_if_the_customer_chose_it(
    client, make_user, make_client, shop, ticked
):
    user = make_user()
    shop_token = _buy_twice(client, shop, user.email)
    # the shop itself is a recipient of tire_purchase under no purpose
    assert "tire_purchase" not in userinfo(client, shop_token).json
    garage, garage_secret = make_client(
        client_id="garage", name="Korjaamo Virtanen", redirect_uris=["https://g.example.com/cb"]
    )
    choices = {"agree:garage_booking": "on"}
    if ticked:
        choices["claim:garage_booking:tire_purchase"] = "on"
    token = _garage_token(client, garage, garage_secret, user.email, **choices)
    body = userinfo(client, token).json
    if ticked:
        assert body["tire_purchase"] == {
            **ORDER,
            "source": {"client_id": "tire-shop", "name": "Rengasverkkokauppa"},
        }
    else:
        assert "tire_purchase" not in body  # optional, and not ticked


def test_no_consent_to_garage_booking_releases_nothing(client, make_user, make_client, shop):
    user = make_user()
    _buy_twice(client, shop, user.email)
    garage, garage_secret = make_client(
        client_id="garage", name="Korjaamo Virtanen", redirect_uris=["https://g.example.com/cb"]
    )
    token = _garage_token(client, garage, garage_secret, user.email)  # switch off, none ticked
    assert "tire_purchase" not in userinfo(client, token).json


def test_ticking_the_purchase_alone_agrees_to_garage_booking(client, make_user, make_client, shop):
    """Issue 13: a ticked claim under a purpose whose switch is off is agreement to that
    purpose (the screen's script turns the switch on with it), never a silent refusal."""
    user = make_user()
    _buy_twice(client, shop, user.email)
    garage, garage_secret = make_client(
        client_id="garage", name="Korjaamo Virtanen", redirect_uris=["https://g.example.com/cb"]
    )
    token = _garage_token(
        client, garage, garage_secret, user.email, **{"claim:garage_booking:tire_purchase": "on"}
    )
    assert userinfo(client, token).json["tire_purchase"]["order_number"] == ORDER["order_number"]


def test_a_future_purchase_within_clock_skew_is_accepted(client, make_user, shop):
    user = make_user()
    rp, secret = shop
    token = _token(client, rp, secret, user.email)
    soon = (datetime.now(UTC) + timedelta(minutes=2)).isoformat()
    resp = _post(client, token, {**ORDER, "bought_at": soon})
    assert resp.status_code == 201 and resp.json["bought_at"].endswith("Z")


def test_dynamic_registration_cannot_claim_the_write_scope(client):
    resp = client.post(
        "/connect/register",
        json={
            "client_name": "Self-made",
            "redirect_uris": ["https://self.example.com/cb"],
            "scope": "openid email tire_purchase:write",
        },
        headers={"Authorization": "Bearer initial-access-token-for-tests"},
    )
    assert resp.status_code == 201, resp.json
    assert resp.json["scope"].split() == ["openid", "email"]


def test_two_writes_of_one_order_at_once_record_it_once(app, client, make_user, shop):
    user = make_user()
    rp, secret = shop
    token = _token(client, rp, secret, user.email)
    barrier = threading.Barrier(2)
    statuses: list[int] = []

    def write() -> None:
        browser = app.test_client()
        barrier.wait()
        statuses.append(_post(browser, token).status_code)

    threads = [threading.Thread(target=write) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(statuses) == [200, 201]
    assert len(_rows(app)) == 1
