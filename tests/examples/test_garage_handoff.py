"""The garage's end of the handoff: POST /handoff checks the handoff token (Avain's key, typ,
iss, aud, exp), redeems it once at Avain, asks /userinfo with the redeemed access token who
the customer is and what they share, keeps that with the order, and signs the customer in
requiring the same subject; the booking form is filled in; a returning customer links their
garage customer number; a withdrawal deletes the handed-over data."""

from __future__ import annotations

import json
import time
from html import unescape
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from examples import signin, site
from examples.garage import create_app as create_garage, forget_handoffs
from tests.examples.fake_avain import OTHER_KEY, FakeAvain, handoff_jwt
from tests.examples.sites import answer_authorize, fake, make_site, sign_in

__all__ = ["fake"]


@pytest.fixture
def garage(fake: FakeAvain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Flask:
    fake.script.__init__()  # type: ignore[misc]
    fake.requests.clear()
    return make_site(create_garage, "garage", fake, tmp_path, monkeypatch)


def rows(app: Flask, query: str = "SELECT * FROM handoffs") -> list[dict[str, Any]]:
    with app.app_context():
        return [dict(r) for r in site.db().execute(query)]


def text(resp: Any) -> str:
    return unescape(resp.data.decode())


def arrive(
    garage: Flask, fake: FakeAvain, token: str, sub: str = "customer-1"
) -> tuple[FlaskClient, Any]:
    """The shop's page posts the token; the garage signs the customer in (Avain answers)."""
    browser = garage.test_client()
    resp = browser.post("/handoff?lang=en", data={"handoff_token": token})
    if resp.status_code != 302:
        return browser, resp
    return browser, answer_authorize(fake, browser, resp.headers["Location"], sub)


def test_a_handoff_fills_in_the_booking_form(garage: Flask, fake: FakeAvain) -> None:
    token = handoff_jwt(fake.url)
    browser, resp = arrive(garage, fake, token)
    assert resp.headers["Location"] == "/fitting"
    body, headers = fake.posted("/token")[0]  # step C, with the garage's authentication
    assert body == {
        "grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
        "subject_token": token,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
    }
    assert headers["Authorization"].startswith("Basic ")
    asked = [h for m, p, _, h in fake.requests if m == "GET" and p == "/userinfo"]
    redeemed_at = "Bearer " + fake.script.handoff_access_tokens.pop()  # step D: userinfo
    assert asked[0]["Authorization"] == redeemed_at
    (row,) = rows(garage)
    assert row["sub"] == "customer-1" and row["withdrawn_at"] is None
    assert json.loads(row["order_json"])["number"] == "R-1042"
    assert json.loads(row["claims_json"])["car_registration"] == "ABC-123"
    assert "The details from Rengasverkkokauppa are waiting" in text(browser.get("/?lang=en"))
    form = text(browser.get("/fitting?lang=en"))
    assert 'value="Demo Asiakas"' in form and 'value="+358 40 123 4567"' in form
    assert 'value="ABC-123"' in form
    assert "4 × Nokian Hakkapeliitta R5 205/55 R16" in form and "order R-1042" in form
    first_slot = form.split('<option value="', 1)[1].split('"', 1)[0]
    done = browser.post(
        "/fitting",
        data={
            "name": "Demo Asiakas",
            "phone": "+358 40 123 4567",
            "car_registration": "abc-123",
            "when": first_slot,
        },
    )
    assert done.headers["Location"] == "/bookings"
    booking = text(browser.get("/bookings?lang=en"))
    assert "are waiting" not in booking  # booked: nothing pending
    assert (
        "Car: ABC-123" in booking and "4 × Nokian Hakkapeliitta R5 205/55 R16 (R-1042)" in booking
    )


@pytest.mark.parametrize(
    ("what", "make", "reason"),
    [
        ("garbage", lambda url: "not.a.jwt", "handoff_invalid"),
        ("empty", lambda url: "", "handoff_invalid"),
        ("forged", lambda url: handoff_jwt(url, key=OTHER_KEY), "handoff_invalid"),
        ("wrong typ", lambda url: handoff_jwt(url, header={"typ": "JWT"}), "handoff_invalid"),
        ("an ID token", lambda url: handoff_jwt(url, header={"typ": None}), "handoff_invalid"),
        ("wrong audience", lambda url: handoff_jwt(url, aud="tire-shop"), "handoff_invalid"),
        (
            "wrong issuer",
            lambda url: handoff_jwt(url, iss="https://evil.example"),
            "handoff_invalid",
        ),
        ("no jti", lambda url: handoff_jwt(url, jti=None), "handoff_invalid"),
        ("no exp", lambda url: handoff_jwt(url, exp=None), "handoff_invalid"),
        (
            "long-lived",
            lambda url: handoff_jwt(url, exp=int(time.time()) + 3600),
            "handoff_invalid",
        ),
        (
            "expired",
            lambda url: handoff_jwt(url, iat=int(time.time()) - 600, exp=int(time.time()) - 300),
            "handoff_expired",
        ),
    ],
)
def test_a_bad_handoff_token_is_refused_and_nothing_kept(
    garage: Flask, fake: FakeAvain, what: str, make: Any, reason: str
) -> None:
    _, resp = arrive(garage, fake, make(fake.url))
    assert resp.status_code == 400, what
    assert f'data-reason="{reason}"' in text(resp), what
    assert rows(garage) == []
    assert fake.posted("/token") == []  # not even sent to Avain


def test_the_customer_and_their_claims_come_from_userinfo_not_the_handoff_token(
    garage: Flask, fake: FakeAvain
) -> None:
    """The handoff token needs no customer claims; any it carries (an older Avain) are
    ignored: the garage keeps what /userinfo says with the redeemed access token."""
    fake.script.handoff_userinfo = {
        "sub": "pairwise-7",
        "name": "Liisa Korhonen",
        "phone_number": "+358 50 765 4321",
        "car_registration": "XYZ-789",
        "email": "liisa@example.fi",
    }
    read_by_the_shop = handoff_jwt(
        fake.url, sub="shop-sub", name="Shop Guess", car_registration="SHOP-1"
    )
    browser, resp = arrive(garage, fake, read_by_the_shop, sub="pairwise-7")
    assert resp.headers["Location"] == "/fitting"
    (row,) = rows(garage)
    assert row["sub"] == "pairwise-7"
    assert json.loads(row["claims_json"]) == {
        "name": "Liisa Korhonen",
        "phone_number": "+358 50 765 4321",
        "car_registration": "XYZ-789",
        "email": "liisa@example.fi",
    }
    form = text(browser.get("/fitting?lang=en"))
    assert 'value="XYZ-789"' in form and "SHOP-1" not in form and "Shop Guess" not in form


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        ("en", "Avain did not give the garage the customer's details."),
        ("fi", "Avain ei antanut asiakkaan tietoja korjaamolle."),
    ],
)
def test_a_userinfo_failure_after_redemption_keeps_nothing(
    garage: Flask, fake: FakeAvain, lang: str, says: str
) -> None:
    fake.script.handoff_userinfo_status = 401
    browser = garage.test_client()
    resp = browser.post(f"/handoff?lang={lang}", data={"handoff_token": handoff_jwt(fake.url)})
    assert resp.status_code == 400 and 'data-reason="handoff_no_userinfo"' in text(resp)
    assert says in text(resp)
    assert rows(garage) == []


def test_a_userinfo_answer_without_sub_is_refused(garage: Flask, fake: FakeAvain) -> None:
    fake.script.handoff_userinfo = {"name": "Nobody"}
    _, resp = arrive(garage, fake, handoff_jwt(fake.url))
    assert resp.status_code == 400 and 'data-reason="handoff_no_userinfo"' in text(resp)
    assert rows(garage) == []


def test_a_reused_handoff_token_is_refused(garage: Flask, fake: FakeAvain) -> None:
    token = handoff_jwt(fake.url)
    arrive(garage, fake, token)
    _, again = arrive(garage, fake, token)
    assert again.status_code == 400
    assert "it was used already or your permission was withdrawn" in text(again)
    assert len(rows(garage)) == 1


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        ("en", "Someone else is signed in at Avain than the person whose details"),
        ("fi", "Avaimessa on kirjautuneena eri henkilö kuin se, jonka tiedot kauppa välitti."),
    ],
)
def test_another_customer_signed_in_at_avain_is_refused(
    garage: Flask, fake: FakeAvain, lang: str, says: str
) -> None:
    """The sub /userinfo gave for the handoff is not the sub of the garage's own ID token."""
    browser = garage.test_client()
    resp = browser.post(f"/handoff?lang={lang}", data={"handoff_token": handoff_jwt(fake.url)})
    resp = answer_authorize(fake, browser, resp.headers["Location"], "someone-else")
    assert resp.status_code == 403 and says in text(resp)
    assert rows(garage) == []  # nothing kept
    assert 'id="signed-in"' not in browser.get("/").data.decode()  # and not signed in


def test_a_returning_customer_links_their_customer_number(garage: Flask, fake: FakeAvain) -> None:
    browser = garage.test_client()
    sign_in(fake, browser)  # userinfo: the phone number of KV-1001 in the register
    page = text(browser.get("/?lang=en"))
    assert "Are you our customer KV-1001?" in page and "Welcome back" not in page
    browser.post("/link", data={"customer_number": "KV-1001", "next": "/"})
    page = text(browser.get("/?lang=en"))
    assert "Welcome back! Your customer number is KV-1001." in page
    assert "Lumikko Kitka 205/55 R16, 4 kpl, hylly B4" in page
    assert "Are you our customer" not in page
    assert rows(garage, "SELECT customer_number, sub FROM customer_links") == [
        {"customer_number": "KV-1001", "sub": "customer-1"}
    ]
    assert "Asiakasnumerosi on KV-1001" in text(browser.get("/bookings?lang=fi"))


def test_only_a_matching_customer_can_link_and_only_their_own_number(
    garage: Flask, fake: FakeAvain
) -> None:
    fake.script.profile = {"name": "Toinen", "phone_number": "+358 45 000 0000"}
    stranger = garage.test_client()
    sign_in(fake, stranger, sub="customer-9")
    assert "Are you our customer" not in text(stranger.get("/?lang=en"))
    stranger.post("/link", data={"customer_number": "KV-1001"})
    fake.script.profile = {"name": "Demo", "phone_number": "040 123 4567"}  # KV-1001's number
    matching = garage.test_client()
    sign_in(fake, matching, sub="customer-1")
    matching.post("/link", data={"customer_number": "KV-1002"})  # not theirs
    assert rows(garage, "SELECT * FROM customer_links") == []
    assert "Are you our customer KV-1001?" in text(matching.get("/?lang=en"))


def test_an_unverified_email_does_not_match(garage: Flask, fake: FakeAvain) -> None:
    fake.script.profile = {
        "name": "L",
        "email": "liisa.korhonen@example.fi",
        "email_verified": False,
    }
    browser = garage.test_client()
    sign_in(fake, browser, sub="customer-3")
    assert "Are you our customer" not in text(browser.get("/?lang=en"))
    fake.script.profile["email_verified"] = True
    verified = garage.test_client()
    sign_in(fake, verified, sub="customer-3")
    assert "Are you our customer KV-1003?" in text(verified.get("/?lang=en"))


def test_declining_the_link_stops_asking(garage: Flask, fake: FakeAvain) -> None:
    browser = garage.test_client()
    sign_in(fake, browser)
    browser.post("/link/dismiss", data={"next": "https://evil.example/"})
    assert "Are you our customer" not in text(browser.get("/?lang=en"))


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        (
            "en",
            "The details Rengasverkkokauppa passed on were deleted because you withdrew your "
            "consent.",
        ),
        ("fi", "Rengasverkkokaupan välittämät tietosi on poistettu, koska peruit suostumuksesi."),
    ],
)
def test_a_withdrawal_deletes_the_handed_over_data(
    garage: Flask, fake: FakeAvain, lang: str, says: str
) -> None:
    browser, _ = arrive(garage, fake, handoff_jwt(fake.url))
    with garage.app_context():
        assert forget_handoffs("customer-1") == 1
        assert forget_handoffs("customer-1") == 0  # once
    (row,) = rows(garage)
    assert row["order_json"] == "{}" and row["claims_json"] == "{}" and row["withdrawn_at"]
    for path in ("/", "/bookings", "/fitting"):
        page = text(browser.get(f"{path}?lang={lang}"))
        assert says in page, path
        assert "ABC-123" not in page and "R-1042" not in page


def test_a_customer_signed_out_by_the_withdrawal_is_still_told(
    garage: Flask, fake: FakeAvain
) -> None:
    """Withdrawing the garage's only purpose also ends the customer's session here (Avain's
    back-channel logout): the browser that brought the handoff is still told what happened,
    and a browser that brought none is not."""
    browser, _ = arrive(garage, fake, handoff_jwt(fake.url))
    form = text(browser.get("/fitting?lang=en"))
    first_slot = form.split('<option value="', 1)[1].split('"', 1)[0]
    browser.post("/fitting", data={"car_registration": "ABC-123", "when": first_slot})
    with garage.app_context():
        assert forget_handoffs("customer-1") == 1
        assert signin.end_sessions(None, "customer-1") == 1
    says = "were deleted because you withdrew your consent"
    for path in ("/", "/bookings"):
        page = text(browser.get(f"{path}?lang=en"))
        assert says in page, path
        assert 'id="signed-in"' not in page and "ABC-123" not in page
    assert says not in text(garage.test_client().get("/bookings?lang=en"))
    (extras,) = rows(garage, "SELECT car_registration, tires FROM booking_extras")
    assert extras == {"car_registration": None, "tires": None}
