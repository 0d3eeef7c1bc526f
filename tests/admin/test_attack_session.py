"""Attack: the console session at sign-in.

Signing in (or enrolling) starts a new session with a new random token, never the one the
browser brought (no fixation). The session the browser had before ends on the server at
that moment too: a copy of the old cookie (another admin's on a shared machine, or one
stolen earlier) must not stay live until its idle limit.
"""

from __future__ import annotations

from idp.admin import sessions
from idp.db import new_session
from idp.models.admins import AdminSession
from tests.admin.console import enrol, enrolled, invite, meta_csrf, post_json, sign_in


def _token(client) -> str:
    cookie = client.get_cookie(sessions.COOKIE, path=sessions.PATH)
    assert cookie is not None
    return cookie.value


def _live(app, token: str) -> bool:
    with app.app_context():
        s = new_session(app)
        found = sessions.current(s, token, sessions.clock())
        s.commit()
        s.close()
    return found is not None


def _sign_in_again(client, authenticator):
    csrf = meta_csrf(client, "/admin/")  # the sign-in page would send a signed-in admin on
    options = post_json(client, "/admin/sign-in/options", {}, csrf).json
    return post_json(
        client,
        "/admin/sign-in/verify",
        {"credential": authenticator.assert_(options), "next": "/admin/"},
        csrf,
    )


def test_signing_in_again_ends_the_session_the_browser_had(app, client):
    _, first_admin = enrolled(app, client, "support")
    _, second_admin = enrolled(app, client, "owner")
    assert sign_in(client, first_admin).status_code == 200
    before = _token(client)
    resp = _sign_in_again(client, second_admin)
    assert resp.status_code == 200, resp.json
    after = _token(client)
    assert after != before
    assert not _live(app, before)  # the support admin's session is over, not orphaned
    assert _live(app, after)
    assert client.get("/admin/admins").status_code == 200  # the owner's


def test_a_planted_token_is_never_the_session(app, client):
    """A cookie value the browser brings (planted, or unknown) is not adopted at sign-in."""
    _, authenticator = enrolled(app, client, "owner")
    planted = "planted-by-someone-else"
    client.set_cookie(sessions.COOKIE, planted, path=sessions.PATH)
    assert sign_in(client, authenticator).status_code == 200
    assert _token(client) != planted
    with app.app_context():
        s = new_session(app)
        assert s.get(AdminSession, planted) is None
        s.close()


def test_enrolling_ends_the_session_the_browser_had(app, client):
    _, authenticator = enrolled(app, client, "owner")
    assert sign_in(client, authenticator).status_code == 200
    before = _token(client)
    _, link = invite(app, "support")
    _, resp = enrol(client, link)
    assert resp.status_code == 200, resp.json
    assert _token(client) != before
    assert not _live(app, before)
