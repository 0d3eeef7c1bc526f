"""The console's Customers in a real browser, the admin's passkey in Chromium's virtual
authenticator: an owner searches, opens a customer, records an objection-free withdrawal
received by phone, ends sessions, locks and unlocks sign-in, and erases the customer after
confirming with the passkey again. Screenshots in en and fi."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent import Actor, Channel, ConsentEvent, EventType, ledger as L
from idp.admin import sessions
from idp.db import new_session, utcnow
from idp.models import User
from idp.oauth.clients import ClientSpec, create
from idp.outbound import policy_from
from idp.sso import sessions as sso
from tests.browser.helpers import Page, expect
from tests.browser.test_admin_console import _docs, _invite
from tests.browser.test_passkeys import Authenticator
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser


def _customer(server: LiveServer) -> str:
    """Aino Virtanen: signed in on two devices, a consent to the garage in the ledger."""
    app = server.app
    keys = app.extensions["avain.ledger_keys"]
    now = utcnow()
    with app.app_context():
        s = new_session(app)
        for client_id, name in (("garage", "Korjaamo Virtanen"), ("tire-shop", "Rengaskauppa")):
            create(
                s,
                ClientSpec(name, ["https://example.com/cb"], client_id=client_id),
                policy_from(app.config["AVAIN"]),
            )
        user = User(
            email="aino.virtanen@example.com",
            name="Aino Virtanen",
            given_name="Aino",
            family_name="Virtanen",
            phone_number="+358 40 123 4567",
            email_verified=True,
            locale="fi",
        )
        s.add(user)
        s.add(User(email="ville.virtala@example.com", name="Ville Virtala", family_name="Virtala"))
        s.flush()
        for agent in ("Mozilla/5.0 (iPhone) Safari/604.1", "Mozilla/5.0 (Windows) Firefox/128.0"):
            sso.start_session(s, user, 3600, ["pwd"], user_agent=agent, ip="203.0.113.7")
        given = ConsentEvent(
            customer_id=user.id,
            recipient_id="garage",
            purpose_id="garage_booking",
            purpose_version=1,
            type=EventType.GIVEN,
            at=now - timedelta(days=3),
            actor=Actor.CUSTOMER,
            channel=Channel.CONSENT_SCREEN,
            claims=frozenset({"phone_number", "car_registration"}),
            notice_version="2026-11",
            language="fi",
            offered=(("phone_number", False), ("car_registration", False)),
        )
        L.append_many(s, keys, [(given, {"chosen": ["car_registration", "phone_number"]})])
        L.checkpoint(s, keys)
        s.commit()
        found = user.id
        s.close()
    return found


def _sign_in(avain: LiveServer, page: Page, email: str, role: str = "owner") -> Authenticator:
    authenticator = Authenticator(page)
    page.goto(_invite(avain, email, role))
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/")
    return authenticator


def test_search_open_act_and_erase(avain: LiveServer, page: Page, monkeypatch) -> None:
    customer_id = _customer(avain)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    _sign_in(avain, page, "owner@example.com")
    page.click("nav.admin-nav >> text=Customers")
    page.fill("#q", "virt")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#results li")).to_have_count(2)
    _docs(page, "admin-customers-en")
    page.click("#results >> text=Aino Virtanen")
    page.wait_for_url(f"{avain.url}/admin/customers/{customer_id}")
    expect(page.locator("h1")).to_have_text("Aino Virtanen")
    expect(page.locator("#sessions tbody tr")).to_have_count(2)
    expect(page.locator(".timeline .proof").first).to_have_text("proven in the checkpoint")
    _docs(page, "admin-customer-en")

    # a withdrawal the customer asked for by phone: an admin-acted ledger event
    page.select_option("#rights-target", "garage|garage_booking")
    page.select_option("#rights-action", "withdraw")
    page.select_option("#rights-channel", "phone")
    page.fill("#rights-reason", "Called on 2 Dec, identity checked by a text message")
    page.click("#rights-submit")
    expect(page.locator("#done")).to_contain_text("recorded in the consent ledger")
    newest = page.locator(".timeline li").first
    expect(newest).to_contain_text("withdrawn")
    expect(newest).to_contain_text("an admin (owner@example.com)")
    expect(newest).to_contain_text("phone")
    expect(newest).to_contain_text("identity checked by a text message")

    # sessions: one, then the rest
    page.click("#sessions tbody tr:first-child button")
    expect(page.locator("#done")).to_have_text("The session was ended.")
    expect(page.locator("#sessions tbody tr")).to_have_count(1)
    page.click("#end-all")
    expect(page.locator("#sessions")).to_have_text("Not signed in anywhere.")

    # lock and unlock, each with a reason
    page.click("#lock")  # the browser asks for the reason first
    expect(page.locator("#sign-in-state")).not_to_contain_text("locked")
    page.fill("#lock-reason", "account taken over")
    page.click("#lock")
    expect(page.locator("#sign-in-state")).to_contain_text("locked since")
    page.fill("#lock-reason", "identity checked at the shop")
    page.click("#unlock")
    expect(page.locator("#sign-in-state")).to_contain_text("open")

    # erasure asks for the passkey again when the last check is not fresh
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(sessions, "clock", lambda: later)
    page.fill("#erase-reason", "Art. 17 request by letter")
    page.fill("#erase-confirm", "aino.virtanen@example.com")
    page.click("#erase")
    page.wait_for_url(f"{avain.url}/admin/reverify?**")
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/customers/{customer_id}")
    page.fill("#erase-reason", "Art. 17 request by letter")
    page.fill("#erase-confirm", "aino.virtanen@example.com")
    page.click("#erase")
    page.wait_for_url(f"{avain.url}/admin/customers?done=erased")
    expect(page.locator("p.notice")).to_have_text("The customer was erased.")
    page.fill("#q", "aino")
    page.click("form[role=search] button[type=submit]")
    expect(page.locator("#results")).to_have_text("No customer matches.")
    page.goto(f"{avain.url}/admin/audit")
    for action in ("erased", "sign_in_unlocked", "sign_in_locked", "rights_request", "viewed"):
        expect(page.locator("#entries")).to_contain_text(action)
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.mark.parametrize("context_options", [{"locale": "fi-FI"}])
def test_customers_in_finnish_on_a_phone(avain: LiveServer, page: Page) -> None:
    customer_id = _customer(avain)
    _sign_in(avain, page, "tietosuoja@example.com", "privacy")
    page.goto(f"{avain.url}/admin/customers?q=040+123")
    expect(page.locator("h1")).to_have_text("Asiakkaat")
    expect(page.locator("#results li")).to_have_count(1)
    _docs(page, "admin-customers-fi")
    page.click("#results a")
    page.wait_for_url(f"{avain.url}/admin/customers/{customer_id}")
    expect(page.locator(".timeline .proof").first).to_have_text("todistettu tarkistuspisteessä")
    _docs(page, "admin-customer-fi")
    page.set_viewport_size({"width": 390, "height": 800})
    for path in ("/admin/customers?q=virt", f"/admin/customers/{customer_id}"):
        page.goto(f"{avain.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
