"""The console's complaint pages under /admin/complaints: the list (open and closed, paged),
opening one for a customer, a complaint's page, closing it. Thin views over
:mod:`idp.admin.complaints`; every view and change goes into the audit log.

The blueprint also gives the templates two lookups: ``complaint_pause(user)`` for the customer's
account page (``account/_complaint_pause.html``) and ``customer_complaint(customer)`` for the
console's customer page (``admin/_customer_extra.html``).
"""

from __future__ import annotations

from flask import Blueprint, g, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _, lazy_gettext

from idp.admin import audit, complaints, sessions
from idp.admin.complaints import ComplaintError
from idp.admin.guards import load_session, requires
from idp.admin.roles import Permission
from idp.db import commit, get_session
from idp.errors import IdpError
from idp.ledger.context import consent_context
from idp.models import Complaint, User

bp = Blueprint("admin_complaints", __name__, url_prefix="/admin/complaints")
bp.before_request(load_session)

ERRORS = {
    "reason_required": lazy_gettext("Give a reason; it goes into the ledger and the audit log."),
    "reason_too_long": lazy_gettext("The reason is too long: at most 2,000 characters."),
    "customer_required": lazy_gettext("Give the customer's id or email address."),
    "no_such_customer": lazy_gettext("No customer has that id or email address."),
    "already_open": lazy_gettext(
        "This customer already has an open complaint. Add to it, or close it first."
    ),
    "already_closed": lazy_gettext("This complaint is already closed."),
}


@bp.app_template_global()
def complaint_pause(user: User) -> complaints.Pause | None:
    """The customer's own account page: the pause their open complaint holds, if any."""
    return complaints.pause_of(get_session(), consent_context(), user.id, g.get("lang") or "en")


@bp.app_template_global()
def customer_complaint(customer: User) -> Complaint | None:
    """The console's customer page: the customer's open complaint, if any."""
    return complaints.open_of(get_session(), customer.id)


def _page_number() -> int:
    raw = request.args.get("page", "1")
    return int(raw) if raw.isdigit() and len(raw) < 7 else 1


@bp.route("", methods=["GET"])
@requires(Permission.COMPLAINTS_VIEW)
def index() -> ResponseReturnValue:
    db = get_session()
    state = request.args.get("state", "open")
    if state not in complaints.STATES:
        state = "open"
    found = complaints.page_of(db, state, _page_number())
    audit.record(db, g.admin, "viewed", "complaints", f"state={state} page={found.page}")
    commit()
    return render_template("admin/complaints.html", found=found, state=state)


def _form(
    customer: str = "", reason: str = "", error: str | None = None, status: int = 200
) -> ResponseReturnValue:
    return (
        render_template(
            "admin/complaint_new.html",
            customer=customer,
            reason=reason,
            error=ERRORS.get(error or ""),
            marketing=complaints.marketing_purposes(consent_context()),
            lang=g.get("lang") or "en",
        ),
        status,
    )


@bp.route("/new", methods=["GET"])
@requires(Permission.COMPLAINTS_MANAGE)
def new() -> ResponseReturnValue:
    customer = request.args.get("customer", "").strip()[:320]
    return _form(customer)


@bp.route("", methods=["POST"])
@requires(Permission.COMPLAINTS_MANAGE)
def open_() -> ResponseReturnValue:
    db = get_session()
    query = request.form.get("customer", "")[:400]
    reason = request.form.get("reason", "")[:4000]
    try:
        customer = complaints.find_customer(db, query)
        opened = complaints.open_complaint(
            db, consent_context(), g.admin, customer, reason, sessions.clock()
        )
    except ComplaintError as exc:
        db.rollback()
        return _form(query.strip()[:320], reason, exc.code, 400)
    audit.record(
        db,
        g.admin,
        "complaint_opened",
        f"customer:{customer.id}",
        f"complaint {opened.complaint.id}: {opened.complaint.reason}",
    )
    commit()
    return redirect(url_for("admin_complaints.show", complaint_id=opened.complaint.id))


def _row(complaint_id: str) -> complaints.Row:
    try:
        return complaints.get(get_session(), complaint_id)
    except ComplaintError as exc:
        raise IdpError(_("No such complaint."), error="not_found", status_code=404) from exc


def _show(row: complaints.Row, error: str | None = None, status: int = 200) -> ResponseReturnValue:
    ctx = consent_context()
    lang = g.get("lang") or "en"
    titles = []
    for purpose_id in row.complaint.purposes:
        purpose = ctx.catalogue.purposes.get(purpose_id)
        text = (purpose.texts.get(lang) or purpose.texts.get("en")) if purpose else None
        titles.append(text.title if text else purpose_id)
    return (
        render_template(
            "admin/complaint.html",
            row=row,
            c=row.complaint,
            titles=titles,
            error=ERRORS.get(error or ""),
        ),
        status,
    )


@bp.route("/<complaint_id>", methods=["GET"])
@requires(Permission.COMPLAINTS_VIEW)
def show(complaint_id: str) -> ResponseReturnValue:
    db = get_session()
    row = _row(complaint_id)
    audit.record(db, g.admin, "viewed", f"complaint:{row.complaint.id}")
    commit()
    return _show(row)


@bp.route("/<complaint_id>/close", methods=["POST"])
@requires(Permission.COMPLAINTS_MANAGE)
def close(complaint_id: str) -> ResponseReturnValue:
    db = get_session()
    row = _row(complaint_id)
    reason = request.form.get("reason", "")[:4000]
    try:
        complaints.close_complaint(
            db, consent_context(), g.admin, row.complaint, reason, sessions.clock()
        )
    except ComplaintError as exc:
        db.rollback()
        return _show(_row(complaint_id), exc.code, 400)
    audit.record(
        db,
        g.admin,
        "complaint_closed",
        f"customer:{row.complaint.customer_id}",
        f"complaint {row.complaint.id}: {row.complaint.closing_reason}",
    )
    commit()
    return redirect(url_for("admin_complaints.show", complaint_id=row.complaint.id))
