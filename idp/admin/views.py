"""The console's pages under /admin: enrolment, passkey sign-in, sign-out, re-verification,
the Overview and the admins list. Thin views: parse, call a service, render or redirect.

There is no password form anywhere in the console: a passkey is the only way in.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterator
from typing import Any

from flask import Blueprint, Response, current_app, g, jsonify, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _, lazy_gettext

from idp import context
from idp.admin import accounts, audit, ceremony, overview, passkeys, sessions
from idp.admin.accounts import AdminError
from idp.admin.guards import (
    fresh_passkey_required,
    headers,
    load_session,
    public,
    requires,
    safe_next,
)
from idp.admin.roles import Permission, allows
from idp.auth.throttle import Counter, DbCounter, RedisCounter
from idp.db import commit, get_session
from idp.errors import IdpError
from idp.models.admins import Admin

log = logging.getLogger(__name__)
bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(load_session)
bp.after_app_request(headers)

MESSAGES = {
    "invalid_response": lazy_gettext("The passkey's answer could not be read. Please try again."),
    "verification_failed": lazy_gettext("The passkey could not be verified."),
    "unknown_passkey": lazy_gettext("This passkey is not registered for the console."),
    "cloned": lazy_gettext(
        "This passkey's counter went backwards; it may have been copied. Ask an owner."
    ),
    "disabled": lazy_gettext("This admin account is disabled."),
    "no_challenge": lazy_gettext(
        "The sign-in took too long or was already used. Please try again."
    ),
    "already_registered": lazy_gettext("This passkey is already registered."),
    "link_invalid": lazy_gettext("This enrolment link is not valid. Ask an owner for a new one."),
    "link_expired": lazy_gettext("This enrolment link has expired. Ask an owner for a new one."),
    "already_disabled": lazy_gettext("This admin account is already disabled."),
    "reason_required": lazy_gettext("Give a reason; it goes into the audit log."),
    "too_many_attempts": lazy_gettext("Too many failed sign-ins. Please wait a while."),
    "not_yourself": lazy_gettext("You cannot disable your own account here."),
}


ROLE_NAMES = {
    "support": lazy_gettext("Customer support"),
    "privacy": lazy_gettext("Privacy officer"),
    "partners": lazy_gettext("Partner manager"),
    "auditor": lazy_gettext("Auditor"),
    "owner": lazy_gettext("Owner"),
}


@bp.app_template_global()
def admin_role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))


@bp.app_template_global()
def admin_may(permission: str) -> bool:
    """Whether the signed-in admin's role has ``permission`` (to show only usable links)."""
    admin = g.get("admin")
    return admin is not None and allows(admin.role, Permission(permission))


def _json_error(exc: AdminError, status: int = 400) -> Response:
    resp = jsonify({"error": exc.code, "message": str(MESSAGES.get(exc.code, exc.code))})
    resp.status_code = status
    return resp


def _options(json_text: str, purpose: str, challenge: bytes) -> Response:
    return ceremony.remember(Response(json_text, mimetype="application/json"), purpose, challenge)


def _signed_in(admin: Admin, target: str) -> Response:
    """Start a console session for ``admin`` and send the browser on to ``target``."""
    token = sessions.start(get_session(), admin, sessions.clock())
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
    except AdminError as exc:
        commit()  # the challenge stays used
        return _json_error(exc)
    row.used_at = now
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
    if not counter.take(key, ATTEMPTS_PER_IP):
        commit()
        log.warning("console sign-in attempts refused for an IP past its limit")
        return _json_error(AdminError("too_many_attempts"), 429)
    try:
        challenge = ceremony.take("sign-in")
        admin, _ = passkeys.finish_authentication(
            db, context.settings(), credential, challenge, sessions.clock()
        )
    except AdminError as exc:
        audit.record(db, passkeys.claimed_admin(db, credential), "sign_in_failed", exc.code)
        commit()
        return _json_error(exc, 401)
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
        return _json_error(exc)  # 400: the session stands, this proof failed
    sessions.reverified(g.admin_session, now)
    audit.record(db, admin, "reverified", None)
    commit()
    return ceremony.forget(jsonify({"redirect": safe_next(str(body.get("next") or ""))}))


# -- pages ----------------------------------------------------------------------------


@bp.route("/", methods=["GET"])
@requires(Permission.OVERVIEW)
def home() -> ResponseReturnValue:
    db = get_session()
    figures = overview.build(db, sessions.clock())
    audit.record(db, g.admin, "viewed", "overview")
    commit()
    return render_template("admin/overview.html", o=figures, windows=overview.WINDOWS)


@bp.route("/admins", methods=["GET"])
@requires(Permission.ADMINS_VIEW)
def admins() -> ResponseReturnValue:
    db = get_session()
    found = accounts.all_admins(db)
    audit.record(db, g.admin, "viewed", "admins")
    commit()
    return render_template(
        "admin/admins.html", admins=found, error=MESSAGES.get(request.args.get("error", ""))
    )


@bp.route("/admins/<admin_id>/disable", methods=["POST"])
@requires(Permission.ADMINS_MANAGE)
@fresh_passkey_required
def disable(admin_id: str) -> ResponseReturnValue:
    db = get_session()
    target = db.get(Admin, admin_id[:36])
    if target is None:
        raise IdpError(_("No such admin."), error="not_found", status_code=404)
    if target.id == g.admin.id:  # the console never locks out the one using it
        return redirect("/admin/admins?error=not_yourself")
    reason = " ".join(request.form.get("reason", "").split())[:500]
    if not reason:
        return redirect("/admin/admins?error=reason_required")
    try:
        accounts.disable(db, target, sessions.clock())
    except AdminError as exc:
        return redirect(f"/admin/admins?error={exc.code}")
    audit.record(db, g.admin, "admin_disabled", f"admin:{target.email}", reason)
    commit()
    return redirect("/admin/admins")


# -- the audit log --------------------------------------------------------------------


def _filters() -> tuple[str | None, str | None]:
    admin_email = request.args.get("admin", "").strip()[:320] or None
    action = request.args.get("action", "").strip()[:64] or None
    return admin_email, action


@bp.route("/audit", methods=["GET"])
@requires(Permission.AUDIT_VIEW)
def audit_log() -> ResponseReturnValue:
    db = get_session()
    admin_email, action = _filters()
    before = request.args.get("before", "")
    page = audit.entries(
        db, admin_email, action, int(before) if before.isdigit() and len(before) < 12 else None
    )
    latest = audit.latest_checkpoint(db)
    audit.record(db, g.admin, "viewed", "audit_log")
    commit()
    return render_template(
        "admin/audit.html",
        entries=page,
        latest=latest,
        admin_email=admin_email or "",
        action=action or "",
        report=None,
    )


@bp.route("/audit/export", methods=["GET"])
@requires(Permission.AUDIT_VIEW)
def audit_export() -> ResponseReturnValue:
    """JSON lines, oldest first: the entries, then the newest signed checkpoint."""
    db = get_session()
    admin_email, action = _filters()
    found = audit.entries(db, admin_email, action, limit=None)
    latest = audit.latest_checkpoint(db)
    audit.record(db, g.admin, "exported", "audit_log", f"admin={admin_email} action={action}")
    commit()

    def lines() -> Iterator[str]:
        for entry in reversed(found):
            yield json.dumps(audit.as_json(entry), ensure_ascii=False) + "\n"
        if latest is not None:
            yield json.dumps({"checkpoint": latest.note}, ensure_ascii=False) + "\n"

    resp = Response("".join(lines()), mimetype="application/x-ndjson")
    resp.headers["Content-Disposition"] = 'attachment; filename="avain-admin-audit.jsonl"'
    return resp


@bp.route("/audit/verify", methods=["POST"])
@requires(Permission.AUDIT_VIEW)
def audit_verify() -> ResponseReturnValue:
    """Recompute the whole log now, as ``idp audit verify`` does."""
    db = get_session()
    report = audit.verify(db, current_app.extensions["avain.ledger_keys"])
    audit.record(db, g.admin, "verified", "audit_log", "ok" if report.ok else "problems")
    commit()
    return render_template(
        "admin/audit.html",
        entries=audit.entries(db),
        latest=audit.latest_checkpoint(db),
        admin_email="",
        action="",
        report=report,
    )
