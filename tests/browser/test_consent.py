"""Partner consent in a real browser: the garage's purpose on the consent screen, giving it by
keyboard, refusing it without losing the sign-in, withdrawing it on the account page (tokens
end at once), signed receipts, and the screen in Finnish and Swedish.

The garage is the catalogue's recipient ``garage`` (config/purposes.toml): purpose
``garage_booking``, consent basis; name, phone number and car registration necessary; tire
purchase and email optional. Consent is to the whole purpose, so the screen lists all it
needs and offers every optional claim, though this request's scopes touch only name, phone
number and email; only what a request asks for is ever released.
"""

from __future__ import annotations

import os
import re
import shutil
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    Page,
    RelyingParty,
    expect,
    id_token_claims,
    make_user,
    path_of,
    sign_in,
)
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SHOTS = HERE / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
SCOPE = "openid profile email phone"
CONTROLLER = "Avain Demo Oy"  # the deployment's, whose privacy notice the screen links
GARAGE_CONTROLLER = "Korjaamo Virtanen Oy"  # the catalogue's: an independent controller
PHONE = "+358 40 123 4567"


def _catalogue() -> dict[str, Any]:
    with (ROOT / "config" / "purposes.toml").open("rb") as f:
        return tomllib.load(f)


CATALOGUE = _catalogue()
RECIPIENT = next(r["name"] for r in CATALOGUE["recipients"] if r["id"] == "garage")
PURPOSE = next(p for p in CATALOGUE["purposes"] if p["id"] == "garage_booking")
TITLE = {lang: text["title"] for lang, text in PURPOSE["texts"].items()}


@pytest.fixture
def garage(avain: LiveServer) -> Iterator[RelyingParty]:
    rp = RelyingParty.start(avain, RECIPIENT, client_id="garage")
    yield rp
    rp.stop()


def _to_consent(page: Page, rp: RelyingParty, email: str, **extra: str) -> None:
    page.goto(rp.authorize_url(scope=SCOPE, **extra))
    page.wait_for_url(lambda url: path_of(url) == "/login")
    sign_in(page, email)
    page.wait_for_url(lambda url: path_of(url) == "/consent")


def _shot(page: Page, name: str) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def test_partner_consent_by_keyboard_then_withdrawal_and_receipts(avain, garage, context, page):
    user = make_user(avain, "aino@example.com", name="Aino Virtanen", phone_number=PHONE)
    _to_consent(page, garage, "aino@example.com")

    # -- the consent screen, by role and label --------------------------------------------
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{RECIPIENT} wants to use your Avain account"
    )
    expect(
        page.get_by_text(f"Controller of what {RECIPIENT} receives: {GARAGE_CONTROLLER}.")
    ).to_be_visible()
    purpose = page.get_by_role("group", name=TITLE["en"])
    expect(purpose.get_by_role("heading", level=3)).to_have_text(TITLE["en"])
    expect(purpose).to_contain_text("On your consent.")

    # Necessary items are a plain list, not choices.
    expect(purpose.get_by_text("Shared when this is on:")).to_be_visible()
    expect(purpose.locator("ul.scopes").get_by_role("listitem")).to_have_text(
        ["Your name", "Your phone number", "Your car's registration number"]
    )
    for necessary in ("Your car's registration number", "Your name", "Your phone number"):
        expect(page.get_by_role("checkbox", name=necessary)).to_have_count(0)

    # Every choice starts off: the purpose's switch and each optional claim.
    agree = purpose.get_by_role("switch", name=TITLE["en"])
    email_box = purpose.get_by_role("checkbox", name="Your email address")
    expect(page.get_by_role("checkbox")).to_have_count(2)
    expect(page.get_by_role("switch")).to_have_count(1)
    expect(agree).not_to_be_checked()
    for box in page.get_by_role("checkbox").all():
        expect(box).not_to_be_checked()
    expect(purpose.get_by_role("checkbox", name="The tires you bought")).to_be_visible()

    # The privacy notice opens in a new tab and is the controller's notice.
    notice_link = page.locator("main").get_by_role("link", name="Privacy notice")
    with context.expect_page() as opened:
        notice_link.click()
    notice = opened.value
    notice.wait_for_load_state()
    assert path_of(notice.url) == path_of(notice_link.get_attribute("href") or "")
    expect(notice.get_by_role("heading", level=1)).to_contain_text("Privacy notice")
    expect(notice.get_by_role("heading", level=1)).to_contain_text(CONTROLLER)
    expect(notice.locator("main")).to_contain_text(TITLE["en"])
    notice.close()

    # Keyboard: focus the switch, Space turns it on; email stays unticked.
    agree.focus()
    expect(agree).to_be_focused()
    page.keyboard.press("Space")
    expect(agree).to_be_checked()
    expect(email_box).not_to_be_checked()
    page.get_by_role("button", name="Continue").click()

    tokens = garage.exchange(garage.callback(page))
    info = garage.userinfo(tokens["access_token"])
    assert info.status_code == 200, info.text
    body = info.json()
    assert body["name"] == "Aino Virtanen"
    assert body["phone_number"] == PHONE
    assert "email" not in body and "email_verified" not in body
    assert "email" not in id_token_claims(avain, tokens["id_token"])
    assert garage.introspect(tokens["access_token"])["active"] is True

    # -- withdrawal on the account page ---------------------------------------------------
    page.goto(f"{avain.url}/account/sharing")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sharing")
    item = page.locator(".purpose-row").filter(has_text=TITLE["en"])
    expect(item).to_contain_text(RECIPIENT)
    expect(item).to_contain_text("shared")
    # The page lists every necessary claim of the purpose, as the consent screen did.
    expect(item).to_contain_text(
        "Shared: Your car's registration number, Your name, Your phone number"
    )
    withdraw = item.get_by_role("button", name=f"Withdraw consent: {TITLE['en']}, {RECIPIENT}")
    expect(withdraw).to_have_text("Withdraw consent")
    withdraw.click()

    expect(page.get_by_role("status")).to_have_text(
        f"You withdrew your consent. {TITLE['en']}: {RECIPIENT} no longer receives your name, "
        "your phone number, and your car's registration number, and its access to your details "
        "was ended."
    )
    expect(item).to_contain_text("withdrawn")
    expect(item.get_by_role("button")).to_have_count(0)
    _shot(page, "account-sharing-en")

    # The token from the sign-in ended with the consent.
    assert garage.introspect(tokens["access_token"]) == {"active": False}
    assert garage.userinfo(tokens["access_token"]).status_code == 401

    # -- receipts: one for giving, one for withdrawing; a download verifies ---------------
    page.get_by_role("link", name="Privacy", exact=True).click()
    page.get_by_role("link", name="Your consent receipts").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your consent receipts")
    receipts = page.locator("ul.sharing > li")
    expect(receipts).to_have_count(2)
    expect(receipts.nth(0)).to_contain_text(f"{TITLE['en']} · {RECIPIENT} · withdrawn")
    expect(receipts.nth(1)).to_contain_text(f"{TITLE['en']} · {RECIPIENT} · shared")
    with page.expect_download() as downloaded:
        receipts.nth(1).get_by_role("link", name="Download receipt").click()
    download = downloaded.value
    assert re.fullmatch(r"consent-receipt-\d+\.jwt", download.suggested_filename)
    token = Path(download.path()).read_text()

    from consent.receipts import verify_receipt
    from idp.db import new_session

    with avain.app.app_context():
        session = new_session(avain.app)
        try:
            check = verify_receipt(session, token, avain.app.extensions["avain.ledger_keys"].origin)
        finally:
            session.close()
    assert check.ok, check.problems
    assert check.claims is not None and check.claims["sub"] == user.id
    assert f"-{check.seq}.jwt" in download.suggested_filename


def test_refusing_the_purpose_does_not_block_sign_in(avain, garage, page):
    make_user(avain, "eino@example.com", name="Eino Korhonen", phone_number="+358 50 765 4321")
    _to_consent(page, garage, "eino@example.com")
    agree = page.get_by_role("switch", name=TITLE["en"])
    expect(agree).not_to_be_checked()
    page.get_by_role("button", name="Continue").click()

    callback = garage.callback(page)
    assert "code" in callback and "error" not in callback
    tokens = garage.exchange(callback)
    info = garage.userinfo(tokens["access_token"])
    assert info.status_code == 200, info.text
    assert set(info.json()) == {"sub"}

    page.goto(f"{avain.url}/account/sharing")
    item = page.locator(".purpose-row").filter(has_text=TITLE["en"])
    expect(item).to_contain_text("refused")
    expect(item.get_by_role("button")).to_have_count(0)


def test_consent_screen_in_finnish_and_swedish(avain, garage, page):
    """Finnish from the client's ui_locales, then Swedish from the language switcher."""
    user = make_user(avain, "aino@example.com", name="Aino Virtanen", phone_number=PHONE)
    html = page.locator("html")
    _to_consent(page, garage, "aino@example.com", ui_locales="fi")
    expect(html).to_have_attribute("lang", "fi")
    expect(page.get_by_role("group", name=TITLE["fi"])).to_be_visible()
    expect(page.locator("#controller")).to_contain_text(
        f"Rekisterinpitäjä tiedoille, jotka {RECIPIENT} saa: {GARAGE_CONTROLLER}."
    )
    expect(page.get_by_role("switch", name=TITLE["fi"])).not_to_be_checked()
    expect(page.get_by_role("button", name="Jatka")).to_be_visible()
    _shot(page, "consent-garage-fi")

    page.get_by_role("button", name="Svenska").click()
    expect(html).to_have_attribute("lang", "sv")
    assert path_of(page.url) == "/consent"
    expect(page.get_by_role("group", name=TITLE["sv"])).to_be_visible()
    expect(page.locator("#controller")).to_contain_text(GARAGE_CONTROLLER)
    expect(page.get_by_role("switch", name=TITLE["sv"])).not_to_be_checked()
    expect(page.get_by_role("button", name="Fortsätt")).to_be_visible()
    sv = _shot(page, "consent-garage-sv")
    if os.environ.get("AVAIN_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(sv, DOCS / "consent-garage-sv.png")

    # The switch holds for the rest of the sign-in: the ledger records the choice as made
    # in Swedish, the language the screen was shown in.
    page.get_by_role("switch", name=TITLE["sv"]).check()
    page.get_by_role("button", name="Fortsätt").click()
    assert "code" in garage.callback(page)
    assert [(row.type, language) for row, language in _ledger(avain, user.id)] == [("given", "sv")]


def _ledger(server: LiveServer, customer_id: str) -> list[tuple[Any, str]]:
    """The customer's ledger events with the language each was recorded in."""
    from consent import ledger
    from idp.db import new_session

    with server.app.app_context():
        session = new_session(server.app)
        try:
            keys = server.app.extensions["avain.ledger_keys"]
            rows = ledger.customer_rows(session, keys, customer_id)
            return [
                (row, ledger.details(session, keys, customer_id, row)["language"]) for row in rows
            ]
        finally:
            session.close()
