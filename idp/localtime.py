"""Dates and times on the customer pages, in the customer's language and time zone.

Every time Avain stores is UTC; a customer reads "2.12.2026 klo 10.14", not
"2026-12-02 08:14 UTC". The wall clock is the deployment's ``time_zone`` setting
(Europe/Helsinki by default): the customers of a Finnish shop live by it, and a summer-time
change moves the hour with the calendar, as people expect. The patterns are Babel's (CLDR)
date and time formats for each language, joined the way each language writes them: Finnish
"klo", Swedish "kl.", English a comma. One pair of Jinja filters, ``when`` and ``day``,
so that no page writes its own ``strftime``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import Flask, current_app, g

from idp.config import Settings

#: (date, date and time) per language, as Babel patterns; others fall back to English
PATTERNS = {
    "fi": ("d.M.yyyy", "d.M.yyyy 'klo' H.mm"),
    "sv": ("d.M.yyyy", "d.M.yyyy 'kl.' H.mm"),
    "en": ("d MMM yyyy", "d MMM yyyy, HH:mm"),
}


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def when(value: datetime, lang: str, zone: ZoneInfo) -> str:
    """E.g. "2.12.2026 klo 10.14" (fi), "2.12.2026 kl. 10.14" (sv), "2 Dec 2026, 10:14"."""
    lang = lang if lang in PATTERNS else "en"
    return format_datetime(_aware(value), PATTERNS[lang][1], tzinfo=zone, locale=lang)


def day(value: datetime | date, lang: str, zone: ZoneInfo) -> str:
    """E.g. "2.12.2026" (fi, sv), "2 Dec 2026" (en): the customer's calendar day."""
    if isinstance(value, datetime):
        value = _aware(value).astimezone(zone).date()
    lang = lang if lang in PATTERNS else "en"
    return format_date(value, PATTERNS[lang][0], locale=lang)


def zone() -> ZoneInfo:
    """The wall clock customers read times by: the deployment's ``time_zone`` setting."""
    settings: Settings = current_app.config["AVAIN"]
    return ZoneInfo(settings.time_zone)


def _lang() -> str:
    return str(g.get("lang") or "en")


def local_when(value: datetime) -> str:
    """:func:`when` for the current request's language and the deployment's zone."""
    return when(value, _lang(), zone())


def local_day(value: datetime | date | str) -> str:
    """:func:`day` for the current request's language and the deployment's zone; an ISO 8601
    string (a partner's order date) is read first, and shown as it is if it is not one."""
    if isinstance(value, str):
        try:
            parsed: datetime | date = datetime.fromisoformat(value)
        except ValueError:
            return value
    else:
        parsed = value
    return day(parsed, _lang(), zone())


def init_app(app: Flask) -> None:
    app.add_template_filter(local_when, "when")
    app.add_template_filter(local_day, "day")
