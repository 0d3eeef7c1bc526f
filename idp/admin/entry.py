"""The way into the console under /admin: enrolment from a one-time link, passkey sign-in,
sign-out and re-verification. Thin views: parse, call a service, answer.

There is no password form anywhere in the console: a passkey is the only way in.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from flask import Blueprint, Response, g, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue

from idp import context, instruments
from idp.admin import accounts, audit, ceremony, passkeys, sessions
from idp.admin.accounts import AdminError
from idp.admin.guards import load_session, public, requires, safe_next
from idp.admin.messages import MESSAGES, json_error
from idp.admin.roles import Permission
from idp.auth.throttle import Counter, DbCounter, RedisCounter
from idp.db import commit, get_session
from idp.errors import IdpError
from idp.instruments import LoginMethod, LoginOutcome
from idp.models.admins import Admin

log = logging.getLogger(__name__)
bp = Blueprint("admin_entry", __name__, url_prefix="/admin")
bp.before_request(load_session)


def _options(json_text: str, purpose: str, challenge: bytes) -> Response:
    return ceremony.remember(Response(json_text, mimetype="application/json"), purpose, challenge)


def _signed_in(admin: Admin, target: str) -> Response:
    """Start a console session for ``admin`` and send the browser on to ``target``.

    The session the browser brought ends first: its cookie is replaced, and a copy of it
    (another admin's on a shared machine, one taken earlier) must not stay live on the
    server until its idle limit."""
    now = sessions.clock()
    sessions.end(get_session(), request.cookies.get(sessions.COOKIE), now)
    token = sessions.start(get_session(), admin, now)
    resp = ceremony.forget(jsonify({"redirect": safe_next(target)}))
    resp.set_cookie(
        sessions.COOKIE,
        token,
        path=sessions.PATH,
        httponly=True,
        samesite="Strict",
        secure=context.settings().issuer_is_https,
    )
    return resp


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    return body if isinstance(body, dict) else {}


# -- enrolment ------------------------------------------------------------------------


def _enrolment(token: str) -> Admin:
    try:
        _, admin = accounts.enrolment(get_session(), token, sessions.clock())
    except AdminError as exc:
        raise IdpError(str(MESSAGES[exc.code]), error=exc.code, status_code=410) from None
    return admin


@bp.route("/enrol/<token>", methods=["GET"])
@public
def enrol(token: str) -> ResponseReturnValue:
    admin = _enrolment(token)
    return render_template("admin/enrol.html", admin=admin, token=token)


@bp.route("/enrol/<token>/options", methods=["POST"])
@public
def enrol_options(token: str) -> ResponseReturnValue:
    admin = _enrolment(token)
    options, challenge = passkeys.registration_options(get_session(), context.settings(), admin)
    return _options(options, f"enrol:{accounts.digest(token)}", challenge)


@bp.route("/enrol/<token>/verify", methods=["POST"])
@public
def enrol_verify(token: str) -> ResponseReturnValue:
    db = get_session()
    now = sessions.clock()
    try:
        row, admin = accounts.enrolment(db, token, now)
        challenge = ceremony.take(f"enrol:{accounts.digest(token)}")
        passkey = passkeys.finish_registration(
            db, context.settings(), admin, _body().get("credential"), challenge, now
        )
        accounts.use_enrolment(db, row, now)
    except AdminError as exc:
        if exc.code == "link_invalid":
            db.rollback()  # another enrolment spent the link first: keep no passkey of this one
        commit()  # the challenge stays used
        return json_error(exc)
    audit.record(db, admin, "enrolled", f"passkey:{passkey.id[:16]}")
    resp = _signed_in(admin, "/admin/")
    audit.record(db, admin, "signed_in", None)
    commit()
    return resp


# -- sign-in and out ------------------------------------------------------------------


@bp.route("/sign-in", methods=["GET"])
@public
def sign_in() -> ResponseReturnValue:
    if g.admin is not None:
        return redirect(safe_next(request.args.get("next")))
    return render_template("admin/sign_in.html", next=safe_next(request.args.get("next")))


@bp.route("/sign-in/options", methods=["POST"])
@public
def sign_in_options() -> ResponseReturnValue:
    options, challenge = passkeys.authentication_options(get_session(), context.settings())
    return _options(options, "sign-in", challenge)


# Failed console sign-ins one client IP may make per login_throttle_window; past it the
# attempt is refused before any check and without an audit entry of its own, so that a
# flood can neither try passkeys nor fill the audit log.
ATTEMPTS_PER_IP = 20


def _attempts() -> tuple[Counter, str]:
    s = context.settings()
    client = context.redis_client()
    counter: Counter = (
        RedisCounter(client, s.login_throttle_window)
        if client is not None
        else DbCounter(get_session(), s.login_throttle_window)
    )
    ip = hashlib.sha256((request.remote_addr or "-").encode()).hexdigest()[:32]
    return counter, f"admin-sign-in:{ip}"


@bp.route("/sign-in/verify", methods=["POST"])
@public
def sign_in_verify() -> ResponseReturnValue:
    db = get_session()
    body = _body()
    credential = body.get("credential")
    counter, key = _attempts()
    if not counter.take({key: ATTEMPTS_PER_IP}):
        instruments.login(LoginMethod.ADMIN_PASSKEY, LoginOutcome.THROTTLED)
        commit()
        log.warning("console sign-in attempts refused for an IP past its limit")
        return json_error(AdminError("too_many_attempts"), 429)
    try:
        challenge = ceremony.take("sign-in")
        admin, _ = passkeys.finish_authentication(
            db, context.settings(), credential, challenge, sessions.clock()
        )
    except AdminError as exc:
        instruments.login(LoginMethod.ADMIN_PASSKEY, LoginOutcome.FAILURE)
        audit.record(db, passkeys.claimed_admin(db, credential), "sign_in_failed", exc.code)
        commit()
        return json_error(exc, 401)
    instruments.login(LoginMethod.ADMIN_PASSKEY, LoginOutcome.SUCCESS)
    counter.give_back(key)  # only failures count
    resp = _signed_in(admin, str(body.get("next") or "/admin/"))
    audit.record(db, admin, "signed_in", None)
    commit()
    return resp


@bp.route("/sign-out", methods=["POST"])
@requires(Permission.SESSION)
def sign_out() -> ResponseReturnValue:
    db = get_session()
    audit.record(db, g.admin, "signed_out", None)
    sessions.end(db, request.cookies.get(sessions.COOKIE), sessions.clock())
    commit()
    resp = redirect("/admin/sign-in")
    resp.delete_cookie(sessions.COOKIE, path=sessions.PATH)
    return resp


@bp.route("/reverify", methods=["GET"])
@requires(Permission.SESSION)
def reverify() -> ResponseReturnValue:
    return render_template("admin/reverify.html", next=safe_next(request.args.get("next")))


@bp.route("/reverify/options", methods=["POST"])
@requires(Permission.SESSION)
def reverify_options() -> ResponseReturnValue:
    options, challenge = passkeys.authentication_options(get_session(), context.settings(), g.admin)
    return _options(options, f"reverify:{g.admin_session.row.token_hash}", challenge)


@bp.route("/reverify/verify", methods=["POST"])
@requires(Permission.SESSION)
def reverify_verify() -> ResponseReturnValue:
    db = get_session()
    body = _body()
    now = sessions.clock()
    try:
        challenge = ceremony.take(f"reverify:{g.admin_session.row.token_hash}")
        admin, _ = passkeys.finish_authentication(
            db, context.settings(), body.get("credential"), challenge, now
        )
        if admin.id != g.admin.id:
            raise AdminError("verification_failed")
    except AdminError as exc:
        audit.record(db, g.admin, "reverify_failed", exc.code)
        commit()
        return json_error(exc)  # 400: the session stands, this proof failed
    sessions.reverified(g.admin_session, now)
    audit.record(db, admin, "reverified", None)
    commit()
    return ceremony.forget(jsonify({"redirect": safe_next(str(body.get("next") or ""))}))
