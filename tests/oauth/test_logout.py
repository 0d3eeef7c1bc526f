"""RP-Initiated Logout 1.0 and Back-Channel Logout 1.0 (delivered to a real HTTP receiver)."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.events.outbox import deliver_due
from idp.models import Delivery
from idp.outbound import policy_from
from tests.conftest import authorize_params, csrf_of, exchange, follow_to_code, query_of


def _sign_in(client, rp, secret, email):
    params, verifier = authorize_params(rp)
    code = follow_to_code(client, params, email)["code"]
    return exchange(client, rp, secret, code, verifier).json


def _wait_outbox(app):
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)


def test_logout_with_id_token_hint_redirects_with_state_and_ends_sso(
    client, make_user, make_client
):
    user = make_user()
    rp, secret = make_client(first_party=True)
    token = _sign_in(client, rp, secret, user.email)
    resp = client.get(
        "/logout",
        query_string={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": "https://rp.example.com/bye",
            "state": "xyz",
        },
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "https://rp.example.com/bye?state=xyz"
    params, _ = authorize_params(rp, prompt="none")
    assert (
        query_of(client.get("/authorize", query_string=params).headers["Location"])["error"]
        == "login_required"
    )
    # session-bound tokens die with the session
    assert client.post(
        "/introspect", data={"token": token["refresh_token"]}, auth=(rp.client_id, secret)
    ).json == {"active": False}


def test_unregistered_post_logout_uri_is_not_followed(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    token = _sign_in(client, rp, secret, user.email)
    resp = client.get(
        "/logout",
        query_string={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert resp.status_code == 200
    assert b"signed out" in resp.data


def test_logout_without_hint_asks_first(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    _sign_in(client, rp, secret, user.email)
    page = client.get(
        "/logout",
        query_string={
            "client_id": rp.client_id,
            "post_logout_redirect_uri": "https://rp.example.com/bye",
            "state": "s1",
        },
    )
    assert page.status_code == 200 and b'name="confirm"' in page.data
    resp = client.post(
        "/logout",
        data={
            "client_id": rp.client_id,
            "post_logout_redirect_uri": "https://rp.example.com/bye",
            "state": "s1",
            "confirm": "yes",
            "csrf_token": csrf_of(page.data),
        },
    )
    assert resp.headers["Location"] == "https://rp.example.com/bye?state=s1"


def test_confirmation_without_csrf_does_not_log_out(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    _sign_in(client, rp, secret, user.email)
    resp = client.post("/logout", data={"confirm": "yes"})
    assert b'name="confirm"' in resp.data
    assert client.get("/account/").status_code == 200


def test_bad_id_token_hint_is_an_error_page(client):
    resp = client.get("/logout", query_string={"id_token_hint": "abc.def.ghi"})
    assert resp.status_code == 400


def test_backchannel_logout_reaches_every_client_in_the_session(
    app, client, make_user, make_client, receiver
):
    user = make_user()
    shop, shop_secret = make_client(
        first_party=True,
        backchannel_logout_uri=receiver.url,
        redirect_uris=["https://shop.example.com/cb"],
    )
    garage, garage_secret = make_client(
        first_party=True,
        backchannel_logout_uri=receiver.url,
        redirect_uris=["https://garage.example.com/cb"],
        subject_type="pairwise",
    )
    shop_token = _sign_in(client, shop, shop_secret, user.email)
    garage_token = _sign_in(client, garage, garage_secret, user.email)
    client.get("/logout", query_string={"id_token_hint": shop_token["id_token"]})
    _wait_outbox(app)
    assert len(receiver.tokens) == 2
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    by_aud = {}
    for raw in receiver.tokens:
        decoded = jwt.decode(raw, keys)
        assert decoded.header["typ"] == "logout+jwt"
        by_aud[decoded.claims["aud"]] = decoded.claims
    garage_id = jwt.decode(garage_token["id_token"], keys).claims
    claims = by_aud[garage.client_id]
    assert claims["sub"] == garage_id["sub"] and claims["sid"] == garage_id["sid"]
    assert "http://schemas.openid.net/event/backchannel-logout" in claims["events"]
    assert "nonce" not in claims
    assert {"iat", "exp", "jti", "iss"} <= set(claims)


def test_failed_delivery_is_recorded_and_retried(app, client, db, make_user, make_client, receiver):
    receiver.status = 500
    user = make_user()
    rp, secret = make_client(first_party=True, backchannel_logout_uri=receiver.url)
    token = _sign_in(client, rp, secret, user.email)
    client.get("/logout", query_string={"id_token_hint": token["id_token"]})
    _wait_outbox(app)
    delivery = db.scalar(select(Delivery))
    assert delivery.attempts == 1 and delivery.delivered_at is None
    assert delivery.attempt_log[0]["status"] == 500
    receiver.status = 204
    delivery.next_attempt_at = delivery.created_at
    db.commit()
    factory = app.extensions["avain.sessionmaker"]
    assert deliver_due(factory, 5.0, 8, outbound=policy_from(app.config["AVAIN"])) == 1
    db.expire_all()
    delivery = db.scalar(select(Delivery))
    assert delivery.delivered_at is not None and delivery.attempts == 2
    assert len(receiver.tokens) == 2


# -- id_token_hint: only an ID token we issued, and immediate logout only for this session --


def _signed(app, claims, **header):
    """A JWT signed with Avain's own ID token key (as any token of ours is)."""
    from idp import signing
    from idp.db import new_session

    with app.app_context():
        session = new_session(app)
        key = signing.signing_key(session, "RS256")
        session.commit()
        session.close()
        return jwt.encode({"alg": "RS256", "kid": key.kid, **header}, claims, key)


def _claims_of(client, token):
    return jwt.decode(token, KeySet.import_key_set(client.get("/jwks.json").json)).claims


def _still_signed_in(client):
    return client.get("/account/").status_code == 200


def _asks_first(resp):
    return resp.status_code == 200 and b'name="confirm"' in resp.data


@pytest.fixture
def signed_in(client, make_user, make_client):
    rp, secret = make_client(first_party=True)
    return rp, _sign_in(client, rp, secret, make_user().email)


def test_access_token_is_not_an_id_token_hint(client, signed_in):
    _, token = signed_in
    resp = client.get("/logout", query_string={"id_token_hint": token["access_token"]})
    assert resp.status_code == 400
    assert b"nothing was changed" in resp.data
    assert _still_signed_in(client)


def test_logout_token_is_not_an_id_token_hint(app, client, signed_in):
    rp, token = signed_in
    claims = _claims_of(client, token["id_token"])
    logout_token = _signed(
        app,
        {
            "iss": claims["iss"],
            "aud": rp.client_id,
            "sub": claims["sub"],
            "sid": claims["sid"],
            "iat": claims["iat"],
            "exp": claims["exp"],
            "jti": "j1",
            "events": {"http://schemas.openid.net/event/backchannel-logout": {}},
        },
        typ="logout+jwt",
    )
    assert client.get("/logout", query_string={"id_token_hint": logout_token}).status_code == 400
    assert _still_signed_in(client)


@pytest.mark.parametrize(
    "change",
    [
        {"iss": "https://other-issuer.example"},
        {"aud": "not-a-registered-client"},
        {"aud": ["not-a-registered-client"]},
        {"sub": None},
    ],
    ids=["foreign-iss", "unregistered-aud", "aud-list", "no-sub"],
)
def test_id_token_hint_claims_must_be_ours(app, client, signed_in, change):
    _, token = signed_in
    claims = {**_claims_of(client, token["id_token"]), **change}
    hint = _signed(app, {k: v for k, v in claims.items() if v is not None})
    assert client.get("/logout", query_string={"id_token_hint": hint}).status_code == 400
    assert _still_signed_in(client)


def test_id_token_signed_by_a_foreign_key_is_refused(client, signed_in):
    from joserfc.jwk import RSAKey

    _, token = signed_in
    claims = _claims_of(client, token["id_token"])
    foreign = RSAKey.generate_key(2048)
    forged = jwt.encode({"alg": "RS256"}, claims, foreign)
    assert client.get("/logout", query_string={"id_token_hint": forged}).status_code == 400
    assert _still_signed_in(client)


def test_id_token_of_another_client_than_client_id_is_refused(client, signed_in, make_client):
    _, token = signed_in
    other, _ = make_client(first_party=True, redirect_uris=["https://other.example.com/cb"])
    resp = client.get(
        "/logout",
        query_string={"id_token_hint": token["id_token"], "client_id": other.client_id},
    )
    assert resp.status_code == 400
    assert _still_signed_in(client)


def test_expired_id_token_for_this_session_logs_out_at_once(app, client, signed_in):
    _, token = signed_in
    claims = _claims_of(client, token["id_token"])
    expired = _signed(app, {**claims, "iat": claims["iat"] - 7200, "exp": claims["iat"] - 3600})
    resp = client.get(
        "/logout",
        query_string={
            "id_token_hint": expired,
            "post_logout_redirect_uri": "https://rp.example.com/bye",
        },
    )
    assert resp.status_code == 302
    assert resp.headers["Location"] == "https://rp.example.com/bye"
    assert not _still_signed_in(client)


def test_hint_for_another_session_asks_first(app, client, make_user, make_client):
    """The attack: a page loads /logout with a hint from another session (the attacker's
    own, or the victim's in another browser) in the victim's browser."""
    victim, attacker = make_user(), make_user()
    rp, secret = make_client(first_party=True)
    attackers_browser = app.test_client()
    attackers_token = _sign_in(attackers_browser, rp, secret, attacker.email)
    _sign_in(client, rp, secret, victim.email)
    victims_other_browser = app.test_client()
    victims_other_token = _sign_in(victims_other_browser, rp, secret, victim.email)
    for hint in (attackers_token["id_token"], victims_other_token["id_token"]):
        assert _asks_first(client.get("/logout", query_string={"id_token_hint": hint}))
        assert _still_signed_in(client)
    assert _still_signed_in(attackers_browser) and _still_signed_in(victims_other_browser)


def test_hint_without_sid_asks_first(app, client, signed_in):
    _, token = signed_in
    claims = _claims_of(client, token["id_token"])
    no_sid = _signed(app, {k: v for k, v in claims.items() if k != "sid"})
    assert _asks_first(client.get("/logout", query_string={"id_token_hint": no_sid}))
    assert _still_signed_in(client)


def test_hint_for_this_session_logs_out_at_once(client, signed_in):
    _, token = signed_in
    resp = client.get("/logout", query_string={"id_token_hint": token["id_token"]})
    assert resp.status_code == 200 and b"signed out" in resp.data
    assert not _still_signed_in(client)
