"""The admins: list them, invite one, change a role, disable one (:mod:`idp.admin.accounts`)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from idp.admin import accounts
from idp.admin.api.framework import Call, Param, operation
from idp.admin.api.problems import Problem
from idp.admin.api.schemas import DATE_TIME, nullable, obj, reason
from idp.admin.roles import Permission
from idp.db import aware
from idp.models import Admin, AdminStatus, Role

ADMIN = obj(
    {
        "id": {"type": "string"},
        "email": {"type": "string"},
        "name": {"type": "string"},
        "role": {"type": "string", "enum": [r.value for r in Role]},
        "status": {"type": "string", "enum": [s.value for s in AdminStatus]},
        "created_at": DATE_TIME,
        "last_sign_in_at": nullable(DATE_TIME),
    }
)


@operation(
    "GET",
    "/admins",
    permission=Permission.ADMINS_VIEW,
    summary="List the admins",
    response=obj({"admins": {"type": "array", "items": ADMIN}}),
    tag="admins",
    audited=True,
)
def list_admins(call: Call) -> dict[str, Any]:
    found = accounts.all_admins(call.db)
    call.record("viewed", "admins")
    return {"admins": [accounts.describe(a) for a in found]}


@operation(
    "POST",
    "/admins/{admin_id}/disable",
    permission=Permission.ADMINS_MANAGE,
    summary="Disable an admin",
    description="Their console sessions end and their enrolment links stop working at once.",
    parameters=(
        Param("admin_id", {"type": "string", "maxLength": 36}, "The admin's id.", where="path"),
    ),
    body=obj({"reason": reason("Why, for the audit log.")}),
    response=ADMIN,
    tag="admins",
    dangerous=True,
    errors=(409,),
)
def disable_admin(call: Call) -> dict[str, Any]:
    target = call.db.get(Admin, call.params["admin_id"])
    if target is None:
        raise Problem(404, "No admin has this id.")
    try:
        accounts.disable(call.db, target, call.now)
    except accounts.AdminError as exc:
        if exc.code == "last_owner":
            raise _account_problem(exc) from None
        raise Problem(409, "This admin is disabled already.", "already_disabled") from None
    call.record("admin_disabled", f"admin:{target.email}", " ".join(call.body["reason"].split()))
    return accounts.describe(target)


ROLE = {"type": "string", "enum": [r.value for r in Role]}
_ACCOUNT_PROBLEMS = {
    "invalid_email": (422, "The email address is not valid."),
    "exists": (409, "An admin with this email address exists already."),
    "not_active": (409, "This admin is disabled."),
    "same_role": (409, "The admin has this role already."),
    "last_owner": (409, "This is the last active owner; make another admin an owner first."),
}


def _account_problem(exc: accounts.AdminError) -> Problem:
    status, detail = _ACCOUNT_PROBLEMS.get(exc.code, (409, exc.code))
    return Problem(status, detail, exc.code)


@operation(
    "POST",
    "/admins",
    permission=Permission.ADMINS_MANAGE,
    summary="Invite an admin",
    description="Makes the admin and returns their one-time enrolment link, once: hand it "
    "over by another channel. Only its hash is kept; it works for 24 hours.",
    body=obj(
        {
            "email": {"type": "string", "minLength": 3, "maxLength": 320},
            "name": {"type": "string", "maxLength": 200},
            "role": ROLE,
            "reason": reason("Why, for the audit log."),
        },
        required=["email", "role", "reason"],
    ),
    response=obj({"admin": ADMIN, "enrolment_link": {"type": "string"}, "expires_at": DATE_TIME}),
    status=201,
    tag="admins",
    dangerous=True,
    errors=(409, 422),
)
def invite_admin(call: Call) -> dict[str, Any]:
    role = Role(call.body["role"])
    try:
        made = accounts.create(
            call.db, call.body["email"], role, call.body.get("name") or None, call.now
        )
    except accounts.AdminError as exc:
        raise _account_problem(exc) from None
    why = f"{role.value}: {' '.join(call.body['reason'].split())}"
    call.record("admin_invited", f"admin:{made.admin.email}", why)
    issuer = current_app.config["AVAIN"].issuer.rstrip("/")
    return {
        "admin": accounts.describe(made.admin),
        "enrolment_link": f"{issuer}/admin/enrol/{made.token}",
        "expires_at": aware(made.expires_at).isoformat(),
    }


@operation(
    "POST",
    "/admins/{admin_id}/role",
    permission=Permission.ADMINS_MANAGE,
    summary="Change an admin's role",
    description="Their console sessions end, so the new role holds from their next sign-in. "
    "The last active owner keeps the role.",
    parameters=(
        Param("admin_id", {"type": "string", "maxLength": 36}, "The admin's id.", where="path"),
    ),
    body=obj({"role": ROLE, "reason": reason("Why, for the audit log.")}),
    response=ADMIN,
    tag="admins",
    dangerous=True,
    errors=(409,),
)
def change_admin_role(call: Call) -> dict[str, Any]:
    target = call.db.get(Admin, call.params["admin_id"])
    if target is None:
        raise Problem(404, "No admin has this id.")
    role = Role(call.body["role"])
    try:
        before = accounts.change_role(call.db, target, role, call.now)
    except accounts.AdminError as exc:
        raise _account_problem(exc) from None
    change = f"{before}->{role.value}: {' '.join(call.body['reason'].split())}"
    call.record("admin_role_changed", f"admin:{target.email}", change)
    return accounts.describe(target)
