"""A readable name for a browser's User-Agent string ("Firefox on Windows")."""

from __future__ import annotations

import re

_BROWSERS = (
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Chromium/", "Chromium"),
    ("Safari/", "Safari"),
)
_SYSTEMS = (
    ("Android", "Android"),
    (r"iPhone|iPad", "iOS"),
    ("Windows", "Windows"),
    ("Mac OS X|Macintosh", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
)


def describe(user_agent: str | None) -> str:
    ua = user_agent or ""
    browser = next((name for marker, name in _BROWSERS if marker in ua), "")
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, ua)), "")
    if "HeadlessChrome" in ua:
        browser = "Chrome (headless)"
    if browser and system:
        return f"{browser}, {system}"
    return browser or system or (ua[:40] if ua else "?")
