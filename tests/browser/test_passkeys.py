"""Passkeys in a real browser: Chromium's virtual authenticator (DevTools WebAuthn domain)
plays the customer's phone or laptop. Adding one on the account page, signing in with the
button (usernameless and email first), through a relying party (``amr``/``acr`` in the ID
token), by autofill (conditional UI), as second factor after the password, step-up from a
client inside a password session, failed user verification, a cloned passkey with a
rolled-back counter, removing a passkey, and screenshots in Finnish and Swedish.

Facts these tests rest on (Chromium 156, checked):

- The virtual authenticator belongs to the page it was added on, so each simulated person
  gets a page and an authenticator of their own.
- With ``automaticPresenceSimulation`` the authenticator also answers a conditional
  (autofill) request at once: /login signs in by itself about 0.1 s after it loads, no focus
  or click needed. The tests of the button therefore load the page with conditional
  mediation reported unavailable (as in a browser without passkey autofill), so the button
  is what starts the ceremony; ``test_autofill_signs_in_without_a_click`` covers autofill.
- With user verification failing, Chromium does not send an assertion without the UV flag:
  ``get()`` rejects with NotAllowedError and nothing reaches /passkeys/login/verify. The
  server's own refusal of a missing UV flag is tested without a browser (tests/auth).
- The counter counts the registration too: 1 after adding, then 2, 3, ... per sign-in.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.browser.helpers import (
    Page,
    expect,
    id_token_claims,
    make_user,
    path_of,
    sign_in,
)
from tests.live_server import LiveServer

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
SHOTS = HERE / "screenshots"
DOCS = HERE.parent.parent / "docs" / "screenshots"
EMAIL = "aino@example.com"
DEVICE = "Työkannettava"

# A browser without passkey autofill: passkeys.js then starts no conditional request.
NO_CONDITIONAL_UI = """
if (window.PublicKeyCredential) {
  Object.defineProperty(PublicKeyCredential, "isConditionalMediationAvailable", {
    value: async () => false, configurable: true,
  });
}
"""


class Authenticator:
    """Chromium's virtual platform authenticator on one page (one simulated person)."""

    def __init__(self, page: Page) -> None:
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("WebAuthn.enable", {"enableUI": False})
        self.id = self.cdp.send(
            "WebAuthn.addVirtualAuthenticator",
            {
                "options": {
                    "protocol": "ctap2",
                    "ctap2Version": "ctap2_1",
                    "transport": "internal",
                    "hasResidentKey": True,
                    "hasUserVerification": True,
                    "isUserVerified": True,
                    "automaticPresenceSimulation": True,
                }
            },
        )["authenticatorId"]

    def credentials(self) -> list[dict[str, Any]]:
        creds: list[dict[str, Any]] = self.cdp.send(
            "WebAuthn.getCredentials", {"authenticatorId": self.id}
        )["credentials"]
        return creds

    def only_credential(self) -> dict[str, Any]:
        creds = self.credentials()
        assert len(creds) == 1, creds
        return creds[0]

    def set_user_verified(self, verified: bool) -> None:
        self.cdp.send(
            "WebAuthn.setUserVerified", {"authenticatorId": self.id, "isUserVerified": verified}
        )

    def remove(self, credential_id: str) -> None:
        self.cdp.send(
            "WebAuthn.removeCredential",
            {"authenticatorId": self.id, "credentialId": credential_id},
        )

    def add(self, credential: dict[str, Any]) -> None:
        self.cdp.send(
            "WebAuthn.addCredential", {"authenticatorId": self.id, "credential": credential}
        )


@pytest.fixture
def authenticator(page: Page) -> Authenticator:
    return Authenticator(page)


@pytest.fixture
def no_autofill(page: Page) -> Page:
    page.add_init_script(NO_CONDITIONAL_UI)
    return page


def b64url(cdp_id: str) -> str:
    """CDP gives credential ids in standard base64; Avain and WebAuthn JSON use base64url."""
    return base64.urlsafe_b64encode(base64.b64decode(cdp_id)).decode().rstrip("=")


def stored_passkeys(server: LiveServer, email_address: str) -> list[dict[str, Any]]:
    from idp.auth import passkeys
    from idp.auth.accounts import find_by_email
    from idp.db import new_session

    with server.app.app_context():
        session = new_session(server.app)
        try:
            user = find_by_email(session, email_address)
            assert user is not None
            return [
                {
                    "id": p.id,
                    "name": p.name,
                    "user_id": p.user_id,
                    "sign_count": p.sign_count,
                    "device_type": p.device_type,
                    "blocked": p.blocked_reason if p.blocked_at else None,
                }
                for p in passkeys.of_user(session, user)
            ]
        finally:
            session.close()


def passkey_calls(page: Page) -> list[tuple[str, str | None]]:
    """Every request the page makes to /passkeys/..., with its body, in order."""
    calls: list[tuple[str, str | None]] = []
    page.on(
        "request",
        lambda r: calls.append((path_of(r.url), r.post_data)) if "/passkeys/" in r.url else None,
    )
    return calls


def enrol(page: Page, server: LiveServer, email_address: str = EMAIL, name: str = DEVICE) -> None:
    """Password sign-in, then add a passkey on the account page; stays signed in."""
    page.goto(f"{server.url}/account/security")
    sign_in(page, email_address)
    page.wait_for_url(lambda url: path_of(url) == "/account/security")
    page.locator("#passkey-name").fill(name)
    page.locator("#passkey-add").click()
    page.wait_for_url(lambda url: "notice=passkey_added" in url)


def sign_out(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/account/security")
    page.locator("#logout").click()
    expect(page.locator("h1")).to_have_text("You are signed out")


def expect_signed_in(page: Page, server: LiveServer, email_address: str = EMAIL) -> None:
    page.wait_for_url(lambda url: path_of(url) == "/account/")
    expect(page.locator("h1")).to_have_text("Profile")
    expect(page.locator("dl.profile")).to_contain_text(email_address)


def expect_signed_out(page: Page, server: LiveServer) -> None:
    page.goto(f"{server.url}/account/")
    assert path_of(page.url) == "/login", page.url


def passkey_button_sign_in(page: Page, server: LiveServer, email_address: str = "") -> None:
    page.goto(f"{server.url}/login")
    if email_address:
        page.locator("#email").fill(email_address)
    page.locator("#passkey-login").click()


def test_add_a_passkey_on_the_account_page(avain, page, authenticator):
    user = make_user(avain, EMAIL)
    assert authenticator.credentials() == []
    enrol(page, avain)

    expect(page.get_by_role("status")).to_have_text(
        "Your passkey was added. Next time you can sign in with it."
    )
    item = page.locator("ul.passkeys li")
    expect(item).to_have_count(1)
    expect(item.locator("strong")).to_have_text(DEVICE)
    expect(item).to_contain_text("Added ")
    expect(item).not_to_contain_text("Blocked")
    expect(page.get_by_role("button", name=f"Remove passkey {DEVICE}")).to_be_visible()
    expect(page.get_by_label(f"New name for {DEVICE}")).to_have_value(DEVICE)

    # One discoverable credential for localhost, whose user handle is the account's id.
    cred = authenticator.only_credential()
    assert cred["isResidentCredential"] is True
    assert cred["rpId"] == "localhost"
    assert cred["userName"] == EMAIL
    assert cred["userDisplayName"] == "Aino Virtanen"
    assert base64.b64decode(cred["userHandle"]).decode() == user.id
    assert cred["signCount"] == 1
    [stored] = stored_passkeys(avain, EMAIL)
    assert stored["id"] == b64url(cred["credentialId"])
    assert stored["name"] == DEVICE
    assert stored["sign_count"] == 1
    assert stored["device_type"] == "single_device"  # the virtual one is not backed up

    # Renaming on the same page.
    page.get_by_label(f"New name for {DEVICE}").fill("  Oma   puhelin ")
    page.get_by_role("button", name="Rename").click()
    expect(page.get_by_role("status")).to_have_text("The passkey was renamed.")
    expect(page.locator("ul.passkeys li strong")).to_have_text("Oma puhelin")


def test_usernameless_sign_in_and_through_a_relying_party(
    avain, start_rp, page, authenticator, no_autofill
):
    make_user(avain, EMAIL)
    enrol(page, avain)
    sign_out(page, avain)
    calls = passkey_calls(page)

    # No email typed: the authenticator offers its discoverable passkey.
    passkey_button_sign_in(page, avain)
    expect_signed_in(page, avain)
    assert [c[0] for c in calls] == ["/passkeys/login/options", "/passkeys/login/verify"]
    assert json.loads(calls[0][1] or "{}") == {"email": ""}
    assert authenticator.only_credential()["signCount"] == 2
    assert stored_passkeys(avain, EMAIL)[0]["sign_count"] == 2
    page.get_by_role("link", name="Sign-in and security").click()
    expect(page.locator("ul.passkeys li")).to_contain_text("last used ")

    # Through a relying party: /authorize -> /login -> passkey -> the RP's callback.
    sign_out(page, avain)
    rp = start_rp("Rengasliike", first_party=True)  # first party: no consent screen
    page.goto(rp.authorize_url(scope="openid"))
    page.wait_for_url(lambda url: path_of(url) == "/login")
    expect(page.get_by_text("to continue to Rengasliike")).to_be_visible()
    page.locator("#passkey-login").click()
    callback = rp.callback(page)
    assert callback["iss"] == avain.url and "code" in callback
    claims = id_token_claims(avain, rp.exchange(callback)["id_token"])
    assert "user" in claims["amr"]
    assert {"hwk", "swk"} & set(claims["amr"])
    assert "pwd" not in claims["amr"]
    assert claims["acr"] in {"phrh", "phr"}
    # The virtual authenticator's key is device-bound: hardware, "phrh".
    assert "hwk" in claims["amr"] and claims["acr"] == "phrh"
    assert authenticator.only_credential()["signCount"] == 3
    assert stored_passkeys(avain, EMAIL)[0]["sign_count"] == 3


def test_passkey_as_second_factor_after_the_password(
    avain, start_rp, page, authenticator, no_autofill
):
    make_user(avain, EMAIL)
    enrol(page, avain)
    page.get_by_role("button", name="Also ask for a passkey after my password").click()
    expect(page.get_by_role("status")).to_have_text("Your sign-in settings were saved.")
    sign_out(page, avain)

    rp = start_rp("Rengasliike", first_party=True)
    page.goto(rp.authorize_url(scope="openid"))
    page.wait_for_url(lambda url: path_of(url) == "/login")
    sign_in(page, EMAIL)  # the right password is not enough
    page.wait_for_url(lambda url: path_of(url) == "/login/second-factor")
    expect(page.locator("h1")).to_have_text("Confirm with your passkey")
    page.locator("#passkey-login").click()
    claims = id_token_claims(avain, rp.exchange(rp.callback(page))["id_token"])
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]


def test_step_up_from_a_client_inside_a_password_session(
    avain, start_rp, page, authenticator, no_autofill
):
    make_user(avain, EMAIL)
    enrol(page, avain)  # signed in with the password, passkey added
    rp = start_rp("Korjaamo", first_party=True)
    page.goto(rp.authorize_url(scope="openid"))  # SSO: the password session is enough
    plain = id_token_claims(avain, rp.exchange(rp.callback(page))["id_token"])
    assert plain["amr"] == ["pwd"]

    page.goto(rp.authorize_url(scope="openid", acr_values="phr"))
    page.wait_for_url(lambda url: path_of(url) == "/login")
    expect(page.get_by_role("status")).to_contain_text("confirm it is you with a passkey")
    expect(page.locator("#password")).to_have_count(0)
    page.locator("#passkey-login").click()
    claims = id_token_claims(avain, rp.exchange(rp.callback(page))["id_token"])
    assert claims["acr"] == "phrh" and claims["amr"] == ["hwk", "user"]
    assert claims["auth_time"] >= plain["auth_time"]


def test_email_first_then_passkey(avain, page, authenticator, no_autofill):
    make_user(avain, EMAIL)
    make_user(avain, "toinen@example.com", name="Toinen Asiakas")
    enrol(page, avain)
    sign_out(page, avain)
    options: list[dict[str, Any]] = []

    def keep_options(route: Any) -> None:
        # read as it passes, not after the page has moved on (its body is gone by then)
        answer = route.fetch()
        options.append(answer.json())
        route.fulfill(response=answer)

    page.route("**/passkeys/login/options", keep_options)

    passkey_button_sign_in(page, avain, EMAIL.upper())
    expect_signed_in(page, avain)
    # The known address narrowed the request to that account's passkey.
    [sent] = options
    assert [c["id"] for c in sent["allowCredentials"]] == [
        b64url(authenticator.only_credential()["credentialId"])
    ]
    assert sent["userVerification"] == "required"
    assert sent["rpId"] == "localhost"


def test_autofill_signs_in_without_a_click(avain, page, authenticator):
    """Conditional mediation: the virtual authenticator answers the autofill request itself."""
    make_user(avain, EMAIL)
    enrol(page, avain)
    sign_out(page, avain)
    calls = passkey_calls(page)

    page.goto(f"{avain.url}/login")
    expect_signed_in(page, avain)
    # Started by the page, with no email (usernameless), never by the button.
    assert [c[0] for c in calls] == ["/passkeys/login/options", "/passkeys/login/verify"]
    assert json.loads(calls[0][1] or "") == {}
    verify = json.loads(calls[1][1] or "")
    assert verify["interaction"] == "" and verify["next"] == ""
    assert authenticator.only_credential()["signCount"] == 2


def test_failed_user_verification_does_not_sign_in(avain, page, authenticator, no_autofill):
    make_user(avain, EMAIL)
    enrol(page, avain)
    sign_out(page, avain)
    authenticator.set_user_verified(False)
    calls = passkey_calls(page)

    passkey_button_sign_in(page, avain)
    error = page.locator("#passkey-error")
    expect(error).to_be_visible()
    expect(error).to_have_text("Signing in with a passkey was cancelled.")
    assert path_of(page.url) == "/login"
    assert [c[0] for c in calls] == ["/passkeys/login/options"]  # nothing to verify
    expect_signed_out(page, avain)
    assert authenticator.only_credential()["signCount"] == 1


def test_cloned_passkey_with_an_old_counter_is_blocked(avain, page, authenticator, no_autofill):
    make_user(avain, EMAIL)
    enrol(page, avain)
    sign_out(page, avain)
    for count in (2, 3):
        passkey_button_sign_in(page, avain)
        expect_signed_in(page, avain)
        assert authenticator.only_credential()["signCount"] == count
        sign_out(page, avain)

    # The same private key with an old counter: a copy of the passkey made earlier.
    original = authenticator.only_credential()
    authenticator.remove(original["credentialId"])
    clone = {
        k: original[k]
        for k in ("credentialId", "isResidentCredential", "rpId", "privateKey", "userHandle")
    }
    authenticator.add({**clone, "signCount": 0})
    assert authenticator.only_credential()["signCount"] == 0

    passkey_button_sign_in(page, avain)
    error = page.locator("#passkey-error")
    expect(error).to_have_text(
        "This passkey was blocked: its counter went backwards, which happens when a passkey "
        "is copied. Use another way to sign in."
    )
    expect_signed_out(page, avain)
    [stored] = stored_passkeys(avain, EMAIL)
    assert stored["blocked"] == "sign_count_rollback"
    assert stored["sign_count"] == 3

    # Blocked for good, even with a counter that now looks fine.
    authenticator.remove(original["credentialId"])
    authenticator.add({**clone, "signCount": 10})
    passkey_button_sign_in(page, avain)
    expect(error).to_have_text(
        "This passkey is blocked because it looked copied. Use another way to sign in and "
        "remove it."
    )
    expect_signed_out(page, avain)

    # The password still works, and the account page says what happened.
    sign_in(page, EMAIL)
    expect_signed_in(page, avain)
    page.get_by_role("link", name="Sign-in and security").click()
    item = page.locator("ul.passkeys li")
    expect(item.locator("strong")).to_have_text(DEVICE)
    expect(item.locator(".error")).to_have_text(
        "Blocked: it looked copied. Remove it and add a new one."
    )


def test_remove_the_only_passkey_when_a_password_remains(avain, page, authenticator, no_autofill):
    make_user(avain, EMAIL)
    enrol(page, avain)
    page.get_by_role("button", name=f"Remove passkey {DEVICE}").click()
    expect(page.get_by_role("status")).to_have_text("The passkey was removed.")
    expect(page.locator("ul.passkeys")).to_have_count(0)
    expect(page.get_by_text("Sign in with your fingerprint, face or device PIN")).to_be_visible()
    assert stored_passkeys(avain, EMAIL) == []

    # The device still holds the key, but Avain no longer knows it.
    sign_out(page, avain)
    passkey_button_sign_in(page, avain)
    expect(page.locator("#passkey-error")).to_have_text("This passkey is not registered here.")
    expect_signed_out(page, avain)


def _shot(page: Page, name: str, clip: dict[str, float] | None = None) -> Path:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"{name}.png"
    if clip is None:
        page.screenshot(path=str(path), full_page=True)
    else:
        page.screenshot(path=str(path), full_page=True, clip=clip)
    return path


@pytest.mark.parametrize("context_options", [{"locale": "fi-FI"}])
def test_login_page_in_finnish(avain, page, no_autofill):
    page.goto(f"{avain.url}/login")
    expect(page.locator("html")).to_have_attribute("lang", "fi")
    expect(page.locator("#passkey-login")).to_have_text("Kirjaudu pääsyavaimella")
    expect(page.locator("#email")).to_have_attribute("autocomplete", "username webauthn")
    _shot(page, "passkeys-login-fi")


@pytest.mark.parametrize("context_options", [{"locale": "sv-SE"}])
def test_account_passkeys_in_swedish(avain, page, authenticator):
    make_user(avain, EMAIL)
    enrol(page, avain)
    expect(page.locator("html")).to_have_attribute("lang", "sv")
    expect(page.locator("ul.passkeys li strong")).to_have_text(DEVICE)
    expect(page.locator("ul.passkeys li")).to_contain_text("Tillagd ")
    expect(page.locator("#passkey-add")).to_have_text("Lägg till en nyckel")

    # The passkey section: from its heading to the add button.
    top = page.locator("#h-passkeys").bounding_box()
    bottom = page.locator("#passkey-add").bounding_box()
    main = page.locator("main").bounding_box()
    assert top and bottom and main
    clip = {
        "x": main["x"],
        "y": max(top["y"] - 16, 0),
        "width": main["width"],
        "height": bottom["y"] + bottom["height"] + 16 - max(top["y"] - 16, 0),
    }
    path = _shot(page, "passkeys-account-sv", clip)
    if os.environ.get("AVAIN_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / path.name)
