"""The consent screen measured in a real browser (issue 13): every claim a client can receive
appears on the screen, and the ledger event recorded says nothing the screen contradicts.

Three screens: the shop's sign-in (a catalogue recipient: its account on contract, service
reminders on legitimate interest, marketing offered on the account page instead), the
garage's (one purpose on consent: a switch with its claims beneath, the garage's own company
as controller) and a client outside the catalogue (all or nothing). Each is read as rendered:
the claims it lists (``data-claim``), its switches and boxes; the customer answers; the
claims the client then receives must all be on the screen, and each event in the customer's
history export (and its sealed details) must match what was shown and chosen.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import Page, RelyingParty, expect, make_user, path_of, sign_in
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent.parent
SHOTS = Path(__file__).resolve().parent / "screenshots"
DOCS = ROOT / "docs" / "screenshots"
PHONE = "+358 40 123 4567"


def _shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if os.environ.get("AVAIN_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")


@pytest.fixture
def rps(avain: LiveServer) -> Iterator[dict[str, RelyingParty]]:
    started = {
        "shop": RelyingParty.start(avain, "Rengasverkkokauppa", client_id="tire-shop"),
        "garage": RelyingParty.start(avain, "Korjaamo Virtanen", client_id="garage"),
        "other": RelyingParty.start(avain, "Kahvila Kuppi"),
    }
    yield started
    for rp in started.values():
        rp.stop()


def _to_consent(page: Page, rp: RelyingParty, email: str, scope: str, lang: str) -> None:
    page.goto(rp.authorize_url(scope=scope, ui_locales=lang))
    page.wait_for_url(lambda url: path_of(url) == "/login")
    sign_in(page, email)
    page.wait_for_url(lambda url: path_of(url) == "/consent")


def _read_screen(page: Page) -> dict[str, Any]:
    """What the rendered screen shows: the claims per section, the switches and boxes."""
    always = {
        group.get_attribute("data-always"): group.locator("li[data-claim]").evaluate_all(
            "els => els.map(e => e.dataset.claim)"
        )
        for group in page.locator("[data-always]").all()
    }
    purposes: dict[str, dict[str, Any]] = {}
    for group in page.locator("form [data-purpose]").all():
        pid = group.get_attribute("data-purpose") or ""
        purposes[pid] = {
            "switch": group.get_by_role("switch").count() == 1,
            "listed": group.locator("li[data-claim]").evaluate_all(
                "els => els.map(e => e.dataset.claim)"
            ),
            "boxes": group.locator("input[data-claim]").evaluate_all(
                "els => els.map(e => e.dataset.claim)"
            ),
        }
    shown = {c for claims in always.values() for c in claims}
    for p in purposes.values():
        shown |= set(p["listed"]) | set(p["boxes"])
    return {
        "always": always,
        "purposes": purposes,
        "claims": shown,
        "controller": page.locator("#controller").inner_text(),
    }


def _released(rp: RelyingParty, page: Page) -> set[str]:
    tokens = rp.exchange(rp.callback(page))
    info = rp.userinfo(tokens["access_token"])
    assert info.status_code == 200, info.text
    return set(info.json()) - {"sub"}


def _history(avain: LiveServer, page: Page, user_id: str) -> list[tuple[dict[str, Any], dict]]:
    """The customer's export (as downloaded from the account page) with each event's details."""
    from consent import ledger
    from idp.db import new_session
    from idp.ledger import sequencer

    sequencer.drain(avain.app)
    resp = page.request.get(f"{avain.url}/account/sharing/export.json")
    assert resp.ok, resp.text()
    records = resp.json()["records"]
    with avain.app.app_context():
        session = new_session(avain.app)
        try:
            keys = avain.app.extensions["avain.ledger_keys"]
            rows = ledger.customer_rows(session, keys, user_id)
            details = [ledger.details(session, keys, user_id, row) for row in rows]
        finally:
            session.close()
    assert [r["recordId"] for r in records] == [row.seq for row in rows]
    return list(zip(records, details, strict=True))


def _check_event(record: dict, details: dict, screen: dict, purpose: str, lang: str) -> None:
    """Nothing in the event contradicts the screen: what it listed, offered and named."""
    shown = screen["purposes"][purpose]
    assert record["purposeId"] == purpose
    assert record["collectionMethod"] == "consent_screen" and record["language"] == lang
    assert sorted(o["claim"] for o in record["offered"]) == sorted(shown["boxes"])
    assert all(o["defaultState"] is False for o in record["offered"])
    # a purpose on another basis lists what it needs under "always shared", not again here
    listed = shown["listed"] + screen["always"].get(purpose, [])
    assert sorted(details["necessary_shown"]) == sorted(listed)
    assert details["controller"] in screen["controller"]
    assert details["always_shown"] == screen["always"]


@pytest.mark.parametrize("lang", ["en", "fi"])
def test_the_shop_screen_shows_every_claim_and_the_event_matches(avain, rps, page, lang):
    user = make_user(avain, f"aino.{lang}@example.com", name="Aino Virtanen")
    shop = rps["shop"]
    _to_consent(page, shop, user.email, "openid profile email", lang)
    screen = _read_screen(page)
    _shot(page, f"consent-shop-{lang}")

    # always shared: the account (contract) and service reminders (legitimate interest)
    assert screen["always"] == {
        "account": ["name", "email", "email_verified"],
        "service_reminders": ["given_name", "email"],
    }
    assert "Avain Demo Oy" in screen["controller"]
    # marketing is offered on the account page, not here; no switch on this screen
    assert "marketing_email" not in screen["purposes"]
    assert screen["purposes"] == {"account": {"switch": False, "listed": [], "boxes": ["locale"]}}
    objection = page.locator("[data-always=service_reminders] a")
    expect(objection).to_have_attribute("href", "/account/sharing")

    page.get_by_role("checkbox").check()  # the one choice: the language
    page.locator("button[name=decision][value=allow]").click()
    released = _released(shop, page)
    assert released <= screen["claims"], released - screen["claims"]
    assert {"name", "email", "email_verified", "given_name"} <= released  # (no locale set)

    ((record, details),) = _history(avain, page, user.id)
    assert record["eventType"] == "given" and record["piiInformation"] == ["locale"]
    _check_event(record, details, screen, "account", lang)


def test_the_garage_switch_and_its_claims_move_together(avain, rps, page):
    user = make_user(avain, "eino@example.com", name="Eino Korhonen", phone_number=PHONE)
    garage = rps["garage"]
    _to_consent(page, garage, user.email, "openid profile email phone", "en")
    screen = _read_screen(page)
    assert "Korjaamo Virtanen Oy" in screen["controller"]
    assert "Avain Demo Oy" not in page.locator("main").inner_text()
    assert screen["always"] == {}
    assert screen["purposes"] == {
        "garage_booking": {
            "switch": True,
            "listed": ["name", "phone_number", "car_registration"],  # in reading order
            "boxes": ["email", "tire_purchase"],
        }
    }
    switch = page.get_by_role("switch", name="Tire fitting booking")
    email = page.get_by_role("checkbox", name="Your email address")
    tires = page.get_by_role("checkbox", name="The tires you bought")
    expect(switch).not_to_be_checked()
    # the full purpose text is behind Details
    details = page.locator("[data-purpose=garage_booking] details")
    expect(details.locator("p")).not_to_be_visible()
    details.locator("summary").click()
    expect(details.locator("p")).to_contain_text("Korjaamo Virtanen so that the garage")

    tires.check()  # ticking a claim turns the purpose on
    expect(switch).to_be_checked()
    switch.uncheck()  # turning it off clears its claims
    expect(tires).not_to_be_checked()
    email.check()
    expect(switch).to_be_checked()
    _shot(page, "consent-garage-en")
    page.locator("button[name=decision][value=allow]").click()

    released = _released(garage, page)
    assert released <= screen["claims"], released - screen["claims"]
    assert released == {"name", "phone_number", "email"}
    ((record, details),) = _history(avain, page, user.id)
    assert record["eventType"] == "given" and record["piiInformation"] == ["email"]
    _check_event(record, details, screen, "garage_booking", "en")


@pytest.mark.parametrize("lang", ["en", "fi"])
def test_a_client_outside_the_catalogue_is_asked_all_or_nothing(avain, rps, page, lang):
    user = make_user(avain, f"aada.{lang}@example.com", name="Aada Lahtinen")
    other = rps["other"]
    _to_consent(page, other, user.email, "openid profile email", lang)
    screen = _read_screen(page)
    _shot(page, f"consent-other-{lang}")
    expect(page.get_by_role("checkbox")).to_have_count(0)  # no choice it would not honour
    # outside the catalogue: who shares, and that the client answers for its own use
    assert "Avain Demo Oy" in screen["controller"] and "Kahvila Kuppi" in screen["controller"]
    expect(page.get_by_role("switch")).to_have_count(0)
    (purpose,) = screen["purposes"]
    listed = screen["purposes"][purpose]["listed"]
    assert set(listed) == {
        "name",
        "given_name",
        "family_name",
        "email",
        "email_verified",
        "locale",
        "updated_at",
    }
    page.locator("button[name=decision][value=allow]").click()
    released = _released(other, page)
    assert released <= screen["claims"], released - screen["claims"]

    ((record, details),) = _history(avain, page, user.id)
    assert record["eventType"] == "given"
    assert record["piiInformation"] == sorted(listed)  # exactly what the screen listed
    _check_event(record, details, screen, purpose, lang)


def test_marketing_is_offered_on_the_account_page_with_its_text(avain, rps, page):
    """Not bundled into signing in: the account page offers it with its full text, and
    turning it on records exactly what that page showed and what was ticked."""
    user = make_user(avain, "ilona@example.com", name="Ilona Mäkinen")
    shop = rps["shop"]
    _to_consent(page, shop, user.email, "openid profile email", "en")
    page.locator("button[name=decision][value=allow]").click()
    shop.callback(page)

    page.goto(f"{avain.url}/account/sharing")
    item = page.locator(".purpose-row").filter(has=page.locator("h3", has_text="Offers by email"))
    expect(item).to_contain_text("not shared")
    item.locator("summary").click()
    expect(item.locator("details p")).to_contain_text("tire offers")
    boxes = item.get_by_role("checkbox")
    expect(boxes).to_have_count(2)
    for box in boxes.all():
        expect(box).not_to_be_checked()
    item.get_by_role("checkbox", name="Your email address").check()
    _shot(page, "account-offer-en")
    item.get_by_role("button", name="Turn on: Offers by email, Rengasverkkokauppa").click()
    expect(page.get_by_role("status")).to_contain_text("Your consent was recorded.")
    expect(item).to_contain_text("shared")

    record, details = _history(avain, page, user.id)[-1]
    assert (record["purposeId"], record["eventType"]) == ("marketing_email", "given")
    assert record["collectionMethod"] == "account_page"
    assert record["piiInformation"] == ["email"]
    assert [o["claim"] for o in record["offered"]] == ["email", "given_name"]
    assert details["necessary_shown"] == []
