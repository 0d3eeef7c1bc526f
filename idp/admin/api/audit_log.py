"""The audit log: its entries (filtered, paged newest first) and ``verify``
(:mod:`idp.admin.audit`)."""

from __future__ import annotations

from typing import Any

from flask import current_app

from idp.admin import audit
from idp.admin.api.framework import Call, Param, operation
from idp.admin.api.schemas import COUNT, DATE_TIME, SEQ_MAX, nullable, obj
from idp.admin.roles import Permission
from idp.db import aware

TEXT = {"type": "string"}
ENTRY = obj(
    {
        "seq": {"type": "integer", "minimum": 1},
        "at": DATE_TIME,
        "admin_id": nullable(TEXT),
        "admin_email": nullable(TEXT),
        "role": nullable(TEXT),
        "action": TEXT,
        "target": nullable(TEXT),
        "reason": nullable(TEXT),
        "api_client_id": nullable(TEXT),
        "leaf_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
    }
)
CHECKPOINT = obj({"size": COUNT, "root": TEXT, "note": TEXT, "at": DATE_TIME})


@operation(
    "GET",
    "/audit/entries",
    permission=Permission.AUDIT_VIEW,
    summary="Audit log entries, newest first",
    description="Filter by admin, by API client and by action; page with `before` (the "
    "`next_before` of the previous page). The newest signed checkpoint comes along, to check "
    "the entries' leaf hashes against (RFC 9162 Merkle tree, C2SP signed note).",
    parameters=(
        Param("admin", {"type": "string", "maxLength": 320}, "An admin's email address."),
        Param("api_client", {"type": "string", "maxLength": 64}, "An API client's client_id."),
        Param("action", {"type": "string", "maxLength": 64}, "e.g. viewed, admin_disabled."),
        Param(
            "before",
            {"type": "integer", "minimum": 1, "maximum": SEQ_MAX},
            "Only entries with a smaller sequence number.",
        ),
        Param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
            "Entries per page.",
        ),
    ),
    response=obj(
        {
            "entries": {"type": "array", "items": ENTRY},
            "next_before": nullable({"type": "integer", "minimum": 1}),
            "checkpoint": nullable(CHECKPOINT),
        }
    ),
    tag="audit",
    audited=True,
)
def list_audit_entries(call: Call) -> dict[str, Any]:
    p = call.params
    limit = p.get("limit", 50)
    found = audit.entries(
        call.db,
        p.get("admin") or None,
        p.get("action") or None,
        p.get("before"),
        limit,
        api_client_id=p.get("api_client") or None,
    )
    latest = audit.latest_checkpoint(call.db)
    call.record("viewed", "audit_log")
    return {
        "entries": [audit.as_json(e) for e in found],
        "next_before": found[-1].seq if len(found) == limit and found[-1].seq > 1 else None,
        "checkpoint": (
            {
                "size": latest.size,
                "root": latest.root,
                "note": latest.note,
                "at": aware(latest.created_at).isoformat(),
            }
            if latest
            else None
        ),
    }


@operation(
    "POST",
    "/audit/verify",
    permission=Permission.AUDIT_VIEW,
    summary="Verify the whole audit log now",
    description="Recompute every entry's leaf and the tree at every signed checkpoint, as "
    "`idp audit verify` does; `first_bad` names the first entry that no longer matches.",
    response=obj(
        {
            "ok": {"type": "boolean"},
            "entries": COUNT,
            "checkpoints": COUNT,
            "first_bad": nullable({"type": "integer"}),
            "problems": {
                "type": "array",
                "items": obj({"seq": {"type": "integer"}, "problem": TEXT}),
            },
        }
    ),
    tag="audit",
)
def verify_audit_log(call: Call) -> dict[str, Any]:
    report = audit.verify(call.db, current_app.extensions["avain.ledger_keys"])
    call.record("verified", "audit_log", "ok" if report.ok else "problems")
    return {
        "ok": report.ok,
        "entries": report.entries,
        "checkpoints": report.checkpoints,
        "first_bad": report.first_bad,
        "problems": [{"seq": seq, "problem": what} for seq, what in report.problems],
    }
