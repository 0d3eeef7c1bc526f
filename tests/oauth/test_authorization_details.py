"""RFC 9396 at the authorization endpoint: the tire shop asks the customer to share with the
garage; Avain's consent page shows the garage's purpose and the order, records the choice as
the garage's, and the code and the token carry the granted authorization_details."""

from __future__ import annotations

import base64
import json
import re

import pytest

from tests.conftest import authorize_params, query_of
from tests.ledger.flows import history
from tests.oauth.handoff import AGREE, DETAILS, ORDER, partners, shop_token, walk


@pytest.fixture
def shop_and_garage(make_client):
    return partners(make_client)


def test_token_response_carries_the_granted_details(app, client, make_user, shop_and_garage):
    shop, _ = shop_and_garage
    user = make_user(email="aino@example.com")
    body = shop_token(client, shop, user.email)
    assert body["authorization_details"] == DETAILS
    # RFC 9396 §9.1: the JWT access token carries them too
    payload = body["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["authorization_details"] == DETAILS
    assert history(app, user)[-1] == ("given", "garage_booking")


def test_consent_page_names_the_garage_and_shows_the_order(client, make_user, shop_and_garage):
    shop, _ = shop_and_garage
    user = make_user(email="aino@example.com")
    params, _ = authorize_params(shop.rp, scope="openid", authorization_details=json.dumps(DETAILS))
    _, pages = walk(client, params, user.email, AGREE)
    page = pages[0]
    assert "Rengasverkkokauppa asks to share your details with Korjaamo Virtanen" in page
    assert "Tire fitting booking" in page  # the garage's purpose, not the shop's
    # only what goes to the garage: the shop's own purposes are not bundled into the handoff
    assert "Offers by email" not in page and "marketing_email" not in page
    assert "Order R-1042" in page
    assert "4 × Nokian Hakkapeliitta R5 205/55 R16" in page
    assert "90 days" in page
    assert ">Do not share</button>" in page
    for optional in ("claim:garage_booking:tire_purchase", "claim:garage_booking:email"):
        box = re.search(rf'<input[^>]*name="{optional}"[^>]*>', page)
        assert box is not None and "checked" not in box.group()  # offered, unticked


@pytest.mark.parametrize(
    ("lang", "texts"),
    [
        ("fi", ("Korjaamo Virtaselle", "Tilaus R-1042", "Renkaanvaihdon ajanvaraus", "Älä jaa")),
        ("sv", ("Korjaamo Virtanen", "Beställning R-1042", "Bokning av däckbyte", "Dela inte")),
    ],
)
def test_consent_page_in_finnish_and_swedish(client, make_user, shop_and_garage, lang, texts):
    shop, _ = shop_and_garage
    user = make_user(email="aino@example.com")
    params, _ = authorize_params(
        shop.rp, scope="openid", authorization_details=json.dumps(DETAILS), ui_locales=lang
    )
    _, pages = walk(client, params, user.email, AGREE)
    for text in texts:
        assert text in pages[0]


def test_choice_is_recorded_for_the_garage_with_the_agreement(
    app, client, make_user, shop_and_garage
):
    from consent import ledger as L
    from idp.db import new_session

    shop, _ = shop_and_garage
    user = make_user(email="aino@example.com")
    shop_token(client, shop, user.email, consent={**AGREE, "claim:garage_booking:email": "on"})
    history(app, user)
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        rows = [r for r in L.customer_rows(s, keys, user.id) if r.purpose_id == "garage_booking"]
        states = L.states(s, keys, user.id, "garage")
    assert len(rows) == 1 and rows[0].recipient_id == "garage"
    state = states[("garage", "garage_booking")]
    assert state.status == "active" and state.claims == {"email"}


def test_details_shown_again_with_prompt_consent_only(client, make_user, shop_and_garage):
    shop, _ = shop_and_garage
    user = make_user(email="aino@example.com")
    shop_token(client, shop, user.email)
    # consent is current: no page, the code still carries the details
    assert shop_token(client, shop, user.email, consent=None)["authorization_details"] == DETAILS
    params, _ = authorize_params(
        shop.rp, scope="openid", authorization_details=json.dumps(DETAILS), prompt="consent"
    )
    _, pages = walk(client, params, user.email, AGREE)
    assert len(pages) == 1 and "Order R-1042" in pages[0]


@pytest.mark.parametrize("how", ["deny", "not_agreed"])
def test_refusal_returns_access_denied_and_shares_nothing(
    app, client, make_user, shop_and_garage, how
):
    shop, _ = shop_and_garage
    user = make_user(email="aino@example.com")
    params, _ = authorize_params(shop.rp, scope="openid", authorization_details=json.dumps(DETAILS))
    answer = {"decision": "deny"} if how == "deny" else {}
    callback, _ = walk(client, params, user.email, answer)
    assert callback["error"] == "access_denied"
    assert callback["state"] == params["state"]
    assert "code" not in callback
    # "Do not share" and an unticked switch both answer the page's question: refused
    assert [e for e in history(app, user) if e[1] == "garage_booking"] == [
        ("refused", "garage_booking")
    ]


BAD = [
    ("not json", "not valid JSON"),
    ("{}", "non-empty JSON array"),
    ("[]", "non-empty JSON array"),
    ("[1]", "is not a JSON object"),
    ('[{"order": {}}]', "no string 'type'"),
    ('[{"type": 3}]', "no string 'type'"),
    ('[{"type": "payment_initiation"}]', "payment_initiation is not allowed for client tire-shop"),
    (json.dumps([ORDER] * 9), "more than 8 entries"),
    (json.dumps([{"type": "tire_fitting", "order": {"number": "R-1"}}]), "order.items"),
    (
        json.dumps([{"type": "tire_fitting", "order": {"number": "R-1", "items": [{"name": 4}]}}]),
        "each order item needs a name",
    ),
    # nesting deeper than Python's json parser recurses: a refusal, not a 500
    ("[" * 2000 + "]" * 2000, "not valid JSON"),
    ('[{"type": "tire_fitting", "x": ' + "[" * 1500 + "]" * 1500 + "}]", "not valid JSON"),
]


@pytest.mark.parametrize(("raw", "problem"), BAD)
def test_malformed_or_unallowed_details_are_refused(
    client, make_user, shop_and_garage, raw, problem
):
    shop, _ = shop_and_garage
    user = make_user(email="aino@example.com")
    from tests.conftest import login

    login(client, user.email)
    params, _ = authorize_params(shop.rp, scope="openid", authorization_details=raw)
    resp = client.get("/authorize", query_string=params)
    assert resp.status_code == 302
    callback = query_of(resp.headers["Location"])
    assert resp.headers["Location"].startswith(shop.rp.redirect_uris[0])
    assert callback["error"] == "invalid_authorization_details"
    assert problem in callback["error_description"]
    assert callback["state"] == params["state"]


def test_details_only_from_the_agreements_from_client(client, make_user, shop_and_garage):
    _, garage = shop_and_garage
    user = make_user(email="aino@example.com")
    from tests.conftest import login

    login(client, user.email)
    params, _ = authorize_params(
        garage.rp, scope="openid", authorization_details=json.dumps(DETAILS)
    )
    callback = query_of(client.get("/authorize", query_string=params).headers["Location"])
    assert callback["error"] == "invalid_authorization_details"
    assert "has no partner agreement" in callback["error_description"]


def test_discovery_advertises_exchange_and_details_types(client):
    meta = client.get("/.well-known/openid-configuration").json
    assert "urn:ietf:params:oauth:grant-type:token-exchange" in meta["grant_types_supported"]
    assert meta["authorization_details_types_supported"] == ["tire_fitting"]


def test_refreshed_tokens_carry_the_details(client, make_user, shop_and_garage):
    """The details belong to the grant: a refreshed token response and its access token
    carry them as the first did (read with the grant's lock, no extra query)."""
    shop, _ = shop_and_garage
    user = make_user(email="aino@example.com")
    first = shop_token(client, shop, user.email)
    resp = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
        auth=shop.auth,
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["authorization_details"] == DETAILS
    payload = resp.json["access_token"].split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["authorization_details"] == DETAILS
