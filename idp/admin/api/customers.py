"""Customers: search, a customer with their consent timeline and its proofs, and what an
admin does for them (:mod:`idp.admin.customer_search`, :mod:`idp.admin.customers`,
:mod:`idp.admin.timeline`), the same functions the console's pages call.

The API client stands where the console has the admin: as the actor of the audit entries,
and in a rights request's ledger event as ``api-client:<client_id>``.
"""

from __future__ import annotations

from typing import Any

from flask import current_app
from sqlalchemy import event

from idp import context
from idp.admin import customer_json, customer_search, customers, timeline
from idp.admin.api.framework import Call, Param, operation
from idp.admin.api.problems import Problem
from idp.admin.api.schemas import DATE_TIME, nullable, obj, reason
from idp.admin.customers import CustomerError
from idp.admin.roles import Permission
from idp.events import outbox
from idp.ledger.context import consent_context
from idp.models import User

TEXT = {"type": "string", "maxLength": 500}
STRINGS = {"type": "array", "items": {"type": "string"}}
SUMMARY = obj(
    {
        "id": {"type": "string"},
        "email": {"type": "string"},
        "email_verified": {"type": "boolean"},
        "name": {"type": "string"},
        "phone_number": nullable({"type": "string"}),
        "sign_in_locked": {"type": "boolean"},
    }
)
EVENT = obj(
    {
        "seq": nullable({"type": "integer"}),
        "at": DATE_TIME,
        "type": {"type": "string"},
        "actor": {"type": "string"},
        "admin": nullable({"type": "string"}),
        "channel": {"type": "string"},
        "claims": STRINGS,
        "notice_version": nullable({"type": "string"}),
        "notice_hash": nullable({"type": "string"}),
        "language": nullable({"type": "string"}),
        "offered": {
            "type": "array",
            "items": obj({"claim": {"type": "string"}, "default": {"type": "boolean"}}),
        },
        "reason": nullable({"type": "string"}),
        "proven": {"type": "boolean"},
        "problem": nullable({"type": "string"}),
    }
)
DETAIL = obj(
    {
        **SUMMARY["properties"],
        "given_name": nullable({"type": "string"}),
        "family_name": nullable({"type": "string"}),
        "phone_number_verified": {"type": "boolean"},
        "locale": nullable({"type": "string"}),
        "created_at": DATE_TIME,
        "sign_in_locked_at": nullable(DATE_TIME),
        "has_password": {"type": "boolean"},
        "sessions": {
            "type": "array",
            "items": obj(
                {
                    "handle": {"type": "string"},
                    "started": DATE_TIME,
                    "last_seen": DATE_TIME,
                    "amr": STRINGS,
                    "user_agent": nullable({"type": "string"}),
                }
            ),
        },
        "passkeys": {
            "type": "array",
            "items": obj(
                {
                    "id": {"type": "string"},
                    "name": {"type": "string"},
                    "created": DATE_TIME,
                    "blocked": {"type": "boolean"},
                }
            ),
        },
        "checkpoint": nullable(obj({"size": {"type": "integer"}, "root": {"type": "string"}})),
        "consents": {
            "type": "array",
            "items": obj(
                {
                    "recipient": {"type": "string"},
                    "recipient_name": {"type": "string"},
                    "purpose": {"type": "string"},
                    "purpose_title": {"type": "string"},
                    "status": {"type": "string"},
                    "claims": STRINGS,
                    "objected": {"type": "boolean"},
                    "restricted": {"type": "boolean"},
                    "events": {"type": "array", "items": EVENT},
                }
            ),
        },
    }
)
CUSTOMER_ID = Param(
    "customer_id", {"type": "string", "maxLength": 36}, "The customer's id.", where="path"
)
WHY = obj({"reason": reason("Why, for the audit log.")})
DONE = obj({"id": {"type": "string"}, "logouts_queued": {"type": "integer", "minimum": 0}})
# what a refused request is called (the console words the same codes)
CONFLICTS = {
    "already_verified": "The email address is confirmed already.",
    "already_locked": "Sign-in is locked already.",
    "not_locked": "Sign-in is not locked.",
    "not_applicable": "The right does not apply to this purpose in its state.",
}
UNKNOWN = {
    "no_such_session": "The customer has no such active session.",
    "no_such_passkey": "The customer has no such passkey.",
}


def _customer(call: Call) -> User:
    try:
        return customers.get(call.db, call.params["customer_id"])
    except CustomerError:
        raise Problem(404, "No customer has this id.") from None


def _problem(exc: CustomerError) -> Problem:
    if exc.code in CONFLICTS:
        return Problem(409, CONFLICTS[exc.code], exc.code)
    if exc.code in UNKNOWN:
        return Problem(404, UNKNOWN[exc.code], exc.code)
    return Problem(422, f"The request cannot be carried out: {exc.code}.", exc.code)


def _kick(call: Call, queued: int) -> None:
    """Have the outbox deliver what was queued once the framework has committed it (kicked
    before, it would find nothing yet and wait for its next round)."""
    if queued:
        app = current_app._get_current_object()  # type: ignore[attr-defined]
        event.listen(call.db, "after_commit", lambda _: outbox.kick(app), once=True)


def _target(user: User) -> str:
    return f"customer:{user.id}"


@operation(
    "GET",
    "/customers",
    permission=Permission.CUSTOMERS_VIEW,
    summary="Search customers",
    description=(
        "By the start of an email address, a name or family name, a phone number (typed any "
        "way), or an exact id; `kind` auto guesses which. Pages by keyset: pass the previous "
        "page's `next` as `after`."
    ),
    parameters=(
        Param(
            "q",
            {"type": "string", "minLength": 1, "maxLength": 200},
            "What was typed.",
            required=True,
        ),
        Param(
            "kind",
            {"type": "string", "enum": [k.value for k in customer_search.Kind]},
            "What to search by (default auto).",
        ),
        Param(
            "after",
            {"type": "string", "maxLength": 1000},
            "The previous page's `next`.",
        ),
    ),
    response=obj(
        {
            "kind": {"type": "string"},
            "customers": {"type": "array", "items": SUMMARY},
            "next": nullable({"type": "string"}),
        }
    ),
    tag="customers",
    audited=True,
)
def search_customers(call: Call) -> dict[str, Any]:
    try:
        query = customer_search.parse(call.params["q"], call.params.get("kind", "auto"))
        found = customer_search.search(call.db, query, call.params.get("after"))
    except CustomerError as exc:
        raise Problem(400, f"The search cannot be run: {exc.code}.", exc.code) from None
    call.record("searched", "customers", f"{query.kind}:{query.text}")
    return customer_json.page(found)


@operation(
    "GET",
    "/customers/{customer_id}",
    permission=Permission.CUSTOMERS_VIEW,
    summary="A customer: profile, sign-in, consents with their proven ledger timeline",
    description=(
        "Each consent event's leaf is recomputed and its inclusion proof checked against the "
        "newest signed checkpoint of the consent ledger now (`proven`, else `problem`)."
    ),
    parameters=(CUSTOMER_ID,),
    response=DETAIL,
    tag="customers",
    audited=True,
)
def get_customer(call: Call) -> dict[str, Any]:
    user = _customer(call)
    found = timeline.of_customer(call.db, consent_context(), user, "en")
    sign_in = customers.sign_in_state(call.db, user)
    call.record("viewed", _target(user))
    return customer_json.detail(user, sign_in, found)


@operation(
    "POST",
    "/customers/{customer_id}/sessions/{handle}/end",
    permission=Permission.CUSTOMERS_SESSIONS,
    summary="End one of the customer's sessions",
    description="The session's tokens end and its partners get a back-channel logout.",
    parameters=(
        CUSTOMER_ID,
        Param("handle", {"type": "string", "maxLength": 64}, "The session's handle.", where="path"),
    ),
    body=WHY,
    response=DONE,
    tag="customers",
)
def end_customer_session(call: Call) -> dict[str, Any]:
    user = _customer(call)
    try:
        queued = customers.end_one_session(call.db, user, call.params["handle"])
    except CustomerError as exc:
        raise _problem(exc) from None
    call.record("session_ended", _target(user), customers.reason_of(call.body["reason"]))
    _kick(call, queued)
    return {"id": user.id, "logouts_queued": queued}


@operation(
    "POST",
    "/customers/{customer_id}/sessions/end-all",
    permission=Permission.CUSTOMERS_SESSIONS,
    summary="End all of the customer's sessions",
    parameters=(CUSTOMER_ID,),
    body=WHY,
    response=DONE,
    tag="customers",
)
def end_customer_sessions(call: Call) -> dict[str, Any]:
    user = _customer(call)
    queued = customers.end_all_sessions(call.db, user)
    call.record("sessions_ended", _target(user), customers.reason_of(call.body["reason"]))
    _kick(call, queued)
    return {"id": user.id, "logouts_queued": queued}


@operation(
    "POST",
    "/customers/{customer_id}/passkeys/remove",
    permission=Permission.CUSTOMERS_SIGN_IN,
    summary="Remove a customer's (lost) passkey",
    parameters=(CUSTOMER_ID,),
    body=obj(
        {
            "passkey_id": {"type": "string", "maxLength": 1400},
            "reason": reason("Why, for the audit log."),
        }
    ),
    response=DONE,
    tag="customers",
)
def remove_customer_passkey(call: Call) -> dict[str, Any]:
    user = _customer(call)
    try:
        customers.remove_passkey(call.db, user, call.body["passkey_id"])
    except CustomerError as exc:
        raise _problem(exc) from None
    call.record("passkey_removed", _target(user), customers.reason_of(call.body["reason"]))
    return {"id": user.id, "logouts_queued": 0}


@operation(
    "POST",
    "/customers/{customer_id}/resend-verification",
    permission=Permission.CUSTOMERS_RESEND,
    summary="Send the customer a new confirmation link",
    parameters=(CUSTOMER_ID,),
    body=WHY,
    response=DONE,
    tag="customers",
    errors=(409,),
)
def resend_customer_verification(call: Call) -> dict[str, Any]:
    user = _customer(call)
    try:
        customers.resend_verification(call.db, user)
    except CustomerError as exc:
        raise _problem(exc) from None
    call.record("verification_resent", _target(user), customers.reason_of(call.body["reason"]))
    _kick(call, 1)
    return {"id": user.id, "logouts_queued": 0}


@operation(
    "POST",
    "/customers/{customer_id}/lock",
    permission=Permission.CUSTOMERS_SIGN_IN,
    summary="Lock the customer's sign-in",
    description=(
        "Password and passkey sign-in are refused; every session and grant ends, offline ones "
        "too, with back-channel logouts and Shared Signals. Consents stay."
    ),
    parameters=(CUSTOMER_ID,),
    body=WHY,
    response=obj(
        {
            "id": {"type": "string"},
            "locked_at": DATE_TIME,
            "logouts_queued": {"type": "integer", "minimum": 0},
        }
    ),
    tag="customers",
    errors=(409,),
)
def lock_customer(call: Call) -> dict[str, Any]:
    user = _customer(call)
    try:
        queued = customers.lock(call.db, user, call.now)
    except CustomerError as exc:
        raise _problem(exc) from None
    call.record("sign_in_locked", _target(user), customers.reason_of(call.body["reason"]))
    _kick(call, queued)
    return {"id": user.id, "locked_at": call.now.isoformat(), "logouts_queued": queued}


@operation(
    "POST",
    "/customers/{customer_id}/unlock",
    permission=Permission.CUSTOMERS_SIGN_IN,
    summary="Unlock the customer's sign-in",
    parameters=(CUSTOMER_ID,),
    body=WHY,
    response=DONE,
    tag="customers",
    errors=(409,),
)
def unlock_customer(call: Call) -> dict[str, Any]:
    user = _customer(call)
    try:
        customers.unlock(call.db, user)
    except CustomerError as exc:
        raise _problem(exc) from None
    call.record("sign_in_unlocked", _target(user), customers.reason_of(call.body["reason"]))
    return {"id": user.id, "logouts_queued": 0}


@operation(
    "POST",
    "/customers/{customer_id}/rights",
    permission=Permission.RIGHTS_RECORD,
    summary="Record a rights request received by letter or phone",
    description=(
        "Withdraw a consent, object (legitimate interest), restrict, or lift a restriction: "
        "an admin-acted ledger event with the API client and the reason. `recorded` is false "
        "when the ledger already said so."
    ),
    parameters=(CUSTOMER_ID,),
    body=obj(
        {
            "recipient": {"type": "string", "maxLength": 64},
            "purpose": {"type": "string", "maxLength": 64},
            "action": {"type": "string", "enum": list(customers.RIGHTS)},
            "received_by": {"type": "string", "enum": list(customers.RECEIVED_BY)},
            "reason": reason("What the customer asked, where the letter is kept."),
        }
    ),
    response=obj(
        {
            "id": {"type": "string"},
            "recorded": {"type": "boolean"},
            "logouts_queued": {"type": "integer", "minimum": 0},
        }
    ),
    tag="customers",
    errors=(409,),
)
def record_rights_request(call: Call) -> dict[str, Any]:
    user = _customer(call)
    body = call.body
    try:
        result = customers.record_request(
            call.db,
            consent_context(),
            context.settings().issuer,
            f"api-client:{call.caller.client.client_id}",
            user,
            body["recipient"],
            body["purpose"],
            body["action"],
            body["received_by"],
            body["reason"],
            call.now,
        )
    except CustomerError as exc:
        raise _problem(exc) from None
    what = f"{body['action']} {body['recipient']}/{body['purpose']} ({body['received_by']})"
    if not result.recorded:
        what += ", no change"
    call.record("rights_request", _target(user), f"{what}: {customers.reason_of(body['reason'])}")
    _kick(call, result.logouts)
    return {"id": user.id, "recorded": result.recorded, "logouts_queued": result.logouts}


@operation(
    "POST",
    "/customers/{customer_id}/export",
    permission=Permission.CUSTOMERS_EXPORT,
    summary="Export the customer's data (GDPR Art. 15)",
    description="Profile, sessions, passkeys, consent history, disclosures, partners' additions.",
    parameters=(CUSTOMER_ID,),
    body=WHY,
    response={"type": "object"},
    tag="customers",
)
def export_customer(call: Call) -> dict[str, Any]:
    user = _customer(call)
    data = customers.export(call.db, consent_context(), user)
    call.record("exported", _target(user), customers.reason_of(call.body["reason"]))
    return data


@operation(
    "POST",
    "/customers/{customer_id}/erase",
    permission=Permission.CUSTOMERS_ERASE,
    summary="Erase the customer (GDPR Art. 17)",
    description=(
        "As when the customer deletes the account: sessions and tokens end, partners are "
        "told, the consent records stay but no longer identify the customer."
    ),
    parameters=(CUSTOMER_ID,),
    body=WHY,
    response=DONE,
    tag="customers",
    dangerous=True,
)
def erase_customer(call: Call) -> dict[str, Any]:
    user = _customer(call)
    target = _target(user)
    queued = customers.erase(call.db, user)
    call.record("erased", target, customers.reason_of(call.body["reason"]))
    _kick(call, queued)
    return {"id": target.removeprefix("customer:"), "logouts_queued": queued}
