"""A partner manager in a real browser: creates a client, edits it, rotates its secret (the
console asks for the passkey again first, through Chromium's virtual authenticator), then
reads the garage's data-sharing map and the catalogue's diff between two versions of a
purpose. Screenshots in English and Finnish, also at phone width."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest

from consent import Actor, Channel, ConsentEvent, EventType, ledger as L
from consent.catalogue import load_catalogue
from idp.admin import sessions
from idp.auth import accounts
from idp.db import new_session, utcnow
from idp.ledger.service import sync_purposes
from idp.models import Client, Disclosure, SsfStream, hash_secret
from idp.models.ssf import PUSH
from tests.admin.test_catalogue_page import _changed_catalogue
from tests.browser.helpers import Page, expect
from tests.browser.test_admin_console import _docs, _invite
from tests.browser.test_passkeys import Authenticator
from tests.conftest import PASSWORD
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser
CAEP = "https://schemas.openid.net/secevent/caep/event-type"


def _history(server: LiveServer, tmp_path: Path) -> None:
    """Consents to the garage, then garage_booking changed and Avain "restarted"."""
    app = server.app
    keys = app.extensions["avain.ledger_keys"]
    now = utcnow()

    def event(customer: str, kind: EventType, days: int) -> tuple[ConsentEvent, dict[str, str]]:
        return (
            ConsentEvent(
                customer_id=customer,
                recipient_id="garage",
                purpose_id="garage_booking",
                purpose_version=1,
                type=kind,
                at=now - timedelta(days=days),
                actor=Actor.CUSTOMER,
                channel=Channel.CONSENT_SCREEN,
                claims=frozenset({"name", "phone_number"} if kind == EventType.GIVEN else ()),
            ),
            {},
        )

    with app.app_context():
        s = new_session(app)
        L.append_many(
            s,
            keys,
            [
                event("c1", EventType.GIVEN, 20),
                event("c2", EventType.GIVEN, 10),
                event("c3", EventType.GIVEN, 10),
                event("c3", EventType.WITHDRAWN, 2),
            ],
        )
        L.checkpoint(s, keys)
        customer = accounts.register(s, "aino@example.com", "Aino Asiakas", PASSWORD)
        s.flush()
        s.add(
            Disclosure(
                user_id=customer.id,
                recipient_id="garage",
                channel="userinfo",
                claims=["car_registration", "name", "phone_number"],
                grounds=[{"purpose": "garage_booking", "version": 1, "basis": "consent"}],
                at=now - timedelta(hours=3),
            )
        )
        s.add(
            SsfStream(
                id=str(uuid.uuid4()),
                client_id="garage",
                delivery_method=PUSH,
                endpoint_url="https://garage.example/ssf/events",
                events_requested=[],
                events_delivered=[f"{CAEP}/session-revoked", f"{CAEP}/credential-change"],
            )
        )
        numbered = sync_purposes(s, load_catalogue(_changed_catalogue(tmp_path)))
        s.commit()
        s.close()
    app.extensions["avain.catalogue"] = numbered


def _stored_hash(server: LiveServer, client_id: str) -> str | None:
    with server.app.app_context():
        s = new_session(server.app)
        found = s.get(Client, client_id)
        digest = found.client_secret_hash if found else None
        s.close()
    return digest


def test_create_edit_rotate_and_read_the_maps(avain, page, monkeypatch, tmp_path):
    Authenticator(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(_invite(avain, "partners@example.com", "partners"))
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/")

    # create
    page.click("nav.admin-nav >> text=Clients")
    page.click("#new-client")
    page.fill("#client_id", "garage")
    page.fill("#client_name", "Korjaamo")
    page.fill("#redirect_uris", "https://garage.example/callback")
    page.fill("#post_logout_redirect_uris", "https://garage.example/")
    page.fill("#backchannel_logout_uri", "https://garage.example/logout")
    page.select_option("#subject_type", "pairwise")
    page.click("#save-client")
    expect(page.locator("#client-id")).to_have_text("garage")
    first = page.locator("#client-secret").inner_text()
    assert _stored_hash(avain, "garage") == hash_secret(first)

    # a mistake is shown on the form, with what was typed kept
    page.click("text=Back to the client")
    page.fill("#redirect_uris", "javascript:alert(1)")
    page.click("#save-client")
    expect(page.locator("#form-error")).to_contain_text("redirect_uri must be https")
    expect(page.locator("#redirect_uris")).to_have_value("javascript:alert(1)")

    # edit
    page.fill("#client_name", "Korjaamo Virtanen")
    page.fill("#redirect_uris", "https://garage.example/callback")
    page.click("#save-client")
    expect(page.locator("p.notice")).to_have_text("The client was saved.")
    expect(page.locator("h1")).to_have_text("Korjaamo Virtanen")

    # rotate, six minutes after the sign-in: the passkey first
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(sessions, "clock", lambda: later)
    page.fill("#rotate-reason", "the partner's old secret was mailed in clear")
    page.click("#rotate-secret")
    page.wait_for_url(f"{avain.url}/admin/reverify?next=%2Fadmin%2Fclients%2Fgarage")
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/clients/garage")
    page.fill("#rotate-reason", "the partner's old secret was mailed in clear")
    page.click("#rotate-secret")
    second = page.locator("#client-secret").inner_text()
    assert second != first and _stored_hash(avain, "garage") == hash_secret(second)
    monkeypatch.undo()

    page.goto(f"{avain.url}/admin/clients/garage")
    _docs(page, "admin-clients-en")

    _history(avain, tmp_path)
    page.click("nav.admin-nav >> text=Data sharing")
    page.click("#partners >> text=Korjaamo Virtanen")
    expect(page.locator("#share-garage_booking .active")).to_have_text(
        "0 · 2 to an older version, withheld until asked again"
    )
    expect(page.locator("#last-disclosure")).to_contain_text("car_registration")
    expect(page.locator("#stream")).to_contain_text("https://garage.example/ssf/events")
    expect(page.locator("#share-garage_booking .withdrawals")).to_contain_text("1 in 7 days")
    expect(page.locator("#agreements")).to_contain_text("tire-shop")
    _docs(page, "admin-sharing-en")

    page.click("#share-garage_booking >> text=versions")
    expect(page.locator("#version-2 ins").first).to_have_text("or storage")
    expect(page.locator("#version-2 .effects")).to_contain_text("asked again")
    expect(page.locator("#outdated-consents")).to_contain_text("2")
    _docs(page, "admin-catalogue-en")
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.mark.parametrize("context_options", [{"locale": "fi-FI"}])
def test_the_partner_pages_in_finnish_and_on_a_phone(avain: LiveServer, page: Page, tmp_path):
    Authenticator(page)
    page.goto(_invite(avain, "kumppanit@example.com", "partners"))
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/")
    page.click("nav.admin-nav >> text=Asiakasohjelmat")
    page.click("#new-client")
    page.fill("#client_id", "garage")
    page.fill("#client_name", "Korjaamo Virtanen")
    page.fill("#redirect_uris", "https://garage.example/callback")
    page.click("#save-client")
    expect(page.locator("#client-secret")).to_be_visible()
    _history(avain, tmp_path)

    page.goto(f"{avain.url}/admin/clients/garage")
    expect(page.locator("legend").first).to_have_text("Asiakasohjelma")
    _docs(page, "admin-clients-fi")
    page.goto(f"{avain.url}/admin/sharing/garage")
    expect(page.locator("h2").first).to_have_text("Mitä se saa")
    _docs(page, "admin-sharing-fi")
    page.goto(f"{avain.url}/admin/catalogue/garage_booking")
    expect(page.locator("#version-2 h4").first).to_have_text("Muutokset versioon 1 verrattuna")
    _docs(page, "admin-catalogue-fi")

    page.set_viewport_size({"width": 390, "height": 800})
    for path in (
        "/admin/clients",
        "/admin/clients/garage",
        "/admin/clients/garage/delete",
        "/admin/sharing",
        "/admin/sharing/garage",
        "/admin/catalogue",
        "/admin/catalogue/garage_booking",
    ):
        page.goto(f"{avain.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
