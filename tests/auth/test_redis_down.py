"""Redis configured but down: every request that needs it is refused with 503 and
``Retry-After`` (HTML for people, JSON for scripts and OAuth clients), never a 500, never
a password check without the shared throttle; pages that do not need it keep working.

Redis is "down" at a port where nothing listens. Sign-ins for the account pages are made
by a second app on the same database without Redis.
"""

from __future__ import annotations

import re
import time
import uuid

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey

from idp import create_app
from idp.auth import passwords
from tests.auth.soft_authenticator import SoftAuthenticator
from tests.conftest import PASSWORD, csrf_of, login

DOWN = "redis://127.0.0.1:1/0"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "redis_url": DOWN}


@pytest.fixture
def helper_app(app_config):
    """The same database and secret, no Redis: signs customers in for the account pages."""
    other = create_app({**app_config, "redis_url": ""})
    yield other
    other.extensions["avain.engine"].dispose()


@pytest.fixture
def checks(monkeypatch):
    calls: list[str | None] = []
    real = passwords.verify
    monkeypatch.setattr(passwords, "verify", lambda p, s: calls.append(s) or real(p, s))
    return calls


def _signed_in(app, helper_app, email):
    helper = helper_app.test_client()
    assert login(helper, email).status_code == 302
    client = app.test_client()
    client.set_cookie("avain_session", helper.get_cookie("avain_session").value)
    return client


def _refused_page(resp):
    assert resp.status_code == 503, resp.data[:300]
    assert int(resp.headers["Retry-After"]) > 0
    assert resp.mimetype == "text/html"
    assert b"temporarily unavailable" in resp.data


def _refused_json(resp, key="message"):
    assert resp.status_code == 503, resp.data[:300]
    assert int(resp.headers["Retry-After"]) > 0
    assert resp.json["error"] == "temporarily_unavailable"
    assert "temporarily unavailable" in resp.json[key]


def test_sign_in_is_refused_with_503_and_no_password_is_checked(client, make_user, checks):
    user = make_user()
    assert client.get("/login").status_code == 200  # the page itself needs no Redis
    _refused_page(login(client, user.email, PASSWORD))
    _refused_page(login(client, user.email, "wrong password"))
    assert checks == []


def test_registration_is_refused_with_503(client):
    page = client.get("/register")
    resp = client.post(
        "/register",
        data={
            "name": "Uusi",
            "email": "uusi@example.com",
            "password": "a long new password",
            "password_confirm": "a long new password",
            "csrf_token": csrf_of(page.data),
        },
    )
    _refused_page(resp)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        (
            "/account/password",
            {
                "current_password": PASSWORD,
                "new_password": "a brand new password",
                "new_password_confirm": "a brand new password",
            },
        ),
        ("/account/delete", {"confirm": "yes", "password": PASSWORD}),
    ],
)
def test_account_pages_that_check_the_password_are_refused_with_503(
    app, helper_app, make_user, checks, path, form
):
    user = make_user()
    client = _signed_in(app, helper_app, user.email)
    checks.clear()
    page = client.get(path)
    assert page.status_code == 200
    _refused_page(client.post(path, data={**form, "csrf_token": csrf_of(page.data)}))
    assert checks == []
    assert client.get("/account/").status_code == 200  # nothing was changed or deleted


def _csrf_meta(client, path):
    return re.search(r'name="csrf-token" content="([^"]+)"', client.get(path).data.decode())[1]


def test_passkey_sign_in_is_refused_with_503(client):
    csrf = _csrf_meta(client, "/login")
    options = client.post("/passkeys/login/options", json={}, headers={"X-CSRFToken": csrf})
    assert options.status_code == 200
    answer = SoftAuthenticator().assert_(options.json)
    resp = client.post(
        "/passkeys/login/verify", json={"credential": answer}, headers={"X-CSRFToken": csrf}
    )
    _refused_json(resp)


def test_passkey_registration_is_refused_with_503(app, helper_app, make_user):
    user = make_user()
    client = _signed_in(app, helper_app, user.email)
    csrf = _csrf_meta(client, "/account/")
    options = client.post("/passkeys/register/options", json={}, headers={"X-CSRFToken": csrf})
    assert options.status_code == 200
    resp = client.post(
        "/passkeys/register/verify",
        json={"credential": SoftAuthenticator().register(options.json), "name": "Puhelin"},
        headers={"X-CSRFToken": csrf},
    )
    _refused_json(resp)


@pytest.mark.parametrize("endpoint", ["/token", "/introspect", "/revoke"])
def test_private_key_jwt_is_refused_with_503_json(client, make_client, endpoint):
    key = ECKey.generate_key("P-256", {"kid": "rp-key"})
    rp, _ = make_client(
        grant_types=["client_credentials"],
        redirect_uris=[],
        token_endpoint_auth_method="private_key_jwt",
        jwks={"keys": [key.as_dict(private=False)]},
    )
    now = int(time.time())
    claims = {
        "iss": rp.client_id,
        "sub": rp.client_id,
        "aud": f"http://localhost{endpoint}",
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
    }
    data = {
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key),
    }
    data |= {"grant_type": "client_credentials"} if endpoint == "/token" else {"token": "x"}
    resp = client.post(endpoint, data=data)
    _refused_json(resp, key="error_description")
    assert resp.headers["Cache-Control"] == "no-store"


def test_readiness_names_redis_while_liveness_and_health_stay_ok(client):
    live = client.get("/health/live")
    assert live.status_code == 200 and live.json == {"status": "ok"}
    assert client.get("/health").status_code == 200
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json["status"] == "unavailable"
    redis_check = ready.json["checks"]["redis"]
    assert redis_check["ok"] is False and redis_check["required"] is True
    assert redis_check["error"] == "ConnectionError"
    assert "127.0.0.1:1" not in ready.get_data(as_text=True)
