"""Dates and times on the customer pages: the customer's language, the deployment's time
zone (Europe/Helsinki by default), across the summer-time changes."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from idp.localtime import day, when
from tests.conftest import login
from tests.test_config import load, refused

HELSINKI = ZoneInfo("Europe/Helsinki")


@pytest.mark.parametrize(
    ("lang", "expected"),
    [("fi", "2.12.2026 klo 10.14"), ("sv", "2.12.2026 kl. 10.14"), ("en", "2 Dec 2026, 10:14")],
)
def test_a_time_reads_as_the_language_writes_it(lang: str, expected: str) -> None:
    assert when(datetime(2026, 12, 2, 8, 14, tzinfo=UTC), lang, HELSINKI) == expected


@pytest.mark.parametrize(
    ("utc", "fi"),
    [
        # spring forward, 29 March 2026: 03.00 EET becomes 04.00 EEST
        (datetime(2026, 3, 29, 0, 59, tzinfo=UTC), "29.3.2026 klo 2.59"),
        (datetime(2026, 3, 29, 1, 0, tzinfo=UTC), "29.3.2026 klo 4.00"),
        # fall back, 25 October 2026: 03.30 happens twice, an hour apart
        (datetime(2026, 10, 25, 0, 30, tzinfo=UTC), "25.10.2026 klo 3.30"),
        (datetime(2026, 10, 25, 1, 30, tzinfo=UTC), "25.10.2026 klo 3.30"),
        (datetime(2026, 10, 25, 2, 0, tzinfo=UTC), "25.10.2026 klo 4.00"),
        # the new year arrives in Helsinki two hours before UTC
        (datetime(2026, 12, 31, 22, 30, tzinfo=UTC), "1.1.2027 klo 0.30"),
    ],
)
def test_summer_time_edges(utc: datetime, fi: str) -> None:
    assert when(utc, "fi", HELSINKI) == fi


def test_the_day_is_the_customers_calendar_day() -> None:
    late = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)  # already 2 December in Helsinki
    assert day(late, "fi", HELSINKI) == "2.12.2026"
    assert day(late, "en", HELSINKI) == "2 Dec 2026"
    assert day(late, "sv", ZoneInfo("UTC")) == "1.12.2026"
    assert day(date(2026, 12, 2), "sv", HELSINKI) == "2.12.2026"


def test_a_naive_stored_time_is_utc() -> None:
    """SQLite hands back naive datetimes; they are UTC, not the server's local time."""
    assert when(datetime(2026, 7, 1, 9, 0), "fi", HELSINKI) == "1.7.2026 klo 12.00"


def test_an_unknown_language_reads_as_english() -> None:
    assert when(datetime(2026, 12, 2, 8, 14, tzinfo=UTC), "de", HELSINKI) == "2 Dec 2026, 10:14"


def test_the_zone_is_a_setting_checked_at_start_up(tmp_path) -> None:
    assert load(tmp_path).time_zone == "Europe/Helsinki"
    assert load(tmp_path, env={"IDP_TIME_ZONE": "Europe/Stockholm"}).time_zone == (
        "Europe/Stockholm"
    )
    message = refused(tmp_path, env={"IDP_TIME_ZONE": "Helsinki"})
    assert "time_zone" in message and "Europe/Helsinki" in message


@pytest.mark.parametrize(
    ("lang", "pattern"),
    [
        ("fi", r"\d{1,2}\.\d{1,2}\.\d{4} klo \d{1,2}\.\d{2} \(tämä selain\)"),
        ("sv", r"\d{1,2}\.\d{1,2}\.\d{4} kl\. \d{1,2}\.\d{2} \(den här webbläsaren\)"),
        ("en", r"\d{1,2} \w{3} \d{4}, \d{2}:\d{2} \(this browser\)"),
    ],
)
def test_the_sessions_table_shows_local_times(client, make_user, lang, pattern) -> None:
    login(client, make_user().email)
    client.set_cookie("avain_lang", lang)
    page = client.get("/account/security").data.decode()
    assert re.search(pattern, page), page
    assert "UTC" not in page
