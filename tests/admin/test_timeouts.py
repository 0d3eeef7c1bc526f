"""The console session's limits: 15 minutes idle, 8 hours in all, a fresh passkey (5 minutes)
before a dangerous action. The clock the sessions go by is moved forward."""

from __future__ import annotations

from datetime import timedelta

import pytest

from idp.admin import sessions
from idp.db import utcnow
from tests.admin.console import enrolled, invite, meta_csrf, post_json, sign_in


class Clock:
    def __init__(self) -> None:
        self.now = utcnow()

    def __call__(self):
        return self.now

    def forward(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(sessions, "clock", c)
    return c


def test_idle_for_fifteen_minutes_signs_out(app, client, clock):
    _, authenticator = enrolled(app, client)
    assert sign_in(client, authenticator).status_code == 200
    clock.forward(minutes=14, seconds=50)
    assert client.get("/admin/").status_code == 200  # activity moves the idle limit on
    clock.forward(minutes=14, seconds=50)
    assert client.get("/admin/").status_code == 200
    clock.forward(minutes=15, seconds=10)
    resp = client.get("/admin/")
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/admin/sign-in")
    clock.forward(seconds=1)  # and it stays ended
    assert client.get("/admin/").status_code == 302


def test_eight_hours_is_the_end_however_active(app, client, clock):
    _, authenticator = enrolled(app, client)
    assert sign_in(client, authenticator).status_code == 200
    for _ in range(47):  # every ten minutes for 7 h 50 min
        clock.forward(minutes=10)
        assert client.get("/admin/").status_code == 200
    clock.forward(minutes=10, seconds=1)
    assert client.get("/admin/").status_code == 302


def test_a_dangerous_action_needs_a_fresh_passkey(app, client, clock):
    target_id, _ = invite(app, "support", "leaving@example.com")
    _, authenticator = enrolled(app, client, "owner")
    assert sign_in(client, authenticator).status_code == 200
    clock.forward(minutes=5, seconds=1)
    csrf = meta_csrf(client, "/admin/admins")
    resp = client.post(
        f"/admin/admins/{target_id}/disable", data={"csrf_token": csrf, "reason": "left"}
    )
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/admin/reverify")
    with_next = client.post(
        f"/admin/admins/{target_id}/disable",
        data={"csrf_token": csrf, "reason": "left", "next": "/admin/admins"},
    )
    assert with_next.headers["Location"] == "/admin/reverify?next=%2Fadmin%2Fadmins"
    assert resp.headers["Location"] == "/admin/reverify?next=%2Fadmin%2F"  # never the POST route
    assert b"leaving@example.com" in client.get("/admin/admins").data
    assert b"disabled" not in client.get("/admin/admins").data.split(b"leaving@example.com")[1][:80]
    # JSON callers are told in JSON
    refused = client.post(
        f"/admin/admins/{target_id}/disable", json={}, headers={"X-CSRFToken": csrf}
    )
    assert refused.status_code == 403 and refused.json["error"] == "fresh_passkey_required"
    # the passkey again, then the action goes through
    options = post_json(client, "/admin/reverify/options", {}, csrf).json
    assert options["allowCredentials"], "re-verification names the admin's own passkeys"
    done = post_json(
        client,
        "/admin/reverify/verify",
        {"credential": authenticator.assert_(options), "next": "/admin/admins"},
        csrf,
    )
    assert done.status_code == 200 and done.json["redirect"] == "/admin/admins"
    clock.forward(minutes=4)
    resp = client.post(
        f"/admin/admins/{target_id}/disable", data={"csrf_token": csrf, "reason": "left"}
    )
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/admins"
    page = client.get("/admin/admins").data
    assert b"disabled" in page.split(b"leaving@example.com")[1][:80]


def test_another_admins_passkey_does_not_reverify(app, client, clock):
    _, other = enrolled(app, client, "owner", "other@example.com")
    _, mine = enrolled(app, client, "owner", "me@example.com")
    assert sign_in(client, mine).status_code == 200
    csrf = meta_csrf(client, "/admin/")
    options = post_json(client, "/admin/reverify/options", {}, csrf).json
    resp = post_json(client, "/admin/reverify/verify", {"credential": other.assert_(options)}, csrf)
    assert resp.status_code == 400 and resp.json["error"] == "verification_failed"


def test_an_owner_cannot_disable_themselves_or_without_a_reason(app, client, clock):
    other_id, _ = invite(app, "support", "other@example.com")
    me = enrolled(app, client, "owner")
    sign_in(client, me[1])
    csrf = meta_csrf(client, "/admin/admins")
    own = client.post(f"/admin/admins/{me[0]}/disable", data={"csrf_token": csrf, "reason": "x"})
    assert own.headers["Location"] == "/admin/admins?error=not_yourself"
    bare = client.post(f"/admin/admins/{other_id}/disable", data={"csrf_token": csrf})
    assert bare.headers["Location"] == "/admin/admins?error=reason_required"
    page = client.get("/admin/admins?error=reason_required").data.decode()
    assert "Give a reason" in page and "disabled" not in page.split("other@example.com")[1][:80]
    assert client.get("/admin/").status_code == 200
