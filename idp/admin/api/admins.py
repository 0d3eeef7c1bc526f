"""The admins: list them, disable one (:mod:`idp.admin.accounts`)."""

from __future__ import annotations

from typing import Any

from idp.admin import accounts
from idp.admin.api.framework import Call, Param, operation
from idp.admin.api.problems import Problem
from idp.admin.api.schemas import DATE_TIME, nullable, obj, reason
from idp.admin.roles import Permission
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
    except accounts.AdminError:
        raise Problem(409, "This admin is disabled already.", "already_disabled") from None
    call.record("admin_disabled", f"admin:{target.email}", " ".join(call.body["reason"].split()))
    return accounts.describe(target)
