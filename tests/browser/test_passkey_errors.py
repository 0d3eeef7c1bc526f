"""Passkey errors in the customer's language, and a stale CSRF token that heals itself.

Signing in (or out) in another tab rotates the session and with it the CSRF token; the page
left open still holds the old one. static/webauthn.js then fetches the current token and
retries once instead of showing an error. Whatever the script does show comes from the page
(templates/_script_messages.html), so it is in the page's language, never the browser's
English ``NotAllowedError`` text or a bare "error".
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.helpers import Page, expect, make_user, path_of, sign_in
from tests.browser.test_passkeys import EMAIL, NO_CONDITIONAL_UI, Authenticator, enrol
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

TEXTS = {
    "fi": {
        "account": "Profiili",  # the account opens on its Profile section
        "cancelled": "Kirjautuminen pääsyavaimella peruttiin.",
        "exists": "Tällä laitteella on jo pääsyavain tilillesi.",
    },
    "sv": {
        "account": "Profil",
        "cancelled": "Inloggningen med nyckel avbröts.",
        "exists": "Den här enheten har redan en nyckel till ditt konto.",
    },
}


@pytest.fixture(params=sorted(TEXTS))
def lang(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def context_options(lang: str) -> dict[str, Any]:
    return {"locale": f"{lang}-FI"}


def _signed_out_with_passkey(avain: LiveServer, page: Page) -> Authenticator:
    """A customer with a passkey on this page's authenticator, signed out again."""
    authenticator = Authenticator(page)
    make_user(avain, EMAIL)
    enrol(page, avain)
    page.context.clear_cookies()
    page.add_init_script(NO_CONDITIONAL_UI)  # the button starts the ceremony
    return authenticator


def test_passkey_sign_in_after_signing_in_in_another_tab(avain, page, lang):
    _signed_out_with_passkey(avain, page)
    page.goto(f"{avain.url}/login")
    answers: list[tuple[str, int]] = []
    page.on("response", lambda r: answers.append((path_of(r.url), r.status)))

    other = page.context.new_page()  # the second tab signs in: the session (and token) rotate
    other.goto(f"{avain.url}/login")
    sign_in(other, EMAIL)
    other.wait_for_url(lambda url: path_of(url) == "/account/")
    other.close()

    page.locator("#passkey-login").click()
    page.wait_for_url(lambda url: path_of(url) == "/account/")
    expect(page.locator("h1")).to_have_text(TEXTS[lang]["account"])
    calls = [a for a in answers if a[0].startswith(("/passkeys/", "/csrf-token"))]
    assert calls == [
        ("/passkeys/login/options", 400),  # the stale token was refused ...
        ("/csrf-token", 200),  # ... a fresh one fetched ...
        ("/passkeys/login/options", 200),  # ... and the call retried once
        ("/passkeys/login/verify", 200),
    ], calls


def test_a_cancelled_ceremony_is_told_in_the_page_language(avain, page, lang):
    authenticator = _signed_out_with_passkey(avain, page)
    authenticator.set_user_verified(False)  # Chromium rejects get() with NotAllowedError
    page.goto(f"{avain.url}/login")
    page.locator("#passkey-login").click()
    error = page.locator("#passkey-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(TEXTS[lang]["cancelled"])
    assert path_of(page.url) == "/login"


def test_a_second_passkey_on_the_same_device_is_told_in_the_page_language(avain, page, lang):
    Authenticator(page)
    make_user(avain, EMAIL)
    enrol(page, avain)
    # excludeCredentials names the passkey this authenticator has: InvalidStateError, whose
    # own text ("The user attempted to register an authenticator that contains ...") is English.
    page.locator("#passkey-add").click()
    error = page.locator("#passkey-error")
    expect(error).to_be_visible()
    expect(error).to_have_text(TEXTS[lang]["exists"])
