"""Browser tests: one headless Debian Chromium per session, a fresh context per test.

Chromium is Debian's (`apt-get install -y chromium`), never a Playwright download. Without
it the browser tests skip, except under CI=true, where a missing browser is a failure.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from tests.live_server import LiveServer, live_avain

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

CI = os.environ.get("CI") == "true"
CHROMIUM = os.environ.get("AVAIN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
# above SQLite's 30 s busy timeout: on a loaded CI machine a live server's page has twice
# stalled past 10 s after a write (not yet explained; see CHANGELOG), and must not fail a run
TIMEOUT_MS = 40_000


def _missing(reason: str) -> None:
    if CI:
        pytest.fail(f"CI=true but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} is missing (apt-get install -y chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def avain(tmp_path: Path) -> Iterator[LiveServer]:
    """A fresh Avain on its own port; mail goes to <instance>/outbox, never to SMTP."""
    with live_avain(tmp_path, smtp_host="") as server:
        yield server


@pytest.fixture
def context_options() -> dict[str, Any]:
    """Override (or parametrize) to change the browser context, e.g. its locale."""
    return {"locale": "en-US"}


@pytest.fixture
def context(browser: Browser, context_options: dict[str, Any]) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1000, "height": 800}, **context_options)
    ctx.set_default_timeout(TIMEOUT_MS)
    ctx.set_default_navigation_timeout(TIMEOUT_MS)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture
def start_rp(avain: LiveServer) -> Iterator[Any]:
    """start_rp("Name") registers a client in ``avain`` and serves its redirect URI."""
    from tests.browser.helpers import RelyingParty

    started: list[RelyingParty] = []

    def start(name: str, first_party: bool = False) -> RelyingParty:
        rp = RelyingParty.start(avain, name, first_party)
        started.append(rp)
        return rp

    yield start
    for rp in started:
        rp.stop()
