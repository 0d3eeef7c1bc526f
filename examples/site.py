"""What both partner sites share, none of it Avain-specific: settings from the environment,
one SQLite connection per request (as in the Flask tutorial), and the language switch."""

from __future__ import annotations

import json
import os
import secrets
import sqlite3
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, current_app, g, request
from jinja2 import ChoiceLoader, FileSystemLoader

LANGUAGES = ("fi", "en")


def instance_path() -> str | None:
    """SITE_INSTANCE, where the site keeps its database; Flask's instance/ folder if unset."""
    path = os.environ.get("SITE_INSTANCE")
    return os.path.abspath(path) if path else None


def configure(app: Flask, *, client_id: str, site_url: str, schema: str, brand_colour: str) -> None:
    """Settings from the environment, with the demo's defaults:

    AVAIN_ISSUER   Avain's issuer URL (http://localhost:5000)
    SITE_URL       this site's own base URL (the redirect URI is SITE_URL/callback)
    CLIENT_ID, CLIENT_SECRET   this site's client at Avain; without a secret, read from
                   AVAIN_CLIENTS_FILE (default instance/demo-clients.json, written by `idp seed`)
    SITE_SECRET_KEY  signs this site's cookie; generated into the instance folder if unset
    """
    env = os.environ
    app.config.update(
        AVAIN_ISSUER=env.get("AVAIN_ISSUER", "http://localhost:5000").rstrip("/"),
        SITE_URL=env.get("SITE_URL", site_url).rstrip("/"),
        CLIENT_ID=env.get("CLIENT_ID", client_id),
        CLIENT_SECRET=env.get("CLIENT_SECRET"),
        DATABASE=os.path.join(app.instance_path, f"{app.name.rsplit('.', 1)[-1]}.db"),
        SCHEMA=schema,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config["CLIENT_SECRET"]:
        app.config["CLIENT_SECRET"] = _secret_from_seed(app)
    app.secret_key = env.get("SITE_SECRET_KEY") or _generated_key(app)
    shared = FileSystemLoader(Path(__file__).parent / "templates")  # layout.html
    app.jinja_loader = ChoiceLoader([app.jinja_loader, shared])  # type: ignore[list-item]
    app.teardown_appcontext(_close_db)
    app.context_processor(lambda: {"lang": language(), "languages": LANGUAGES})
    app.jinja_env.globals["brand_colour"] = brand_colour
    app.jinja_env.filters["datetime"] = lambda ts: time.strftime(
        "%d.%m.%Y %H:%M", time.localtime(ts)
    )


def port(app: Flask) -> int:
    return urlsplit(app.config["SITE_URL"]).port or 80


def _secret_from_seed(app: Flask) -> str | None:
    path = Path(os.environ.get("AVAIN_CLIENTS_FILE", Path(app.instance_path, "demo-clients.json")))
    if not path.exists():
        return None
    clients = json.loads(path.read_text(encoding="utf-8")).get("clients", {})
    secret: str | None = clients.get(app.config["CLIENT_ID"], {}).get("client_secret")
    return secret


def _generated_key(app: Flask) -> str:
    path = Path(app.instance_path, f"{app.config['SESSION_COOKIE_NAME']}.key")
    if not path.exists():
        path.write_text(secrets.token_urlsafe(32), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


def db() -> sqlite3.Connection:
    """This request's connection; the schema (CREATE ... IF NOT EXISTS) and seed on first use."""
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"], timeout=10)
        g.db.row_factory = sqlite3.Row
        g.db.execute("PRAGMA foreign_keys = ON")
    return g.db


def init_db(app: Flask) -> None:
    with app.app_context():
        db().executescript(app.config["SCHEMA"])
        db().commit()


def _close_db(_: BaseException | None) -> None:
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


def language() -> str:
    """The language chosen with ?lang= (kept in a cookie), else the browser's, else Finnish."""
    cookie = current_app.config["SESSION_COOKIE_NAME"] + "_lang"
    chosen = request.args.get("lang") or request.cookies.get(cookie)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or "fi"


def remember_language(response: Any) -> Any:
    chosen = request.args.get("lang")
    if chosen in LANGUAGES:
        cookie = current_app.config["SESSION_COOKIE_NAME"] + "_lang"
        response.set_cookie(cookie, chosen, max_age=365 * 24 * 3600, samesite="Lax")
    return response


def translator(messages: dict[str, dict[str, str]]) -> Any:
    """t("key", **values) in the request's language; a missing key shows itself."""

    def t(key: str, **values: Any) -> str:
        text = messages.get(language(), {}).get(key) or messages["en"].get(key, key)
        return text.format(**values) if values else text

    return t
