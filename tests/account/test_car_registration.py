"""The customer's car registration: a Finnish plate on the profile, the source of the
``car_registration`` claim that the garage receives only under its consented purpose."""

from __future__ import annotations

import json

import pytest

from idp.auth.plates import normalise_plate
from idp.db import new_session
from idp.models import User
from tests.conftest import authorize_params, csrf_of, exchange, login
from tests.ledger.flows import consent_page, finish, userinfo

CLAIMS = json.dumps({"userinfo": {"car_registration": None}})


@pytest.mark.parametrize(
    ("typed", "plate"),
    [
        ("ABC-123", "ABC-123"),
        ("ZX-12", "ZX-12"),
        ("A-1", "A-1"),
        ("abc123", "ABC-123"),
        ("abc 123", "ABC-123"),
        ("  äöå-9 ", "ÄÖÅ-9"),
        ("", None),
        ("   ", None),
    ],
)
def test_plates_are_normalised(typed, plate):
    assert normalise_plate(typed) == plate


@pytest.mark.parametrize(
    "typed",
    ["ABCD-123", "ABC-1234", "123-ABC", "AB--12", "AB_12", "ABC", "123", "CD-1234", "ÆB-12"],
)
def test_other_formats_are_refused(typed):
    with pytest.raises(ValueError):
        normalise_plate(typed)


def _save(client, plate, name="Aino Virtanen", **headers):
    page = client.get("/account/profile", headers=headers)
    return client.post(
        "/account/profile",
        data={"name": name, "car_registration": plate, "csrf_token": csrf_of(page.data)},
        headers=headers,
    )


def _stored(app, user):
    with app.app_context(), new_session(app) as s:
        return s.get(User, user.id).car_registration


def test_the_profile_saves_normalises_and_clears_the_plate(app, client, make_user):
    user = make_user()
    login(client, user.email)
    page = client.get("/account/profile").data.decode()
    assert '<label for="car_registration">Car registration number</label>' in page
    assert 'autocomplete="off"' in page and "e.g. ABC-123" in page
    assert _save(client, "abc 123").status_code == 302
    assert _stored(app, user) == "ABC-123"
    assert 'value="ABC-123"' in client.get("/account/profile").data.decode()
    assert _save(client, "").status_code == 302
    assert _stored(app, user) is None


@pytest.mark.parametrize(
    ("lang", "text"),
    [
        ("en", "Enter the registration number as on the plate, e.g. ABC-123."),
        ("fi", "Kirjoita rekisterinumero kuten kilvessä, esim. ABC-123."),
        ("sv", "Skriv registreringsnumret som på skylten, t.ex. ABC-123."),
    ],
)
def test_a_wrong_plate_is_refused_in_the_page_language(app, client, make_user, lang, text):
    user = make_user()
    login(client, user.email)
    _save(client, "XY-1", name="Alku Nimi")
    resp = _save(client, "not a plate", name="Uusi Nimi", **{"Accept-Language": lang})
    assert resp.status_code == 400
    html = resp.data.decode()
    assert text in html and 'value="not a plate"' in html  # kept for correcting
    assert _stored(app, user) == "XY-1"
    assert b"Alku Nimi" in client.get("/account/").data  # nothing else saved either


def _garage(make_client):
    return make_client(
        client_id="garage",
        name="Korjaamo Virtanen",
        redirect_uris=["https://garage.example.com/cb"],
    )


def _token(client, rp, secret, email, **choices):
    params, verifier = authorize_params(rp, scope="openid profile phone", claims=CLAIMS)
    interaction, page = consent_page(client, params, email)
    q = finish(client, interaction, page, **choices)
    return exchange(client, rp, secret, q["code"], verifier).json


def test_the_garage_receives_the_plate_under_garage_booking(client, make_user, make_client):
    user = make_user()
    login(client, user.email)
    _save(client, "zx12")
    garage, secret = _garage(make_client)
    token = _token(client, garage, secret, user.email, **{"agree:garage_booking": "on"})
    assert userinfo(client, token).json["car_registration"] == "ZX-12"
    assert "Your car&#39;s registration number" in client.get("/account/sharing").data.decode()


def test_no_consent_no_plate(client, make_user, make_client):
    user = make_user()
    login(client, user.email)
    _save(client, "ZX-12")
    garage, secret = _garage(make_client)
    refused = _token(client, garage, secret, user.email)  # agree box left empty
    assert "car_registration" not in userinfo(client, refused).json
    other, other_secret = make_client()  # no purpose shares the plate with it
    token = _token(client, other, other_secret, user.email)
    assert "car_registration" not in userinfo(client, token).json
