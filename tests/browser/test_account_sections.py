"""The account page in sections, in a real browser: Profile, Sign-in and security, Sharing and
Privacy, walked by their navigation at 1280 and 390 pixels wide in Finnish and English;
withdrawing the email offers on a recipient's card; and the passkey-only safeguards (a
confirmed email, an explicit confirmation, a fresh passkey) and "Set a password" afterwards,
with Chromium's virtual authenticator.

Screenshots: docs/screenshots/account-{profile,security,sharing,privacy}-{fi,en}.png at
1280 pixels and account-sharing-390-fi.png.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    PASSWORD,
    Page,
    RelyingParty,
    expect,
    make_user,
    path_of,
    sign_in,
)
from tests.browser.test_passkeys import NO_CONDITIONAL_UI, Authenticator
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "screenshots"
SHOTS = Path(__file__).resolve().parent / "screenshots"
EMAIL = "aino@example.com"
SECTIONS = {
    "en": ["Profile", "Sign-in and security", "Sharing", "Privacy"],
    "fi": ["Profiili", "Kirjautuminen ja turvallisuus", "Tietojen jakaminen", "Tietosuoja"],
}
NAMES = ["profile", "security", "sharing", "privacy"]
PATHS = ["/account/", "/account/security", "/account/sharing", "/account/privacy"]


@pytest.fixture
def shop(avain: LiveServer) -> Iterator[RelyingParty]:
    rp = RelyingParty.start(avain, "Rengasverkkokauppa", client_id="tire-shop")
    yield rp
    rp.stop()


@pytest.fixture
def garage(avain: LiveServer) -> Iterator[RelyingParty]:
    rp = RelyingParty.start(avain, "Korjaamo Virtanen", client_id="garage")
    yield rp
    rp.stop()


def _shot(page: Page, name: str) -> None:
    DOCS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DOCS / f"{name}.png"), full_page=True)


def _profile(avain: LiveServer, email: str, **values: Any) -> None:
    from idp.auth.accounts import find_by_email
    from idp.db import new_session

    with avain.app.app_context():
        session = new_session(avain.app)
        user = find_by_email(session, email)
        assert user is not None
        for key, value in values.items():
            setattr(user, key, value)
        session.commit()
        session.close()


def _garage_consent(avain: LiveServer, email: str) -> None:
    """The garage booking, agreed on the shop's handoff screen (another test walks that)."""
    from idp.auth.accounts import find_by_email
    from idp.db import new_session
    from idp.ledger import consents
    from idp.ledger.context import consent_context
    from idp.models import Client

    with avain.app.app_context():
        session = new_session(avain.app)
        user = find_by_email(session, email)
        client = session.get(Client, "garage")
        assert user is not None and client is not None
        consents.give(
            session,
            consent_context(),
            user,
            client,
            "garage_booking",
            {"email"},
            language="fi",
            session_id=None,
            now=datetime.now(UTC),
        )
        session.commit()
        session.close()


def _shop_sign_in(page: Page, shop: RelyingParty) -> dict[str, Any]:
    page.goto(shop.authorize_url(scope="openid profile email"))
    page.wait_for_url(lambda url: path_of(url) == "/login")
    sign_in(page, EMAIL)
    page.wait_for_url(
        lambda url: path_of(url) in {"/consent", "/callback"} or url.startswith(shop.origin)
    )
    if path_of(page.url) == "/consent":
        page.locator("button[name=decision][value=allow]").click()
    tokens = shop.exchange(shop.callback(page))
    assert shop.userinfo(tokens["access_token"]).status_code == 200  # a release to log
    return tokens


def _no_sideways_scroll(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    viewport = page.evaluate("window.innerWidth")
    assert width <= viewport, f"{page.url}: {width} px wide in a {viewport} px window"


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_the_sections_at_desktop_and_phone_width(avain, shop, garage, page, lang):
    make_user(avain, EMAIL, name="Aino Virtanen", phone_number="+358 40 123 4567")
    _profile(
        avain,
        EMAIL,
        given_name="Aino",
        family_name="Virtanen",
        car_registration="ABC-123",
        address={
            "street_address": "Rengaskatu 1",
            "postal_code": "00100",
            "locality": "Helsinki",
            "country": "Suomi",
            "formatted": "Rengaskatu 1\n00100 Helsinki\nSuomi",
        },
    )
    page.set_viewport_size({"width": 1280, "height": 900})
    tokens = _shop_sign_in(page, shop)
    _garage_consent(avain, EMAIL)

    page.goto(f"{avain.url}/account/")
    if lang != "en":
        page.locator(f"nav.langs button[lang={lang}]").click()
    expect(page.locator("html")).to_have_attribute("lang", lang)

    # -- Sharing: turn the email offers on from the shop's card ------------------------------
    nav = page.get_by_role("navigation", name="Oma tili" if lang == "fi" else "Your account")
    nav.get_by_role("link", name=SECTIONS[lang][2]).click()
    shop_card = page.locator("section.card").filter(
        has=page.get_by_role("heading", level=2, name="Rengasverkkokauppa")
    )
    offers = shop_card.locator(".purpose-row").filter(
        has=page.locator(
            "h3", has_text="Tarjoukset sähköpostiin" if lang == "fi" else "Offers by email"
        )
    )
    offers.get_by_role("checkbox").first.check()
    offers.locator("form.turn-on button[type=submit]").click()
    expect(page.get_by_role("status")).to_be_visible()

    # -- each section by the navigation, the current one marked ------------------------------
    for name, path, label in zip(NAMES, PATHS, SECTIONS[lang], strict=True):
        nav.get_by_role("link", name=label).click()
        page.wait_for_url(lambda url, path=path: path_of(url) == path)
        expect(nav.locator("a[aria-current=page]")).to_have_text(label)
        expect(nav.locator("a[aria-current]")).to_have_count(1)
        expect(page.get_by_role("heading", level=1)).to_have_text(label)
        _no_sideways_scroll(page)
        _shot(page, f"account-{name}-{lang}")

    # the shop's card: purposes, claims, since when, what it received, the rights
    page.goto(f"{avain.url}/account/sharing")
    expect(shop_card.locator(".purpose-row")).to_have_count(3)
    expect(shop_card.locator("ul.disclosures li").first).to_contain_text(
        "Rengasverkkokauppa sai" if lang == "fi" else "Rengasverkkokauppa received"
    )
    garage_card = page.locator("section.card").filter(
        has=page.get_by_role("heading", level=2, name="Korjaamo Virtanen")
    )
    expect(garage_card).to_contain_text("Korjaamo Virtanen Oy")  # its own controller

    # -- withdrawing the offers leaves the shop's sign-in ------------------------------------
    withdraw = offers.locator("form[action$='/sharing/withdraw'] button")
    withdraw.click()
    status = page.get_by_role("status")
    expect(status).to_contain_text(
        "Asiakastiliisi tämä ei vaikuta." if lang == "fi" else "your customer account is unaffected"
    )
    assert shop.introspect(tokens["access_token"])["active"] is True

    # -- 390 px: the navigation above the section, nothing scrolls sideways -----------------
    page.set_viewport_size({"width": 390, "height": 844})
    _no_sideways_scroll(page)
    if lang == "fi":
        _shot(page, "account-sharing-390-fi")  # with the withdrawal's notice
    for path in PATHS + ["/account/profile", "/account/password", "/account/delete"]:
        page.goto(f"{avain.url}{path}")
        expect(nav).to_be_visible()
        _no_sideways_scroll(page)
    nav_box = nav.bounding_box()
    main_heading = page.get_by_role("heading", level=1).bounding_box()
    assert nav_box and main_heading and nav_box["y"] < main_heading["y"]

    # the profile form: each label above its field, postal code and city side by side
    page.goto(f"{avain.url}/account/profile")
    for field in ("postal_code", "locality", "street_address", "phone_number"):
        label = page.locator(f"label[for={field}]").bounding_box()
        box = page.locator(f"#{field}").bounding_box()
        assert label and box and label["y"] + label["height"] <= box["y"] + 1, field
        assert box["x"] + box["width"] <= 390, field
    postal = page.locator("#postal_code").bounding_box()
    city = page.locator("#locality").bounding_box()
    assert postal and city and abs(postal["y"] - city["y"]) < 2 and postal["x"] < city["x"]
    phone = page.locator("#phone_number")
    expect(phone).to_have_attribute("type", "tel")
    expect(phone).to_have_attribute("autocomplete", "tel")
    assert phone.evaluate("e => getComputedStyle(e).borderTopStyle") == "solid"
    SHOTS.mkdir(exist_ok=True)  # to look at, not kept
    page.screenshot(path=str(SHOTS / f"account-profile-form-390-{lang}.png"), full_page=True)
    name_height = page.locator("#name").bounding_box()
    phone_box = phone.bounding_box()
    assert name_height and phone_box and abs(name_height["height"] - phone_box["height"]) < 2


def _enrol(page: Page, avain: LiveServer, email: str) -> None:
    page.goto(f"{avain.url}/account/security")
    sign_in(page, email)
    page.wait_for_url(lambda url: path_of(url) == "/account/security")
    page.locator("#passkey-name").fill("Puhelin")
    page.locator("#passkey-add").click()
    page.wait_for_url(lambda url: "notice=passkey_added" in url)


def test_passkeys_only_needs_a_confirmed_email(avain, page):
    page.add_init_script(NO_CONDITIONAL_UI)  # the button, not autofill, signs in
    Authenticator(page)
    make_user(avain, EMAIL, verified=False)
    _enrol(page, avain, EMAIL)
    page.get_by_role("link", name="Use passkeys only…").click()
    page.wait_for_url(lambda url: path_of(url) == "/account/security/passkey-only")
    expect(page.locator("#passkey-only-email")).to_contain_text("Confirm your email address first")
    expect(page.get_by_role("button", name="Remove my password")).to_have_count(0)
    expect(page.locator("#passkey-confirm")).to_have_count(0)


def test_passkeys_only_then_set_a_password(avain, page):
    page.add_init_script(NO_CONDITIONAL_UI)
    authenticator = Authenticator(page)
    page.set_viewport_size({"width": 390, "height": 844})
    make_user(avain, EMAIL)
    _enrol(page, avain, EMAIL)  # signed in with the password: no fresh passkey yet

    page.get_by_role("link", name="Use passkeys only…").click()
    page.wait_for_url(lambda url: path_of(url) == "/account/security/passkey-only")
    expect(page.get_by_role("button", name="Remove my password")).to_have_count(0)
    signs = authenticator.only_credential()["signCount"]
    page.get_by_role("button", name="Confirm with your passkey").click()
    expect(page.get_by_role("status")).to_have_text("Confirmed with your passkey.")
    assert authenticator.only_credential()["signCount"] == signs + 1

    SHOTS.mkdir(exist_ok=True)  # to look at, not kept
    page.screenshot(path=str(SHOTS / "account-passkey-only-390-en.png"), full_page=True)

    # the explicit confirmation: without the tick the browser sends nothing
    remove = page.get_by_role("button", name="Remove my password")
    confirm = page.get_by_role(
        "checkbox", name="I understand: remove my password, and I sign in with passkeys only"
    )
    remove.click()
    assert confirm.evaluate("box => box.validity.valueMissing") is True
    assert path_of(page.url) == "/account/security/passkey-only"
    confirm.check()
    remove.click()
    page.wait_for_url(lambda url: path_of(url) == "/account/security")
    expect(page.get_by_role("status")).to_have_text(
        "Your password was removed. You now sign in with your passkeys only."
    )
    expect(page.get_by_role("link", name="Change password")).to_have_count(0)

    # "Set a password": no old password asked; the passkey confirmed a moment ago stands in
    page.get_by_role("link", name="Set a password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Set a password")
    expect(page.locator("#current_password")).to_have_count(0)
    page.locator("#new_password").fill("a fresh long password")
    page.locator("#new_password_confirm").fill("a fresh long password")
    page.get_by_role("button", name="Save password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password was set")
    expect(page.get_by_role("link", name="Change password")).to_be_visible()

    # the new password signs in; the old one does not
    page.locator("#logout").click()
    page.goto(f"{avain.url}/account/")
    sign_in(page, EMAIL, PASSWORD)
    expect(page.get_by_role("alert")).to_be_visible()
    sign_in(page, EMAIL, "a fresh long password")
    page.wait_for_url(lambda url: path_of(url) == "/account/")
