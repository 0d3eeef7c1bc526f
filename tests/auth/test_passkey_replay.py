"""A passkey challenge is used once (WebAuthn L3 §13.4.3), also when the same signed answer
and cookie are sent many times at once, on every backend and store."""

from __future__ import annotations

import pytest

from tests.auth.passkey_flows import meta_csrf, post_json, register_passkey
from tests.burst import burst
from tests.clock import advance


@pytest.fixture
def app_config(app_config, store_url):
    return {**app_config, "redis_url": store_url or ""}


def _answered(client, make_user):
    """A signed answer to a fresh challenge, and the cookie that holds the challenge."""
    authenticator = register_passkey(client, make_user())
    csrf = meta_csrf(client)
    options = post_json(client, "/passkeys/login/options", {}, csrf).json
    cookie = client.get_cookie("avain_session").value
    return {"credential": authenticator.assert_(options)}, cookie, csrf


def test_a_parallel_replay_signs_in_once(app, client, make_user):
    body, cookie, csrf = _answered(client, make_user)

    def send(other, i, _):
        other.set_cookie("avain_session", cookie)
        return post_json(other, "/passkeys/login/verify", body, csrf)

    responses = burst(app, 10, send)
    assert sorted(r.status_code for r in responses) == [200] + [400] * 9
    assert {r.json["error"] for r in responses if r.status_code == 400} == {"no_challenge"}


def test_a_used_challenge_stays_refused_while_it_could_be_answered(
    app, client, make_user, monkeypatch, store_url
):
    body, cookie, csrf = _answered(client, make_user)
    assert post_json(client, "/passkeys/login/verify", body, csrf).status_code == 200
    other = app.test_client()
    other.set_cookie("avain_session", cookie)  # the cookie from before the sign-in
    advance(monkeypatch, 290, store_url)
    replay = post_json(other, "/passkeys/login/verify", body, csrf)
    assert replay.status_code == 400 and replay.json["error"] == "no_challenge"
