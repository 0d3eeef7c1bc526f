"""The customer's rights on the account page, in a real browser: objecting to processing on
legitimate interest (GDPR Art. 21) by keyboard, restricting processing (Art. 18), and deleting
the account (Art. 17).

The shop is the catalogue's recipient ``tire-shop`` (config/purposes.toml): purpose
``account`` on the customer contract (name and email necessary), ``marketing_email`` on
consent (email and first name optional) and ``service_reminders`` on legitimate interest
(first name and email necessary). The first name leaves Avain only under service reminders,
so objecting to them is what stops it.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    PASSWORD,
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

ROOT = Path(__file__).resolve().parent.parent.parent
SCOPE = "openid profile email"
# Scope claims go to userinfo; the ID token carries those asked for by name (OIDC Core §5.5).
CLAIMS = json.dumps({"id_token": {"given_name": None, "email": None}})


def _catalogue() -> dict[str, Any]:
    with (ROOT / "config" / "purposes.toml").open("rb") as f:
        return tomllib.load(f)


CATALOGUE = _catalogue()
SHOP = next(r["name"] for r in CATALOGUE["recipients"] if r["id"] == "tire-shop")
TITLE = {p["id"]: p["texts"]["en"]["title"] for p in CATALOGUE["purposes"]}
REMINDERS = TITLE["service_reminders"]
ACCOUNT = TITLE["account"]


@pytest.fixture
def shop(avain: LiveServer) -> Iterator[RelyingParty]:
    rp = RelyingParty.start(avain, SHOP, client_id="tire-shop")
    yield rp
    rp.stop()


def _first_sign_in(page: Page, rp: RelyingParty, email: str) -> dict[str, Any]:
    """Sign in through the shop; on the consent screen tick nothing and continue."""
    page.goto(rp.authorize_url(scope=SCOPE, claims=CLAIMS))
    page.wait_for_url(lambda url: path_of(url) == "/login")
    sign_in(page, email)
    page.wait_for_url(lambda url: path_of(url) == "/consent")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"{SHOP} wants to use your Avain account"
    )
    for box in page.get_by_role("checkbox").all():
        expect(box).not_to_be_checked()
    page.get_by_role("button", name="Continue").click()
    return rp.exchange(rp.callback(page))


def _sharing_item(page: Page, title: str) -> Any:
    # by its title: an offered purpose's full text (behind Details) may name another's title
    return page.locator(".purpose-row").filter(has=page.locator("h3", has_text=title))


def test_objecting_to_legitimate_interest_by_keyboard(avain, shop, page):
    make_user(avain, "aino@example.com", name="Aino Virtanen")
    tokens = _first_sign_in(page, shop, "aino@example.com")

    # Legitimate interest lets the first name out though nothing was ticked.
    claims = id_token_claims(avain, tokens["id_token"])
    assert claims["given_name"] == "Aino"
    assert claims["email"] == "aino@example.com"
    info = shop.userinfo(tokens["access_token"])
    assert info.status_code == 200, info.text
    assert info.json()["given_name"] == "Aino"
    assert shop.introspect(tokens["access_token"])["active"] is True

    # -- the account page offers the right to object ----------------------------------------
    page.goto(f"{avain.url}/account/sharing")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sharing")
    item = _sharing_item(page, REMINDERS)
    expect(item).to_have_count(1)
    expect(item).to_contain_text(SHOP)
    expect(item.locator(".status-active")).to_have_text("shared")
    expect(item).to_contain_text("Basis: our legitimate interest")
    expect(item).to_contain_text("Shared: Your email address, Your first name")
    objection = item.get_by_role("button", name=f"Object to this: {REMINDERS}, {SHOP}")
    expect(objection).to_have_text("Object to this")

    # Keyboard: focus the button, Enter submits its form.
    objection.focus()
    expect(objection).to_be_focused()
    page.keyboard.press("Enter")

    expect(page.get_by_role("status")).to_contain_text("Your objection was recorded")
    item = _sharing_item(page, REMINDERS)
    expect(item.locator(".status-objected")).to_have_text("objected to")
    expect(item).not_to_contain_text("Shared:")
    expect(item.get_by_role("button", name=f"Object to this: {REMINDERS}, {SHOP}")).to_have_count(0)
    expect(item.get_by_text("Object to this")).to_have_count(0)

    # The shop's sign-in rests on the customer contract, not on the reminders: its token
    # from the earlier sign-in keeps working, without the first name.
    assert shop.introspect(tokens["access_token"])["active"] is True
    assert "given_name" not in shop.userinfo(tokens["access_token"]).json()

    # -- signing in again: single sign-on, no form; the first name stays home ---------------
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(shop.authorize_url(scope=SCOPE, claims=CLAIMS))
    again = shop.exchange(shop.callback(page))
    avain_paths = [path_of(u) for u in requested if u.startswith(avain.url)]
    assert avain_paths == ["/authorize"], avain_paths
    claims = id_token_claims(avain, again["id_token"])
    assert "given_name" not in claims
    assert claims["email"] == "aino@example.com"
    body = shop.userinfo(again["access_token"]).json()
    assert "given_name" not in body
    assert body["email"] == "aino@example.com"


def test_restricting_the_customer_account(avain, shop, page):
    make_user(avain, "eino@example.com", name="Eino Korhonen")
    tokens = _first_sign_in(page, shop, "eino@example.com")
    assert id_token_claims(avain, tokens["id_token"])["email"] == "eino@example.com"

    page.goto(f"{avain.url}/account/sharing")
    item = _sharing_item(page, ACCOUNT)
    expect(item).to_have_count(1)
    expect(item.locator(".status-active")).to_have_text("shared")
    expect(item).to_contain_text("Basis: your customer contract")
    # The button waits inside a closed disclosure, out of sight and out of the a11y tree.
    restrict = item.get_by_role("button", name=f"Restrict use: {ACCOUNT}, {SHOP}")
    expect(restrict).to_have_count(0)

    # Keyboard: the disclosure opens with Enter on its summary, then Space presses the button.
    summary = item.get_by_text("Are these details wrong, or used wrongly?")
    summary.focus()
    expect(summary).to_be_focused()
    page.keyboard.press("Enter")
    expect(item.locator("details")).to_have_attribute("open", "")
    expect(restrict).to_be_visible()
    expect(restrict).to_have_text("Restrict use")
    restrict.focus()
    expect(restrict).to_be_focused()
    page.keyboard.press("Space")

    expect(page.get_by_role("status")).to_contain_text(
        "The use of your details for this was restricted"
    )
    item = _sharing_item(page, ACCOUNT)
    expect(item.locator(".status-restricted")).to_have_text("restricted")
    expect(item.get_by_role("button", name=f"Restrict use: {ACCOUNT}, {SHOP}")).to_have_count(0)
    assert shop.introspect(tokens["access_token"]) == {"active": False}


def test_deleting_the_account(avain, page):
    make_user(avain, "maija@example.com", name="Maija Mäkinen")
    page.goto(f"{avain.url}/account/")
    page.wait_for_url(lambda url: path_of(url) == "/login")
    sign_in(page, "maija@example.com")
    page.wait_for_url(lambda url: path_of(url) == "/account/")

    page.get_by_role("link", name="Privacy", exact=True).click()
    page.get_by_role("link", name="Delete your account").click()
    page.wait_for_url(lambda url: path_of(url) == "/account/delete")
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account")
    expect(page.locator("main")).to_contain_text("This cannot be undone.")

    password = page.get_by_label("Your password")
    confirm = page.get_by_role("checkbox", name="I want to delete my account for good")
    delete = page.get_by_role("button", name="Delete my account")

    # Without the tick the browser does not submit the form at all.
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    password.fill(PASSWORD)
    expect(confirm).not_to_be_checked()
    delete.click()
    assert confirm.evaluate("box => box.validity.valueMissing") is True
    assert path_of(page.url) == "/account/delete"
    expect(page.get_by_role("heading", level=1)).to_have_text("Delete your account")

    confirm.check()
    delete.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account was deleted")
    expect(page.get_by_role("status")).to_contain_text("You were signed out everywhere")
    # One POST in all: the blocked click sent nothing.
    assert [path_of(u) for u in posts] == ["/account/delete"]

    # Signed out, and the old password opens nothing.
    page.goto(f"{avain.url}/account/")
    page.wait_for_url(lambda url: path_of(url) == "/login")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    sign_in(page, "maija@example.com")
    expect(page.get_by_role("alert")).to_have_text("The email address or password is not correct.")
    assert path_of(page.url) == "/login"
    page.goto(f"{avain.url}/account/")
    assert path_of(page.url) == "/login"
