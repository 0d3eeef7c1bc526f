"""Authorization responses in the requested response mode (OAuth 2.0 Form Post Response Mode),
with ``iss`` on every response, errors included (RFC 9207 §2)."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error
from flask import Response, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp import context


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def allow_form_target(resp: Response, uri: str | None) -> Response:
    """Let this page's forms end in a redirect to ``uri`` (CSP form-action).

    Browsers check form-action on every redirect that follows a form submission, so the
    login, consent and logout pages must name where the flow ends, or it is blocked.
    """
    if uri:
        scheme = urlsplit(uri).scheme
        target = _origin(uri) if scheme in {"http", "https"} else f"{scheme}:" if scheme else ""
        if target:
            resp.headers["X-Avain-Form-Action"] = target
    return resp


def respond(
    redirect_uri: str, params: list[tuple[str, str]], response_mode: str | None
) -> ResponseReturnValue:
    if response_mode == "form_post" and urlsplit(redirect_uri).scheme in {"http", "https"}:
        html = render_template("oauth/form_post.html", action=redirect_uri, params=params)
        resp = Response(html, mimetype="text/html")
        resp.headers["X-Avain-Form-Action"] = _origin(redirect_uri)
        resp.headers["Cache-Control"] = "no-store"
        return resp
    return redirect(add_params_to_uri(redirect_uri, params), code=302)


def from_location(
    location: str, redirect_uri: str, response_mode: str | None
) -> ResponseReturnValue:
    """Re-render a 302 that Authlib built as the requested response mode."""
    query = urlsplit(location).query
    return respond(redirect_uri, parse_qsl(query, keep_blank_values=True), response_mode)


def error(err: OAuth2Error, state: str | None, response_mode: str | None) -> ResponseReturnValue:
    """To the client when its redirect URI is known and verified; otherwise to the person.

    RFC 9207 §2 wants ``iss`` on error responses too. Authlib's IssuerParameter
    (:class:`idp.oauth.grants.Issuer`) only sees what ``AuthorizationServer.
    create_authorization_response`` returns; errors raised while the request is validated
    (``get_consent_grant``) or by Avain's interaction steps never pass there, so it is
    added here.
    """
    if err.redirect_uri:
        params = [("error", err.error)]
        if err.description:
            params.append(("error_description", err.description))
        if state:
            params.append(("state", state))
        params.append(("iss", context.settings().issuer))
        mode = response_mode if response_mode in {"query", "form_post"} else "query"
        return respond(err.redirect_uri, params, mode)
    title, text = explain(err)
    html = render_template(
        "errors/error.html",
        status=400,
        error=err.error,
        title=title,
        description=text,
        technical=err.description or None,
    )
    return Response(html, status=400, mimetype="text/html")


def explain(err: OAuth2Error) -> tuple[str, str]:
    """What a person reads when the request cannot go back to the site (RFC 6749 §4.1.2.1:
    an unknown client or an unverified redirect URI must not be redirected to).

    Authlib's description is English for the site's developer; it is shown apart, under
    "Details". The customer gets the reason in their own language and what to do next.
    """
    data = request.values
    client_id = data.get("client_id")
    client = current_app.extensions["avain.oauth_server"].query_client(client_id or "")
    if err.error == "invalid_client" or client is None:
        return _("We do not recognise this site"), _(
            "The site that sent you here is not registered with us, so you cannot sign in to "
            "it here. Go back to the site and try again. If this keeps happening, tell the "
            "site's customer service."
        )
    uri = data.get("redirect_uri")
    if (uri and not client.check_redirect_uri(uri)) or (
        not uri and not client.get_default_redirect_uri()
    ):
        return _("We cannot send you back to the site"), _(
            "%(client)s asked us to send you back to an address it has not registered with "
            "us. To protect you we stopped here and sent nothing anywhere. Go back to the "
            "site and try again. If this keeps happening, tell the site's customer service.",
            client=client.client_name,
        )
    return _("The sign-in request is not valid"), _(
        "%(client)s sent a sign-in request we cannot accept, so we stopped here. Go back to "
        "the site and try again. If this keeps happening, tell the site's customer service.",
        client=client.client_name,
    )
