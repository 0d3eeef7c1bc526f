"""RFC 8693 token exchange for the tire shop to garage handoff: the shop's access token for
a handoff token (step B), the handoff token for the garage's access token, once (step C),
and every refusal a partner developer can meet."""

from __future__ import annotations

import base64
import json
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey
from sqlalchemy import select, update

from idp.db import new_session, utcnow
from idp.models import Disclosure, Grant, Handoff, Token
from idp.oauth import exchange as exchange_mod
from idp.oauth.clients import TOKEN_EXCHANGE, ClientError
from tests.conftest import authorize_params, exchange, follow_to_code
from tests.oauth.handoff import (
    ACCESS,
    AGREE,
    DETAILS,
    JWT,
    ORDER,
    error_of,
    hand_over,
    partners,
    profile,
    redeem,
    shop_token,
    walk,
    withdraw_garage,
)

PHONE, PLATE = "+358401234567", "ABC-123"


@pytest.fixture
def world(app, client, make_user, make_client):
    shop, garage = partners(make_client)
    user = make_user(email="aino@example.com", name="Aino Asiakas")
    profile(app, user.id, phone_number=PHONE, car_registration=PLATE)
    return shop, garage, user


def _keys(client) -> KeySet:
    return KeySet.import_key_set(client.get("/jwks.json").json)


def _handoff(client, world, **consent: str) -> tuple[dict[str, Any], dict[str, Any]]:
    shop, _, user = world
    token = shop_token(client, shop, user.email, consent={**AGREE, **consent})
    resp = hand_over(client, shop, token["access_token"])
    assert resp.status_code == 200, resp.json
    return token, resp.json


def _set(app, model: Any, where: Any, **values: Any) -> None:
    with app.app_context():
        s = new_session(app)
        s.execute(update(model).where(where).values(**values))
        s.commit()
        s.close()


# -- success ------------------------------------------------------------------------------


def test_handoff_token_carries_the_order_and_nothing_of_the_customer(client, world):
    """The shop holds the handoff token and the browser carries it: no claim the customer
    shares with the garage only, and not the garage's pairwise subject (the shop could link
    the two). The garage reads both at /userinfo after redeeming."""
    _, body = _handoff(client, world)
    assert body["issued_token_type"] == JWT
    assert body["token_type"] == "N_A"
    assert body["expires_in"] == 120
    assert body["authorization_details"] == DETAILS
    token = jwt.decode(body["access_token"], _keys(client))
    assert token.header["typ"] == "handoff+jwt"
    claims = token.claims
    assert claims["iss"] == "http://localhost"
    assert claims["aud"] == "garage"
    assert 0 < claims["exp"] - claims["iat"] <= 120
    assert claims["client_id"] == "tire-shop"
    assert claims["purpose"] == "garage_booking"
    assert claims["authorization_details"] == DETAILS
    assert set(claims) == {
        "iss",
        "aud",
        "iat",
        "exp",
        "jti",
        "client_id",
        "purpose",
        "authorization_details",
    }


def test_optional_claims_only_when_chosen(client, world):
    _, garage, _ = world
    _, body = _handoff(client, world, **{"claim:garage_booking:email": "on"})
    got = redeem(client, garage, body["access_token"]).json
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {got['access_token']}"})
    assert info.json["email"] == "aino@example.com"
    assert "email" not in jwt.decode(body["access_token"], _keys(client)).claims


def test_garage_redeems_once_for_an_access_token_of_its_own(app, client, world):
    _, garage, user = world
    _, body = _handoff(client, world)
    resp = redeem(client, garage, body["access_token"], requested_token_type=ACCESS)
    assert resp.status_code == 200, resp.json
    got = resp.json
    assert got["issued_token_type"] == ACCESS
    assert got["token_type"] == "Bearer"
    assert got["expires_in"] == 600
    assert got["scope"] == "openid"
    assert got["authorization_details"] == DETAILS
    assert "refresh_token" not in got
    seen = client.post("/introspect", data={"token": got["access_token"]}, auth=garage.auth).json
    assert seen["active"] is True and seen["authorization_details"] == DETAILS
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {got['access_token']}"})
    assert info.status_code == 200
    handoff_sub = info.json["sub"]
    assert handoff_sub != user.id  # the garage is pairwise
    assert info.json == {
        "sub": handoff_sub,
        "name": "Aino Asiakas",
        "phone_number": PHONE,
        "car_registration": PLATE,
    }
    with app.app_context(), new_session(app) as s:
        row = s.scalars(select(Handoff)).one()
        grant = s.get(Grant, row.redeemed_grant_id)
        assert grant is not None and (grant.client_id, grant.user_id) == ("garage", user.id)
        assert grant.authorization_details == DETAILS
    # then the garage's own authorization request: no form, no consent page, same customer
    params, verifier = authorize_params(garage.rp, scope="openid")
    callback, pages = walk(client, params, user.email, consent=None)
    assert pages == []
    tokens = exchange(client, garage.rp, garage.secret, callback["code"], verifier).json
    assert jwt.decode(tokens["id_token"], _keys(client)).claims["sub"] == handoff_sub


def test_requested_token_type_jwt_is_accepted(client, world):
    shop, _, user = world
    token = shop_token(client, shop, user.email)
    assert (
        hand_over(client, shop, token["access_token"], requested_token_type=JWT).status_code == 200
    )


def test_details_may_be_narrowed_to_granted_entries(client, world):
    shop, _, user = world
    second = {**ORDER, "order": {**ORDER["order"], "number": "R-1043"}}
    token = shop_token(client, shop, user.email, details=[ORDER, second])
    resp = hand_over(
        client, shop, token["access_token"], authorization_details=json.dumps([second])
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["authorization_details"] == [second]


# -- step B refusals ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("audience", "problem"),
    [
        (None, "Missing 'audience'"),
        ("tire-shop", "No partner agreement lets tire-shop hand customers over to tire-shop"),
        ("nobody", "No partner agreement lets tire-shop hand customers over to nobody"),
    ],
)
def test_no_agreement_to_that_audience(client, world, audience, problem):
    shop, _, user = world
    token = shop_token(client, shop, user.email)
    resp = hand_over(client, shop, token["access_token"], audience=audience)
    assert error_of(resp) == (
        "invalid_target",
        problem + ("." if audience else ": name the partner's client id."),
    )


def test_garage_has_no_agreement_to_hand_over(client, world, make_client):
    _, garage, user = world
    params, verifier = authorize_params(garage.rp, scope="openid")
    callback, _ = walk(client, params, user.email, consent=AGREE)
    token = exchange(client, garage.rp, garage.secret, callback["code"], verifier).json
    resp = hand_over(client, garage, token["access_token"], audience="tire-shop")
    assert error_of(resp)[0] == "invalid_target"


@pytest.mark.parametrize(
    ("details", "problem"),
    [
        ([{"type": "payment_initiation"}], "not allowed by the agreement tire_fitting"),
        (
            [{**ORDER, "order": {**ORDER["order"], "number": "R-9999"}}],
            "not granted with the subject token",
        ),
        ("not json", "not valid JSON"),
        ("[" * 2000 + "]" * 2000, "not valid JSON"),  # deeper than json recurses: no 500
    ],
)
def test_details_not_allowed_or_not_granted(client, world, details, problem):
    shop, _, user = world
    token = shop_token(client, shop, user.email)
    raw = details if isinstance(details, str) else json.dumps(details)
    resp = hand_over(client, shop, token["access_token"], authorization_details=raw)
    error, description = error_of(resp)
    assert error == "invalid_authorization_details"
    assert problem in description


def test_subject_token_without_details(client, world):
    shop, _, user = world
    params, verifier = authorize_params(shop.rp, scope="openid")
    code = follow_to_code(client, params, user.email)["code"]
    token = exchange(client, shop.rp, shop.secret, code, verifier).json
    error, description = error_of(hand_over(client, shop, token["access_token"]))
    assert error == "invalid_authorization_details"
    assert "carries no authorization_details of type tire_fitting" in description


def test_unknown_or_foreign_subject_token(client, world, make_client):
    shop, _, user = world
    assert error_of(hand_over(client, shop, "not-a-token")) == (
        "invalid_grant",
        "The subject_token is not an access token issued by Avain.",
    )
    other, secret = make_client(name="Other", redirect_uris=["https://o.example.com/cb"])
    params, verifier = authorize_params(other, scope="openid")
    code = follow_to_code(client, params, user.email)["code"]
    foreign = exchange(client, other, secret, code, verifier).json["access_token"]
    assert error_of(hand_over(client, shop, foreign)) == (
        "invalid_grant",
        "The subject_token was issued to another client.",
    )


def test_revoked_or_expired_subject_token(app, client, world):
    shop, _, user = world
    token = shop_token(client, shop, user.email)
    revoked = client.post("/revoke", data={"token": token["access_token"]}, auth=shop.auth)
    assert revoked.status_code == 200
    assert error_of(hand_over(client, shop, token["access_token"])) == (
        "invalid_grant",
        "The subject_token has been revoked.",
    )
    token = shop_token(client, shop, user.email)
    _set(app, Token, Token.jti == _jti(token), access_expires_at=utcnow() - timedelta(seconds=1))
    assert error_of(hand_over(client, shop, token["access_token"]))[1] == (
        "The subject_token has expired; refresh it and try again."
    )


def _jti(token: dict[str, Any]) -> str:
    payload = token["access_token"].split(".")[1]
    return str(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["jti"])


def test_grant_not_live(app, client, world):
    shop, _, user = world
    token = shop_token(client, shop, user.email)
    with app.app_context(), new_session(app) as s:
        grant_id = s.scalar(select(Token.grant_id).where(Token.jti == _jti(token)))
    _set(app, Grant, Grant.id == grant_id, revoked_at=utcnow())
    assert error_of(hand_over(client, shop, token["access_token"])) == (
        "invalid_grant",
        "The subject token's grant has been revoked (signed out or consent withdrawn).",
    )


def test_consent_withdrawn(client, world):
    shop, _, user = world
    token = shop_token(client, shop, user.email)
    withdraw_garage(client)
    assert error_of(hand_over(client, shop, token["access_token"])) == (
        "invalid_grant",
        "The customer withdrew consent to purpose garage_booking for garage.",
    )


def test_consent_refused(client, world):
    shop, _, user = world
    token = shop_token(client, shop, user.email)
    params, _ = authorize_params(
        shop.rp, scope="openid", authorization_details=json.dumps(DETAILS), prompt="consent"
    )
    callback, _ = walk(client, params, user.email, consent={})  # "agree" left unticked
    assert callback["error"] == "access_denied"
    assert error_of(hand_over(client, shop, token["access_token"]))[1] == (
        "The customer refused consent to purpose garage_booking for garage."
    )


def test_consent_expired(client, world, monkeypatch):
    shop, _, user = world
    token = shop_token(client, shop, user.email)
    release = exchange_mod.release
    monkeypatch.setattr(
        exchange_mod,
        "release",
        lambda s, ctx, u, r, wanted, now: release(s, ctx, u, r, wanted, now + timedelta(days=91)),
    )
    assert error_of(hand_over(client, shop, token["access_token"]))[1].startswith(
        "The customer's consent to purpose garage_booking for garage has expired"
    )


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("subject_token_type", None, "Missing or unsupported 'subject_token_type'"),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:id_token", "unsupported"),
        ("subject_token", None, "Missing 'subject_token'."),
        ("requested_token_type", "urn:ietf:params:oauth:token-type:refresh_token", "Unsupported"),
        ("actor_token", "x", "does not support 'actor_token'"),
    ],
)
def test_malformed_requests(client, world, field, value, problem):
    shop, _, user = world
    token = shop_token(client, shop, user.email)
    resp = hand_over(client, shop, token["access_token"], **{field: value})
    error, description = error_of(resp)
    assert error == "invalid_request"
    assert problem in description


def test_client_without_the_grant_type(client, world, make_client):
    _, _, user = world
    plain, secret = make_client(name="Plain", redirect_uris=["https://p.example.com/cb"])
    resp = client.post(
        "/token",
        data={
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": "x",
            "subject_token_type": ACCESS,
            "audience": "garage",
        },
        auth=(plain.client_id, secret),
    )
    assert error_of(resp)[0] == "unauthorized_client"
    assert "register it with the grant type" in resp.json["error_description"]


def test_public_clients_cannot_register_for_token_exchange(make_client):
    with pytest.raises(ClientError, match="public client cannot use token exchange"):
        make_client(public=True, grant_types=["authorization_code", TOKEN_EXCHANGE])


def test_wrong_client_secret(client, world):
    shop, _, _ = world
    resp = client.post(
        "/token",
        data={"grant_type": TOKEN_EXCHANGE, "subject_token": "x", "subject_token_type": ACCESS},
        auth=(shop.rp.client_id, "wrong"),
    )
    assert resp.status_code == 401 and resp.json["error"] == "invalid_client"


# -- step C refusals ----------------------------------------------------------------------


def test_second_redemption_is_refused(client, world):
    _, garage, _ = world
    _, body = _handoff(client, world)
    assert redeem(client, garage, body["access_token"]).status_code == 200
    assert error_of(redeem(client, garage, body["access_token"])) == (
        "invalid_grant",
        "The handoff token has already been redeemed; it is single use.",
    )


def _resigned(app, handoff: str, **changes: Any) -> str:
    from idp import signing

    payload = handoff.split(".")[1]
    values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    values.update(changes)
    with app.test_request_context(), new_session(app) as s:
        return signing.sign(s, "RS256", values, typ="handoff+jwt")


def test_handoff_dies_with_the_shops_grant(app, client, world):
    """Signed out at the shop (its grant revoked) before the garage redeemed: refused, as a
    code is after logout; the handoff stays unused."""
    from idp.revocation import revoke_grant

    _, garage, _ = world
    token, body = _handoff(client, world)
    with app.app_context(), new_session(app) as s:
        grant_id = s.scalar(select(Token.grant_id).where(Token.jti == _jti(token)))
        assert grant_id is not None
        revoke_grant(s, grant_id)
        s.commit()
    code, description = error_of(redeem(client, garage, body["access_token"]))
    assert code == "invalid_grant"
    assert description.startswith("The customer's session at the handing-over site ended")
    with app.app_context(), new_session(app) as s:
        assert s.scalar(select(Handoff.used_at)) is None
        assert not list(s.scalars(select(Grant).where(Grant.client_id == "garage")))


def test_expired_handoff(app, client, world):
    _, garage, _ = world
    _, body = _handoff(client, world)
    stale = _resigned(app, body["access_token"], exp=1_700_000_000)
    assert error_of(redeem(client, garage, stale))[1].startswith("The handoff token has expired")


def test_handoff_for_another_audience(client, world):
    shop, _, _ = world
    _, body = _handoff(client, world)
    assert error_of(redeem(client, shop, body["access_token"])) == (
        "invalid_grant",
        "The handoff token was issued for another audience.",
    )


def test_not_a_handoff_token(client, world):
    shop, garage, user = world
    token = shop_token(client, shop, user.email)
    forged_key = RSAKey.generate_key(2048)
    payload = jwt.decode(
        hand_over(client, shop, token["access_token"]).json["access_token"], _keys(client)
    ).claims
    forged = jwt.encode({"alg": "RS256", "typ": "handoff+jwt"}, payload, forged_key)
    for value in (forged, token["access_token"], "garbage"):
        assert error_of(redeem(client, garage, value)) == (
            "invalid_grant",
            "The subject_token is not a handoff token signed by Avain.",
        )


def test_withdrawal_before_redemption_makes_the_handoff_unredeemable(app, client, world):
    _, garage, _ = world
    _, body = _handoff(client, world)
    withdraw_garage(client)
    assert error_of(redeem(client, garage, body["access_token"])) == (
        "invalid_grant",
        "The customer withdrew consent to purpose garage_booking for garage.",
    )
    with app.app_context(), new_session(app) as s:
        row = s.scalars(select(Handoff)).one()
        assert row.revoked_at is not None and row.used_at is None


def test_withdrawal_kills_the_garage_token_at_once(client, world):
    _, garage, _ = world
    _, body = _handoff(client, world)
    got = redeem(client, garage, body["access_token"]).json
    bearer = {"Authorization": f"Bearer {got['access_token']}"}
    assert client.get("/userinfo", headers=bearer).status_code == 200
    withdraw_garage(client)
    assert client.get("/userinfo", headers=bearer).status_code == 401
    active = client.post("/introspect", data={"token": got["access_token"]}, auth=garage.auth)
    assert active.json == {"active": False}


def _race(app, garage, handoff: str, n: int) -> list[tuple[int, dict[str, Any]]]:
    """``n`` threads, each with its own test client and connection, redeem at once."""
    barrier = threading.Barrier(n)
    results: list[tuple[int, dict[str, Any]]] = []

    def go() -> None:
        http = app.test_client()
        barrier.wait()
        resp = redeem(http, garage, handoff)
        results.append((resp.status_code, resp.json))

    threads = [threading.Thread(target=go) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results


def test_concurrent_redemptions_only_one_wins(app, client, world):
    """Real threads: on PostgreSQL the UPDATE ... WHERE used_at IS NULL decides; on SQLite
    the single writer does."""
    _, garage, _ = world
    for _ in range(3):
        _, body = _handoff(client, world)
        results = _race(app, garage, body["access_token"], 4)
        assert sorted(status for status, _ in results) == [200, 400, 400, 400], results
        assert all(r["error"] == "invalid_grant" for status, r in results if status == 400)
    with app.app_context(), new_session(app) as s:
        assert len(list(s.scalars(select(Grant).where(Grant.client_id == "garage")))) == 3


def test_the_release_to_the_garage_is_in_the_disclosure_log(app, client, world):
    """Handing over releases nothing (the token carries no claim); the garage's /userinfo
    with the redeemed token does, and is recorded as every release is: the garage, the
    claim names (never values), the purpose it rested on."""
    _, garage, _ = world
    _, body = _handoff(client, world)
    with app.app_context(), new_session(app) as s:
        before = list(s.scalars(select(Disclosure).where(Disclosure.recipient_id == "garage")))
    assert before == []
    got = redeem(client, garage, body["access_token"]).json
    client.get("/userinfo", headers={"Authorization": f"Bearer {got['access_token']}"})
    with app.app_context(), new_session(app) as s:
        rows = list(s.scalars(select(Disclosure).where(Disclosure.recipient_id == "garage")))
    assert [r.channel for r in rows] == ["userinfo"]
    assert set(rows[0].claims) == {"name", "phone_number", "car_registration"}
    assert {g["purpose"] for g in rows[0].grounds} == {"garage_booking"}
    assert "+358" not in json.dumps(rows[0].grounds) + json.dumps(rows[0].claims)


def test_garage_public_subject_when_not_pairwise(app, client, make_user, make_client):
    shop, garage = partners(make_client, garage_subject="public")
    user = make_user(email="aino@example.com")
    token = shop_token(client, shop, user.email)
    body = hand_over(client, shop, token["access_token"]).json
    got = redeem(client, garage, body["access_token"]).json
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {got['access_token']}"})
    assert info.json["sub"] == user.id


# -- through Authlib's own client against a live Avain -----------------------------------


def test_through_authlib_oauth2session_against_a_live_server(tmp_path):
    """What a partner developer writes: Authlib's requests client, over real HTTP."""
    from authlib.integrations.requests_client import OAuth2Session, OAuthError

    from idp.auth import accounts
    from idp.oauth.clients import ClientSpec, create
    from idp.outbound import policy_from
    from tests.conftest import PASSWORD
    from tests.live_server import live_avain
    from tests.oauth.handoff import GARAGE_URI, GRANT_TYPES, SHOP_URI, Partner

    with live_avain(tmp_path) as server:
        app = server.app
        with app.app_context(), new_session(app) as s:
            found = []
            for client_id, name, uri in (
                ("tire-shop", "Rengasverkkokauppa", SHOP_URI),
                ("garage", "Korjaamo Virtanen", GARAGE_URI),
            ):
                spec = ClientSpec(
                    name=name,
                    client_id=client_id,
                    redirect_uris=[uri],
                    grant_types=GRANT_TYPES,
                    subject_type="pairwise",
                )
                rp, secret = create(s, spec, policy_from(app.config["AVAIN"]))
                assert secret is not None
                found.append(Partner(rp, secret))
            user = accounts.register(s, "aino@example.com", "Aino Asiakas", PASSWORD)
            user.phone_number, user.car_registration = PHONE, PLATE
            s.commit()
            for partner in found:
                s.expunge(partner.rp)
        shop, garage = found
        token = shop_token(app.test_client(), shop, "aino@example.com")  # the browser part

        endpoint = f"{server.url}/token"
        with OAuth2Session(shop.rp.client_id, shop.secret) as shop_client:
            handoff = shop_client.fetch_token(
                endpoint,
                grant_type=TOKEN_EXCHANGE,
                subject_token=token["access_token"],
                subject_token_type=ACCESS,
                audience="garage",
            )
        assert handoff["issued_token_type"] == JWT
        assert handoff["authorization_details"] == DETAILS
        with OAuth2Session(garage.rp.client_id, garage.secret) as garage_client:
            got = garage_client.fetch_token(
                endpoint,
                grant_type=TOKEN_EXCHANGE,
                subject_token=handoff["access_token"],
                subject_token_type=JWT,
            )
            assert got["issued_token_type"] == ACCESS
            info = garage_client.get(f"{server.url}/userinfo").json()
            assert info["phone_number"] == PHONE and info["car_registration"] == PLATE
            with pytest.raises(OAuthError) as refused:
                garage_client.fetch_token(
                    endpoint,
                    grant_type=TOKEN_EXCHANGE,
                    subject_token=handoff["access_token"],
                    subject_token_type=JWT,
                )
        assert refused.value.error == "invalid_grant"
        assert refused.value.description == (
            "The handoff token has already been redeemed; it is single use."
        )


def test_dynamic_registration_accepts_the_grant_type(client):
    meta = {
        "client_name": "Another garage",
        "redirect_uris": ["https://garage2.example.com/cb"],
        "grant_types": ["authorization_code", TOKEN_EXCHANGE],
    }
    iat = {"Authorization": "Bearer initial-access-token-for-tests"}
    resp = client.post("/connect/register", json=meta, headers=iat)
    assert resp.status_code == 201, resp.json
    assert TOKEN_EXCHANGE in resp.json["grant_types"]
    public = {**meta, "token_endpoint_auth_method": "none"}
    resp = client.post("/connect/register", json=public, headers=iat)
    assert resp.status_code == 400
    assert "public client cannot use token exchange" in resp.json["error_description"]


def test_withdrawal_racing_a_redemption_leaves_nothing_usable(app, client, world, database_url):
    """Issue 9's rule for handoffs: once the withdrawal has returned, the garage holds no
    working token, whichever of the two reached the database first."""
    _, garage, _ = world
    rounds = 2 if database_url.startswith("sqlite") else 5
    outcomes = set()
    for n in range(rounds):
        _, body = _handoff(client, world)  # asks garage_booking again after a withdrawal
        barrier = threading.Barrier(2)
        result: dict[str, Any] = {}

        def go(
            value: str = body["access_token"],
            into: dict[str, Any] = result,
            start: threading.Barrier = barrier,
            delay: float = 0.03 * n,  # vary which one reaches the database first
        ) -> None:
            http = app.test_client()
            start.wait()
            time.sleep(delay)
            resp = redeem(http, garage, value)
            into.update(status=resp.status_code, body=resp.json)

        thread = threading.Thread(target=go)
        thread.start()
        barrier.wait()
        withdraw_garage(client)
        thread.join(timeout=30)
        outcomes.add(result["status"])
        if result["status"] == 200:
            bearer = {"Authorization": f"Bearer {result['body']['access_token']}"}
            assert client.get("/userinfo", headers=bearer).status_code == 401
        else:
            assert result["body"]["error"] == "invalid_grant"
    assert outcomes <= {200, 400}


def test_the_shop_cannot_read_what_the_customer_shares_with_the_garage_only(client, world):
    shop, _, user = world
    token, body = _handoff(client, world)
    # the shop's own share: its ID token and userinfo carry no phone or car registration
    own = client.get("/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert "phone_number" not in own.json and "car_registration" not in own.json
    # what the shop holds in its hands after the exchange: the handoff token, readable
    parts = body["access_token"].split(".")
    assert len(parts) == 3  # a JWS anyone holding it reads
    readable = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    assert "phone_number" not in readable and "car_registration" not in readable
    assert "sub" not in readable  # nor the garage's pairwise subject, which would link them
