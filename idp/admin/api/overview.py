"""``GET /overview``: the console's Overview figures (:mod:`idp.admin.overview`)."""

from __future__ import annotations

from typing import Any

from idp.admin import overview
from idp.admin.api.framework import Call, operation
from idp.admin.api.schemas import COUNT, DATE_TIME, nullable, obj
from idp.admin.roles import Permission
from idp.db import aware

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
        "ledger_checkpoint": nullable(obj({"size": COUNT, "at": DATE_TIME})),
    }
)


@operation(
    "GET",
    "/overview",
    permission=Permission.OVERVIEW,
    summary="The Overview figures",
    description="Customers, active consents per purpose and recipient, withdrawals and "
    "objections in the last 7 and 30 days, undelivered back-channel logouts, the consent "
    "ledger's newest signed checkpoint: what the console's Overview shows.",
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
        "ledger_checkpoint": (
            {"size": o.checkpoint_size, "at": aware(o.checkpoint_at).isoformat()}
            if o.checkpoint_size is not None and o.checkpoint_at is not None
            else None
        ),
    }
