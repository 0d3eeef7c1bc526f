"""private_key_jwt (RFC 7523 §3): an assertion lives a few minutes at most, and its ``jti``
is refused for as long as the assertion would be accepted, at every endpoint that
authenticates clients, on every backend and store, also when replayed in parallel."""

from __future__ import annotations

import itertools
import time
import uuid

import pytest
import redis
from joserfc import jwt
from joserfc.jwk import ECKey
from sqlalchemy import func, select

from idp import create_app, replay
from tests.burst import burst
from tests.clock import advance

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ENDPOINTS = ["/token", "/introspect", "/revoke"]
YEAR = 365 * 24 * 3600


@pytest.fixture
def app_config(app_config, store_url):
    return {**app_config, "redis_url": store_url or ""}


@pytest.fixture
def key():
    return ECKey.generate_key("P-256", {"kid": "rp-key"})


@pytest.fixture
def rp(make_client, key):
    rp, _ = make_client(
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    return rp


def assertion(key, rp, aud="http://localhost/token", lifetime=60, iat=True, jti=None):
    now = int(time.time())
    claims = {"iss": rp.client_id, "sub": rp.client_id, "aud": aud, "exp": now + lifetime}
    claims["jti"] = jti or uuid.uuid4().hex
    if iat:
        claims["iat"] = now
    return jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)


def call(client, endpoint, signed):
    data = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": signed}
    data |= {"grant_type": "client_credentials"} if endpoint == "/token" else {"token": "x"}
    return client.post(endpoint, data=data)


def accepted(resp) -> bool:
    assert resp.status_code != 500, resp.data[:300]
    if resp.status_code == 200:
        return True
    assert resp.json["error"] == "invalid_client", resp.json
    return False


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("lifetime", "iat", "ok"),
    [
        (10 * YEAR, True, False),  # the attack: exp ten years ahead
        (10 * YEAR, False, False),
        (301, True, False),
        # without iat the lifetime counts from the server's clock when the request arrives:
        # a margin for a loaded machine (301 was accepted once when the request took >1 s)
        (330, False, False),
        (300, True, True),
        (240, False, True),
    ],
)
def test_assertions_that_live_longer_than_five_minutes_are_refused(
    client, key, rp, endpoint, lifetime, iat, ok
):
    aud = f"http://localhost{endpoint}"
    resp = call(client, endpoint, assertion(key, rp, aud, lifetime=lifetime, iat=iat))
    assert accepted(resp) is ok
    if not ok:
        assert "300 seconds" in resp.json["error_description"]


def test_an_issued_at_long_ago_counts_toward_the_lifetime(client, key, rp):
    now = int(time.time())
    claims = {
        "iss": rp.client_id,
        "sub": rp.client_id,
        "aud": "http://localhost/token",
        "iat": now - 3600,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    signed = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key)
    assert not accepted(call(client, "/token", signed))


@pytest.mark.parametrize("endpoint", ENDPOINTS)
def test_each_assertion_is_accepted_once_at_any_endpoint(client, key, rp, endpoint):
    signed = assertion(key, rp, aud="http://localhost")  # the issuer: good at every endpoint
    assert accepted(call(client, endpoint, signed))
    for other in ENDPOINTS:
        assert not accepted(call(client, other, signed))


def test_the_jti_is_remembered_until_the_assertion_expires(
    app_config, key, make_client, monkeypatch, store_url
):
    """The attack: accepted, refused at once, accepted again after the 900 s throttle
    window. Here assertions may live an hour, so the window is not what stops it."""
    app = create_app({**app_config, "client_assertion_max_lifetime": 3600})
    try:
        client = app.test_client()
        rp, _ = make_client(
            grant_types=["client_credentials"],
            redirect_uris=[],
            token_endpoint_auth_method="private_key_jwt",
            jwks={"keys": [key.as_dict(private=False)]},
        )
        signed = assertion(key, rp, lifetime=3600)
        assert accepted(call(client, "/token", signed))
        assert not accepted(call(client, "/token", signed))
        advance(monkeypatch, 902, store_url)
        assert not accepted(call(client, "/token", signed))
        advance(monkeypatch, 3000, store_url)  # 3902 s after it was made
        assert not accepted(call(client, "/token", signed))  # and then it has expired
    finally:
        app.extensions["avain.engine"].dispose()


def test_the_same_jti_with_another_signature_is_refused(client, key, rp):
    jti = uuid.uuid4().hex
    assert accepted(call(client, "/token", assertion(key, rp, jti=jti)))
    assert not accepted(call(client, "/token", assertion(key, rp, lifetime=50, jti=jti)))


def test_a_parallel_replay_is_accepted_once(app, key, rp):
    signed = assertion(key, rp)
    responses = burst(app, 12, lambda client, i, _: call(client, "/token", signed))
    assert sum(accepted(r) for r in responses) == 1


def test_expired_entries_do_not_pile_up(app, db, key, rp, monkeypatch, store_url):
    """The database deletes expired entries when it adds one (one insertion in
    ``PURGE_EVERY``: here the fourth is made such a one); Redis lets them expire."""
    from idp.models import ReplayEntry

    monkeypatch.setattr(replay, "_insertions", itertools.count(replay.PURGE_EVERY - 3))

    def remembered() -> int:
        if store_url:
            return len(list(redis.Redis.from_url(store_url).scan_iter("avain:once:*")))
        return int(db.scalar(select(func.count()).select_from(ReplayEntry)) or 0)

    client = app.test_client()
    for _ in range(3):
        assert accepted(call(client, "/token", assertion(key, rp)))
    assert remembered() == 3
    advance(monkeypatch, 400, store_url)
    assert accepted(call(client, "/token", assertion(key, rp)))
    assert remembered() == 1
