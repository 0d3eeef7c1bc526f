"""The demo's partner sites in Chromium, as three real processes (tests/examples/demo.py):
sign in at the tire shop through Avain, buy, see the order; single sign-on into the garage
and a booking; sign out at Avain and both sites' sessions end by back-channel logout."""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.browser.helpers import Page, expect, path_of
from tests.examples.demo import Demo, running_demo

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
SHOTS = Path(__file__).resolve().parent / "screenshots"
KEEP = {  # screenshots kept in docs/screenshots/, examples-<name>.png
    "shop-products-fi",
    "shop-orders-en",
    "garage-calendar-en",
    "garage-bookings-fi",
    "avain-garage-consent-en",
}


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    with running_demo(tmp_path) as running:
        yield running


def shot(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    path = SHOTS / f"examples-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if name in KEEP:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copy(path, DOCS / path.name)


def signed_out_after_reload(page: Page, url: str, marker: str) -> None:
    """The back-channel logout reaches the site a moment after Avain's logout page."""
    for _ in range(50):
        page.goto(url)
        if page.locator(marker).count():
            return
        time.sleep(0.2)
    raise AssertionError(f"{url} still shows a signed-in customer")


def test_shop_to_garage_and_back_channel_logout(demo: Demo, page: Page) -> None:
    # The shop, signed out, in English; tires into the cart before signing in.
    page.goto(demo.shop + "/?lang=en")
    expect(page.locator("h1")).to_have_text("Winter and summer tires")
    shot(page, "shop-products-en")
    page.locator("form.product").first.get_by_role("button", name="Add to cart").click()
    expect(page.locator("#total")).to_have_text("516.00 €")
    page.locator("#sign-in-to-order").click()

    # Avain's real login form, then its consent screen for the shop's purposes.
    assert page.url.startswith(demo.avain + "/login"), page.url
    page.locator("#email").fill(demo.email)
    page.locator("#password").fill(demo.password)
    page.locator("form.stack button[type=submit]").click()
    assert page.url.startswith(demo.avain + "/consent"), page.url
    page.locator("button[name=decision][value=allow]").click()

    # Back at the cart, signed in: check out and see the order in the history.
    assert page.url.startswith(demo.shop + "/cart"), page.url
    expect(page.locator("#signed-in")).to_have_text("Demo Asiakas")
    shot(page, "shop-cart-en")
    page.locator("#checkout").click()
    assert path_of(page.url) == "/orders"
    expect(page.locator(".notice")).to_have_text("Thank you! Your order has been received.")
    expect(page.locator(".order")).to_have_count(1)
    expect(page.locator(".order")).to_contain_text("4 ×")
    expect(page.locator(".order")).to_contain_text("516.00 €")
    shot(page, "shop-orders-en")
    page.goto(demo.shop + "/orders?lang=fi")
    expect(page.locator("h1")).to_have_text("Tilaushistoria")
    expect(page.locator(".order")).to_contain_text("516,00 €")
    shot(page, "shop-orders-fi")
    page.goto(demo.shop + "/")
    shot(page, "shop-products-fi")

    # The garage: Avain's SSO session signs the customer in without a login form. Avain asks
    # once, on its own page, whether to share with the garage (purpose garage_booking).
    page.goto(demo.garage + "/?lang=en")
    expect(page.locator("#sign-in")).to_be_visible()
    page.locator("#sign-in").click()
    assert page.url.startswith(demo.avain + "/consent"), page.url
    expect(page.locator("#password")).to_have_count(0)
    expect(page.locator("body")).to_contain_text("Korjaamo Virtanen")
    page.get_by_role("switch", name="Tire fitting booking").check()
    shot(page, "avain-garage-consent-en")
    page.locator("button[name=decision][value=allow]").click()
    assert page.url.startswith(demo.garage + "/"), page.url
    expect(page.locator("#signed-in")).to_have_text("Demo Asiakas")
    shot(page, "garage-calendar-en")
    page.locator("table.calendar button").first.click()
    assert path_of(page.url) == "/bookings"
    expect(page.locator(".notice")).to_have_text("Your time is booked. Welcome!")
    expect(page.locator(".booking")).to_have_count(1)
    expect(page.locator(".booking")).to_contain_text("at 08:00: tire fitting")
    expect(page.locator(".booking")).to_contain_text("+358 40 123 4567")
    shot(page, "garage-bookings-en")
    page.goto(demo.garage + "/bookings?lang=fi")
    expect(page.locator(".booking")).to_contain_text("klo 08:00: renkaanvaihto")
    shot(page, "garage-bookings-fi")
    page.goto(demo.garage + "/")
    expect(page.locator("table.calendar")).to_contain_text("Sinun varauksesi")
    shot(page, "garage-calendar-fi")

    # Signing out at Avain ends both sites' sessions by back-channel logout.
    page.goto(demo.avain + "/account/security")  # "Sign out everywhere" is under security
    page.locator("#logout").click()
    signed_out_after_reload(page, demo.shop + "/orders", "#orders-sign-in")
    expect(page.locator("#sign-in")).to_be_visible()
    signed_out_after_reload(page, demo.garage + "/bookings", "#bookings-sign-in")
    shot(page, "garage-signed-out-fi")


def test_signing_out_at_the_shop_ends_the_avain_session(demo: Demo, page: Page) -> None:
    """RP-Initiated Logout: the shop sends its ID token as the hint, Avain ends the SSO
    session without asking and returns the browser to the shop's registered URI."""
    page.goto(demo.shop + "/orders?lang=en")
    page.locator("#sign-in").click()
    page.locator("#email").fill(demo.email)
    page.locator("#password").fill(demo.password)
    page.locator("form.stack button[type=submit]").click()
    page.get_by_role("button", name="Cancel sign-in").click()  # refuse at Avain's consent
    assert page.url.startswith(demo.shop + "/orders"), page.url
    expect(page.locator(".notice")).to_have_text("Sign-in was cancelled.")
    expect(page.locator("#sign-in")).to_be_visible()

    page.locator("#sign-in").click()  # Avain's session stands: straight to the consent page
    assert page.url.startswith(demo.avain + "/consent"), page.url
    page.locator("button[name=decision][value=allow]").click()
    expect(page.locator("#signed-in")).to_be_visible()
    page.locator("#sign-out").click()
    assert page.url == demo.shop + "/", page.url
    expect(page.locator("#sign-in")).to_be_visible()
    page.goto(demo.avain + "/account/")
    assert path_of(page.url) == "/login", page.url  # the SSO session has ended too
