"""The customer journey in a real browser: register and confirm the email address, sign in
through one relying party, single sign-on into a second, sign out."""

from __future__ import annotations

import re

import pytest

from tests.browser.helpers import (
    Page,
    RelyingParty,
    expect,
    id_token_claims,
    link_in,
    make_user,
    newest_mail,
    path_of,
    sign_in,
)

pytestmark = pytest.mark.browser


def _first_visit(page: Page, rp: RelyingParty, email: str) -> dict[str, str]:
    """/authorize -> login form -> consent -> the RP's callback with a code."""
    page.goto(rp.authorize_url())
    expect(page).to_have_url(re.compile(r"/login\?"))
    expect(page.get_by_text(f"to continue to {rp.client.client_name}")).to_be_visible()
    sign_in(page, email)
    page.wait_for_url(lambda url: path_of(url) == "/consent")
    expect(page.locator("h1")).to_have_text(
        f"{rp.client.client_name} wants to use your Avain account"
    )
    page.locator("button[name=decision][value=allow]").click()
    return rp.callback(page)


def test_registration_and_email_verification(avain, page):
    page.goto(f"{avain.url}/register")
    expect(page.locator("h1")).to_have_text("Create an account")
    # Every field is reachable by its visible label.
    for label, field_id in [
        ("Name", "name"),
        ("Email address", "email"),
        ("Password", "password"),
        ("Password again", "password_confirm"),
    ]:
        expect(page.get_by_label(label, exact=True)).to_have_attribute("id", field_id)
    page.locator("#name").fill("Aino Virtanen")
    page.locator("#email").fill("Aino.Virtanen@Example.com")
    page.locator("#password").fill("lumi sade kuusi metsä")
    page.locator("#password_confirm").fill("lumi sade kuusi metsä")
    page.get_by_role("button", name="Create account").click()

    page.wait_for_url(lambda url: path_of(url) == "/verify/sent")
    expect(page.locator("h1")).to_have_text("Confirm your email address")
    expect(
        page.get_by_text(
            "We sent a message to aino.virtanen@example.com. Open the link in it to confirm "
            "your address, then sign in."
        )
    ).to_be_visible()

    # Registering signs nobody in: an address that has an account gets this same page.
    page.goto(f"{avain.url}/account/")
    page.wait_for_url(lambda url: path_of(url) == "/login")

    mail = newest_mail(avain, "aino.virtanen@example.com")
    assert mail["Subject"] == "Confirm your email address for Avain"
    link = link_in(mail, avain, "/verify/")
    page.goto(link)
    expect(page.locator("h1")).to_have_text("Email address confirmed")
    expect(page.locator("main")).to_contain_text(
        "Thank you, aino.virtanen@example.com is now confirmed."
    )

    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(lambda url: path_of(url) == "/login")
    sign_in(page, "aino.virtanen@example.com", "lumi sade kuusi metsä")
    page.wait_for_url(lambda url: path_of(url) == "/account/")
    expect(page.locator("dl.profile")).to_contain_text("Aino Virtanen")
    expect(page.locator("dl.profile")).to_contain_text("(confirmed)")
    expect(page.locator("dl.profile")).not_to_contain_text("not confirmed")


def test_single_sign_on_across_two_relying_parties(avain, start_rp, page):
    make_user(avain, "aino@example.com")
    rp_a = start_rp("Rengasliike")
    rp_b = start_rp("Korjaamo")

    callback_a = _first_visit(page, rp_a, "aino@example.com")
    assert callback_a["iss"] == avain.url
    assert "code" in callback_a and "error" not in callback_a

    # RP B: the SSO session answers; no login form, only B's own consent.
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(rp_b.authorize_url())
    page.wait_for_url(lambda url: path_of(url) == "/consent")
    expect(page.locator("h1")).to_have_text("Korjaamo wants to use your Avain account")
    expect(page.locator("main")).to_contain_text("You are signed in as aino@example.com.")
    expect(page.locator("input[type=password]")).to_have_count(0)
    page.locator("button[name=decision][value=allow]").click()
    callback_b = rp_b.callback(page)
    assert "code" in callback_b
    avain_paths = [path_of(u) for u in requested if u.startswith(avain.url)]
    assert "/login" not in avain_paths and "/register" not in avain_paths, avain_paths

    # Both codes are real and belong to the one sign-in.
    claims_a = id_token_claims(avain, rp_a.exchange(callback_a)["id_token"])
    claims_b = id_token_claims(avain, rp_b.exchange(callback_b)["id_token"])
    assert claims_a["aud"] == rp_a.client.client_id
    assert claims_b["aud"] == rp_b.client.client_id
    assert claims_a["sub"] == claims_b["sub"]
    assert claims_a["sid"] == claims_b["sid"]
    assert claims_a["auth_time"] == claims_b["auth_time"]

    # Consent is asked once: back at RP A the browser goes straight to the callback.
    requested.clear()
    page.goto(rp_a.authorize_url())
    assert "code" in rp_a.callback(page)
    avain_paths = [path_of(u) for u in requested if u.startswith(avain.url)]
    assert avain_paths == ["/authorize"], avain_paths


def test_sign_out_on_the_account_page_ends_single_sign_on(avain, start_rp, page):
    make_user(avain, "aino@example.com")
    rp_a = start_rp("Rengasliike")
    _first_visit(page, rp_a, "aino@example.com")

    page.goto(f"{avain.url}/account/security")
    expect(page.locator("h1")).to_have_text("Sign-in and security")
    page.locator("#logout").click()
    expect(page.locator("h1")).to_have_text("You are signed out")
    expect(page.get_by_role("link", name="Sign in again")).to_be_visible()

    page.goto(rp_a.authorize_url(prompt="none"))
    callback = rp_a.callback(page)
    assert callback["error"] == "login_required"
    assert callback["iss"] == avain.url
    assert "code" not in callback

    page.goto(f"{avain.url}/account/")
    assert path_of(page.url) == "/login"


def test_sign_out_started_by_the_relying_party_returns_to_it(avain, start_rp, page):
    make_user(avain, "aino@example.com")
    rp_a = start_rp("Rengasliike")
    _first_visit(page, rp_a, "aino@example.com")

    page.goto(
        f"{avain.url}/logout?client_id={rp_a.client.client_id}"
        f"&post_logout_redirect_uri={rp_a.post_logout_uri}&state=bye123"
    )
    expect(page.locator("h1")).to_have_text("Sign out of Avain?")
    expect(page.locator("main")).to_contain_text("Rengasliike asks to sign you out.")
    page.locator("button[name=confirm][value=yes]").click()
    page.wait_for_url(f"{rp_a.post_logout_uri}?state=bye123")

    page.goto(rp_a.authorize_url(prompt="none"))
    assert rp_a.callback(page)["error"] == "login_required"


@pytest.mark.parametrize("context_options", [{"locale": "fi-FI"}])
def test_language_follows_ui_locales_then_switcher_then_browser(avain, page):
    lang = page.locator("html")
    page.goto(f"{avain.url}/login")  # Accept-Language: fi-FI
    expect(lang).to_have_attribute("lang", "fi")
    expect(page.get_by_role("button", name="Suomi")).to_have_attribute("aria-current", "true")
    page.goto(f"{avain.url}/login?ui_locales=sv-SE")
    expect(lang).to_have_attribute("lang", "sv")

    page.goto(f"{avain.url}/register")
    page.get_by_role("button", name="English").click()
    page.wait_for_url(lambda url: path_of(url) == "/register")
    expect(lang).to_have_attribute("lang", "en")
    expect(page.locator("h1")).to_have_text("Create an account")
    page.goto(f"{avain.url}/login")  # the switcher's cookie beats Accept-Language
    expect(lang).to_have_attribute("lang", "en")
    page.goto(f"{avain.url}/login?ui_locales=fi")  # and ui_locales beats the cookie
    expect(lang).to_have_attribute("lang", "fi")
