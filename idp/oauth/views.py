"""Protocol endpoints that answer in JSON: token, userinfo, introspection, revocation, JWKS,
discovery and dynamic registration."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from flask.typing import ResponseReturnValue

from idp import context, instruments, signing
from idp.conditional import conditional
from idp.db import commit, get_session, has_writes, without_transaction
from idp.extensions import csrf
from idp.oauth.clients import GRANT_TYPES
from idp.oauth.discovery import metadata
from idp.oauth.registration import register_client
from idp.oauth.userinfo import userinfo_response

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
    grant_type = request.form.get("grant_type", "")
    if grant_type == "client_credentials":
        without_transaction()  # one INSERT: the token (a client assertion's jti another)
    resp: Response = _server().create_token_response()
    commit()
    if resp.status_code == 200 and grant_type in GRANT_TYPES:
        instruments.token_issued(grant_type)
    return _no_store(resp)


@bp.route("/revoke", methods=["POST"])
def revoke() -> ResponseReturnValue:
    resp: Response = _server().create_endpoint_response("revocation")
    commit()
    return _no_store(resp)


@bp.route("/introspect", methods=["POST"])
def introspect() -> ResponseReturnValue:
    without_transaction()  # reads, and single-row writes that stand alone:
    resp: Response = _server().create_endpoint_response("introspection")
    # a JWT client assertion's jti, remembered against replay (RFC 7523 §3), and the
    # disclosure log's row when the answer released customer claims
    commit()
    return _no_store(resp)


@bp.route("/userinfo", methods=["GET", "POST"])
def userinfo() -> ResponseReturnValue:
    """OIDC Core §5.3 (:mod:`idp.oauth.userinfo`)."""
    session = get_session()
    without_transaction(session)  # two reads and the disclosure log's row
    resp = userinfo_response(session, request)
    if has_writes(session):  # the disclosure log's row, when a customer claim left
        commit()  # (idp.ledger.disclosures); otherwise a read that commits nothing
    return _no_store(resp)


@bp.route("/jwks.json")
def jwks() -> ResponseReturnValue:
    body, etag = signing.jwks_document(get_session())  # keys are made at start-up
    resp = Response(body, mimetype="application/json")
    resp.headers["Cache-Control"] = "public, max-age=300"
    resp.set_etag(etag)
    return conditional(resp)


def _discovery_document() -> tuple[bytes, str]:
    """The metadata as sent, and its ETag: made once per process. It depends only on the
    settings and the catalogue, both read at start-up, so a new document needs a restart
    anyway (and a deploy changes the ETag)."""
    found: tuple[bytes, str] | None = current_app.extensions.get("avain.discovery")
    if found is None:
        catalogue = current_app.extensions["avain.catalogue"]
        body = json.dumps(metadata(context.settings(), catalogue.details_types())).encode()
        found = body, hashlib.sha256(body).hexdigest()[:32]
        current_app.extensions["avain.discovery"] = found
    return found


@bp.route("/.well-known/openid-configuration")
def openid_configuration() -> ResponseReturnValue:
    body, etag = _discovery_document()
    resp = Response(body, mimetype="application/json")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.set_etag(etag)
    return conditional(resp)


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
