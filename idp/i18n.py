"""Language of the customer pages: ``ui_locales``, the switcher's cookie, Accept-Language."""

from __future__ import annotations

from flask import Flask, current_app, g, request

from idp.config import Settings
from idp.extensions import babel

LANG_COOKIE = "avain_lang"
LANGUAGE_NAMES = {"fi": "Suomi", "sv": "Svenska", "en": "English"}


def pick_language(ui_locales: str | None = None) -> str:
    settings: Settings = current_app.config["AVAIN"]
    supported = settings.languages
    hint = ui_locales if ui_locales is not None else request.values.get("ui_locales", "")
    for tag in hint.split():
        base = tag.split("-")[0].lower()
        if base in supported:
            return base
    cookie = request.cookies.get(LANG_COOKIE)
    if cookie in supported:
        return cookie
    best = request.accept_languages.best_match(supported)
    return best or settings.default_language


def init_app(app: Flask) -> None:
    def _locale() -> str:
        return str(g.get("lang") or pick_language())

    babel.init_app(app, locale_selector=_locale, default_translation_directories="translations")
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(app.root_path + "/translations")

    @app.context_processor
    def _languages() -> dict[str, object]:
        return {"languages": LANGUAGE_NAMES, "current_lang": g.get("lang") or pick_language()}
