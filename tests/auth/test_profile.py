"""The customer edits their details; the scopes release them (OIDC Core §5.1, §5.4)."""

from __future__ import annotations

from tests.conftest import authorize_params, csrf_of, exchange, follow_to_code, login

DETAILS = {
    "name": "Aino Virtanen",
    "given_name": "Aino",
    "family_name": "Virtanen",
    "phone_number": "+358 40 123 4567",
    "street_address": "Rengaskatu 1",
    "postal_code": "00100",
    "locality": "Helsinki",
    "country": "Finland",
    "locale": "fi",
}


def _save(client, **changes):
    page = client.get("/account/profile")
    return client.post(
        "/account/profile", data={**DETAILS, **changes, "csrf_token": csrf_of(page.data)}
    )


def test_saved_details_reach_userinfo_by_scope(client, make_user, make_client):
    user = make_user()
    login(client, user.email)
    assert _save(client).status_code == 302
    assert b"Rengaskatu 1" in client.get("/account/").data
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="openid profile phone address")
    token = exchange(
        client, rp, secret, follow_to_code(client, params, user.email)["code"], verifier
    ).json
    info = client.get(
        "/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"}
    ).json
    assert info["given_name"] == "Aino" and info["locale"] == "fi"
    assert info["phone_number"] == "+358 40 123 4567"
    assert info["phone_number_verified"] is False
    assert info["address"]["formatted"] == "Rengaskatu 1\n00100 Helsinki\nFinland"
    assert info["address"]["postal_code"] == "00100"
    assert isinstance(info["updated_at"], int)
    assert "email" not in info


def test_bad_details_change_nothing(client, make_user):
    user = make_user(name="Alku Nimi")
    login(client, user.email)
    for changes in (
        {"phone_number": "call me"},
        {"name": ""},
        {"locale": "de"},
        {"street_address": "x" * 300},
    ):
        resp = _save(client, **changes)
        assert resp.status_code == 400, changes
    assert b"Alku Nimi" in client.get("/account/").data
    assert b"Rengaskatu" not in client.get("/account/").data


def test_clearing_the_address(client, make_user):
    user = make_user()
    login(client, user.email)
    _save(client)
    _save(client, street_address="", postal_code="", locality="", country="")
    assert b"Rengaskatu" not in client.get("/account/").data
