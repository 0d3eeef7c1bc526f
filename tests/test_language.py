"""Which language a page is in, and that it stays so through the sign-in.

Precedence (idp/i18n.py): the customer's own choice in this browser (switcher or profile)
> the signed-in customer's profile language > the client's ``ui_locales`` (kept for the whole
sign-in through its interaction) > Accept-Language.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.i18n import LANG_COOKIE
from tests.catalogs import compile_catalogs
from tests.conftest import PASSWORD, authorize_params, csrf_of, login, query_of


@pytest.fixture(autouse=True)
def _compiled_catalogs(app: Flask) -> None:
    from idp.extensions import babel

    compile_catalogs()
    with app.app_context():
        babel.domain_instance.cache.clear()


def _lang(resp: Any) -> str:
    body = resp.get_data(as_text=True)
    return body.split('<html lang="', 1)[1].split('"', 1)[0]


def test_ui_locales_survives_a_wrong_password(client: FlaskClient, make_client: Any) -> None:
    """The login page of a flow in Finnish (ui_locales=fi) comes back in Finnish after a wrong
    password, though the form's POST carries no ui_locales and the browser prefers Swedish."""
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "sv"
    rp, _ = make_client(name="Kauppa")
    params, _ = authorize_params(rp, ui_locales="fi")
    location = client.get("/authorize", query_string=params).headers["Location"]
    page = client.get(location)
    assert _lang(page) == "fi"
    interaction = query_of(location)["interaction"]
    wrong = client.post(
        "/login",
        data={
            "email": "nobody@example.com",
            "password": "wrong password",
            "interaction": interaction,
            "csrf_token": csrf_of(page.data),
        },
    )
    assert wrong.status_code == 401
    assert _lang(wrong) == "fi"
    assert "Sähköpostiosoite tai salasana on väärä." in wrong.get_data(as_text=True)


def test_ui_locales_reaches_the_consent_page(
    client: FlaskClient, make_client: Any, make_user: Any
) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    user = make_user(email="kieli@example.com")
    rp, _ = make_client(name="Kauppa")
    params, _ = authorize_params(rp, ui_locales="sv")
    location = client.get("/authorize", query_string=params).headers["Location"]
    resumed = client.get(
        login(client, user.email, PASSWORD, query_of(location)["interaction"]).headers["Location"]
    )
    consent = client.get(resumed.headers["Location"])
    assert consent.status_code == 200
    assert _lang(consent) == "sv"


def _set_profile_language(client: FlaskClient, locale: str) -> Any:
    page = client.get("/account/profile")
    return client.post(
        "/account/profile",
        data={"name": "Testi Asiakas", "locale": locale, "csrf_token": csrf_of(page.data)},
    )


def test_profile_language_sets_the_page_language(client: FlaskClient, make_user: Any) -> None:
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    user = make_user(email="profiili@example.com")
    login(client, user.email)
    saved = _set_profile_language(client, "sv")
    assert saved.status_code == 302
    # Saving it is a choice made on a page: this browser remembers it too.
    assert f"{LANG_COOKIE}=sv" in saved.headers.get("Set-Cookie", "")
    assert _lang(client.get("/account/")) == "sv"


def test_profile_language_wins_over_accept_language_and_yields_to_ui_locales(
    app: Flask, client: FlaskClient, make_user: Any
) -> None:
    """On another browser (no choice made there), the profile's language holds over the
    browser's; a client's ui_locales, asked for this sign-in, holds over the profile."""
    from idp.db import new_session
    from idp.models import User

    user = make_user(email="toinen@example.com")
    with app.app_context():
        session = new_session(app)
        session.get(User, user.id).locale = "sv"  # type: ignore[union-attr]
        session.commit()
        session.close()
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fi"
    assert _lang(client.get("/login")) == "fi"  # not signed in: Accept-Language
    login(client, user.email)
    assert _lang(client.get("/account/")) == "sv"
    assert _lang(client.get("/account/?ui_locales=en")) == "en"


def test_the_choice_on_the_page_wins_over_everything(
    client: FlaskClient, make_user: Any, make_client: Any
) -> None:
    user = make_user(email="valinta@example.com")
    login(client, user.email)
    _set_profile_language(client, "sv")
    page = client.get("/account/")
    switched = client.post(
        "/lang/en", data={"next": "/account/?ui_locales=fi", "csrf_token": csrf_of(page.data)}
    )
    assert "ui_locales" not in switched.headers["Location"]
    assert _lang(client.get("/account/?ui_locales=fi", headers={"Accept-Language": "fi"})) == "en"


def test_without_any_hint_the_browser_language_is_used(app: Flask, client: FlaskClient) -> None:
    assert _lang(client.get("/login", headers={"Accept-Language": "sv-FI,sv;q=0.9"})) == "sv"
    default = app.config["AVAIN"].default_language
    assert _lang(client.get("/login", headers={"Accept-Language": "de"})) == default
