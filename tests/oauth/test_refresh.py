"""Refresh tokens rotate on use; a reused one revokes the grant (RFC 9700 §4.14.2)."""

from __future__ import annotations

from tests.conftest import authorize_params, exchange, follow_to_code


def _tokens(client, make_user, make_client, scope="openid profile offline_access"):
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope=scope)
    code = follow_to_code(client, params, user.email)["code"]
    return rp, secret, exchange(client, rp, secret, code, verifier).json


def _refresh(client, rp, secret, token, **extra):
    return client.post(
        "/token",
        auth=(rp.client_id, secret),
        data={"grant_type": "refresh_token", "refresh_token": token, **extra},
    )


def test_refresh_rotates_and_gives_a_new_id_token(client, make_user, make_client):
    rp, secret, first = _tokens(client, make_user, make_client)
    resp = _refresh(client, rp, secret, first["refresh_token"])
    assert resp.status_code == 200, resp.json
    body = resp.json
    assert body["refresh_token"] != first["refresh_token"]
    assert body["access_token"] != first["access_token"]
    assert "id_token" in body


def test_reusing_a_rotated_refresh_token_revokes_the_whole_grant(client, make_user, make_client):
    rp, secret, first = _tokens(client, make_user, make_client)
    second = _refresh(client, rp, secret, first["refresh_token"]).json
    replay = _refresh(client, rp, secret, first["refresh_token"])
    assert replay.status_code == 400 and replay.json["error"] == "invalid_grant"
    # the legitimate holder's newer tokens are gone too
    assert _refresh(client, rp, secret, second["refresh_token"]).json["error"] == "invalid_grant"
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {second['access_token']}"})
    assert info.status_code == 401


def test_refresh_cannot_widen_scope(client, make_user, make_client):
    rp, secret, first = _tokens(client, make_user, make_client, scope="openid offline_access")
    resp = _refresh(client, rp, secret, first["refresh_token"], scope="openid email")
    assert resp.json["error"] == "invalid_scope"


def test_a_refused_request_does_not_burn_the_refresh_token(client, make_user, make_client, app):
    """A request that fails validation is answered before the token is claimed: the client's
    next ordinary refresh must not look like reuse and end the grant (RFC 9700 §4.14.2)."""
    rp, secret, first = _tokens(client, make_user, make_client, scope="openid offline_access")
    other, other_secret = make_client(name="Other RP")
    refused = [
        _refresh(client, rp, secret, first["refresh_token"], scope="openid email"),
        _refresh(client, rp, secret, first["refresh_token"], scope="offline_access x"),
        _refresh(client, other, other_secret, first["refresh_token"]),
    ]
    assert [r.status_code for r in refused] == [400, 400, 400]
    resp = _refresh(client, rp, secret, first["refresh_token"])
    assert resp.status_code == 200, resp.json
    assert _refresh(client, rp, secret, resp.json["refresh_token"]).status_code == 200


def test_refresh_can_narrow_scope_and_keep_the_grant(client, make_user, make_client):
    rp, secret, first = _tokens(client, make_user, make_client)
    narrow = _refresh(client, rp, secret, first["refresh_token"], scope="openid").json
    assert narrow["scope"] == "openid"
    wide_again = _refresh(client, rp, secret, narrow["refresh_token"]).json
    assert set(wide_again["scope"].split()) == {"openid", "profile", "offline_access"}


def test_refresh_token_of_another_client_is_refused(client, make_user, make_client):
    rp, secret, first = _tokens(client, make_user, make_client)
    other, other_secret = make_client(name="Other")
    resp = _refresh(client, other, other_secret, first["refresh_token"])
    assert resp.json["error"] == "invalid_grant"
    # and the owner can still use it
    assert _refresh(client, rp, secret, first["refresh_token"]).status_code == 200
