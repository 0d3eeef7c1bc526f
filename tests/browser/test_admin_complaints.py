"""A complaint in a real browser: a privacy officer (Chromium's virtual authenticator plays
their passkey) opens a complaint for a customer whose first name reaches the shop only under
marketing; the shop's token that carried it stops working and new ones leave it out, the
customer sees the pause on their account page, and closing the complaint gives new tokens
the first name again while the old one stays revoked.

In the demo catalogue the shop receives the first name under ``marketing_email`` (consent,
optional) or ``service_reminders`` (legitimate interest): the customer objects to the
reminders and turns marketing on with the first name, so only marketing lets it out.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Browser, BrowserContext

from idp.admin import accounts
from idp.db import new_session, utcnow
from idp.localtime import day
from idp.models import Role
from tests.browser.helpers import (
    Page,
    RelyingParty,
    expect,
    id_token_claims,
    make_user,
    path_of,
    sign_in,
)
from tests.browser.test_passkeys import DOCS, Authenticator, _shot
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

SCOPE = "openid profile email"
CLAIMS = json.dumps({"id_token": {"given_name": None}})
EMAIL = "aino@example.com"


@pytest.fixture
def shop(avain: LiveServer) -> Iterator[RelyingParty]:
    rp = RelyingParty.start(avain, "Rengasverkkokauppa", client_id="tire-shop")
    yield rp
    rp.stop()


@pytest.fixture
def officer(browser: Browser, context_options: dict[str, Any]) -> Iterator[Page]:
    """The privacy officer's own browser (cookies and passkey apart from the customer's)."""
    ctx: BrowserContext = browser.new_context(
        viewport={"width": 1000, "height": 800}, **context_options
    )
    ctx.set_default_timeout(40_000)
    yield ctx.new_page()
    ctx.close()


def _docs(page: Page, name: str, clip: dict[str, float] | None = None) -> None:
    path = _shot(page, name, clip)
    if os.environ.get("AVAIN_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / path.name)


def _enrol_officer(avain: LiveServer, page: Page) -> None:
    with avain.app.app_context():
        s = new_session(avain.app)
        made = accounts.create(s, "dpo@example.com", Role.PRIVACY, None, utcnow())
        s.commit()
        s.close()
    Authenticator(page)
    page.goto(f"{avain.url}/admin/enrol/{made.token}")
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/")


def _tokens(page: Page, shop: RelyingParty) -> dict[str, Any]:
    """Sign in at the shop again: single sign-on, no form, no screen."""
    page.goto(shop.authorize_url(scope=SCOPE, claims=CLAIMS))
    return shop.exchange(shop.callback(page))


def _given_name(avain: LiveServer, shop: RelyingParty, tokens: dict[str, Any]) -> Any:
    info = shop.userinfo(tokens["access_token"])
    assert info.status_code == 200, info.text
    assert info.json().get("given_name") == id_token_claims(avain, tokens["id_token"]).get(
        "given_name"
    )
    return info.json().get("given_name")


def _marketing_customer(avain: LiveServer, page: Page, shop: RelyingParty) -> None:
    make_user(avain, EMAIL, name="Aino Virtanen")
    page.goto(shop.authorize_url(scope=SCOPE, claims=CLAIMS))
    page.wait_for_url(lambda url: path_of(url) == "/login")
    sign_in(page, EMAIL)
    page.wait_for_url(lambda url: path_of(url) == "/consent")
    page.get_by_role("button", name="Continue").click()
    shop.callback(page)
    page.goto(f"{avain.url}/account/sharing")
    page.get_by_role("button", name="Object to this: Service reminders, Rengasverkkokauppa").click()
    expect(page.get_by_role("status")).to_contain_text("Your objection was recorded")
    offer = page.locator("form.turn-on").filter(
        has=page.locator("input[name=purpose][value=marketing_email]")
    )
    offer.get_by_label("Your first name").check()
    offer.get_by_role("button").click()
    expect(page.get_by_role("status")).to_contain_text("Your consent was recorded")


def test_a_complaint_pauses_marketing_for_the_shop_until_it_is_closed(
    avain: LiveServer, page: Page, officer: Page, shop: RelyingParty
) -> None:
    _marketing_customer(avain, page, shop)
    before = _tokens(page, shop)
    assert _given_name(avain, shop, before) == "Aino"

    # -- the privacy officer opens the complaint --------------------------------------------
    _enrol_officer(avain, officer)
    expect(officer.locator("#complaints-open")).to_have_text("0")
    officer.get_by_role("link", name="Complaints").click()
    expect(officer.locator("#none")).to_be_visible()
    officer.get_by_role("link", name="Open a complaint").click()
    expect(officer.locator("main")).to_contain_text("Offers by email")
    officer.get_by_label("Customer's id or email address").fill(EMAIL)
    officer.get_by_role("button", name="Open the complaint").click()  # no reason yet
    assert path_of(officer.url) == "/admin/complaints/new"  # the browser asks for it first
    officer.get_by_label("What the customer complains about").fill(
        "Keeps getting tire offers after unsubscribing by phone."
    )
    officer.get_by_role("button", name="Open the complaint").click()
    officer.wait_for_url(lambda url: path_of(url).startswith("/admin/complaints/"))
    expect(officer.locator("#state")).to_have_text("open: marketing is paused for this customer")
    expect(officer.locator("#complaint")).to_contain_text(EMAIL)
    _docs(officer, "admin-complaint-en")

    # -- the shop: its token stopped working, a new one leaves the first name out ----------
    assert shop.userinfo(before["access_token"]).status_code == 401
    assert shop.introspect(before["access_token"]) == {"active": False}
    during = _tokens(page, shop)
    assert _given_name(avain, shop, during) is None

    # -- the customer sees the pause --------------------------------------------------------
    page.goto(f"{avain.url}/account/sharing")
    pause = page.locator("#complaint-pause")
    expect(pause).to_contain_text("Paused because of your complaint")
    expect(pause).to_contain_text("Offers by email")
    expect(pause).to_contain_text(day(utcnow(), "en", ZoneInfo("Europe/Helsinki")))
    offers = page.locator(".purpose-row").filter(has=page.locator("h3", has_text="Offers by email"))
    expect(offers.locator(".status-paused")).to_have_text("paused while your complaint is handled")
    _docs(page, "account-complaint-pause-en")

    # -- closing restores the customer's choice for new tokens ------------------------------
    officer.get_by_label("How the complaint was resolved").fill(
        "Removed from the mailing list; confirmed with the customer."
    )
    officer.get_by_role("button", name="Close the complaint").click()
    expect(officer.locator("#state")).to_have_text("closed")
    officer.get_by_role("link", name="All complaints").click()
    expect(officer.locator("#none")).to_be_visible()  # nothing open any more
    page.goto(f"{avain.url}/account/sharing")
    expect(page.locator("#complaint-pause")).to_have_count(0)
    after = _tokens(page, shop)
    assert _given_name(avain, shop, after) == "Aino"
    assert shop.userinfo(before["access_token"]).status_code == 401  # stays revoked


@pytest.mark.parametrize("context_options", [{"locale": "fi-FI"}])
def test_the_complaint_pages_in_finnish_and_at_phone_width(
    avain: LiveServer, page: Page, officer: Page, shop: RelyingParty
) -> None:
    _enrol_officer(avain, officer)
    make_user(avain, EMAIL, name="Aino Virtanen")
    officer.goto(f"{avain.url}/admin/complaints/new")
    expect(officer.locator("h1")).to_have_text("Kirjaa valitus")
    officer.locator("#customer").fill(EMAIL)
    officer.locator("#reason").fill("Saa edelleen rengastarjouksia, vaikka perui ne puhelimessa.")
    officer.locator("form.stack button[type=submit]").click()
    officer.wait_for_url(lambda url: path_of(url).startswith("/admin/complaints/"))
    expect(officer.locator("#state")).to_have_text(
        "avoin: markkinointi on keskeytetty tämän asiakkaan osalta"
    )
    _docs(officer, "admin-complaint-fi")
    officer.set_viewport_size({"width": 390, "height": 800})
    for path in ("/admin/complaints", officer.url.removeprefix(avain.url), "/admin/complaints/new"):
        officer.goto(f"{avain.url}{path}")
        assert officer.evaluate("document.documentElement.scrollWidth") <= 390, path

    page.goto(f"{avain.url}/account/sharing")
    sign_in(page, EMAIL)
    page.wait_for_url(lambda url: path_of(url) == "/account/sharing")
    pause = page.locator("#complaint-pause")
    expect(pause).to_contain_text("Keskeytetty valituksesi vuoksi")
    expect(pause).to_contain_text("Tarjoukset sähköpostiin")
    _docs(page, "account-complaint-pause-fi")
    # at phone width the pause fits (the sessions table further down is wider: not ours)
    page.set_viewport_size({"width": 390, "height": 800})
    box = pause.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
