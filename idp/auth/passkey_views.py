"""Passkey endpoints for the browser (JSON) and the account page's passkey actions."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, jsonify, redirect, request, session, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required
from webauthn import base64url_to_bytes
from webauthn.helpers import bytes_to_base64url

from idp import context, instruments, replay, sso as sso_service
from idp.auth import freshness, passkeys
from idp.auth.accounts import find_by_email
from idp.auth.messages import message
from idp.auth.views import after_login, pending_second_factor
from idp.db import commit, get_session, utcnow
from idp.instruments import LoginMethod, LoginOutcome
from idp.sso import begin_browser_login, signed_in

bp = Blueprint("passkeys", __name__, url_prefix="/passkeys")

CHALLENGE_KEY = "webauthn"
CHALLENGE_LIFETIME = 300  # seconds


def _remember(purpose: str, challenge: bytes) -> None:
    session[CHALLENGE_KEY] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(challenge),
        "at": int(time.time()),
    }


def _take(purpose: str) -> bytes:
    """The challenge this browser was given: once, for its purpose, while fresh."""
    stored = session.pop(CHALLENGE_KEY, None)
    if not isinstance(stored, dict) or stored.get("purpose") != purpose:
        raise passkeys.PasskeyError("no_challenge")
    issued = float(stored.get("at", 0))
    if time.time() - issued > CHALLENGE_LIFETIME:
        raise passkeys.PasskeyError("challenge_expired")
    until = datetime.fromtimestamp(issued + CHALLENGE_LIFETIME, UTC)
    if not replay.first_use(get_session(), f"webauthn:{stored['challenge']}", until):
        raise passkeys.PasskeyError("no_challenge")
    return base64url_to_bytes(str(stored["challenge"]))


def _error(exc: passkeys.PasskeyError, status: int = 400) -> Response:
    commit()  # a blocked (cloned) credential stays blocked
    resp = jsonify({"error": exc.code, "message": message(f"passkey_{exc.code}")})
    resp.status_code = status
    return resp


def _options(json_text: str) -> Response:
    resp = Response(json_text, mimetype="application/json")
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.route("/register/options", methods=["POST"])
@login_required
def register_options() -> ResponseReturnValue:
    sso = signed_in()
    try:
        options, challenge = passkeys.registration_options(
            get_session(), context.settings(), sso.user
        )
    except passkeys.PasskeyError as exc:
        return _error(exc)
    _remember("register", challenge)
    return _options(options)


@bp.route("/register/verify", methods=["POST"])
@login_required
def register_verify() -> ResponseReturnValue:
    sso = signed_in()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(passkeys.PasskeyError("invalid_response"))
    try:
        challenge = _take("register")
        passkey = passkeys.finish_registration(
            get_session(),
            context.settings(),
            sso.user,
            body.get("credential") or {},
            challenge,
            str(body.get("name") or request.user_agent.platform or "Passkey"),
        )
    except passkeys.PasskeyError as exc:
        return _error(exc)
    commit()
    return jsonify({"id": passkey.id, "name": passkey.name})


def _user_for_email(email: Any) -> Any:
    if not isinstance(email, str) or not email.strip():
        return None
    return find_by_email(get_session(), email[:320])


@bp.route("/login/options", methods=["POST"])
def login_options() -> ResponseReturnValue:
    """Usernameless when no email is given; the same answer shape for unknown emails."""
    body = request.get_json(silent=True) or {}
    user = _user_for_email(body.get("email")) if isinstance(body, dict) else None
    options, challenge = passkeys.authentication_options(get_session(), context.settings(), user)
    _remember("login", challenge)
    return _options(options)


@bp.route("/login/verify", methods=["POST"])
def login_verify() -> ResponseReturnValue:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(passkeys.PasskeyError("invalid_response"))
    db = get_session()
    try:
        challenge = _take("login")
        result = passkeys.finish_authentication(
            db, context.settings(), body.get("credential") or {}, challenge, utcnow()
        )
    except passkeys.PasskeyError as exc:
        instruments.login(LoginMethod.PASSKEY, LoginOutcome.FAILURE)
        status = {"unknown_passkey": 401, "verification_failed": 401, "locked": 403}
        return _error(exc, status.get(exc.code, 400))
    instruments.login(LoginMethod.PASSKEY, LoginOutcome.SUCCESS)
    amr = result.amr
    pending = pending_second_factor()
    if pending is not None and pending.get("user") == result.user.id:
        amr = ["pwd", *result.amr, "mfa"]  # RFC 8176: password, then a passkey
    session.pop("second_factor", None)
    sso = sso_service.start_session(
        db,
        result.user,
        context.settings().session_lifetime,
        amr=amr,
        acr=result.acr,
        user_agent=request.user_agent.string,
        ip=request.remote_addr,
    )
    begin_browser_login(sso)
    commit()
    return jsonify({"redirect": after_login(body.get("interaction"), body.get("next"))})


@bp.route("/confirm/options", methods=["POST"])
@login_required
def confirm_options() -> ResponseReturnValue:
    """A passkey of the signed-in account, asked for again before a change that weakens
    how it signs in (:mod:`idp.account.freshness`)."""
    sso = signed_in()
    options, challenge = passkeys.authentication_options(
        get_session(), context.settings(), sso.user
    )
    _remember("confirm", challenge)
    return _options(options)


@bp.route("/confirm/verify", methods=["POST"])
@login_required
def confirm_verify() -> ResponseReturnValue:
    sso = signed_in()
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return _error(passkeys.PasskeyError("invalid_response"))
    try:
        challenge = _take("confirm")
        result = passkeys.finish_authentication(
            get_session(), context.settings(), body.get("credential") or {}, challenge, utcnow()
        )
    except passkeys.PasskeyError as exc:
        return _error(exc, 401 if exc.code in {"unknown_passkey", "verification_failed"} else 400)
    if result.user.id != sso.user_id:  # someone else's passkey proves nothing here
        return _error(passkeys.PasskeyError("verification_failed"), 401)
    freshness.mark(session, sso, utcnow())
    commit()
    target = body.get("next")
    if not isinstance(target, str) or not target.startswith("/account/") or "//" in target:
        target = url_for("account.security")
    return jsonify({"redirect": target})


@bp.route("/<path:passkey_id>/rename", methods=["POST"])
@login_required
def rename(passkey_id: str) -> ResponseReturnValue:
    sso = signed_in()
    try:
        passkeys.rename(get_session(), sso.user, passkey_id[:1400], request.form.get("name", ""))
    except passkeys.PasskeyError as exc:
        return redirect(url_for("account.security", passkey_error=exc.code))
    commit()
    return redirect(url_for("account.security", notice="passkey_renamed"))


@bp.route("/<path:passkey_id>/remove", methods=["POST"])
@login_required
def remove(passkey_id: str) -> ResponseReturnValue:
    sso = signed_in()
    try:
        passkeys.remove(get_session(), sso.user, passkey_id[:1400])
    except passkeys.PasskeyError as exc:
        return redirect(url_for("account.security", passkey_error=exc.code))
    commit()
    return redirect(url_for("account.security", notice="passkey_removed"))
