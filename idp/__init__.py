"""Avain: an OpenID Connect provider with single sign-on and a consent ledger."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, Response, render_template, url_for
from werkzeug.middleware.proxy_fix import ProxyFix

from idp.config import load_settings

ROOT = Path(__file__).resolve().parent.parent


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: settings, database, extensions, blueprints, error handling; the
    database is prepared before any request (:mod:`idp.startup`)."""
    settings = load_settings(test_config)
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=settings.instance_path,
    )
    app.config.update(
        AVAIN=settings,
        SECRET_KEY=settings.secret_key,
        SESSION_COOKIE_NAME="avain_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.issuer_is_https,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=settings.session_lifetime),
        REMEMBER_COOKIE_HTTPONLY=True,
        MAX_CONTENT_LENGTH=256 * 1024,
        WTF_CSRF_TIME_LIMIT=3600 * 4,
        WTF_CSRF_SSL_STRICT=False,
        OAUTH2_REFRESH_TOKEN_GENERATOR=True,
    )
    if settings.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    # The app's parts are imported when an app is built, not when ``idp`` is: importing
    # ``idp.models`` (Alembic, the CLI) must not load every blueprint and its libraries.
    # Nothing below imports ``idp`` itself, so these are no way round a cycle.
    from idp import cache, db, documents, errors, i18n, intake, metrics, security
    from idp.extensions import csrf, login_manager

    db.init_app(app, settings.database_url)
    cache.init_app(app)
    # discovery and the JWKS from memory; inside the metrics timer, which counts them too
    app.wsgi_app = documents.KeptDocuments(app.wsgi_app, app.extensions["avain.cache"])  # type: ignore[method-assign]
    metrics.init_app(app)  # /metrics with a token; its after_request hook runs last
    if settings.redis_url:
        from idp import redis_store

        app.extensions["avain.redis"] = redis_store.connect(settings.redis_url)
    from idp.session_cookie import SessionInterface

    app.session_interface = SessionInterface()
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.session_protection = None

    from idp.sso import load_user

    login_manager.user_loader(load_user)
    i18n.init_app(app)
    from idp import localtime

    localtime.init_app(app)
    security.init_app(app)
    intake.init_app(app)
    errors.init_app(app)
    from idp import theme

    theme.init_app(app)  # a theme that fails WCAG contrast stops the start here

    from idp.ledger import service as ledger_service

    app.extensions["avain.catalogue"] = ledger_service.load(settings)
    app.extensions["avain.ledger_keys"] = ledger_service.ledger_keys(settings)
    from idp import startup

    startup.init_app(app)  # purpose versions, keys, the first checkpoint: before any request
    from idp.ledger import sequencer

    sequencer.init_app(app)
    from idp.auth import mailer
    from idp.events import outbox

    outbox.init_app(app, senders=[mailer.deliver_due])

    from idp.oauth.logout import EndSession
    from idp.oauth.server import create_server

    server = create_server(app)
    server.register_endpoint(EndSession)
    app.extensions["avain.oauth_server"] = server

    from idp.account.views import bp as account_bp
    from idp.admin.api.blueprint import bp as admin_api_bp
    from idp.admin.complaints_views import bp as admin_complaints_bp
    from idp.admin.customers_views import bp as admin_customers_bp
    from idp.admin.entry import bp as admin_entry_bp
    from idp.admin.partners_views import bp as admin_partners_bp
    from idp.admin.views import bp as admin_bp
    from idp.auth.passkey_views import bp as passkeys_bp
    from idp.auth.views import bp as auth_bp
    from idp.health import bp as health_bp
    from idp.ledger.views import bp as ledger_bp, pages as privacy_bp
    from idp.oauth.authorize import bp as flow_bp
    from idp.oauth.logout import bp as logout_bp
    from idp.oauth.views import bp as oauth_bp
    from idp.resources.claims import bp as claims_bp
    from idp.ssf.views import bp as ssf_bp

    for bp in (
        oauth_bp,
        flow_bp,
        logout_bp,
        auth_bp,
        account_bp,
        ledger_bp,
        privacy_bp,
        passkeys_bp,
        health_bp,
        ssf_bp,
        claims_bp,
        admin_entry_bp,
        admin_bp,
        admin_partners_bp,
        admin_complaints_bp,
        admin_customers_bp,
        admin_api_bp,
    ):
        app.register_blueprint(bp)

    @app.route("/")
    def index() -> Response:
        return Response(
            render_template("index.html", discovery=url_for("oauth.openid_configuration"))
        )

    return app
