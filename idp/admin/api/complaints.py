"""Complaints: list, open, show and close them (:mod:`idp.admin.complaints`).

Opening one pauses the customer's marketing purposes until it is closed, exactly as in the
console: the same service, the ledger events carry the API client instead of an admin.
"""

from __future__ import annotations

from typing import Any

from consent.model import Channel
from idp.admin import complaints
from idp.admin.api.framework import Call, Param, operation
from idp.admin.api.problems import Problem
from idp.admin.api.schemas import COUNT, DATE_TIME, nullable, obj
from idp.admin.complaints import ComplaintError
from idp.admin.roles import Permission
from idp.db import aware
from idp.ledger.context import consent_context

REASON: dict[str, Any] = {
    "type": "string",
    "minLength": 1,
    "maxLength": complaints.MAX_REASON,
    "pattern": r"\S",
}
ID = {"type": "string", "maxLength": 36}
COMPLAINT = obj(
    {
        "id": {"type": "string"},
        "customer_id": {"type": "string"},
        "customer_email": {"type": "string"},
        "state": {"type": "string", "enum": ["open", "closed"]},
        "opened_at": DATE_TIME,
        "opened_by_admin": nullable({"type": "string", "description": "The admin's email."}),
        "opened_by_api_client": nullable({"type": "string"}),
        "reason": {"type": "string"},
        "purposes": {
            "type": "array",
            "items": {"type": "string"},
            "description": "The marketing purposes paused while it is open.",
        },
        "closed_at": nullable(DATE_TIME),
        "closed_by_admin": nullable({"type": "string"}),
        "closed_by_api_client": nullable({"type": "string"}),
        "closing_reason": nullable({"type": "string"}),
    }
)
PROBLEMS = {
    "no_such_customer": (404, "No customer has that id or email address."),
    "customer_required": (404, "No customer has that id or email address."),
    "no_such_complaint": (404, "No complaint has this id."),
    "already_open": (409, "This customer already has an open complaint."),
    "already_closed": (409, "This complaint is already closed."),
    "reason_required": (422, "Give a reason."),
    "reason_too_long": (422, "The reason is too long."),
}


def _problem(exc: ComplaintError) -> Problem:
    status, detail = PROBLEMS.get(exc.code, (409, exc.code))
    return Problem(status, detail, "not_found" if status == 404 else exc.code)


def _when(value: Any) -> str | None:
    return aware(value).isoformat() if value is not None else None


def describe(row: complaints.Row) -> dict[str, Any]:
    c = row.complaint
    return {
        "id": c.id,
        "customer_id": c.customer_id,
        "customer_email": row.customer_email,
        "state": "closed" if c.closed_at else "open",
        "opened_at": _when(c.opened_at),
        "opened_by_admin": row.opened_by,
        "opened_by_api_client": c.opened_by_client,
        "reason": c.reason,
        "purposes": list(c.purposes),
        "closed_at": _when(c.closed_at),
        "closed_by_admin": row.closed_by,
        "closed_by_api_client": c.closed_by_client,
        "closing_reason": c.closing_reason,
    }


@operation(
    "GET",
    "/complaints",
    permission=Permission.COMPLAINTS_VIEW,
    summary="List complaints",
    description="Newest first, a page at a time.",
    parameters=(
        Param(
            "state",
            {"type": "string", "enum": list(complaints.STATES)},
            "open (the default), closed or all.",
        ),
        Param("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000}, "From 1."),
    ),
    response=obj(
        {
            "complaints": {"type": "array", "items": COMPLAINT},
            "page": COUNT,
            "pages": COUNT,
            "total": COUNT,
        }
    ),
    tag="complaints",
    audited=True,
)
def list_complaints(call: Call) -> dict[str, Any]:
    state = call.params.get("state", "open")
    found = complaints.page_of(call.db, state, call.params.get("page", 1))
    call.record("viewed", "complaints", f"state={state} page={found.page}")
    return {
        "complaints": [describe(r) for r in found.rows],
        "page": found.page,
        "pages": found.pages,
        "total": found.total,
    }


@operation(
    "POST",
    "/complaints",
    permission=Permission.COMPLAINTS_MANAGE,
    summary="Open a complaint for a customer",
    description="Pauses every purpose the catalogue marks as marketing for the customer until "
    "the complaint is closed: nothing is released under them, and partners that received "
    "something under them lose their tokens for the customer, as on a withdrawal. A "
    "customer has at most one open complaint (409 already_open).",
    body=obj(
        {
            "customer": {
                "type": "string",
                "minLength": 1,
                "maxLength": 320,
                "description": "The customer's id or email address.",
            },
            "reason": REASON | {"description": "What the customer complains about."},
        }
    ),
    response=COMPLAINT,
    status=201,
    tag="complaints",
    errors=(404, 409),
)
def open_complaint(call: Call) -> dict[str, Any]:
    try:
        customer = complaints.find_customer(call.db, call.body["customer"])
        opened = complaints.open_complaint(
            call.db,
            consent_context(),
            call.caller.client,
            customer,
            call.body["reason"],
            call.now,
            channel=Channel.API,
        )
    except ComplaintError as exc:
        raise _problem(exc) from None
    complaint = opened.complaint
    call.record(
        "complaint_opened",
        f"customer:{customer.id}",
        f"complaint {complaint.id}: {complaint.reason}",
    )
    return describe(complaints.get(call.db, complaint.id))


@operation(
    "GET",
    "/complaints/{complaint_id}",
    permission=Permission.COMPLAINTS_VIEW,
    summary="A complaint",
    parameters=(Param("complaint_id", ID, "The complaint's id.", where="path"),),
    response=COMPLAINT,
    tag="complaints",
    audited=True,
)
def get_complaint(call: Call) -> dict[str, Any]:
    try:
        row = complaints.get(call.db, call.params["complaint_id"])
    except ComplaintError as exc:
        raise _problem(exc) from None
    call.record("viewed", f"complaint:{row.complaint.id}")
    return describe(row)


@operation(
    "POST",
    "/complaints/{complaint_id}/close",
    permission=Permission.COMPLAINTS_MANAGE,
    summary="Close a complaint",
    description="The customer's own choices apply again: new tokens release the paused "
    "purposes again; tokens revoked when it was opened stay revoked.",
    parameters=(Param("complaint_id", ID, "The complaint's id.", where="path"),),
    body=obj({"reason": REASON | {"description": "How the complaint was resolved."}}),
    response=COMPLAINT,
    tag="complaints",
    errors=(409,),
)
def close_complaint(call: Call) -> dict[str, Any]:
    try:
        row = complaints.get(call.db, call.params["complaint_id"])
        complaints.close_complaint(
            call.db,
            consent_context(),
            call.caller.client,
            row.complaint,
            call.body["reason"],
            call.now,
            channel=Channel.API,
        )
    except ComplaintError as exc:
        raise _problem(exc) from None
    c = row.complaint
    call.record(
        "complaint_closed", f"customer:{c.customer_id}", f"complaint {c.id}: {c.closing_reason}"
    )
    return describe(complaints.get(call.db, c.id))
