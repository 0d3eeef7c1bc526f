"""The console's pages under /admin: the Overview, the admins, the audit log. Thin views:
parse, call a service, render or redirect. The way in is :mod:`idp.admin.entry`."""

from __future__ import annotations

import json
from collections.abc import Iterator

from flask import Blueprint, Response, current_app, g, redirect, render_template, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _

from idp.admin import accounts, audit, overview, sessions
from idp.admin.accounts import AdminError
from idp.admin.guards import fresh_passkey_required, headers, load_session, requires
from idp.admin.messages import MESSAGES, ROLE_NAMES
from idp.admin.roles import Permission, allows
from idp.db import commit, get_session
from idp.errors import IdpError
from idp.ledger import verify_runs
from idp.models.admins import Admin, Role

bp = Blueprint("admin", __name__, url_prefix="/admin")
bp.before_request(load_session)
bp.after_app_request(headers)


@bp.app_template_global()
def admin_role_name(role: str) -> str:
    return str(ROLE_NAMES.get(role, role))


@bp.app_template_global()
def admin_may(permission: str) -> bool:
    """Whether the signed-in admin's role has ``permission`` (to show only usable links)."""
    admin = g.get("admin")
    return admin is not None and allows(admin.role, Permission(permission))


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
        "admin/admins.html",
        admins=found,
        roles=list(Role),
        error=MESSAGES.get(request.args.get("error", "")),
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


def _reason() -> str:
    return " ".join(request.form.get("reason", "").split())[:500]


def _role() -> Role | None:
    try:
        return Role(request.form.get("role", ""))
    except ValueError:
        return None


@bp.route("/admins/<admin_id>/role", methods=["POST"])
@requires(Permission.ADMINS_MANAGE)
@fresh_passkey_required
def change_role(admin_id: str) -> ResponseReturnValue:
    """Another role for an admin: their sessions end; an owner cannot change their own."""
    db = get_session()
    target = db.get(Admin, admin_id[:36])
    if target is None:
        raise IdpError(_("No such admin."), error="not_found", status_code=404)
    if target.id == g.admin.id:
        return redirect("/admin/admins?error=not_your_own_role")
    role, reason = _role(), _reason()
    if role is None:
        return redirect("/admin/admins?error=invalid_role")
    if not reason:
        return redirect("/admin/admins?error=reason_required")
    try:
        before = accounts.change_role(db, target, role, sessions.clock())
    except AdminError as exc:
        return redirect(f"/admin/admins?error={exc.code}")
    audit.record(
        db,
        g.admin,
        "admin_role_changed",
        f"admin:{target.email}",
        f"{before}->{role.value}: {reason}",
    )
    commit()
    return redirect("/admin/admins")


@bp.route("/admins/invite", methods=["POST"])
@requires(Permission.ADMINS_MANAGE)
@fresh_passkey_required
def invite() -> ResponseReturnValue:
    """A new admin: the one-time enrolment link is shown once, on this page, to be handed
    over by another channel; only its hash is kept."""
    db = get_session()
    role, reason = _role(), _reason()
    if role is None:
        return redirect("/admin/admins?error=invalid_role")
    if not reason:
        return redirect("/admin/admins?error=reason_required")
    email = request.form.get("email", "")[:400]
    name = request.form.get("name", "")[:200] or None
    try:
        made = accounts.create(db, email, role, name, sessions.clock())
    except AdminError as exc:
        return redirect(f"/admin/admins?error={exc.code}")
    audit.record(
        db, g.admin, "admin_invited", f"admin:{made.admin.email}", f"{role.value}: {reason}"
    )
    commit()
    issuer = current_app.config["AVAIN"].issuer.rstrip("/")
    return render_template(
        "admin/admin_invited.html",
        invited=made.admin,
        link=f"{issuer}/admin/enrol/{made.token}",
        expires_at=made.expires_at,
    )


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
    report = verify_runs.run(
        db,
        verify_runs.AUDIT,
        f"admin:{g.admin.email}",
        lambda: audit.verify(db, current_app.extensions["avain.ledger_keys"]),
        lambda r: (r.entries, r.problems),
        sessions.clock,
    )
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
