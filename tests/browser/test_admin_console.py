"""The admin console in a real browser: Chromium's virtual authenticator plays the admin's
passkey. An owner enrols from the link `idp admins create` prints, lands on the Overview,
signs out, signs in again with the passkey alone, and confirms a dangerous action with the
passkey; the console's CSP lets static/admin.js run and nothing inline."""

from __future__ import annotations

import os
import shutil
from datetime import timedelta

import pytest

from idp.admin import accounts, sessions
from idp.db import new_session, utcnow
from idp.models import Role
from tests.browser.helpers import Page, expect, path_of
from tests.browser.test_passkeys import DOCS, Authenticator, _shot
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser


def _invite(server: LiveServer, email: str, role: str = "owner") -> str:
    with server.app.app_context():
        s = new_session(server.app)
        made = accounts.create(s, email, Role(role), None, utcnow())
        s.commit()
        s.close()
    return f"{server.url}/admin/enrol/{made.token}"


def _docs(page: Page, name: str) -> None:
    path = _shot(page, name)
    if os.environ.get("AVAIN_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / path.name)


def test_enrol_sign_out_and_sign_in_with_the_passkey(avain, page, monkeypatch):
    authenticator = Authenticator(page)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(_invite(avain, "owner@example.com"))
    expect(page.locator("h1")).to_have_text("Set up your console passkey")
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/")
    expect(page.locator("h1")).to_have_text("Overview")
    expect(page.locator("#customers")).to_have_text("0")
    assert len(authenticator.credentials()) == 1
    _docs(page, "admin-overview-en")

    page.click("nav.admin-nav button[type=submit]")  # sign out
    page.wait_for_url(f"{avain.url}/admin/sign-in")
    page.goto(f"{avain.url}/admin/admins")
    assert path_of(page.url) == "/admin/sign-in"
    _docs(page, "admin-sign-in-en")
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/admins")
    expect(page.locator("h1")).to_have_text("Admins")

    # a dangerous action five minutes later asks for the passkey again, then goes through
    _invite(avain, "leaver@example.com", "support")
    page.reload()
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(sessions, "clock", lambda: later)
    page.fill("#reason-2", "left the company")
    page.click("#admins li:nth-child(2) button.danger")
    page.wait_for_url(f"{avain.url}/admin/reverify?next=%2Fadmin%2Fadmins")
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/admins")
    page.fill("#reason-2", "left the company")
    page.click("#admins li:nth-child(2) button.danger")
    page.wait_for_url(f"{avain.url}/admin/admins")
    expect(page.locator("#admins li").nth(1)).to_contain_text("disabled")
    assert not [e for e in errors if "Content Security Policy" in e], errors


@pytest.mark.parametrize("context_options", [{"locale": "fi-FI"}])
def test_the_console_in_finnish(avain: LiveServer, page: Page) -> None:
    Authenticator(page)
    page.goto(_invite(avain, "omistaja@example.com"))
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    page.click("#admin-passkey")
    page.wait_for_url(f"{avain.url}/admin/")
    expect(page.locator("h1")).to_have_text("Yleiskatsaus")
    _docs(page, "admin-overview-fi")
    # usable on a phone: nothing wider than 390 px, the menu reachable by keyboard
    page.set_viewport_size({"width": 390, "height": 800})
    for path in ("/admin/", "/admin/admins", "/admin/audit"):
        page.goto(f"{avain.url}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
    page.goto(f"{avain.url}/admin/")
    focused = []
    for _ in range(20):  # past the header, the language switch and the whole menu
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.textContent.trim()"))
    assert "Ylläpitäjät" in focused and "Kirjaudu ulos" in focused, focused
