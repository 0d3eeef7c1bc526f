"""Language of the customer pages.

Precedence, strongest first:

1. the customer's own choice in this browser: the language switcher on any page, or the
   language saved on the profile page (both set the ``avain_lang`` cookie), because it is
   the newest thing the person said themselves;
2. the client's ``ui_locales`` (OIDC Core §3.1.2.1: the End-User's preferred languages for
   this sign-in), from the request or from the pending sign-in (the ``interaction``), so it
   survives the form posts and redirects of the sign-in: a customer who reads the shop in
   English meets Avain's sign-in and consent in English too, whatever their profile says;
3. the signed-in customer's profile language, for every other page (the account pages) in
   a browser where they have not chosen;
4. the browser's Accept-Language;
5. the deployment's default.
"""

from __future__ import annotations

import logging
from typing import TypeVar

from flask import Flask, current_app, g, request
from flask_login import current_user
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.wrappers import Response

from idp.config import Settings
from idp.db import get_session
from idp.extensions import babel
from idp.models import Interaction

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Response)

LANG_COOKIE = "avain_lang"
LANGUAGE_NAMES = {"fi": "Suomi", "sv": "Svenska", "en": "English"}


def _first_supported(hint: str, supported: list[str]) -> str | None:
    for tag in hint.split():
        base = tag.split("-")[0].lower()
        if base in supported:
            return base
    return None


def _profile_language() -> str | None:
    """The signed-in customer's saved language; never an error for the page being shown.
    A stylesheet or script has no language: it does not load the customer."""
    if request.endpoint == "static":
        return None
    try:
        if current_user.is_authenticated:
            locale = getattr(current_user, "locale", None)
            return locale if isinstance(locale, str) else None
    except SQLAlchemyError:
        log.warning("profile language unavailable on %s", request.path)
    return None


def _interaction_ui_locales() -> str:
    """``ui_locales`` of the pending sign-in this request continues (the login form's POST,
    the consent page): the client asked once, at /authorize."""
    interaction_id = request.values.get("interaction")
    if not interaction_id or len(interaction_id) > 100:
        return ""
    try:
        item = get_session().get(Interaction, interaction_id)
    except SQLAlchemyError:
        log.warning("interaction language unavailable on %s", request.path)
        return ""
    value = item.params.get("ui_locales") if item is not None else None
    return value if isinstance(value, str) else ""


def pick_language(ui_locales: str | None = None, *, look_up: bool = True) -> str:
    """The page language by the precedence above; ``look_up=False`` skips the database
    (the error page of a request that failed before its language was known)."""
    settings: Settings = current_app.config["AVAIN"]
    supported = settings.languages
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in supported:
        return str(cookie)
    hint = ui_locales if ui_locales is not None else request.values.get("ui_locales", "")
    if not hint and look_up:
        hint = _interaction_ui_locales()
    chosen = _first_supported(hint, supported)
    if chosen:
        return chosen
    if look_up:
        profile = _profile_language()
        if profile in supported:
            return str(profile)
    best = request.accept_languages.best_match(supported)
    return best or settings.default_language


def remember_choice(resp: R, code: str) -> R:
    """The customer chose ``code`` on a page (switcher or profile): it wins from now on."""
    settings: Settings = current_app.config["AVAIN"]
    if code in settings.languages:
        resp.set_cookie(
            LANG_COOKIE,
            code,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=settings.issuer_is_https,
        )
    return resp


def current_language() -> str:
    """This request's language, picked when first needed: a protocol request that renders
    nothing for a person (discovery, the token endpoint) never looks the customer up."""
    lang = g.get("lang")
    if lang is None:
        lang = g.lang = pick_language()
    return str(lang)


def init_app(app: Flask) -> None:
    def _locale() -> str:
        return current_language()

    babel.init_app(app, locale_selector=_locale, default_translation_directories="translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(app.root_path + "/translations")

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {
            "languages": LANGUAGE_NAMES,
            "current_lang": current_language(),
        }
