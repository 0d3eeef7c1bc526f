"""Passkeys, server side, with the software authenticator: every rule py_webauthn and Avain
enforce, fast and without a browser."""

from __future__ import annotations

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from idp.models import Passkey, User
from tests.auth.passkey_flows import meta_csrf, passkey_sign_in, post_json, register_passkey
from tests.auth.soft_authenticator import SoftAuthenticator, b64url
from tests.conftest import authorize_params, csrf_of, exchange, login, query_of


def test_register_then_sign_in_without_a_username(client, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    resp, options = passkey_sign_in(client, authenticator)
    assert resp.status_code == 200, resp.json
    assert options["allowCredentials"] == [] and options["userVerification"] == "required"
    assert resp.json["redirect"] == "/account/"
    assert client.get("/account/").status_code == 200


def test_email_first_lists_the_customers_passkeys(client, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    resp, options = passkey_sign_in(client, authenticator, email=user.email)
    assert [c["id"] for c in options["allowCredentials"]] == [b64url(authenticator.credential_id)]
    assert resp.status_code == 200


def test_unknown_email_gets_the_same_shape_of_answer(client):
    csrf = meta_csrf(client)
    options = post_json(client, "/passkeys/login/options", {"email": "nobody@example.com"}, csrf)
    assert options.status_code == 200 and options.json["allowCredentials"] == []


@pytest.mark.parametrize(
    ("lie", "status"),
    [
        ({"origin": "https://evil.example"}, 401),
        ({"rp_id": "evil.example"}, 401),
        ({"uv": False}, 401),
        ({"up": False}, 401),
    ],
)
def test_wrong_origin_rp_id_or_missing_presence_and_verification_are_refused(
    client, make_user, lie, status
):
    user = make_user()
    authenticator = register_passkey(client, user)
    resp, _ = passkey_sign_in(client, authenticator, **lie)
    assert resp.status_code == status, resp.json
    assert client.get("/account/").status_code == 302


@pytest.mark.parametrize(
    "lie", [{"origin": "https://evil.example"}, {"uv": False}, {"rp_id": "evil.example"}]
)
def test_registration_refuses_the_same_lies(client, make_user, lie):
    user = make_user()
    login(client, user.email)
    csrf = meta_csrf(client, "/account/")
    options = post_json(client, "/passkeys/register/options", {}, csrf).json
    resp = post_json(
        client,
        "/passkeys/register/verify",
        {"credential": SoftAuthenticator().register(options, **lie)},
        csrf,
    )
    assert resp.status_code == 400 and resp.json["error"] == "verification_failed"


def test_challenges_are_single_use(client, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    csrf = meta_csrf(client)
    options = post_json(client, "/passkeys/login/options", {}, csrf).json
    answer = authenticator.assert_(options)
    assert (
        post_json(client, "/passkeys/login/verify", {"credential": answer}, csrf).status_code == 200
    )
    client.post("/logout", data={"confirm": "yes", "csrf_token": meta_csrf(client, "/account/")})
    replay = post_json(client, "/passkeys/login/verify", {"credential": answer}, meta_csrf(client))
    assert replay.status_code == 400 and replay.json["error"] == "no_challenge"


def test_expired_challenge_is_refused(client, make_user, monkeypatch):
    import time

    user = make_user()
    authenticator = register_passkey(client, user)
    csrf = meta_csrf(client)
    options = post_json(client, "/passkeys/login/options", {}, csrf).json
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + 301)
    resp = post_json(
        client, "/passkeys/login/verify", {"credential": authenticator.assert_(options)}, csrf
    )
    assert resp.json["error"] == "challenge_expired"


def test_a_rolled_back_counter_blocks_the_passkey_and_says_so(client, db, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    for _ in range(3):
        resp, _ = passkey_sign_in(client, authenticator)
        assert resp.status_code == 200
        client.post(
            "/logout", data={"confirm": "yes", "csrf_token": meta_csrf(client, "/account/")}
        )
    clone, _ = passkey_sign_in(client, authenticator, counter=1)
    assert clone.status_code == 400 and clone.json["error"] == "cloned"
    assert "copied" in clone.json["message"]
    again, _ = passkey_sign_in(client, authenticator)  # even the real one, until replaced
    assert again.json["error"] == "blocked"
    row = db.scalar(select(Passkey).where(Passkey.user_id == user.id))
    assert row.blocked_at is not None and row.blocked_reason == "sign_count_rollback"
    login(client, user.email)
    assert b"Blocked" in client.get("/account/security").data


@pytest.mark.parametrize(("synced", "amr", "acr"), [(False, "hwk", "phrh"), (True, "swk", "phr")])
def test_amr_and_acr_say_what_happened_in_the_id_token(
    client, make_user, make_client, synced, amr, acr
):
    user = make_user()
    authenticator = register_passkey(client, user, SoftAuthenticator(synced=synced))
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp)
    location = client.get("/authorize", query_string=params).headers["Location"]
    resp, _ = passkey_sign_in(client, authenticator, interaction=query_of(location)["interaction"])
    q = query_of(client.get(resp.json["redirect"]).headers["Location"])
    token = exchange(client, rp, secret, q["code"], verifier).json
    claims = jwt.decode(
        token["id_token"], KeySet.import_key_set(client.get("/jwks.json").json)
    ).claims
    assert claims["amr"] == [amr, "user"] and claims["acr"] == acr


def test_rename_and_remove_and_the_last_way_in(client, db, make_user):
    user = make_user()
    register_passkey(client, user)
    second = register_passkey(client, user, name="Kannettava")
    login(client, user.email)
    page = client.get("/account/security")
    assert b"Puhelin" in page.data and b"Kannettava" in page.data
    csrf = meta_csrf(client, "/account/")
    first_id = db.scalars(select(Passkey.id).order_by(Passkey.created_at)).first()
    client.post(f"/passkeys/{first_id}/rename", data={"name": "Työpuhelin", "csrf_token": csrf})
    assert "Työpuhelin" in client.get("/account/security").data.decode()
    # a customer with no password must keep one way in
    db.get(User, user.id).password_hash = None
    db.commit()
    client.post(f"/passkeys/{first_id}/remove", data={"csrf_token": csrf})
    resp = client.post(
        f"/passkeys/{b64url(second.credential_id)}/remove", data={"csrf_token": csrf}
    )
    assert "passkey_error=last_way_in" in resp.headers["Location"]
    db.expire_all()
    assert db.scalar(select(Passkey.name)) == "Kannettava"


def test_passkey_endpoints_need_csrf(client, make_user):
    user = make_user()
    login(client, user.email)
    assert client.post("/passkeys/register/options", json={}).status_code == 400
    assert client.post("/passkeys/login/options", json={}).status_code == 400


def test_garbage_answers_are_clear_errors(client, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    csrf = meta_csrf(client)
    post_json(client, "/passkeys/login/options", {}, csrf)
    for garbage in (
        {},
        {"id": 5},
        {"id": "x" * 2000},
        {"id": "abc", "response": "no"},
        {**authenticator.assert_({"challenge": "AAAA"}), "response": {}},
    ):
        post_json(client, "/passkeys/login/options", {}, csrf)
        resp = post_json(client, "/passkeys/login/verify", {"credential": garbage}, csrf)
        assert 400 <= resp.status_code < 500, garbage
        assert "error" in resp.json


def test_step_up_asks_a_password_session_for_a_passkey(client, make_user, make_client):
    user = make_user()
    authenticator = register_passkey(client, user)
    rp, secret = make_client(first_party=True)
    login(client, user.email)  # a password session
    params, verifier = authorize_params(rp, acr_values="phr")
    location = client.get("/authorize", query_string=params).headers["Location"]
    assert "/login?" in location and "step_up=1" in location
    page = client.get(location).data.decode()
    assert 'id="password"' not in page and "with a passkey" in page
    none, _ = authorize_params(rp, acr_values="phr", prompt="none")
    q = query_of(client.get("/authorize", query_string=none).headers["Location"])
    assert q["error"] == "login_required"
    resp, _ = passkey_sign_in(
        client, authenticator, email=user.email, interaction=query_of(location)["interaction"]
    )
    q = query_of(client.get(resp.json["redirect"]).headers["Location"])
    claims = jwt.decode(
        exchange(client, rp, secret, q["code"], verifier).json["id_token"],
        KeySet.import_key_set(client.get("/jwks.json").json),
    ).claims
    assert claims["acr"] == "phrh" and "hwk" in claims["amr"]
    # the passkey session satisfies the next request without a prompt
    params, _ = authorize_params(rp, acr_values="phr", prompt="none")
    assert "code" in query_of(client.get("/authorize", query_string=params).headers["Location"])


def test_voluntary_step_up_without_a_passkey_goes_on_and_says_pwd(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, acr_values="phr")
    from tests.conftest import follow_to_code

    code = follow_to_code(client, params, user.email)["code"]
    claims = jwt.decode(
        exchange(client, rp, secret, code, verifier).json["id_token"],
        KeySet.import_key_set(client.get("/jwks.json").json),
    ).claims
    assert claims["acr"] == "urn:avain:acr:pwd"


def test_essential_acr_that_cannot_be_met_fails(client, make_user, make_client):
    import json

    user = make_user()
    rp, _ = make_client(first_party=True)
    login(client, user.email)
    claims = json.dumps({"id_token": {"acr": {"essential": True, "values": ["phrh"]}}})
    params, _ = authorize_params(rp, claims=claims)
    q = query_of(client.get("/authorize", query_string=params).headers["Location"])
    assert q["error"] == "unmet_authentication_requirements"


def test_max_age_with_passkeys_behaves_as_with_passwords(client, make_user, make_client):
    import time

    user = make_user()
    authenticator = register_passkey(client, user)
    rp, _ = make_client(first_party=True)
    passkey_sign_in(client, authenticator)
    time.sleep(1.1)
    params, _ = authorize_params(rp, max_age="0", prompt="none")
    q = query_of(client.get("/authorize", query_string=params).headers["Location"])
    assert q["error"] == "login_required"
    params, _ = authorize_params(rp, max_age="600", prompt="none")
    assert "code" in query_of(client.get("/authorize", query_string=params).headers["Location"])


def _security(client, action, **extra):
    page = client.get("/account/security")
    return client.post(
        "/account/security", data={"action": action, "csrf_token": csrf_of(page.data), **extra}
    )


def test_passkey_as_second_factor_after_the_password(client, make_user, make_client):
    user = make_user()
    authenticator = register_passkey(client, user)
    login(client, user.email)
    assert "security_second_factor_on" in _security(client, "second_factor_on").headers["Location"]
    client.post("/logout", data={"confirm": "yes", "csrf_token": meta_csrf(client, "/account/")})
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp)
    location = client.get("/authorize", query_string=params).headers["Location"]
    resp = login(client, user.email, interaction=query_of(location)["interaction"])
    assert resp.headers["Location"] == "/login/second-factor"
    assert client.get("/account/").status_code == 302  # the password alone is not enough
    page = client.get("/login/second-factor").data.decode()
    assert user.email in page and "passkey-login" in page
    resp, _ = passkey_sign_in(
        client, authenticator, email=user.email, interaction=query_of(location)["interaction"]
    )
    q = query_of(client.get(resp.json["redirect"]).headers["Location"])
    claims = jwt.decode(
        exchange(client, rp, secret, q["code"], verifier).json["id_token"],
        KeySet.import_key_set(client.get("/jwks.json").json),
    ).claims
    assert claims["amr"] == ["pwd", "hwk", "user", "mfa"]


def test_second_factor_needs_a_passkey_and_passkey_only_drops_the_password(client, db, make_user):
    user = make_user()
    login(client, user.email)
    resp = _security(client, "second_factor_on")
    assert "passkey_error=last_way_in" in resp.headers["Location"]
    client.post("/logout", data={"confirm": "yes", "csrf_token": meta_csrf(client, "/account/")})
    authenticator = register_passkey(client, user)
    assert passkey_sign_in(client, authenticator)[0].status_code == 200  # a fresh passkey
    resp = _security(client, "passkey_only", confirm="yes")
    assert "security_passkey_only" in resp.headers["Location"]
    db.expire_all()
    assert db.get(User, user.id).password_hash is None
    client.post("/logout", data={"confirm": "yes", "csrf_token": meta_csrf(client, "/account/")})
    assert login(client, user.email).status_code == 401  # the old password is gone


def test_recovery_by_email_when_every_passkey_is_lost(app, client, db, make_user):
    from idp.auth.accounts import make_reset_token

    user = make_user()
    authenticator = register_passkey(client, user)
    assert passkey_sign_in(client, authenticator)[0].status_code == 200
    assert "security_passkey_only" in _security(client, "passkey_only", confirm="yes").location
    other = app.test_client()  # another browser signed in with the passkey
    assert passkey_sign_in(other, authenticator)[0].status_code == 200
    assert other.get("/account/").status_code == 200
    token = make_reset_token(app.config["AVAIN"].secret_key, db.get(User, user.id))
    page = client.get(f"/reset/{token}")
    resp = client.post(
        f"/reset/{token}",
        data={
            "password": "a fresh long password",
            "password_confirm": "a fresh long password",
            "csrf_token": csrf_of(page.data),
        },
    )
    assert resp.status_code == 200
    assert client.get("/account/").status_code == 302  # every session ended
    assert other.get("/account/").status_code == 302
    assert login(client, user.email, "a fresh long password").status_code == 302
    db.expire_all()
    assert db.get(User, user.id).passkey_second_factor is False
