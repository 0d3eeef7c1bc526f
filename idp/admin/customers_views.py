"""The console's Customers pages: search, a customer's page, and the actions on it. Thin
views over :mod:`idp.admin.customers` and :mod:`idp.admin.timeline`; every page that shows
a customer's personal data and every change goes into the audit log."""

from __future__ import annotations

import json

from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _, lazy_gettext

from idp import context
from idp.account.agents import describe
from idp.admin import audit, customer_search, customers, sessions, timeline
from idp.admin.customers import CustomerError
from idp.admin.guards import fresh_passkey_required, load_session, requires
from idp.admin.roles import Permission
from idp.db import commit, get_session
from idp.errors import IdpError
from idp.events import outbox
from idp.ledger.context import consent_context
from idp.ledger.labels import status_label
from idp.models import User

bp = Blueprint("admin_customers", __name__, url_prefix="/admin/customers")
bp.before_request(load_session)

MESSAGES = {
    "query_too_long": lazy_gettext("That is too long to be a name, an address or a number."),
    "query_too_short": lazy_gettext("Type at least two letters."),
    "not_an_id": lazy_gettext("A customer id looks like 1b4e28ba-2fa1-11d2-883f-0016d3cca427."),
    "not_a_phone": lazy_gettext("Type at least three digits of the phone number."),
    "bad_kind": lazy_gettext("Choose what to search by from the list."),
    "bad_page": lazy_gettext("That page link is not valid. Search again."),
    "reason_required": lazy_gettext("Give a reason; it goes into the audit log."),
    "no_such_session": lazy_gettext("That session has ended already."),
    "no_such_passkey": lazy_gettext("That passkey was removed already."),
    "already_verified": lazy_gettext("The email address is confirmed already."),
    "already_locked": lazy_gettext("Sign-in is locked already."),
    "not_locked": lazy_gettext("Sign-in is not locked."),
    "bad_action": lazy_gettext("Choose what the customer asked for."),
    "bad_channel": lazy_gettext("Choose how the request came in."),
    "no_such_recipient": lazy_gettext("Choose a recipient from the list."),
    "no_such_purpose": lazy_gettext("That recipient has no such purpose."),
    "confirm_email": lazy_gettext("Type the customer's email address to confirm the erasure."),
    "not_applicable": lazy_gettext(
        "That does not apply here: only a consent can be withdrawn, only processing on "
        "legitimate interest objected to, and a restriction lifted only where there is one."
    ),
}
DONE = {
    "session_ended": lazy_gettext("The session was ended."),
    "sessions_ended": lazy_gettext("All sessions were ended."),
    "passkey_removed": lazy_gettext("The passkey was removed."),
    "verification_sent": lazy_gettext("A new confirmation link is on its way."),
    "locked": lazy_gettext("Sign-in is locked; every session and app access was ended."),
    "unlocked": lazy_gettext("Sign-in is unlocked."),
    "recorded": lazy_gettext("The request was recorded in the consent ledger."),
    "unchanged": lazy_gettext("Nothing changed: the ledger already says so."),
    "erased": lazy_gettext("The customer was erased."),
}
ACTIONS = {
    "withdraw": lazy_gettext("Withdraw a consent"),
    "object": lazy_gettext("Object (Art. 21)"),
    "restrict": lazy_gettext("Restrict processing (Art. 18)"),
    "lift_restriction": lazy_gettext("Lift a restriction"),
}
CHANNELS = {"letter": lazy_gettext("by letter"), "phone": lazy_gettext("by phone")}
ACTORS = {
    "customer": lazy_gettext("the customer"),
    "admin": lazy_gettext("an admin"),
    "system": lazy_gettext("the system"),
}
CHANNEL_NAMES = {
    "consent_screen": lazy_gettext("consent screen"),
    "account_page": lazy_gettext("account page"),
    "admin_console": lazy_gettext("admin console"),
    "admin_cli": lazy_gettext("operator command"),
    "letter": lazy_gettext("letter"),
    "phone": lazy_gettext("phone"),
    "api": lazy_gettext("API"),
    "system": lazy_gettext("system"),
}
EVENTS = {
    "given": lazy_gettext("given"),
    "refused": lazy_gettext("refused"),
    "withdrawn": lazy_gettext("withdrawn"),
    "expired": lazy_gettext("expired"),
    "renewed": lazy_gettext("renewed"),
    "modified": lazy_gettext("modified"),
    "objection": lazy_gettext("objection"),
    "restriction": lazy_gettext("restriction"),
    "restriction_lifted": lazy_gettext("restriction lifted"),
}
PROBLEMS = {
    timeline.ALTERED: lazy_gettext("altered after it was logged"),
    timeline.QUEUED: lazy_gettext("waiting for its place in the log"),
    "no_checkpoint": lazy_gettext("no signed checkpoint yet"),
    "not_covered": lazy_gettext("newer than the newest checkpoint"),
}


def _target(user: User) -> str:
    return f"customer:{user.id}"


def _customer(customer_id: str) -> User:
    try:
        return customers.get(get_session(), customer_id)
    except CustomerError:
        raise IdpError(_("No such customer."), error="not_found", status_code=404) from None


def _back(user: User, **args: str) -> ResponseReturnValue:
    """To the customer's page, saying what happened (``done``) or went wrong (``error``)."""
    return redirect(url_for("admin_customers.customer", customer_id=user.id, **args))  # type: ignore[arg-type]


def _kick(queued: int) -> None:
    if queued:
        outbox.kick(current_app._get_current_object())  # type: ignore[attr-defined]


@bp.route("", methods=["GET"])
@requires(Permission.CUSTOMERS_VIEW)
def search() -> ResponseReturnValue:
    db = get_session()
    text = request.args.get("q", "")
    kind = request.args.get("kind", "auto")
    page, error = None, None
    if text.strip():
        try:
            query = customer_search.parse(text, kind)
            page = customer_search.search(db, query, request.args.get("after") or None)
        except CustomerError as exc:
            error = MESSAGES[exc.code]  # every code parse and search raise is worded
        else:
            audit.record(db, g.admin, "searched", "customers", f"{query.kind}:{query.text}")
            commit()
    status = 400 if error else 200
    return Response(
        render_template(
            "admin/customers.html",
            q=text[:300],
            kind=kind if kind in customer_search.Kind.__members__.values() else "auto",
            kinds=customer_search.Kind,
            page=page,
            error=error,
            done=DONE.get(request.args.get("done", "")),
        ),
        status=status,
    )


@bp.route("/<customer_id>", methods=["GET"])
@requires(Permission.CUSTOMERS_VIEW)
def customer(customer_id: str) -> ResponseReturnValue:
    db = get_session()
    user = _customer(customer_id)
    ctx = consent_context()
    found = timeline.of_customer(db, ctx, user, g.get("lang") or "en")
    sign_in = customers.sign_in_state(db, user)
    audit.record(db, g.admin, "viewed", _target(user))
    commit()
    return render_template(
        "admin/customer.html",
        c=user,
        s=sign_in,
        t=found,
        targets=timeline.request_targets(db, ctx, found, g.get("lang") or "en"),
        actions=ACTIONS,
        channels=CHANNELS,
        problems=PROBLEMS,
        actors=ACTORS,
        channel_names=CHANNEL_NAMES,
        events=EVENTS,
        handle=customers.session_handle,
        describe=describe,
        status_label=status_label,
        error=MESSAGES.get(request.args.get("error", "")),
        done=DONE.get(request.args.get("done", "")),
    )


@bp.route("/<customer_id>/sessions/<handle>/end", methods=["POST"])
@requires(Permission.CUSTOMERS_SESSIONS)
def end_session(customer_id: str, handle: str) -> ResponseReturnValue:
    db = get_session()
    user = _customer(customer_id)
    try:
        queued = customers.end_one_session(db, user, handle)
    except CustomerError as exc:
        return _back(user, error=exc.code)
    audit.record(db, g.admin, "session_ended", _target(user), _optional_reason())
    commit()
    _kick(queued)
    return _back(user, done="session_ended")


@bp.route("/<customer_id>/sessions/end-all", methods=["POST"])
@requires(Permission.CUSTOMERS_SESSIONS)
def end_all_sessions(customer_id: str) -> ResponseReturnValue:
    db = get_session()
    user = _customer(customer_id)
    queued = customers.end_all_sessions(db, user)
    audit.record(db, g.admin, "sessions_ended", _target(user), _optional_reason())
    commit()
    _kick(queued)
    return _back(user, done="sessions_ended")


def _optional_reason() -> str | None:
    """A reason the page does not ask for (ending sessions), kept as the asked-for ones are:
    one line, at most :data:`customers.MAX_REASON` (the form's body may hold 256 KiB)."""
    try:
        return customers.reason_of(request.form.get("reason"))
    except CustomerError:
        return None


def _with_reason(user: User) -> str | ResponseReturnValue:
    try:
        return customers.reason_of(request.form.get("reason"))
    except CustomerError as exc:
        return _back(user, error=exc.code)


@bp.route("/<customer_id>/passkeys/remove", methods=["POST"])
@requires(Permission.CUSTOMERS_SIGN_IN)
def remove_passkey(customer_id: str) -> ResponseReturnValue:
    db = get_session()
    user = _customer(customer_id)
    reason = _with_reason(user)
    if not isinstance(reason, str):
        return reason
    try:
        customers.remove_passkey(db, user, request.form.get("passkey_id", ""))
    except CustomerError as exc:
        return _back(user, error=exc.code)
    audit.record(db, g.admin, "passkey_removed", _target(user), reason)
    commit()
    return _back(user, done="passkey_removed")


@bp.route("/<customer_id>/resend-verification", methods=["POST"])
@requires(Permission.CUSTOMERS_RESEND)
def resend_verification(customer_id: str) -> ResponseReturnValue:
    db = get_session()
    user = _customer(customer_id)
    try:
        customers.resend_verification(db, user)
    except CustomerError as exc:
        return _back(user, error=exc.code)
    audit.record(db, g.admin, "verification_resent", _target(user))
    commit()
    _kick(1)
    return _back(user, done="verification_sent")


@bp.route("/<customer_id>/lock", methods=["POST"])
@requires(Permission.CUSTOMERS_SIGN_IN)
def lock(customer_id: str) -> ResponseReturnValue:
    db = get_session()
    user = _customer(customer_id)
    reason = _with_reason(user)
    if not isinstance(reason, str):
        return reason
    try:
        queued = customers.lock(db, user, sessions.clock())
    except CustomerError as exc:
        return _back(user, error=exc.code)
    audit.record(db, g.admin, "sign_in_locked", _target(user), reason)
    commit()
    _kick(queued)
    return _back(user, done="locked")


@bp.route("/<customer_id>/unlock", methods=["POST"])
@requires(Permission.CUSTOMERS_SIGN_IN)
def unlock(customer_id: str) -> ResponseReturnValue:
    db = get_session()
    user = _customer(customer_id)
    reason = _with_reason(user)
    if not isinstance(reason, str):
        return reason
    try:
        customers.unlock(db, user)
    except CustomerError as exc:
        return _back(user, error=exc.code)
    audit.record(db, g.admin, "sign_in_unlocked", _target(user), reason)
    commit()
    return _back(user, done="unlocked")


@bp.route("/<customer_id>/rights", methods=["POST"])
@requires(Permission.RIGHTS_RECORD)
def record_request(customer_id: str) -> ResponseReturnValue:
    """A withdrawal, objection, restriction or lifting the customer asked for by letter or
    phone: a ledger event acted by the admin, and an audit entry, with the reason."""
    db = get_session()
    user = _customer(customer_id)
    form = request.form
    recipient, _, purpose = form.get("target", "").rpartition("|")
    try:
        result = customers.record_request(
            db,
            consent_context(),
            context.settings().issuer,
            g.admin.email,
            user,
            recipient,
            purpose,
            form.get("action", ""),
            form.get("received_by", ""),
            form.get("reason", ""),
            sessions.clock(),
        )
    except CustomerError as exc:
        return _back(user, error=exc.code)
    what = f"{form.get('action')} {recipient}/{purpose} ({form.get('received_by')})"
    if not result.recorded:
        what += ", no change"
    reason = customers.reason_of(form.get("reason"))
    audit.record(db, g.admin, "rights_request", _target(user), f"{what}: {reason}")
    commit()
    _kick(result.logouts)
    return _back(user, done="recorded" if result.recorded else "unchanged")


@bp.route("/<customer_id>/export", methods=["POST"])
@requires(Permission.CUSTOMERS_EXPORT)
def export(customer_id: str) -> ResponseReturnValue:
    """GDPR Art. 15: the customer's data as JSON, for answering a request by letter."""
    db = get_session()
    user = _customer(customer_id)
    reason = _with_reason(user)
    if not isinstance(reason, str):
        return reason
    data = customers.export(db, consent_context(), user)
    audit.record(db, g.admin, "exported", _target(user), reason)
    commit()
    resp = Response(json.dumps(data, ensure_ascii=False, indent=2), mimetype="application/json")
    resp.headers["Content-Disposition"] = f'attachment; filename="avain-customer-{user.id}.json"'
    return resp


@bp.route("/<customer_id>/erase", methods=["POST"])
@requires(Permission.CUSTOMERS_ERASE)
@fresh_passkey_required
def erase(customer_id: str) -> ResponseReturnValue:
    """GDPR Art. 17, behind a fresh passkey: as when the customer deletes the account."""
    db = get_session()
    user = _customer(customer_id)
    reason = _with_reason(user)
    if not isinstance(reason, str):
        return reason
    if request.form.get("confirm") != user.email:
        return _back(user, error="confirm_email")
    target = _target(user)
    queued = customers.erase(db, user)
    audit.record(db, g.admin, "erased", target, reason)
    commit()
    _kick(queued)
    return redirect(url_for("admin_customers.search", done="erased"))
