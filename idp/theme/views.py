"""Serving the theme: ``/theme/avain-<hash>.css``, the logo, the favicon (also at
``/favicon.ico``, where browsers look without being told), and the theme in templates."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, Response, current_app, has_request_context, url_for

from idp.conditional import conditional
from idp.config import Settings
from idp.errors import NotFound
from idp.theme.assets import Asset, Brand, build
from idp.theme.model import ROOT, load_theme

bp = Blueprint("theme", __name__)
YEAR = 365 * 24 * 3600


def brand() -> Brand:
    found: Brand = current_app.extensions["avain.brand"]
    return found


def _serve(asset: Asset | None, digest: str | None) -> Response:
    """``digest`` as asked for: the current one is cached for a year; an old one (a page
    from before a restart with a new theme) still gets the current bytes, revalidated."""
    if asset is None:
        raise NotFound()  # the error page says "not found" in the visitor's language
    resp = Response(asset.data, mimetype=asset.mimetype)
    resp.set_etag(asset.digest)
    if digest == asset.digest:
        resp.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        resp.headers["Cache-Control"] = "no-cache"
    return conditional(resp)


@bp.route("/theme/avain-<digest>.css")
def stylesheet(digest: str) -> Response:
    return _serve(brand().stylesheet, digest)


@bp.route("/theme/logo-<digest>.<ext>")
def logo(digest: str, ext: str) -> Response:
    return _serve(brand().logo, digest)


@bp.route("/theme/favicon-<digest>.<ext>")
def favicon(digest: str, ext: str) -> Response:
    return _serve(brand().favicon, digest)


@bp.route("/favicon.ico")
def favicon_ico() -> Response:
    return _serve(brand().favicon, None)


def _urls() -> dict[str, Any]:
    b = brand()
    if not has_request_context():  # mail is written outside a request: no URLs to build
        return {"theme": b.theme}
    return {
        "theme": b.theme,
        "theme_css": url_for("theme.stylesheet", digest=b.stylesheet.digest),
        "theme_logo": (
            url_for("theme.logo", digest=b.logo.digest, ext=b.logo_suffix[1:]) if b.logo else ""
        ),
        "theme_favicon": (
            url_for("theme.favicon", digest=b.favicon.digest, ext=b.favicon_suffix[1:])
            if b.favicon
            else ""
        ),
        "theme_favicon_type": b.favicon.mimetype if b.favicon else "",
        "theme_privacy": b.theme.privacy_url or _own_privacy_notice(),
    }


def _own_privacy_notice() -> str:
    """Avain's page for the consent catalogue's current privacy notice ("" without one)."""
    catalogue = current_app.extensions.get("avain.catalogue")
    if catalogue is None or not catalogue.notices:
        return ""
    return url_for("privacy.privacy_notice", version=catalogue.current_notice().version)


def init_app(app: Flask) -> None:
    """Load and check the theme (a bad one stops the start with ConfigError) and build the
    stylesheet once."""
    settings: Settings = app.config["AVAIN"]
    theme = load_theme(settings.theme_file)
    base_css = (ROOT / "static" / "avain.css").read_text(encoding="utf-8")
    app.extensions["avain.brand"] = build(theme, base_css)
    app.register_blueprint(bp)
    app.context_processor(_urls)
