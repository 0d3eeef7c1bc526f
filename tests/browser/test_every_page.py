"""Every customer page, in Finnish, Swedish and English, at desktop (1280 px) and phone
(390 px) width, under the demo's brand: axe-core finds no WCAG 2.2 A/AA violation, the
page breaks no Content-Security-Policy rule, and it weighs under 100 KB with everything it
fetches (HTML, the stylesheet, scripts, images and the favicon, with the cache off).

Screenshots go to docs/screenshots/pages/<page>-<lang>-<width>.png, for people to look
at. axe-core comes from npm (tests/browser/package.json, installed with ``npm ci``) and is
evaluated in the page through the DevTools protocol, which the page's CSP does not govern.

To add a page, add a line to PAGES: a path on Avain, or a function that brings the browser
there from the page before (the walk goes in order, as one customer).
"""

from __future__ import annotations

import fcntl
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import CI, TIMEOUT_MS
from tests.browser.helpers import (
    Page,
    RelyingParty,
    expect,
    link_in,
    newest_mail,
    path_of,
    sign_in,
)
from tests.live_server import LiveServer, live_avain

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
SHOTS = HERE.parent.parent / "docs" / "screenshots" / "pages"
THEME = "config/themes/rengasverkkokauppa/theme.toml"
LOCALES = {"fi": "fi-FI", "sv": "sv-SE", "en": "en-US"}
WIDTHS = {1280: 900, 390: 844}  # viewport width: height
MAX_PAGE_BYTES = 100 * 1024
# axe-core's tags for WCAG 2.0, 2.1 and 2.2 at levels A and AA
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ': ' + n.failureSummary),
  }));
}"""


# -- the walk -------------------------------------------------------------------------------


@dataclass
class Walk:
    """One customer going through the pages in one language at one width."""

    page: Page
    avain: LiveServer
    shop: RelyingParty
    lang: str
    email: str
    password: str = "lumi sade kuusi metsä"


def _register(walk: Walk) -> None:
    walk.page.goto(f"{walk.avain.url}/register")
    walk.page.locator("#name").fill("Maija Meikäläinen")
    walk.page.locator("#email").fill(walk.email)
    walk.page.locator("#password").fill(walk.password)
    walk.page.locator("#password_confirm").fill(walk.password)
    walk.page.locator("form.stack button[type=submit]").click()
    walk.page.wait_for_url(lambda url: path_of(url) == "/verify/sent")


def _letter(prefix: str) -> Callable[[Walk], None]:
    """The HTML part of the newest letter to the customer, shown as their mail client would
    (it links to ``prefix``, which tells the letter apart)."""

    def show(walk: Walk) -> None:
        msg = newest_mail(walk.avain, walk.email)
        link_in(msg, walk.avain, prefix)
        html = msg.get_body(preferencelist=("html",))
        assert html is not None
        walk.page.goto("about:blank")  # a mail client's frame, not Avain's page and its CSP
        walk.page.set_content(html.get_content())

    return show


def _follow(prefix: str) -> Callable[[Walk], None]:
    def follow(walk: Walk) -> None:
        walk.page.goto(link_in(newest_mail(walk.avain, walk.email), walk.avain, prefix))

    return follow


def _ask_for_reset(walk: Walk) -> None:
    walk.page.goto(f"{walk.avain.url}/forgot")
    walk.page.locator("#email").fill(walk.email)
    walk.page.locator("form.stack button[type=submit]").click()
    walk.page.wait_for_load_state()


def _privacy_notice(walk: Walk) -> None:
    walk.page.goto(f"{walk.avain.url}/login")
    walk.page.locator("footer a[href^='/privacy/']").click()
    walk.page.wait_for_url(lambda url: path_of(url).startswith("/privacy/"))


def _consent_at_the_shop(walk: Walk) -> None:
    walk.page.goto(walk.shop.authorize_url())
    walk.page.wait_for_url(lambda url: path_of(url) == "/login")
    sign_in(walk.page, walk.email, walk.password)
    walk.page.wait_for_url(lambda url: path_of(url) == "/consent")


def _choose_account(walk: Walk) -> None:
    walk.page.locator("button[name=decision][value=allow]").click()
    walk.shop.callback(walk.page)
    walk.page.goto(walk.shop.authorize_url(prompt="select_account"))
    walk.page.wait_for_url(lambda url: path_of(url) == "/select-account")


def _sign_out(walk: Walk) -> None:
    walk.page.goto(f"{walk.avain.url}/logout")
    walk.page.locator("main button[name=confirm][value=yes]").click()
    walk.page.wait_for_load_state()


def _delete_account(walk: Walk) -> None:
    walk.page.goto(f"{walk.avain.url}/login?next=/account/delete")
    sign_in(walk.page, walk.email, walk.password)
    walk.page.wait_for_url(lambda url: path_of(url) == "/account/delete")
    walk.page.locator("#password").fill(walk.password)
    walk.page.locator("input[name=confirm]").check()
    walk.page.locator("main form button[type=submit]").click()
    walk.page.wait_for_load_state()


@dataclass(frozen=True)
class CustomerPage:
    name: str  # the screenshot's name
    go: str | Callable[[Walk], None]  # a path on Avain, or how the browser gets there
    status: int = 200  # for a path: the status it answers with


UNKNOWN_CLIENT = "/authorize?" + urlencode(
    {"client_id": "nobody", "response_type": "code", "scope": "openid"}
)

PAGES: tuple[CustomerPage, ...] = (
    CustomerPage("start", "/"),
    CustomerPage("login", "/login"),
    CustomerPage("register", "/register"),
    CustomerPage("verify-sent", _register),
    CustomerPage("mail-verify", _letter("/verify/")),
    CustomerPage("verify-done", _follow("/verify/")),
    CustomerPage("forgot", "/forgot"),
    CustomerPage("forgot-sent", _ask_for_reset),
    CustomerPage("mail-reset", _letter("/reset/")),
    CustomerPage("reset", _follow("/reset/")),
    CustomerPage("link-not-valid", "/reset/not-a-token", status=400),
    CustomerPage("privacy-notice", _privacy_notice),
    CustomerPage("consent", _consent_at_the_shop),
    CustomerPage("select-account", _choose_account),
    CustomerPage("account", "/account/"),
    CustomerPage("account-security", "/account/security"),
    CustomerPage("account-sharing", "/account/sharing"),
    CustomerPage("account-privacy", "/account/privacy"),
    CustomerPage("account-profile", "/account/profile"),
    CustomerPage("account-password", "/account/password"),
    CustomerPage("account-receipts", "/account/sharing/receipts"),
    CustomerPage("account-delete", "/account/delete"),
    CustomerPage("logout-confirm", "/logout"),
    CustomerPage("logged-out", _sign_out),
    CustomerPage("not-found", "/no-such-page", status=404),
    CustomerPage("unknown-client", UNKNOWN_CLIENT, status=400),
    CustomerPage("account-deleted", _delete_account),
)


# -- what is checked on each page -------------------------------------------------------------


@dataclass
class Network:
    """Responses from Avain for the page now shown: its document and what it fetched (a
    new document in the main frame starts the list again)."""

    origin: str
    responses: list[Any] = field(default_factory=list)

    def __call__(self, response: Any) -> None:
        request = response.request
        if request.is_navigation_request() and request.frame.parent_frame is None:
            self.responses.clear()
        if response.url.startswith(self.origin) and not 300 <= response.status < 400:
            self.responses.append(response)

    def weight(self, page: Page) -> tuple[int, list[str]]:
        total, parts, urls = 0, [], set()
        for response in self.responses:
            size = len(response.body())
            urls.add(response.url.split("#")[0])
            total += size
            parts.append(f"{path_of(response.url)} {size}")
        icon = page.locator("link[rel=icon]")
        if icon.count():  # headless Chromium does not fetch the favicon itself
            href = page.evaluate("() => document.querySelector('link[rel=icon]').href")
            if href not in urls:
                size = len(page.request.get(href).body())
                total += size
                parts.append(f"{path_of(href)} {size} (favicon)")
        return total, parts


@pytest.fixture(scope="module")
def axe_source() -> str:
    """axe-core from npm, installed from package-lock.json (one installer at a time)."""
    npm = shutil.which("npm")
    if not npm:
        if CI:
            pytest.fail("CI=true but npm is missing (needed for axe-core)")
        pytest.skip("npm is needed to install axe-core")
    script = HERE / "node_modules" / "axe-core" / "axe.min.js"
    with (HERE / ".npm-ci.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not script.is_file():
            proc = subprocess.run(
                [npm, "ci", "--no-audit", "--no-fund"],
                cwd=HERE,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            if proc.returncode != 0:
                message = f"npm ci failed in {HERE}:\n{proc.stdout}\n{proc.stderr}"
                if CI:
                    pytest.fail(message)
                pytest.skip(message)
    return script.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def branded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    """Avain under the demo's brand, for the whole walk (mail to its outbox folder)."""
    with live_avain(
        tmp_path_factory.mktemp("every-page"),
        smtp_host="",
        theme_file=THEME,
        registration_max_per_ip=100,  # six customers register and ask for mail from one IP
    ) as server:
        yield server


@pytest.fixture(scope="module")
def shop(branded: LiveServer) -> Iterator[RelyingParty]:
    """The tire shop of the consent catalogue, so its consent screen is the real one."""
    rp = RelyingParty.start(branded, "Rengasverkkokauppa", client_id="tire-shop")
    yield rp
    rp.stop()


@pytest.mark.parametrize("width", list(WIDTHS))
@pytest.mark.parametrize("lang", list(LOCALES))
def test_every_customer_page(browser, branded, shop, axe_source, lang, width):
    context = browser.new_context(
        viewport={"width": width, "height": WIDTHS[width]}, locale=LOCALES[lang]
    )
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    network = Network(branded.url)
    page.on("response", network)
    console: list[str] = []
    page.on(
        "console",
        lambda msg: console.append(msg.text) if msg.type in ("error", "warning") else None,
    )
    page.on("pageerror", lambda exc: console.append(str(exc)))
    walk = Walk(page, branded, shop, lang, f"maija.{lang}.{width}@example.com")
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    try:
        for item in PAGES:
            network.responses.clear()
            console.clear()
            if isinstance(item.go, str):
                response = page.goto(branded.url + item.go)
                assert response is not None
                if response.status != item.status:
                    problems.append(f"{item.name}: status {response.status}, not {item.status}")
            else:
                item.go(walk)
            page.wait_for_load_state("load")
            expect(page.locator("html")).to_have_attribute("lang", lang)
            page.screenshot(path=str(SHOTS / f"{item.name}-{lang}-{width}.png"), full_page=True)
            if not item.name.startswith("mail-"):
                total, parts = network.weight(page)
                if not any(part.startswith("/theme/avain-") for part in parts):
                    problems.append(f"{item.name}: its stylesheet was not measured: {parts}")
                if total > MAX_PAGE_BYTES:
                    problems.append(f"{item.name}: {total} bytes > {MAX_PAGE_BYTES}: {parts}")
            page.evaluate(axe_source)
            for v in page.evaluate(AXE_RUN, AXE_TAGS):
                problems.append(f"{item.name}: axe {v['id']} ({v['impact']}): {v['help']}")
                problems.extend(f"    {node}" for node in v["nodes"])
            expected = f"status of {item.status} " if item.status != 200 else "\0"
            problems.extend(
                f"{item.name}: console: {text}" for text in console if expected not in text
            )
    finally:
        context.close()
    assert not problems, f"{lang} at {width} px:\n" + "\n".join(problems)


def test_the_page_list_names_each_page_once():
    names = [p.name for p in PAGES]
    assert len(names) == len(set(names)), names
    assert all(n.replace("-", "").isalnum() for n in names), names
