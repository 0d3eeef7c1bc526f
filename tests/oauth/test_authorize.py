"""The authorization endpoint: validation, prompt, max_age, hints, modes (OIDC Core §3.1.2)."""

from __future__ import annotations

import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import (
    authorize_params,
    csrf_of,
    exchange,
    follow_to_code,
    login,
    query_of,
)


@pytest.fixture
def rp(make_client):
    return make_client(first_party=True)


@pytest.fixture
def user(make_user):
    return make_user(email="sanna@example.com")


def _get(client, params):
    return client.get("/authorize", query_string=params)


def test_unknown_client_gets_a_page_not_a_redirect(client, rp):
    params, _ = authorize_params(rp[0], client_id="nope")
    resp = _get(client, params)
    assert resp.status_code == 400
    assert b"invalid_client" in resp.data
    assert "Location" not in resp.headers


def test_unregistered_redirect_uri_is_never_redirected_to(client, rp):
    params, _ = authorize_params(rp[0], redirect_uri="https://evil.example/cb")
    resp = _get(client, params)
    assert resp.status_code == 400
    assert "Location" not in resp.headers


def test_redirect_uri_must_match_exactly(client, rp):
    for variant in (
        "https://rp.example.com/cb/",
        "https://rp.example.com/cb?x=1",
        "https://RP.example.com/cb",
        "http://rp.example.com/cb",
    ):
        params, _ = authorize_params(rp[0], redirect_uri=variant)
        assert _get(client, params).status_code == 400, variant


def test_missing_redirect_uri_is_an_error_page(client, rp):
    params, _ = authorize_params(rp[0])
    del params["redirect_uri"]
    assert _get(client, params).status_code == 400


def test_unsupported_response_type_goes_back_to_the_client(client, rp):
    params, _ = authorize_params(rp[0], response_type="token")
    q = query_of(_get(client, params).headers["Location"])
    assert q["error"] == "unsupported_response_type"


def test_not_logged_in_goes_to_login_with_hint_and_language(client, rp):
    params, _ = authorize_params(rp[0], login_hint="sanna@example.com", ui_locales="sv fi")
    resp = _get(client, params)
    assert resp.status_code == 302
    location = resp.headers["Location"]
    assert location.startswith("/login?")
    page = client.get(location)
    assert b'value="sanna@example.com"' in page.data
    assert b'lang="sv"' in page.data


def test_prompt_none_without_session_is_login_required(client, rp):
    params, _ = authorize_params(rp[0], prompt="none")
    q = query_of(_get(client, params).headers["Location"])
    assert q["error"] == "login_required"
    assert q["state"] == params["state"]


def test_prompt_none_combined_is_invalid(client, rp, user):
    login(client, user.email)
    params, _ = authorize_params(rp[0], prompt="none login")
    assert query_of(_get(client, params).headers["Location"])["error"] == "invalid_request"


def test_prompt_none_with_session_issues_a_code(client, rp, user):
    login(client, user.email)
    params, _ = authorize_params(rp[0], prompt="none")
    q = query_of(_get(client, params).headers["Location"])
    assert "code" in q


def test_prompt_login_forces_a_fresh_login_and_auth_time_moves(client, rp, user):
    rp_, secret = rp
    params, verifier = authorize_params(rp_)
    first = exchange(
        client, rp_, secret, follow_to_code(client, params, user.email)["code"], verifier
    ).json
    time.sleep(1.1)
    params, verifier = authorize_params(rp_, prompt="login")
    resp = _get(client, params)
    assert resp.headers["Location"].startswith("/login")
    second = exchange(
        client, rp_, secret, follow_to_code(client, params, user.email)["code"], verifier
    ).json
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    t1 = jwt.decode(first["id_token"], keys).claims["auth_time"]
    t2 = jwt.decode(second["id_token"], keys).claims["auth_time"]
    assert t2 > t1


def test_max_age_zero_needs_login_and_old_session_is_not_enough(client, rp, user):
    login(client, user.email)
    time.sleep(1.1)
    params, _ = authorize_params(rp[0], max_age="0")
    assert _get(client, params).headers["Location"].startswith("/login")
    params, _ = authorize_params(rp[0], max_age="0", prompt="none")
    assert query_of(_get(client, params).headers["Location"])["error"] == "login_required"
    params, _ = authorize_params(rp[0], max_age="3600", prompt="none")
    assert "code" in query_of(_get(client, params).headers["Location"])


def test_bad_max_age_is_invalid_request(client, rp):
    params, _ = authorize_params(rp[0], max_age="-5")
    assert query_of(_get(client, params).headers["Location"])["error"] == "invalid_request"


def test_id_token_hint_for_another_user_with_prompt_none_is_login_required(
    client, rp, user, make_user
):
    rp_, secret = rp
    other = make_user(email="other@example.com")
    params, verifier = authorize_params(rp_)
    token = exchange(
        client, rp_, secret, follow_to_code(client, params, other.email)["code"], verifier
    ).json
    client.post("/logout", data={"id_token_hint": token["id_token"]})
    login(client, user.email)
    params, _ = authorize_params(rp_, prompt="none", id_token_hint=token["id_token"])
    assert query_of(_get(client, params).headers["Location"])["error"] == "login_required"


def test_garbage_id_token_hint_is_invalid_request(client, rp, user):
    login(client, user.email)
    params, _ = authorize_params(rp[0], id_token_hint="not.a.jwt")
    assert query_of(_get(client, params).headers["Location"])["error"] == "invalid_request"


def test_request_objects_are_refused_per_spec(client, rp):
    params, _ = authorize_params(rp[0], request="eyJhbGciOiJub25lIn0.e30.")
    assert query_of(_get(client, params).headers["Location"])["error"] == "request_not_supported"
    params, _ = authorize_params(rp[0], request_uri="https://rp.example.com/r")
    assert query_of(_get(client, params).headers["Location"])["error"] == (
        "request_uri_not_supported"
    )
    meta = client.get("/.well-known/openid-configuration").json
    assert meta["request_parameter_supported"] is False


def test_request_objects_are_refused_before_prompt_none_needs_a_login(client, rp):
    """OIDC Core §6.1 is answered before Authlib's validate_request_prompt (§3.1.2.6)."""
    params, _ = authorize_params(rp[0], prompt="none", request="eyJhbGciOiJub25lIn0.e30.")
    assert query_of(_get(client, params).headers["Location"])["error"] == "request_not_supported"
    params, _ = authorize_params(rp[0], prompt="none")
    assert query_of(_get(client, params).headers["Location"])["error"] == "login_required"


def test_form_post_response_mode_renders_an_auto_submitting_form(client, rp, user):
    login(client, user.email)
    params, _ = authorize_params(rp[0], response_mode="form_post")
    resp = _get(client, params)
    assert resp.status_code == 200
    body = resp.data.decode()
    assert 'action="https://rp.example.com/cb"' in body
    assert 'name="code"' in body and f'value="{params["state"]}"' in body
    assert 'name="iss" value="http://localhost"' in body
    csp = resp.headers["Content-Security-Policy"]
    assert "form-action 'self' https://rp.example.com" in csp
    assert "unsafe-inline" not in csp


def test_unknown_response_mode_is_an_error(client, rp, user):
    login(client, user.email)
    params, _ = authorize_params(rp[0], response_mode="fragment.jwt")
    assert query_of(_get(client, params).headers["Location"])["error"] == "invalid_request"


def test_claims_parameter_puts_essential_claims_in_the_id_token(client, rp, user):
    rp_, secret = rp
    claims = {"id_token": {"email": {"essential": True}, "name": None}}
    params, verifier = authorize_params(rp_, scope="openid", claims=json.dumps(claims))
    token = exchange(
        client, rp_, secret, follow_to_code(client, params, user.email)["code"], verifier
    ).json
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    id_claims = jwt.decode(token["id_token"], keys).claims
    assert id_claims["email"] == user.email
    assert id_claims["name"] == user.name
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})
    assert "email" not in info.json  # scope openid alone gives only sub at userinfo


def test_malformed_claims_parameter_is_invalid_request(client, rp):
    params, _ = authorize_params(rp[0], claims="{not json")
    assert query_of(_get(client, params).headers["Location"])["error"] == "invalid_request"


def test_select_account_asks_and_other_account_logs_out(client, rp, user):
    login(client, user.email)
    params, _ = authorize_params(rp[0], prompt="select_account")
    resp = _get(client, params)
    assert resp.headers["Location"].startswith("/select-account")
    page = client.get(resp.headers["Location"])
    assert user.email.encode() in page.data
    resp = client.post(
        "/select-account",
        data={
            "interaction": query_of(resp.headers["Location"])["interaction"],
            "choice": "current",
            "csrf_token": csrf_of(page.data),
        },
    )
    final = client.get(resp.headers["Location"])
    assert "code" in query_of(final.headers["Location"])


def test_control_characters_and_huge_values_are_refused(client, rp):
    params, _ = authorize_params(rp[0], state="a\x00b")
    assert _get(client, params).status_code == 400
    params, _ = authorize_params(rp[0], state="s" * 10000)
    assert _get(client, params).status_code == 400
    params, _ = authorize_params(rp[0], redirect_uri='https://x/"\\')
    assert _get(client, params).status_code == 400


def test_unknown_scopes_are_ignored(client, rp, user):
    rp_, secret = rp
    params, verifier = authorize_params(rp_, scope="openid banana email")
    token = exchange(
        client, rp_, secret, follow_to_code(client, params, user.email)["code"], verifier
    ).json
    assert set(token["scope"].split()) == {"openid", "email"}


def test_sso_prompt_none_works_across_clients(client, user, make_client):
    shop, shop_secret = make_client(
        first_party=True, name="Shop", redirect_uris=["https://shop.example.com/cb"]
    )
    garage, garage_secret = make_client(
        name="Garage", redirect_uris=["https://garage.example.com/cb"]
    )
    params, verifier = authorize_params(shop)
    shop_code = follow_to_code(client, params, user.email)["code"]
    shop_id = exchange(client, shop, shop_secret, shop_code, verifier).json["id_token"]
    # the garage has no consent yet: prompt=none must say so, not show a page
    params, _ = authorize_params(garage, prompt="none")
    assert query_of(_get(client, params).headers["Location"])["error"] == "consent_required"
    # once the customer has allowed it, prompt=none logs in silently
    params, _ = authorize_params(garage)
    follow_to_code(client, params, user.email)
    params, verifier = authorize_params(garage, prompt="none")
    q = query_of(_get(client, params).headers["Location"])
    garage_id = exchange(client, garage, garage_secret, q["code"], verifier).json["id_token"]
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    shop_claims, garage_claims = (jwt.decode(t, keys).claims for t in (shop_id, garage_id))
    assert shop_claims["sid"] == garage_claims["sid"]
    assert shop_claims["auth_time"] == garage_claims["auth_time"]


def test_denying_consent_returns_access_denied(client, user, make_client):
    rp, _ = make_client()
    params, _ = authorize_params(rp)
    q = follow_to_code(client, params, user.email, allow=False)
    assert q["error"] == "access_denied" and q["state"] == params["state"]
    assert q["iss"] == "http://localhost"


# -- max_age and claims that cannot be read: an error to the client, never a 500 -------------


@pytest.mark.parametrize("scope", ["openid profile", "profile"])
@pytest.mark.parametrize("max_age", ["abc", "-5", "²", "1.5", "9" * 11, " 5"])
def test_max_age_that_is_not_a_whole_number_is_invalid_request(client, rp, user, scope, max_age):
    login(client, user.email)
    params, _ = authorize_params(rp[0], scope=scope, max_age=max_age)
    q = query_of(_get(client, params).headers["Location"])
    assert q["error"] == "invalid_request" and q["state"] == params["state"]


def test_empty_max_age_is_as_if_omitted(client, rp, user):
    login(client, user.email)
    params, _ = authorize_params(rp[0], max_age="", prompt="none")
    assert "code" in query_of(_get(client, params).headers["Location"])


def test_claims_nested_past_the_parsers_limit_is_invalid_request(client, rp):
    params, _ = authorize_params(rp[0], claims="[" * 2000 + "]" * 2000)
    assert query_of(_get(client, params).headers["Location"])["error"] == "invalid_request"


# -- POST (OIDC Core §3.1.2.1): the same request as a GET ------------------------------------


def test_post_authorization_request_goes_on_as_get_to_a_code_and_tokens(client, rp, user):
    rp_, secret = rp
    params, verifier = authorize_params(rp_)
    resp = client.post("/authorize", data=params)  # no CSRF token: the client's request
    assert resp.status_code == 303
    location = resp.headers["Location"]
    assert location.startswith("/authorize?") and query_of(location) == params
    callback = follow_to_code(client, query_of(location), user.email)
    assert callback["state"] == params["state"]
    token = exchange(client, rp_, secret, callback["code"], verifier).json
    assert {"access_token", "id_token", "refresh_token"} <= set(token)
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    assert jwt.decode(token["id_token"], keys).claims["nonce"] == params["nonce"]


def test_post_with_a_session_and_prompt_none_issues_a_code(client, rp, user):
    login(client, user.email)
    params, _ = authorize_params(rp[0], prompt="none")
    resp = client.post("/authorize", data=params, follow_redirects=False)
    follow = client.get(resp.headers["Location"])
    assert "code" in query_of(follow.headers["Location"])


def test_post_errors_are_the_same_as_get(client, rp):
    for params in (
        authorize_params(rp[0], max_age="abc")[0],
        authorize_params(rp[0], prompt="none")[0],
        authorize_params(rp[0], client_id="nope")[0],
    ):
        via_post = client.get(client.post("/authorize", data=params).headers["Location"])
        via_get = _get(client, params)
        assert via_post.status_code == via_get.status_code
        if via_get.status_code == 302:
            assert (
                query_of(via_post.headers["Location"])["error"]
                == query_of(via_get.headers["Location"])["error"]
            )


def test_cross_site_post_leaves_the_browsers_session_alone(app, rp):
    """A SameSite=Lax cookie is not sent with a cross-site POST: the answer must not set a
    new session cookie, which would replace the customer's own."""
    browser_without_cookies = app.test_client()
    params, _ = authorize_params(rp[0])
    resp = browser_without_cookies.post("/authorize", data=params)
    assert resp.status_code == 303
    assert "Set-Cookie" not in resp.headers


def test_post_too_long_to_go_on_as_get_is_an_error_page(client, rp):
    params, _ = authorize_params(rp[0])
    params.update({f"extra{i}": "x" * 1000 for i in range(5)})
    resp = client.post("/authorize", data=params)
    assert resp.status_code == 400 and resp.mimetype == "text/html"
    assert b"too long" in resp.data
