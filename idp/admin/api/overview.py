"""``GET /overview``: the console's Overview figures (:mod:`idp.admin.overview`)."""

from __future__ import annotations

from typing import Any

from idp.admin import overview
from idp.admin.api.framework import Call, operation
from idp.admin.api.schemas import COUNT, DATE_TIME, nullable, obj
from idp.admin.roles import Permission
from idp.db import aware
from idp.models import VerifyRun

VERIFIED = obj(
    {
        "at": DATE_TIME,
        "ok": {"type": "boolean"},
        "entries": COUNT,
        "first_bad": nullable({"type": "integer", "minimum": 1}),
        "problem": nullable({"type": "string"}),
        "by": {"type": "string"},
    },
)

RESPONSE = obj(
    {
        "customers": COUNT,
        "active_consents": {
            "type": "array",
            "description": "Consents in use per purpose and recipient.",
            "items": obj(
                {"purpose": {"type": "string"}, "recipient": {"type": "string"}, "count": COUNT}
            ),
        },
        "endings": {
            "type": "array",
            "description": "Withdrawals and objections in the last 7 and 30 days.",
            "items": obj(
                {
                    "type": {"type": "string", "enum": [t.value for t in overview.ENDINGS]},
                    "days": {"type": "integer", "enum": list(overview.WINDOWS)},
                    "count": COUNT,
                }
            ),
        },
        "logouts_waiting": COUNT,
        "logouts_failed": COUNT,
        "queued_events": COUNT,
        "open_complaints": COUNT,
        "ledger_checkpoint": nullable(obj({"size": COUNT, "at": DATE_TIME})),
        "ledger_verified": nullable(VERIFIED),
        "audit_log_verified": nullable(VERIFIED),
    }
)


@operation(
    "GET",
    "/overview",
    permission=Permission.OVERVIEW,
    summary="The Overview figures",
    description="Customers, active consents per purpose and recipient, withdrawals and "
    "objections in the last 7 and 30 days, undelivered back-channel logouts, the consent "
    "ledger's newest signed checkpoint, the last verification of the ledger and of the "
    "audit log: what the console's Overview shows.",
    response=RESPONSE,
    tag="overview",
    audited=True,
)
def get_overview(call: Call) -> dict[str, Any]:
    o = overview.build(call.db, call.now)
    call.record("viewed", "overview")
    return {
        "customers": o.customers,
        "active_consents": [
            {"purpose": purpose, "recipient": recipient, "count": n}
            for (purpose, recipient), n in o.active.items()
        ],
        "endings": [{"type": t, "days": d, "count": n} for (t, d), n in o.endings.items()],
        "logouts_waiting": o.logouts_waiting,
        "logouts_failed": o.logouts_failed,
        "queued_events": o.queued,
        "open_complaints": o.complaints_open,
        "ledger_checkpoint": (
            {"size": o.checkpoint_size, "at": aware(o.checkpoint_at).isoformat()}
            if o.checkpoint_size is not None and o.checkpoint_at is not None
            else None
        ),
        "ledger_verified": _verified(o.consent_verified),
        "audit_log_verified": _verified(o.audit_verified),
    }


def _verified(run: VerifyRun | None) -> dict[str, Any] | None:
    """The last full verification of a log (:mod:`idp.ledger.verify_runs`), if any."""
    if run is None:
        return None
    return {
        "at": aware(run.finished_at).isoformat(),
        "ok": run.ok,
        "entries": run.entries,
        "first_bad": run.first_bad,
        "problem": run.problem,
        "by": run.by,
    }
