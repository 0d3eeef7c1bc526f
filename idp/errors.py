"""The one error tree outside the protocol code, and the one place errors become responses.

Protocol routes (their blueprints are listed in ``PROTOCOL_BLUEPRINTS``) answer
with OAuth-style JSON; the pages' own JSON calls with ``error`` and a readable
``message``; every other request with a readable HTML page.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TypeAlias

from authlib.oauth2.rfc6749.errors import InsecureTransportError
from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_babel import force_locale, gettext as _
from flask_babel.speaklater import LazyString
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError, PendingRollbackError
from werkzeug.datastructures import ImmutableMultiDict
from werkzeug.exceptions import HTTPException

from idp.db import end_session
from idp.error_pages import http_description, retry_target, title_for

log = logging.getLogger(__name__)

Message: TypeAlias = str | LazyString  # a text for a person: translated now, or lazily

PROTOCOL_BLUEPRINTS = {"oauth", "ledger", "claims"}
PROTOCOL_PATHS = {
    "/token",
    "/userinfo",
    "/introspect",
    "/revoke",
    "/connect/register",
    "/jwks.json",
    "/claims/tire_purchase",
}


class IdpError(Exception):
    error = "server_error"
    status_code = 400

    def __init__(
        self, description: Message = "", error: str | None = None, status_code: int | None = None
    ) -> None:
        super().__init__(description)
        self.description = description
        if error:
            self.error = error
        if status_code:
            self.status_code = status_code


class NotFound(IdpError):
    error = "not_found"
    status_code = 404


class Conflict(IdpError):
    error = "conflict"
    status_code = 409


class Invalid(IdpError):
    error = "invalid_request"
    status_code = 400


class Unavailable(IdpError):
    """A store Avain depends on (Redis) cannot be reached: refuse now, ask to retry later.

    RFC 6749 §4.1.2.1 ``temporarily_unavailable``; RFC 9110 §15.6.4 503 with §10.2.3
    ``Retry-After``. The description names the store for the log, never for the client.
    """

    error = "temporarily_unavailable"
    status_code = 503
    retry_after = 30  # seconds


def _wants_json() -> bool:
    return request.blueprint in PROTOCOL_BLUEPRINTS or request.path in PROTOCOL_PATHS


Renderer = Callable[[int, str, str], Response]
# app.extensions[RENDERERS]: path prefix -> the renderer of every error under it (the admin
# API answers in RFC 9457 problem details, idp.admin.api.problems)
RENDERERS = "avain.error_renderers"


def _own_renderer() -> Renderer | None:
    found: dict[str, Renderer] = current_app.extensions.get(RENDERERS, {})
    for prefix, render in found.items():
        if request.path == prefix or request.path.startswith(prefix + "/"):
            return render
    return None


def _plain(description: Message) -> str:
    """Protocol JSON keeps the English text: RFC 6749 §5.2 allows only ASCII in
    ``error_description``, and it is read by the client's developer. A lazily translated
    description (``lazy_gettext``) gives English here and the customer's language on a page."""
    with force_locale("en"):
        return str(description)


def _render(
    status: int,
    error: str,
    description: Message,
    *,
    title: Message | None = None,
    explanation: Message | None = None,
    retry: str | None = None,
    technical: str | None = None,
) -> Response:
    """The one error page (or JSON) of the site.

    ``explanation`` says more to the person, ``retry`` is a local page to try again from,
    ``technical`` is the English detail a site's developer needs (never a stack trace).
    """
    own = _own_renderer()
    if own is not None:
        return own(status, error, _plain(description))
    if _wants_json():
        resp = jsonify({"error": error, "error_description": _plain(description)})
        resp.status_code = status
        resp.headers["Cache-Control"] = "no-store"
        return resp
    if request.is_json:  # the pages' own JSON calls (passkeys.js shows ``message``)
        resp = jsonify({"error": error, "message": str(description)})
        resp.status_code = status
        return resp
    html = render_template(
        "errors/error.html",
        status=status,
        error=error,
        title=title or title_for(status),
        description=description,
        explanation=explanation,
        retry=retry,
        technical=technical,
    )
    return Response(html, status=status, mimetype="text/html")


def _forget_body() -> None:
    """A body refused as too large raises again on every read: the error page (its language
    choice reads ``request.values``) sees the query string only."""
    request.form = ImmutableMultiDict()
    request.files = ImmutableMultiDict()
    request.__dict__.pop("values", None)
    request._cached_data = b""


def _without_the_database() -> None:
    """Before the page that says the database is unavailable: the request's transaction
    is dead, so it is rolled back (nothing of the request is written), and the page shows
    nobody signed in, so that rendering it needs no statement (the header would load the
    customer)."""
    end_session()
    g._login_user = current_app.login_manager.anonymous_user()  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    @app.errorhandler(IdpError)
    def _idp_error(exc: IdpError) -> Response:
        return _render(exc.status_code, exc.error, exc.description)

    @app.errorhandler(Unavailable)
    def _unavailable(exc: Unavailable) -> Response:
        log.warning("%s unavailable on %s %s", exc.description, request.method, request.path)
        text = _("The service is temporarily unavailable. Please try again in a minute.")
        # the passkey script shows ``message``
        if request.is_json and not _wants_json() and _own_renderer() is None:
            resp = jsonify({"error": exc.error, "message": text})
            resp.status_code = exc.status_code
        else:
            resp = _render(exc.status_code, exc.error, text)
        resp.headers["Retry-After"] = str(exc.retry_after)
        resp.headers["Cache-Control"] = "no-store"
        return resp

    @app.errorhandler(CSRFError)
    def _csrf(exc: CSRFError) -> Response:
        """Flask-WTF's own text is English and technical; this says what happened and how
        to go on. The JSON form (``error: csrf``) lets passkeys.js fetch a fresh token."""
        return _render(
            400,
            "csrf",
            _(
                "The form expired or was sent from another site. "
                "Go back, reload the page and try again."
            ),
            title=_("The form has expired"),
            retry=retry_target(),
            explanation=_(
                "For your safety a form works only for a while and only in the browser it was "
                "opened in. This happens when the page was open for a long time, or you signed "
                "in or out in another tab. Nothing was saved."
            ),
        )

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        code = exc.code or 500
        if code == 413:
            _forget_body()
        error = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(
            code, "invalid_request" if code < 500 else "server_error"
        )
        default = type(exc).description
        own = exc.description if exc.description and exc.description != default else None
        resp = _render(code, error, own or http_description(code))
        for name, value in exc.get_headers():
            if name == "Allow":  # RFC 9110 §15.5.6: a 405 names the methods there are
                resp.headers[name] = value
        return resp

    @app.errorhandler(InsecureTransportError)
    def _insecure(exc: InsecureTransportError) -> Response:
        """Authlib refuses an OAuth request to a plain-http address that is not this host's
        own loopback: behind a proxy that did not say ``X-Forwarded-Proto: https``, or with
        a forged ``Host``. The client's request is at fault, not the server."""
        return _render(400, "invalid_request", _("OAuth 2.0 requests must use HTTPS."))

    @app.errorhandler(DBAPIError)
    def _database(exc: DBAPIError) -> Response:
        """The database went away or refused for now (a lost connection, a restart, a
        deadlock, SQLite's lock timeout): nothing was done, so the client may retry (503
        ``temporarily_unavailable`` with ``Retry-After``). Any other database error is a
        fault of ours."""
        if not (exc.connection_invalidated or isinstance(exc, OperationalError)):
            return _unexpected(exc)
        log.warning("database unavailable on %s %s: %s", request.method, request.path, exc.orig)
        _without_the_database()
        return _unavailable(Unavailable("database"))

    @app.errorhandler(PendingRollbackError)
    def _transaction_lost(exc: PendingRollbackError) -> Response:
        """An earlier statement of this request failed and was caught where a missing
        detail is no reason to fail (the page's language: idp/i18n.py); its transaction is
        gone, so the request cannot go on. After a lost connection that is a 503 like the
        one above; logged as an error, since a caught error of another kind leads here too."""
        log.error("transaction lost on %s %s: %s", request.method, request.path, exc)
        _without_the_database()
        return _unavailable(Unavailable("database"))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return _render(
            500, "server_error", _("Something went wrong on our side. Please try again.")
        )
