"""Protocol endpoints that answer in JSON: token, userinfo, introspection, revocation, JWKS,
discovery and dynamic registration."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from idp import context, signing
from idp.db import commit, get_session
from idp.extensions import csrf
from idp.models import Client, User
from idp.oauth import claims as claims_mod, tokens
from idp.oauth.discovery import metadata
from idp.oauth.registration import register_client

bp = Blueprint("oauth", __name__)
csrf.exempt(bp)


def _server() -> Any:
    return current_app.extensions["avain.oauth_server"]


def _no_store(resp: Response) -> ResponseReturnValue:
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Pragma"] = "no-cache"
    return resp


@bp.route("/token", methods=["POST"])
def token() -> ResponseReturnValue:
    """RFC 6749 §3.2. Writes made while refusing (a reused code's revocation) are kept."""
    resp: Response = _server().create_token_response()
    commit()
    return _no_store(resp)


@bp.route("/revoke", methods=["POST"])
def revoke() -> ResponseReturnValue:
    resp: Response = _server().create_endpoint_response("revocation")
    commit()
    return _no_store(resp)


@bp.route("/introspect", methods=["POST"])
def introspect() -> ResponseReturnValue:
    resp: Response = _server().create_endpoint_response("introspection")
    commit()
    return _no_store(resp)


def _bearer_error(error: str, description: str, status: int) -> ResponseReturnValue:
    """RFC 6750 §3: the error goes in WWW-Authenticate."""
    resp = jsonify({"error": error, "error_description": description})
    resp.status_code = status
    value = 'Bearer realm="avain"'
    if error != "missing_token":
        value += f', error="{error}", error_description="{description}"'
    resp.headers["WWW-Authenticate"] = value
    return _no_store(resp)


def _bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer " and header[7:].strip():
        return header[7:].strip()
    if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
        value = request.form.get("access_token")
        return value or None
    return None


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> ResponseReturnValue:
    """OIDC Core §5.3: claims by scope and by ``claims.userinfo``, for a valid access token."""
    raw = _bearer_token()
    if raw is None:
        return _bearer_error("missing_token", "An access token is required.", 401)
    db = get_session()
    token = tokens.find_by_access_token(db, raw)
    if token is None or not tokens.access_active(token) or not token.user_id:
        return _bearer_error("invalid_token", "The access token is invalid or expired.", 401)
    if "openid" not in token.scope.split():
        return _bearer_error("insufficient_scope", "The token lacks the openid scope.", 403)
    user = db.get(User, token.user_id)
    client = db.get(Client, token.client_id)
    if user is None or client is None:
        return _bearer_error("invalid_token", "The access token is invalid or expired.", 401)
    names = claims_mod.requested_claims(token.scope, token.claims_request, "userinfo")
    body: dict[str, Any] = {"sub": tokens.subject(db, user, client)}
    body.update(tokens.released_claims(db, user, client, names))
    commit()
    return _no_store(jsonify(body))


@bp.route("/jwks.json")
def jwks() -> ResponseReturnValue:
    data = signing.public_jwks(get_session())
    commit()
    resp = jsonify(data)
    resp.headers["Cache-Control"] = "public, max-age=300"
    return resp


@bp.route("/.well-known/openid-configuration")
def openid_configuration() -> ResponseReturnValue:
    resp = jsonify(metadata(context.settings()))
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


@bp.route("/.well-known/oauth-authorization-server")
def oauth_metadata() -> ResponseReturnValue:
    """RFC 8414 §3."""
    return openid_configuration()


@bp.route("/connect/register", methods=["POST"])
def register() -> ResponseReturnValue:
    """OIDC Dynamic Client Registration 1.0 §3, gated by an initial access token."""
    body, status = register_client(get_session(), context.settings(), request)
    if status == 201:
        commit()
    resp = jsonify(body)
    resp.status_code = status
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="avain", error="invalid_token"'
    return _no_store(resp)
