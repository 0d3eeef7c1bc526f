"""The admin API's own clients: list them, disable one (:mod:`idp.admin.api_clients`).

Making one stays at the command line (``idp admins api-client create``): a credential that
can act as an admin is created by the operator, as the first owner is, never by a program
holding another such credential.
"""

from __future__ import annotations

from typing import Any

from idp.admin import api_clients
from idp.admin.api.framework import Call, Param, operation
from idp.admin.api.problems import Problem
from idp.admin.api.schemas import DATE_TIME, nullable, obj, reason
from idp.admin.roles import Permission
from idp.models import AdminStatus, Role

API_CLIENT = obj(
    {
        "client_id": {"type": "string"},
        "name": {"type": "string"},
        "role": {"type": "string", "enum": [r.value for r in Role]},
        "dangerous": {"type": "boolean"},
        "status": {"type": "string", "enum": [s.value for s in AdminStatus]},
        "created_at": DATE_TIME,
        "disabled_at": nullable(DATE_TIME),
    }
)


@operation(
    "GET",
    "/api-clients",
    permission=Permission.ADMINS_VIEW,
    summary="List the admin API's clients",
    description="Their role, whether they may ask for admin:dangerous, and their status; "
    "never a secret.",
    response=obj({"api_clients": {"type": "array", "items": API_CLIENT}}),
    tag="admins",
    audited=True,
)
def list_api_clients(call: Call) -> dict[str, Any]:
    found = api_clients.all_api_clients(call.db)
    call.record("viewed", "api_clients")
    return {"api_clients": [api_clients.describe(r) for r in found]}


@operation(
    "POST",
    "/api-clients/{client_id}/disable",
    permission=Permission.ADMINS_MANAGE,
    summary="Disable an admin API client",
    description="It gets no new token, and every token it holds is revoked at once (a leaked "
    "secret). A client may disable itself.",
    parameters=(
        Param("client_id", {"type": "string", "maxLength": 64}, "Its client_id.", where="path"),
    ),
    body=obj({"reason": reason("Why, for the audit log.")}),
    response=API_CLIENT,
    tag="admins",
    dangerous=True,
    errors=(409,),
)
def disable_api_client(call: Call) -> dict[str, Any]:
    row = api_clients.find(call.db, call.params["client_id"])
    if row is None:
        raise Problem(404, "No admin API client has this client_id.")
    try:
        api_clients.disable(call.db, row, call.now)
    except api_clients.ApiClientError:
        raise Problem(409, "This API client is disabled already.", "already_disabled") from None
    call.record(
        "api_client_disabled", f"api_client:{row.client_id}", " ".join(call.body["reason"].split())
    )
    return api_clients.describe(row)
