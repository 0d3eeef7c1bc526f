"""The error pages a person can meet, in Finnish, Swedish and English, in the site's layout.

Each says what happened and what to do next in the page's language; none shows a stack
trace or a library's English text. /authorize errors that must not redirect (RFC 6749
§4.1.2.1: unknown client, unregistered redirect URI) name the reason for the person and keep
Authlib's English for the site's developer under "Details". Protocol JSON stays English
(RFC 6749 §5.2 allows only ASCII in ``error_description``).
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.catalogs import compile_catalogs
from tests.conftest import authorize_params


@pytest.fixture(autouse=True)
def _compiled_catalogs(app: Flask) -> None:
    """The .mo files (not in git) are current, and no empty catalog is cached (as in
    tests/test_i18n.py's ``translated``)."""
    from idp.extensions import babel

    compile_catalogs()
    with app.app_context():
        babel.domain_instance.cache.clear()


LANGS = ("fi", "sv", "en")

# (status, the page's <h1> in fi, sv, en)
TITLES = {
    "404": (404, "Sivua ei löytynyt", "Sidan hittades inte", "Page not found"),
    "405": (
        405,
        "Sivua ei voi käyttää näin",
        "Sidan kan inte användas så här",
        "This page cannot be used that way",
    ),
    "413": (413, "Liikaa kerralla", "För mycket på en gång", "Too much at once"),
    "500": (500, "Jokin meni vikaan", "Något gick fel", "Something went wrong"),
    "csrf": (400, "Lomake on vanhentunut", "Formuläret har gått ut", "The form has expired"),
    "unknown client": (
        400,
        "Emme tunnista tätä palvelua",
        "Vi känner inte igen den här tjänsten",
        "We do not recognise this site",
    ),
    "unregistered redirect": (
        400,
        "Emme voi ohjata sinua takaisin palveluun",
        "Vi kan inte skicka dig tillbaka till tjänsten",
        "We cannot send you back to the site",
    ),
    "malformed authorize": (
        400,
        "Kirjautumispyyntö ei kelpaa",
        "Inloggningsbegäran är ogiltig",
        "The sign-in request is not valid",
    ),
}


def _request(name: str, app: Flask, client: FlaskClient, make_client: Any) -> Any:
    if name == "404":
        return client.get("/no-such-page")
    if name == "405":
        return client.delete("/login")
    if name == "413":
        return client.post("/login", data={"email": "x" * (300 * 1024)})
    if name == "500":
        return client.get("/boom")
    if name == "csrf":
        return client.post(
            "/login",
            data={"email": "a@example.com", "password": "x"},
        )
    rp, _ = make_client(name="Rengaskauppa")
    if name == "unknown client":
        params, _ = authorize_params(rp, client_id="no-such-client")
    elif name == "unregistered redirect":
        params, _ = authorize_params(rp, redirect_uri="https://evil.example/cb")
    else:  # two client_ids: RFC 6749 §3.1 forbids it, and the redirect cannot be trusted
        params, _ = authorize_params(rp)
        return client.get(
            "/authorize",
            query_string=list(params.items()) + [("client_id", "another")],
        )
    return client.get("/authorize", query_string=params)


@pytest.fixture
def boom(app: Flask) -> Flask:
    def _boom() -> str:
        raise RuntimeError("secret detail that must not be shown")

    app.add_url_rule("/boom", "boom", _boom)
    return app


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("name", sorted(TITLES))
def test_error_page_in_each_language(
    boom: Flask, client: FlaskClient, make_client: Any, name: str, lang: str
) -> None:
    status, *titles = TITLES[name]
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = f"{lang},en;q=0.1"
    resp = _request(name, boom, client, make_client)
    body = resp.get_data(as_text=True)
    assert resp.status_code == status, body[:300]
    assert resp.mimetype == "text/html"
    assert "Location" not in resp.headers
    assert f'<html lang="{lang}">' in body
    assert f"<h1>{titles[LANGS.index(lang)]}</h1>" in body
    assert 'class="brand"' in body  # the site's layout
    assert "Traceback" not in body and "secret detail" not in body
    assert "Werkzeug" not in body and "The CSRF token" not in body
    if lang != "en":
        assert "The requested URL" not in body and "The method is not allowed" not in body


def test_csrf_page_explains_and_links_back_to_the_form(client: FlaskClient) -> None:
    """The site sends no Referer (Referrer-Policy: no-referrer): the way back is the form's
    own page, with the sign-in it belonged to."""
    resp = client.post(
        "/login",
        data={"email": "a@example.com", "interaction": "abc", "password": "x"},
        headers={"Accept-Language": "fi"},
    )
    body = resp.get_data(as_text=True)
    assert "toisessa välilehdessä" in body  # why: signed in or out in another tab
    assert "Mitään ei tallennettu." in body
    assert '<a class="button primary" href="/login?interaction=abc">Avaa sivu uudelleen</a>' in body


def test_csrf_page_of_a_form_without_a_page_goes_back_to_where_it_was(
    client: FlaskClient,
) -> None:
    resp = client.post("/lang/sv", data={"next": "/account/profile"})
    assert resp.status_code == 400
    assert 'href="/account/profile"' in resp.get_data(as_text=True)


def test_csrf_page_never_links_to_another_site(client: FlaskClient) -> None:
    for target in ("https://evil.example/login", "//evil.example/x", "/\\evil.example"):
        resp = client.post("/lang/sv", data={"next": target})
        assert resp.status_code == 400
        assert "evil.example" not in resp.get_data(as_text=True)


def test_authorize_error_names_the_site_and_keeps_the_detail_for_developers(
    client: FlaskClient,
    make_client: Any,
) -> None:
    rp, _ = make_client(name="Rengaskauppa")
    params, _ = authorize_params(rp, redirect_uri="https://evil.example/cb")
    resp = client.get("/authorize", query_string=params, headers={"Accept-Language": "sv"})
    body = resp.get_data(as_text=True)
    assert "Rengaskauppa bad oss skicka dig till en adress" in body
    assert "<summary>Detaljer för tjänstens utvecklare</summary>" in body
    assert '<code lang="en">Redirect URI https://evil.example/cb is not supported' in body


def test_protocol_json_errors_stay_english(client: FlaskClient) -> None:
    resp = client.post(
        "/token",
        data=b'{"a":' * 100 + b"1" + b"}" * 100,
        headers={"Content-Type": "application/json", "Accept-Language": "fi"},
    )
    assert resp.status_code == 400
    assert resp.json == {
        "error": "invalid_request",
        "error_description": "The JSON body is nested too deeply.",
    }


def test_a_page_json_call_gets_its_message_translated(client: FlaskClient) -> None:
    resp = client.post("/passkeys/login/options", json={}, headers={"Accept-Language": "sv"})
    assert resp.status_code == 400
    assert resp.json["error"] == "csrf"
    assert resp.json["message"].startswith("Formuläret har gått ut")


def test_a_fresh_csrf_token_is_served_to_the_page(client: FlaskClient) -> None:
    token = client.get("/csrf-token")
    assert token.headers["Cache-Control"] == "no-store"
    assert "Access-Control-Allow-Origin" not in token.headers
    resp = client.post(
        "/passkeys/login/options", json={}, headers={"X-CSRFToken": token.json["csrf_token"]}
    )
    assert resp.status_code == 200, resp.data[:200]


def test_a_lost_database_is_a_503_to_retry_not_a_500(app, client):
    """A statement that fails because the database went away (OperationalError, or the dead
    transaction a caught one leaves) answers 503 ``temporarily_unavailable`` with
    ``Retry-After``; any other database error stays a 500. (tests/reliability cuts the
    connections of a real server under load, on the protocol's endpoints too.)"""
    from sqlalchemy.exc import IntegrityError, OperationalError, PendingRollbackError

    raised = {
        "gone": OperationalError("SELECT 1", {}, Exception("server closed the connection")),
        "pending": PendingRollbackError("Can't reconnect until invalid transaction is rolled back"),
        "integrity": IntegrityError("INSERT", {}, Exception("duplicate key")),
    }

    @app.route("/test-only/database/<kind>")
    def _fails(kind: str) -> str:
        raise raised[kind]

    for kind in ("gone", "pending"):
        page = client.get(f"/test-only/database/{kind}")
        assert page.status_code == 503, (kind, page.data[:300])
        assert page.headers["Retry-After"] == "30"
        assert b"Traceback" not in page.data
    assert client.get("/test-only/database/integrity").status_code == 500
