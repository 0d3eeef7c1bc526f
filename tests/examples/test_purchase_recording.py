"""The tire shop records each order in the customer's Avain profile with their access token
(refreshed once when Avain says it is no longer valid), says so when it cannot and offers a
retry; the order's "Book the fitting" sends the browser to Avain with authorization_details
and, on return, exchanges the token for a handoff token and posts it to the garage."""

from __future__ import annotations

import json
from html import unescape
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from examples.tire_shop import create_app as create_shop
from tests.examples.fake_avain import FakeAvain
from tests.examples.sites import answer_authorize, fake, make_site, query, sign_in

__all__ = ["fake"]


@pytest.fixture
def shop(fake: FakeAvain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    fake.script.__init__()  # type: ignore[misc]
    fake.requests.clear()
    return make_site(create_shop, "tire-shop", fake, tmp_path, monkeypatch)


def buy(shop: Flask, fake: FakeAvain) -> FlaskClient:
    browser = shop.test_client()
    assert sign_in(fake, browser).status_code == 302
    browser.post("/cart", data={"product": 2, "quantity": 4})
    resp = browser.post("/checkout")
    assert resp.headers["Location"] == "/orders"
    return browser


def page(browser: FlaskClient, path: str = "/orders?lang=en") -> str:
    return unescape(browser.get(path).data.decode())


def test_checkout_records_the_purchase_with_the_customers_token(
    shop: Flask, fake: FakeAvain
) -> None:
    browser = buy(shop, fake)
    ((body, headers),) = fake.posted("/claims/tire_purchase")
    assert headers["Authorization"].startswith("Bearer at-")
    assert body["order_number"] == "R-1001"
    assert body["items"] == [{"name": "Lumikko Kitka 205/55 R16", "quantity": 4}]
    assert body["bought_at"].endswith("Z")
    html = page(browser)
    assert "Order R-1001" in html and "The order is recorded in your Avain profile." in html
    assert "Try recording it again" not in html


def test_an_expired_token_is_refreshed_first(shop: Flask, fake: FakeAvain) -> None:
    fake.script.access_lifetime = 0  # expired as soon as it is issued
    buy(shop, fake)
    grants = [body["grant_type"] for body, _ in fake.posted("/token")]
    assert grants == ["authorization_code", "refresh_token"]
    ((_, headers),) = fake.posted("/claims/tire_purchase")
    assert headers["Authorization"].startswith("Bearer at-")


def test_a_refused_write_is_retried_once_with_a_refreshed_token(
    shop: Flask, fake: FakeAvain
) -> None:
    fake.script.claims_status = 401
    browser = buy(shop, fake)
    first, second = fake.posted("/claims/tire_purchase")
    assert first[1]["Authorization"] != second[1]["Authorization"]  # the refreshed token
    html = page(browser)
    assert "could not be recorded in your Avain profile" in html  # said on the page
    assert "Your order was received" in html  # and the order stands
    assert "Try recording it again" in html


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_when_the_refresh_fails_the_page_says_so_and_a_retry_records_it(
    shop: Flask, fake: FakeAvain, lang: str
) -> None:
    fake.script.access_lifetime, fake.script.refresh_ok = 0, False
    browser = buy(shop, fake)
    assert fake.posted("/claims/tire_purchase") == []
    html = page(browser, f"/orders?lang={lang}")
    expected = {
        "fi": "Tilausta ei saatu tallennettua Avain-profiiliisi. Tilaus on silti voimassa.",
        "en": "The order could not be recorded in your Avain profile. The order itself stands.",
    }
    assert expected[lang] in html
    fake.script.refresh_ok = True
    resp = browser.post("/orders/1/record")
    assert resp.status_code == 302
    assert len(fake.posted("/claims/tire_purchase")) == 1
    assert "The order was recorded in your Avain profile." in page(browser)


def test_nobody_records_or_hands_over_another_customers_order(shop: Flask, fake: FakeAvain) -> None:
    buy(shop, fake)
    other = shop.test_client()
    sign_in(fake, other, sub="customer-2")
    assert other.post("/orders/1/record").status_code == 404
    assert other.post("/orders/1/fitting").status_code == 404
    assert shop.test_client().post("/orders/1/fitting").status_code == 403


def _book_fitting(browser: FlaskClient, fake: FakeAvain) -> tuple[str, dict[str, str]]:
    resp = browser.post("/orders/1/fitting")
    location = resp.headers["Location"]
    return location, query(location)


def test_book_fitting_asks_avain_with_the_order_as_authorization_details(
    shop: Flask, fake: FakeAvain
) -> None:
    browser = buy(shop, fake)
    _, asked = _book_fitting(browser, fake)
    assert asked["client_id"] == "tire-shop" and asked["scope"] == "openid"
    assert asked["prompt"] == "consent" and asked["code_challenge_method"] == "S256"
    (details,) = json.loads(asked["authorization_details"])
    assert details["type"] == "tire_fitting"
    assert details["locations"] == ["http://localhost:5998/"]
    assert details["order"]["number"] == "R-1001"
    assert details["order"]["items"] == [{"name": "Lumikko Kitka 205/55 R16", "quantity": 4}]


def test_the_handoff_token_is_posted_to_the_garage(shop: Flask, fake: FakeAvain) -> None:
    browser = buy(shop, fake)
    location, _ = _book_fitting(browser, fake)
    resp = answer_authorize(fake, browser, location, "customer-1")
    html = resp.data.decode()
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "no-store"
    assert 'action="http://localhost:5998/handoff?lang=' in html and 'method="post"' in html
    assert 'name="handoff_token" value="handoff-jwt"' in html
    assert 'id="handoff-continue"' in html  # a visible button for browsers without JS
    body, headers = fake.posted("/token")[-1]
    assert body["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange"
    assert body["audience"] == "garage"
    assert body["subject_token_type"] == "urn:ietf:params:oauth:token-type:access_token"
    assert body["subject_token"].startswith("at-")
    assert headers["Authorization"].startswith("Basic ")  # the shop's client authentication


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "You did not give permission, so nothing was shared with the garage."),
        ("fi", "Et antanut lupaa, joten korjaamolle ei välitetty mitään."),
    ],
)
def test_a_refusal_returns_to_the_orders_saying_nothing_was_shared(
    shop: Flask, fake: FakeAvain, lang: str, text: str
) -> None:
    browser = buy(shop, fake)
    location, _ = _book_fitting(browser, fake)
    resp = answer_authorize(fake, browser, location, "customer-1", error="access_denied")
    assert resp.headers["Location"] == "/orders"
    assert text in page(browser, f"/orders?lang={lang}")
    assert not any(b["grant_type"].endswith("token-exchange") for b, _ in fake.posted("/token"))


def test_an_exchange_error_is_shown_readably(shop: Flask, fake: FakeAvain) -> None:
    browser = buy(shop, fake)
    fake.script.exchange_error = ("invalid_grant", "Consent to garage_booking was withdrawn.")
    location, _ = _book_fitting(browser, fake)
    resp = answer_authorize(fake, browser, location, "customer-1")
    html = unescape(resp.data.decode())
    assert resp.status_code == 400
    assert "invalid_grant" in html and "Consent to garage_booking was withdrawn." in html
    assert "handoff_token" not in html


def test_an_authorization_error_is_shown_readably(shop: Flask, fake: FakeAvain) -> None:
    browser = buy(shop, fake)
    location, _ = _book_fitting(browser, fake)
    resp = answer_authorize(
        fake,
        browser,
        location,
        "customer-1",
        error="invalid_authorization_details",
        error_description="type tire_fitting is not allowed",
    )
    html = unescape(resp.data.decode())
    assert resp.status_code == 400 and "invalid_authorization_details" in html


def test_another_customer_at_avain_gets_nothing_handed_over(shop: Flask, fake: FakeAvain) -> None:
    browser = buy(shop, fake)
    location, _ = _book_fitting(browser, fake)
    resp = answer_authorize(fake, browser, location, "customer-2")
    assert resp.status_code == 403 and "handoff_token" not in resp.data.decode()
