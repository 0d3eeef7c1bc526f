"""The complaint pages of the console: the list (open, closed, paged), opening one for a
customer found by id or email, a complaint's page, closing it; readable pages for bad input;
every view and change in the audit log; the Overview's count and the customer page's part."""

from __future__ import annotations

import re

from flask import g, render_template
from sqlalchemy import func, select

from idp.admin import audit, complaints
from idp.db import new_session
from idp.models import Admin, AdminAuditEntry, User
from tests.admin.complaints_flow import fresh_tokens, info, marketing_customer, open_by_service
from tests.admin.console import invite, meta_csrf, session_for

NEW = "/admin/complaints/new"


def _form(admin, customer: str, reason: str):
    csrf = meta_csrf(admin, NEW)
    return admin.post(
        "/admin/complaints", data={"customer": customer, "reason": reason, "csrf_token": csrf}
    )


def _audit(app) -> list[tuple[str, str | None, str | None]]:
    with new_session(app) as s:
        return [(e.action, e.target, e.reason) for e in audit.entries(s, limit=None)]


def _text(resp) -> str:
    return re.sub(r"\s+", " ", resp.data.decode())


def test_a_privacy_admin_opens_and_closes_a_complaint(app, client, make_user, make_client):
    user, shop, secret = marketing_customer(client, make_user, make_client)
    tokens = fresh_tokens(client, shop, secret)
    admin = app.test_client()
    session_for(app, admin, "privacy")

    form = admin.get(f"{NEW}?customer={user.email}")
    assert form.status_code == 200 and f'value="{user.email}"' in form.data.decode()
    assert "Offers by email" in _text(form)  # what opening pauses, named before it is done
    resp = _form(admin, user.email.upper(), "Gets offers after unsubscribing")
    assert resp.status_code == 302
    page_url = resp.headers["Location"]
    complaint_id = page_url.rsplit("/", 1)[1]
    assert info(client, tokens)[0] == 401  # the shop's token depended on marketing

    page = _text(admin.get(page_url))
    assert "Gets offers after unsubscribing" in page and user.email in page
    assert "open: marketing is paused for this customer" in page
    listed = _text(admin.get("/admin/complaints"))
    assert user.email in listed and "Page 1 of 1 (1 complaints)" in listed
    assert user.email not in _text(admin.get("/admin/complaints?state=closed"))
    overview = admin.get("/admin/").data.decode()
    assert re.search(r'id="complaints-open"><a href="/admin/complaints">1</a>', overview)

    csrf = meta_csrf(admin, page_url)
    resp = admin.post(f"{page_url}/close", data={"reason": "List fixed", "csrf_token": csrf})
    assert resp.status_code == 302
    page = _text(admin.get(page_url))
    assert "List fixed" in page and "Close the complaint" not in page
    assert user.email in _text(admin.get("/admin/complaints?state=closed"))
    assert info(client, fresh_tokens(client, shop, secret))[1]["given_name"] == "Aino"

    actions = _audit(app)
    assert ("complaint_opened", f"customer:{user.id}") in [(a, t) for a, t, _ in actions]
    assert ("complaint_closed", f"customer:{user.id}") in [(a, t) for a, t, _ in actions]
    assert ("viewed", f"complaint:{complaint_id}") in [(a, t) for a, t, _ in actions]
    assert ("viewed", "complaints") in [(a, t) for a, t, _ in actions]
    opened = next(r for a, _, r in actions if a == "complaint_opened")
    assert opened == f"complaint {complaint_id}: Gets offers after unsubscribing"


def test_bad_input_gets_a_readable_page_and_changes_nothing(app, make_user):
    user = make_user()
    admin = app.test_client()
    session_for(app, admin, "privacy")
    for customer, reason, says in (
        ("", "x", "Give the customer's id or email address."),
        ("nobody@example.com", "x", "No customer has that id or email address."),
        ("' OR 1=1 --", "x", "No customer has that id or email address."),
        (user.email, "   ", "Give a reason; it goes into the ledger and the audit log."),
        (user.id, "x" * 2500, "The reason is too long: at most 2,000 characters."),
    ):
        resp = _form(admin, customer, reason)
        assert resp.status_code == 400, (customer, resp.status_code)
        assert says in resp.data.decode().replace("&#39;", "'"), customer
    nul = _form(admin, "\x00", "x")  # refused before the view, as everywhere
    assert nul.status_code == 400 and "<html" in nul.data.decode()
    nul = _form(admin, "\x00", "x")  # refused before the view, as everywhere
    assert nul.status_code == 400 and "<html" in nul.data.decode()
    with new_session(app) as s:
        assert complaints.count_open(s) == 0

    assert _form(admin, user.id, "first").status_code == 302
    again = _form(admin, user.email, "second")
    assert again.status_code == 400
    assert "already has an open complaint" in again.data.decode()

    assert admin.get("/admin/complaints/no-such-thing").status_code == 404
    csrf = meta_csrf(admin, NEW)
    gone = admin.post("/admin/complaints/nope/close", data={"reason": "x", "csrf_token": csrf})
    assert gone.status_code == 404
    for query in ("?state=bogus", "?page=abc", "?page=999999999999", "?page=-1"):
        assert admin.get(f"/admin/complaints{query}").status_code == 200, query

    with new_session(app) as s:
        complaint = complaints.open_of(s, user.id)
        assert complaint is not None
        page = f"/admin/complaints/{complaint.id}"
    empty = admin.post(f"{page}/close", data={"reason": " ", "csrf_token": csrf})
    assert empty.status_code == 400 and "Give a reason" in empty.data.decode()
    assert admin.post(f"{page}/close", data={"reason": "ok", "csrf_token": csrf}).status_code == 302
    twice = admin.post(f"{page}/close", data={"reason": "ok", "csrf_token": csrf})
    assert twice.status_code == 400 and "already closed" in twice.data.decode()


def test_the_list_is_paged(app, make_user):
    admin = app.test_client()
    admin_id = session_for(app, admin, "privacy")
    made = [make_user() for _ in range(complaints.PAGE_SIZE + 2)]
    for user in made:
        open_by_service(app, admin_id, user.id)
    first = _text(admin.get("/admin/complaints"))
    assert f"Page 1 of 2 ({len(made)} complaints)" in first and "Older" in first
    second = _text(admin.get("/admin/complaints?page=2"))
    assert "Page 2 of 2" in second and "Newer" in second
    shown = {u.email for u in made if u.email in first} | {
        u.email for u in made if u.email in second
    }
    assert shown == {u.email for u in made}


def test_support_and_partners_may_not_open_complaints(app, make_user):
    user = make_user()
    for role in ("support", "partners"):
        admin = app.test_client()
        session_for(app, admin, role)
        assert admin.get("/admin/complaints").status_code == 403
        csrf = meta_csrf(admin, "/admin/reverify")
        resp = admin.post(
            "/admin/complaints", data={"customer": user.id, "reason": "x", "csrf_token": csrf}
        )
        assert resp.status_code == 403
        assert "Complaints" not in admin.get("/admin/").data.decode()
    auditor = app.test_client()
    session_for(app, auditor, "auditor")
    page = auditor.get("/admin/complaints").data.decode()
    assert "Open a complaint" not in page  # read-only
    with new_session(app) as s:
        refused = s.scalar(
            select(func.count())
            .select_from(AdminAuditEntry)
            .where(AdminAuditEntry.action == "refused")
        )
    assert refused >= 4


def test_the_customer_page_part_links_to_open_or_view(app, make_user):
    """``admin/_customer_extra.html``, which the customer page includes with ``customer``."""
    user = make_user()
    admin_id, _ = invite(app, "privacy")
    with app.test_request_context("/admin/"), new_session(app) as s:
        g.admin = s.get(Admin, admin_id)
        customer = s.get(User, user.id)
        html = render_template("admin/_customer_extra.html", customer=customer)
        assert f"/admin/complaints/new?customer={user.id}" in html
        complaint_id = open_by_service(app, admin_id, user.id)
        html = render_template("admin/_customer_extra.html", customer=customer)
        assert f"/admin/complaints/{complaint_id}" in html and "marketing is paused" in html
