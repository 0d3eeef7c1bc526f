"""Attack: the console's ``next`` parameters as a way out of the console.

Every ``next`` (sign-in, re-verification, the page a dangerous action came from) may only
name a path inside /admin. A browser resolves dot segments before it follows a Location,
so ``/admin/../account/...`` is a path outside the console however it starts; so are the
other host and scheme tricks. Each is refused by :func:`safe_next` and on every route that
takes a ``next``.
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from idp.admin import sessions
from idp.admin.guards import safe_next
from idp.db import utcnow
from tests.admin.console import meta_csrf, session_for

OUTSIDE = [
    "/admin/../account/delete",
    "/admin/..",
    "/admin/./../oauth/logout",
    "/admin/%2e%2e/account",
    "/admin/%2E%2E/%2e%2E/x",
    "/admin/.%2e/x",
    "/admin/customers/../../x",
    "/admin/x/..",
    "//evil.example/admin/",
    "https://evil.example/admin/",
    "/admin\\..\\x",
    "/admin/\t/../x",
    "/adminx",
    "/admin@evil.example",
    "",
    None,
]
INSIDE = [
    "/admin",
    "/admin/",
    "/admin/customers?q=a..b",
    "/admin/customers/abc?next=/admin/../x",  # a query is not a path
    "/admin/clients/a.b.c",
    "/admin/audit?action=x#..",
]


@pytest.mark.parametrize("target", OUTSIDE)
def test_safe_next_refuses_a_way_out(target):
    assert safe_next(target) == "/admin/"


@pytest.mark.parametrize("target", INSIDE)
def test_safe_next_keeps_console_paths(target):
    assert safe_next(target) == target


def test_every_route_with_a_next_stays_in_the_console(app, client, make_user, monkeypatch):
    bad = "/admin/../account/delete"
    # the sign-in page of a signed-in admin sends them on at once
    session_for(app, client, "owner")
    resp = client.get("/admin/sign-in", query_string={"next": bad})
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/"
    # the re-verification page hands next to its script
    page = client.get("/admin/reverify", query_string={"next": bad}).data.decode()
    assert 'data-next="/admin/"' in page and 'data-next="/admin/..' not in page
    # a dangerous action without a fresh passkey sends the form's next on to re-verify
    user = make_user()
    csrf = meta_csrf(client, f"/admin/customers/{user.id}")
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(sessions, "clock", lambda: later)
    resp = client.post(
        f"/admin/customers/{user.id}/erase",
        data={"reason": "x", "confirm": user.email, "next": bad, "csrf_token": csrf},
    )
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/admin/reverify"
    assert parse_qs(location.query)["next"] == ["/admin/"]
    # and a visitor's sign-in page
    client.delete_cookie(sessions.COOKIE, path=sessions.PATH)
    page = client.get("/admin/sign-in", query_string={"next": bad}).data.decode()
    assert 'data-next="/admin/"' in page
