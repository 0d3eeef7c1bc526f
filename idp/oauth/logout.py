"""OpenID Connect RP-Initiated Logout 1.0; ending the session is :func:`idp.sso.end_session`."""

from __future__ import annotations

from typing import Any

from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc6749 import OAuth2Error
from authlib.oidc.rpinitiated import EndSessionEndpoint, EndSessionRequest
from flask import Blueprint, Response, current_app, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError, validate_csrf
from wtforms import ValidationError

from idp import context, signing
from idp.db import commit, get_session
from idp.events import outbox
from idp.extensions import csrf
from idp.models import SsoSession
from idp.oauth import hints, responses
from idp.sso import current_sso, end_browser_login, end_session

bp = Blueprint("logout", __name__)


class EndSession(EndSessionEndpoint):
    def get_server_jwks(self) -> Any:
        return signing.public_jwks(get_session())

    def validate_request(self, request: Any) -> EndSessionRequest:
        """§2: the OP MUST validate that it issued the ID token; Authlib checks only our
        signature, which our access and logout tokens carry too (``idp.oauth.hints``)."""
        hint = request.payload.data.get("id_token_hint")
        if hint:
            hints.id_token_claims(
                hint,
                self.get_server_jwks(),
                context.settings().issuer,
                lambda client_id: self.server.query_client(client_id) is not None,
            )
        req: EndSessionRequest = super().validate_request(request)
        return req


def _finish(sso: SsoSession | None, redirect_uri: str | None) -> ResponseReturnValue:
    db = get_session()
    queued = end_session(db, sso) if sso is not None else 0
    end_browser_login(db, sso)
    commit()
    if queued:
        outbox.kick(current_app._get_current_object())  # type: ignore[attr-defined]
    if redirect_uri:
        return redirect(redirect_uri)
    return Response(render_template("auth/logged_out.html"))


def _hint_names_this_session(claims: dict[str, Any] | None, sso: SsoSession | None) -> bool:
    """§2 and §6: log out without asking only when the hint's ``sid`` is this browser's SSO
    session. A hint without ``sid``, or for another session, proves nothing about this one:
    a page could load it in the customer's browser. With no session there is nothing to end."""
    if claims is None:
        return False
    if sso is None:
        return True
    return claims.get("sid") == sso.id


@bp.route("/logout", methods=["GET", "POST"])
@csrf.exempt
def logout() -> ResponseReturnValue:
    """§2: with an id_token_hint for this very session log out at once; otherwise ask the
    customer first (§6: a logout request is otherwise a means of denial of service)."""
    server = current_app.extensions["avain.oauth_server"]
    try:
        req = server.validate_endpoint_request("end_session")
    except OAuth2Error as err:
        # §4: no redirect on an error; the customer reads what happened.
        description = _(
            "The site asked to sign you out with a sign-in token that is not valid here, "
            "so nothing was changed. You can sign out on your account page."
        )
        return Response(
            render_template(
                "errors/error.html", status=400, error=err.error, description=description
            ),
            status=400,
        )
    sso = current_sso()
    data = request.values
    if _hint_names_this_session(req.id_token_claims, sso):
        return _finish(sso, req.redirect_uri)
    confirmed = request.method == "POST" and request.form.get("confirm") == "yes"
    if confirmed:
        try:
            validate_csrf(request.form.get("csrf_token"))
        except (ValidationError, CSRFError):
            confirmed = False
    if not confirmed:
        post_logout = data.get("post_logout_redirect_uri")
        registered = req.client is not None and post_logout in req.client.post_logout_redirect_uris
        return responses.allow_form_target(
            Response(
                render_template(
                    "auth/logout_confirm.html",
                    client=req.client,
                    user=sso.user if sso else None,
                    params={
                        k: v
                        for k, v in data.items()
                        if k
                        in {
                            "client_id",
                            "post_logout_redirect_uri",
                            "state",
                            "ui_locales",
                            "logout_hint",
                        }
                    },
                )
            ),
            post_logout if registered else None,
        )
    target = None
    post_logout = data.get("post_logout_redirect_uri")
    if req.client is not None and post_logout in req.client.post_logout_redirect_uris:
        target = (
            add_params_to_uri(post_logout, {"state": data["state"]})
            if data.get("state")
            else post_logout
        )
    return _finish(sso, target)
