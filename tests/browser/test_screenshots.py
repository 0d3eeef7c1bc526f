"""Screenshots of the customer pages in Finnish and English, for people to look at.

They go to tests/browser/screenshots/ (not committed). With AVAIN_DOCS_SCREENSHOTS=1 the
four kept in docs/screenshots/ (login fi and en, consent fi, account en) are refreshed too.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.browser.helpers import expect, make_user, path_of, sign_in

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
SHOTS = HERE / "screenshots"
DOCS = HERE.parent.parent / "docs" / "screenshots"
KEPT = {("login", "fi"), ("login", "en"), ("consent", "fi"), ("account", "en")}


@pytest.mark.parametrize("lang", ["fi", "en"])
def test_customer_pages_in_finnish_and_english(avain, start_rp, page, lang):
    """fi is picked with the language switcher (the browser itself asks for English)."""
    make_user(avain, "aino.virtanen@example.com", name="Aino Virtanen")
    rp = start_rp("Rengasliike Pyörä Oy")
    SHOTS.mkdir(exist_ok=True)
    html = page.locator("html")

    def shot(name: str) -> None:
        expect(html).to_have_attribute("lang", lang)
        expect(page.locator(f"nav.langs button[lang={lang}]")).to_have_attribute(
            "aria-current", "true"
        )
        path = SHOTS / f"{name}-{lang}.png"
        page.screenshot(path=str(path), full_page=True)
        if os.environ.get("AVAIN_DOCS_SCREENSHOTS") == "1" and (name, lang) in KEPT:
            DOCS.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, DOCS / path.name)

    page.goto(f"{avain.url}/register")
    if lang != "en":
        page.locator(f"nav.langs button[lang={lang}]").click()
        expect(html).to_have_attribute("lang", lang)
    expect(page.locator("#password_confirm")).to_be_visible()
    shot("register")

    page.goto(rp.authorize_url())
    page.wait_for_url(lambda url: path_of(url) == "/login")
    shot("login")

    sign_in(page, "aino.virtanen@example.com")
    page.wait_for_url(lambda url: path_of(url) == "/consent")
    expect(page.locator("button[name=decision][value=allow]")).to_be_visible()
    shot("consent")
    page.locator("button[name=decision][value=allow]").click()
    assert "code" in rp.callback(page)

    page.goto(f"{avain.url}/account/")
    expect(page.locator("nav.account-nav")).to_be_visible()
    shot("account")
