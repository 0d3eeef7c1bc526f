"""The handoff story in Chromium, across Avain, the tire shop and the garage as three real
processes (tests/examples/demo.py): sign in at the shop, buy (the purchase is recorded in
the Avain profile), book the fitting, agree on Avain's consent page with the order shown,
arrive at the garage signed in with the booking form filled in, link the loyal customer
number, book; withdraw the garage's purpose on Avain's account page, and the garage, told by
a Shared Signals event, shows the handed-over data gone. Screenshots:
docs/screenshots/story-<step>-<lang>.png."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.browser.helpers import Page, expect, path_of
from tests.examples.demo import Demo, running_demo

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"

TEXTS = {
    "fi": {
        "recorded": "Tilaus on tallennettu Avain-profiiliisi.",
        "link": "Oletko asiakkaamme KV-1001?",
        "returning": "Asiakasnumerosi on KV-1001",
        "booked": "Aika on varattu. Tervetuloa!",
        "withdrawn": "Peruit suostumuksesi. Renkaanvaihdon ajanvaraus – Korjaamo Virtanen ei enää",
        "forgotten": "poistettu, koska peruit suostumuksesi",
        "customer": "Asiakas",
    },
    "en": {
        "recorded": "The order is recorded in your Avain profile.",
        "link": "Are you our customer KV-1001?",
        "returning": "Your customer number is KV-1001",
        "booked": "Your time is booked. Welcome!",
        "withdrawn": "You withdrew your consent. Tire fitting booking: Korjaamo Virtanen no longer",
        "forgotten": "deleted because you withdrew your consent",
        "customer": "Customer",
    },
}


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    with running_demo(tmp_path) as running:
        yield running


@pytest.fixture
def context_options(lang: str) -> dict[str, Any]:
    """The browser speaks the customer's language (Avain's pages follow Accept-Language)."""
    return {"locale": {"fi": "fi-FI", "en": "en-US"}[lang]}


def shot(page: Page, step: str, lang: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"story-{step}-{lang}.png"), full_page=True)


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_from_the_shop_to_the_garage(demo: Demo, page: Page, lang: str) -> None:
    text = TEXTS[lang]
    # Sign in at the shop through Avain's login form and consent page.
    page.goto(f"{demo.shop}/?lang={lang}")
    page.locator("#sign-in").click()
    page.locator("#email").fill(demo.email)
    page.locator("#password").fill(demo.password)
    page.locator("form.stack button[type=submit]").click()
    if page.url.startswith(demo.avain + "/consent"):
        page.locator("button[name=decision][value=allow]").click()
    expect(page.locator("#signed-in")).to_have_text("Demo Asiakas")

    # The car's plate on the Avain profile (the garage needs it for the booking).
    page.goto(f"{demo.avain}/account/profile")
    page.locator("#car_registration").fill("abc-123")
    page.locator("form:has(#car_registration) button[type=submit]").click()

    # Buy: the order is recorded in the customer's Avain profile.
    page.goto(f"{demo.shop}/?lang={lang}")
    page.locator("form.product").nth(1).locator("button[type=submit]").click()
    page.locator("#checkout").click()
    assert path_of(page.url) == "/orders", page.url
    expect(page.locator(".order .recorded")).to_have_text(text["recorded"])
    shot(page, "1-order", lang)

    # Avain's account page shows what the shop added.
    page.goto(f"{demo.avain}/account/")
    expect(page.locator("ul.contributed")).to_contain_text("Rengasverkkokauppa")
    expect(page.locator("ul.contributed")).to_contain_text("4 × Lumikko Kitka 205/55 R16")

    # Book the fitting: Avain asks, on its own page, showing the order.
    page.goto(f"{demo.shop}/orders?lang={lang}")
    page.locator(".book-fitting").first.click()
    assert page.url.startswith(demo.avain + "/consent"), page.url
    expect(page.locator("#password")).to_have_count(0)
    expect(page.locator("section.handoff")).to_contain_text("Lumikko Kitka 205/55 R16")
    expect(page.locator("body")).to_contain_text("Korjaamo Virtanen")
    page.locator("input[name='agree:garage_booking']").check()
    page.locator("input[name='claim:garage_booking:tire_purchase']").check()
    shot(page, "2-consent", lang)
    posted: list[str] = []
    page.on(
        "request",
        lambda r: (
            posted.append(r.post_data or "") if r.url.startswith(demo.garage + "/handoff") else None
        ),
    )
    page.locator("button[name=decision][value=allow]").click()

    # The shop's form posts the handoff token; the garage redeems it and signs the customer
    # in (no form: Avain's SSO session), and the booking form is filled in.
    page.wait_for_url(lambda url: url.startswith(demo.garage + "/fitting"))
    expect(page.locator("#signed-in")).to_have_text("Demo Asiakas")
    expect(page.locator("#name")).to_have_value("Demo Asiakas")
    expect(page.locator("#phone")).to_have_value("+358 40 123 4567")
    expect(page.locator("#car_registration")).to_have_value("ABC-123")
    expect(page.locator("#tires")).to_contain_text("4 × Lumikko Kitka 205/55 R16")
    expect(page.locator("#link-offer")).to_contain_text(text["link"])
    shot(page, "3-garage-form", lang)

    # The loyal customer links their customer number, then books.
    page.locator("#link-confirm").click()
    expect(page.locator("#returning")).to_contain_text(text["returning"])
    expect(page.locator("#returning")).to_contain_text("hylly B4")
    page.locator("#fitting-book").click()
    assert path_of(page.url) == "/bookings", page.url
    expect(page.locator(".notice")).to_have_text(text["booked"])
    expect(page.locator(".booking")).to_contain_text("ABC-123")
    expect(page.locator(".booking")).to_contain_text("R-1001")
    shot(page, "4-garage-booked", lang)

    # The handoff token was posted once, in the body; Avain refuses a second redemption.
    (body,) = posted
    assert body.startswith("handoff_token=")
    again = requests.post(
        f"{demo.garage}/handoff?lang=en",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        timeout=10,
    )
    assert again.status_code == 400
    assert 'data-reason="handoff_not_redeemed"' in again.text

    # The garage's access token (kept with its sign-in) works at Avain's userinfo until the
    # customer withdraws.
    garage_db = demo.logs.parent / "garage" / "garage.db"
    token = _garage_access_token(garage_db)
    userinfo = f"{demo.avain}/userinfo"
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(userinfo, headers=auth, timeout=10).status_code == 200

    # Withdraw at Avain: the garage's purpose, on the account page, with one button.
    # the demo customer's profile says Finnish; in English they choose it with the switcher
    page.goto(f"{demo.avain}/account/sharing")
    page.get_by_role("button", name={"fi": "Suomi", "en": "English"}[lang], exact=True).click()
    page.wait_for_load_state()
    withdraw = page.locator(
        ".purpose-row:has(input[name=purpose][value=garage_booking])"
        ":has(input[name=recipient][value=garage])"
        " form[action$='/sharing/withdraw'] button[type=submit]"
    )
    expect(withdraw).to_have_count(1)
    withdraw.click()
    expect(page.get_by_role("status")).to_contain_text(text["withdrawn"])
    shot(page, "5-withdrawn", lang)

    # The garage is told: a Shared Signals push (consent withdrawn for garage_booking) makes
    # it forget what it was handed, and a back-channel logout ends the customer's session
    # there (nothing else is shared with the garage). This browser is still told why.
    def forgotten() -> None:
        page.goto(f"{demo.garage}/bookings?lang={lang}")
        expect(page.locator("#handoff-withdrawn")).to_contain_text(text["forgotten"], timeout=500)

    _eventually(forgotten, page, seconds=15)
    expect(page.locator("#signed-in")).to_have_count(0)

    # Signed in again, the customer finds the booking without the car and the tires; and
    # Avain no longer gives the garage their name (the garage shows its generic label).
    page.locator("#sign-in").click()
    page.wait_for_url(lambda url: url.startswith(demo.garage))  # no form: the SSO session
    page.goto(f"{demo.garage}/bookings?lang={lang}")
    expect(page.locator("#signed-in")).to_have_text(text["customer"])
    expect(page.locator("#handoff-withdrawn")).to_contain_text(text["forgotten"])
    expect(page.locator(".booking")).to_have_count(1)
    expect(page.locator(".booking")).not_to_contain_text("ABC-123")
    expect(page.locator(".booking")).not_to_contain_text("Lumikko")
    expect(page.locator(".booking")).not_to_contain_text("R-1001")
    shot(page, "6-garage-forgotten", lang)
    with sqlite3.connect(garage_db) as conn:
        rows = conn.execute("SELECT order_json, claims_json, withdrawn_at FROM handoffs").fetchall()
    assert rows and all(o == "{}" and c == "{}" and w for o, c, w in rows), rows

    # The withdrawal ended the garage's tokens at Avain.
    refused = requests.get(userinfo, headers=auth, timeout=10)
    assert refused.status_code == 401, refused.text


def _garage_access_token(garage_db: Path) -> str:
    with sqlite3.connect(garage_db) as conn:
        (token_json,) = conn.execute("SELECT token_json FROM login_details").fetchone()
    return str(json.loads(token_json)["access_token"])


def _eventually(check: Callable[[], None], page: Page, seconds: float) -> None:
    """Run ``check`` (which reloads and expects) until it passes or ``seconds`` have gone."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            check()
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            page.wait_for_timeout(500)
