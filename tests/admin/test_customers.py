"""The console's Customers: search, a customer's page with the consent timeline and its
proofs, and the actions (rights requests, sessions, lock, export, erasure), each in the
audit log. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select, text

from consent import ledger as L
from consent.store import append_only_ddl, drop_append_only_ddl
from idp.admin import customer_search
from idp.admin.customer_search import Kind, Query, parse
from idp.admin.customers import CustomerError
from idp.db import new_session
from idp.events import outbox
from idp.ledger import sequencer
from idp.models import Admin, AdminAuditEntry, Delivery, SsoSession, User
from tests.admin.console import meta_csrf, session_for
from tests.auth.passkey_flows import passkey_sign_in, register_passkey
from tests.conftest import login
from tests.ledger.flows import consent


def _set(app, user_id, **fields):
    with app.app_context(), new_session(app) as s:
        user = s.get(User, user_id)
        for k, v in fields.items():
            setattr(user, k, v)
        s.commit()


def _audit(app, action):
    with app.app_context(), new_session(app) as s:
        return list(
            s.scalars(
                select(AdminAuditEntry)
                .where(AdminAuditEntry.action == action)
                .order_by(AdminAuditEntry.seq)
            )
        )


def _page(client, user):
    return client.get(f"/admin/customers/{user.id}")


def _post(client, user, path, **data):
    csrf = meta_csrf(client, f"/admin/customers/{user.id}")
    return client.post(f"/admin/customers/{user.id}{path}", data={"csrf_token": csrf, **data})


# -- search ------------------------------------------------------------------------------


def test_parse_guesses_what_was_typed():
    assert parse("Aino.V@Example.com") == Query(Kind.EMAIL, "aino.v@example.com")
    assert parse("040 123 45") == Query(Kind.PHONE, "3584012345")
    assert parse("+358 (40) 123") == Query(Kind.PHONE, "35840123")
    assert parse("  Virtanen  Matti ") == Query(Kind.NAME, "virtanen matti")
    uid = "1B4E28BA-2FA1-11D2-883F-0016D3CCA427"
    assert parse(uid) == Query(Kind.ID, uid.lower())
    assert parse("aino", "email").kind is Kind.EMAIL
    for typed, kind, code in [
        ("a", "auto", "query_too_short"),
        ("x" * 201, "auto", "query_too_long"),
        ("12", "auto", "not_a_phone"),
        ("matti", "phone", "not_a_phone"),
        ("matti", "id", "not_an_id"),
        ("matti", "shoe size", "bad_kind"),
    ]:
        with pytest.raises(CustomerError) as err:
            parse(typed, kind)
        assert err.value.code == code


def test_search_by_each_kind(app, client, make_user):
    aino = make_user("aino.virtanen@example.com", name="Aino Virtanen")
    _set(app, aino.id, family_name="Virtanen", phone_number="+358 40 123 4567")
    matti = make_user("matti.korhonen@example.com", name="Matti Korhonen")
    session_for(app, client, "support")

    def found(q, kind="auto"):
        page = client.get("/admin/customers", query_string={"q": q, "kind": kind})
        assert page.status_code == 200, page.data[:300]
        return re.findall(r'href="/admin/customers/([0-9a-f-]{36})"', page.data.decode())

    assert found("AINO.v") == [aino.id] and found("aino", "email") == [aino.id]
    assert found("aino") == [aino.id] and found("MATTI") == [matti.id]  # names
    assert found("aino.virtanen@") == [aino.id]
    assert found("virt") == [aino.id]  # the family name
    assert found("aino vir") == [aino.id]  # the whole name
    assert found("040 1234") == [aino.id]  # written the national way
    assert found("+35840123") == [aino.id]
    assert found(aino.id) == [aino.id]
    assert found("nobody") == []
    assert "No customer matches." in client.get("/admin/customers?q=nobody").data.decode()
    searched = _audit(app, "searched")
    assert [e.reason for e in searched][:3] == ["email:aino.v", "email:aino", "name:aino"]


def test_search_pages_by_keyset(app, client, make_user):
    made = sorted(make_user(f"sivu{i:02d}@example.com").id for i in range(30))
    session_for(app, client, "support")
    first = client.get("/admin/customers?q=sivu@&kind=email")
    assert first.status_code == 200  # "sivu@" matches no one: an address prefix, not a word
    page = client.get("/admin/customers?q=sivu&kind=email").data.decode()
    ids = re.findall(r'href="/admin/customers/([0-9a-f-]{36})"', page)
    assert len(ids) == customer_search.PAGE_SIZE
    following = re.search(r'href="([^"]+)" id="next-page"', page).group(1).replace("&amp;", "&")
    assert "offset" not in following
    rest = re.findall(
        r'href="/admin/customers/([0-9a-f-]{36})"', client.get(following).data.decode()
    )
    assert len(rest) == 5 and 'id="next-page"' not in client.get(following).data.decode()
    assert sorted(ids + rest) == made


@pytest.mark.parametrize(
    "query",
    [
        {"q": "x" * 5000},
        {"q": "a"},
        {"q": "\x00\x01garbage\x7f"},
        {"q": "ab", "kind": "nonsense"},
        {"q": "ab", "after": "!!!not-a-cursor"},
        {"q": "ab", "after": "WyJ4IiwgMV0"},  # ["x", 1]
        {"q": "'; DROP TABLE users; --"},
        {"q": "\U0010ffff\U0010ffff"},
        {"q": "\ud7ff\ud7ff", "kind": "name"},
        {"q": "%_%_", "kind": "email"},
    ],
)
def test_bad_searches_get_a_readable_page(app, client, query):
    session_for(app, client, "support")
    resp = client.get("/admin/customers", query_string=query)
    assert resp.status_code in (200, 400), resp.data[:300]
    # the search page says what is wrong; a NUL the app refuses before any view
    assert b"<h1>Customers</h1>" in resp.data or b"invalid_request" in resp.data


def test_unknown_customer_is_a_readable_404(app, client):
    session_for(app, client, "support")
    for path in (
        "/admin/customers/00000000-0000-0000-0000-000000000000",
        "/admin/customers/" + "x" * 5000,
        "/admin/customers/%27%3B--",
    ):
        resp = client.get(path)
        assert resp.status_code == 404 and b"No such customer." in resp.data


# -- the customer's page -----------------------------------------------------------------


def test_the_page_shows_profile_sessions_and_the_proven_timeline(
    app, client, make_user, make_client
):
    user = make_user("leena@example.com", name="Leena Laine", verified=False)
    rp, _ = make_client(name="Rengasliike")
    consent(client, rp, user.email)
    sequencer.drain(app)
    admin_client = app.test_client()
    session_for(app, admin_client, "support")
    page = _page(admin_client, user).data.decode()
    assert "Leena Laine" in page and "leena@example.com" in page and "not confirmed" in page
    assert 'id="sessions"' in page and "End session" in page
    with app.app_context(), new_session(app) as s:
        sid = s.scalars(select(SsoSession.id).where(SsoSession.user_id == user.id)).first()
    assert sid not in page  # the customer's cookie value is never shown to an admin
    assert "Rengasliike" in page and "given" in page and "consent screen" in page
    assert "proven in the checkpoint" in page and 'id="proof-alert"' not in page
    assert 'id="rights-form"' in page and 'id="erase-form"' not in page  # support: no erasure
    assert [e.target for e in _audit(app, "viewed") if e.target.startswith("customer:")] == [
        f"customer:{user.id}"
    ]


def test_a_tampered_event_shows_on_the_page(app, client, make_user, make_client):
    user = make_user()
    rp, _ = make_client()
    consent(client, rp, user.email)
    sequencer.drain(app)
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        (row,) = L.customer_rows(s, keys, user.id)
        dialect = s.get_bind().dialect.name
        # an attacker with the table owner's rights drops the append-only trigger first
        for stmt in drop_append_only_ddl(dialect, ["consent_events"], function=False):
            s.execute(text(stmt))
        row.claims = ["email", "phone_number"]
        s.flush()
        for stmt in append_only_ddl(dialect, ["consent_events"]):
            s.execute(text(stmt))
        s.commit()
    admin_client = app.test_client()
    session_for(app, admin_client, "support")
    page = _page(admin_client, user).data.decode()
    assert 'id="proof-alert"' in page and "altered after it was logged" in page


def test_a_rights_request_by_letter_is_an_admin_event_with_the_reason(
    app, client, make_user, make_client
):
    user = make_user()
    rp, _ = make_client(name="Autokorjaamo")
    consent(client, rp, user.email)
    admin_client = app.test_client()
    admin_id = session_for(app, admin_client, "support")
    target = f"{rp.client_id}|signin:{rp.client_id}"
    missing = _post(
        admin_client,
        user,
        "/rights",
        target=target,
        action="withdraw",
        received_by="letter",
        reason="  ",
    )
    assert "Give a reason" in admin_client.get(missing.headers["Location"]).data.decode()
    for bad in [
        {"target": "nobody|nothing"},
        {"target": f"{rp.client_id}|nothing"},
        {"action": "delete_everything"},
        {"received_by": "pigeon"},
        {"action": "object"},  # a consent is withdrawn, not objected to
        {"action": "lift_restriction"},
    ]:
        data = {"target": target, "action": "withdraw", "received_by": "letter", "reason": "r"}
        resp = _post(admin_client, user, "/rights", **{**data, **bad})
        assert "error=" in resp.headers["Location"], bad
        assert admin_client.get(resp.headers["Location"]).status_code == 200
    resp = _post(
        admin_client,
        user,
        "/rights",
        target=target,
        action="withdraw",
        received_by="letter",
        reason="Letter of 1 Dec 2026, archived as K-17",
    )
    assert "done=recorded" in resp.headers["Location"]
    again = _post(
        admin_client,
        user,
        "/rights",
        target=target,
        action="withdraw",
        received_by="phone",
        reason="asked again",
    )
    assert "done=unchanged" in again.headers["Location"]
    sequencer.drain(app)
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        rows = L.customer_rows(s, keys, user.id)
        last = rows[-1]
        assert (last.type, last.actor, last.channel) == ("withdrawn", "admin", "letter")
        details = L.details(s, keys, user.id, last)
        admin_email = s.get(Admin, admin_id).email
    assert details["reason"] == "Letter of 1 Dec 2026, archived as K-17"
    assert details["admin"] == admin_email
    page = _page(admin_client, user).data.decode()
    assert "withdrawn" in page and "letter" in page and "archived as K-17" in page
    entry, repeated = _audit(app, "rights_request")
    rp_purpose = target.replace("|", "/")
    assert repeated.reason == f"withdraw {rp_purpose} (phone), no change: asked again"
    assert (
        entry.target == f"customer:{user.id}"
        and "K-17" in entry.reason
        and "letter" in entry.reason
    )


def test_ending_one_session_and_all(app, make_user):
    user = make_user()
    browsers = [app.test_client() for _ in range(3)]
    for b in browsers:
        login(b, user.email)
    admin_client = app.test_client()
    session_for(app, admin_client, "support")
    page = _page(admin_client, user).data.decode()
    handles = re.findall(r"/sessions/([0-9a-f]{24})/end", page)
    assert len(handles) == 3
    resp = _post(admin_client, user, f"/sessions/{handles[0]}/end")
    assert "done=session_ended" in resp.headers["Location"]
    again = _post(admin_client, user, f"/sessions/{handles[0]}/end")
    assert "error=no_such_session" in again.headers["Location"]
    assert sum(b.get("/account/").status_code == 200 for b in browsers) == 2
    _post(admin_client, user, "/sessions/end-all")
    assert all(b.get("/account/").status_code != 200 for b in browsers)
    assert len(_audit(app, "session_ended")) == 1 and len(_audit(app, "sessions_ended")) == 1


def test_a_locked_customer_cannot_sign_in_by_password_or_passkey(app, make_user):
    user = make_user()
    customer = app.test_client()
    authenticator = register_passkey(customer, user)
    login(customer, user.email)
    assert customer.get("/account/").status_code == 200
    admin_client = app.test_client()
    session_for(app, admin_client, "support")
    no_reason = _post(admin_client, user, "/lock", reason="")
    assert "error=reason_required" in no_reason.headers["Location"]
    assert (
        "done=locked"
        in _post(admin_client, user, "/lock", reason="account taken over").headers["Location"]
    )
    assert customer.get("/account/").status_code != 200  # its session ended
    wrong = login(app.test_client(), user.email, "wrong password here")
    assert b"locked" not in wrong.data  # said only to whoever knows the password
    refused = login(app.test_client(), user.email)
    assert refused.status_code == 401 and b"locked" in refused.data
    resp, _ = passkey_sign_in(app.test_client(), authenticator)
    assert resp.status_code == 403 and resp.json["error"] == "locked"
    assert "sign-in locked" in admin_client.get(f"/admin/customers?q={user.email}").data.decode()
    assert (
        "error=already_locked" in _post(admin_client, user, "/lock", reason="x").headers["Location"]
    )

    assert (
        "done=unlocked"
        in _post(admin_client, user, "/unlock", reason="identity checked").headers["Location"]
    )
    assert login(app.test_client(), user.email).status_code == 302
    assert passkey_sign_in(app.test_client(), authenticator)[0].status_code == 200
    assert [e.reason for e in _audit(app, "sign_in_locked")] == ["account taken over"]
    assert [e.reason for e in _audit(app, "sign_in_unlocked")] == ["identity checked"]


def test_removing_a_lost_passkey(app, make_user):
    user = make_user()
    authenticator = register_passkey(app.test_client(), user)
    admin_client = app.test_client()
    session_for(app, admin_client, "support")
    page = _page(admin_client, user).data.decode()
    passkey_id = re.search(r'name="passkey_id" value="([^"]+)"', page).group(1)
    assert (
        "error=reason_required"
        in _post(admin_client, user, "/passkeys/remove", passkey_id=passkey_id).headers["Location"]
    )
    resp = _post(admin_client, user, "/passkeys/remove", passkey_id=passkey_id, reason="phone lost")
    assert "done=passkey_removed" in resp.headers["Location"]
    assert passkey_sign_in(app.test_client(), authenticator)[0].status_code == 401
    again = _post(admin_client, user, "/passkeys/remove", passkey_id=passkey_id, reason="x")
    assert "error=no_such_passkey" in again.headers["Location"]


def test_resend_verification_queues_the_letter(app, make_user, monkeypatch):
    # the outbox is held: a background send would clear the address before the check
    monkeypatch.setattr(outbox, "kick", lambda app: None)
    user = make_user(verified=False)
    admin_client = app.test_client()
    session_for(app, admin_client, "support")
    assert (
        "done=verification_sent"
        in _post(admin_client, user, "/resend-verification").headers["Location"]
    )
    with app.app_context(), new_session(app) as s:
        mails = s.scalars(select(Delivery).where(Delivery.url == f"mailto:{user.email}")).all()
    assert len(mails) == 1 and json.loads(mails[0].payload)["letter"] == "verify"
    _set(app, user.id, email_verified=True)
    assert (
        "error=already_verified"
        in _post(admin_client, user, "/resend-verification").headers["Location"]
    )


def test_export_is_the_customers_data_as_json(app, client, make_user, make_client):
    user = make_user(name="Eero Export")
    rp, _ = make_client()
    consent(client, rp, user.email)
    admin_client = app.test_client()
    session_for(app, admin_client, "privacy")
    assert "error=reason_required" in _post(admin_client, user, "/export").headers["Location"]
    resp = _post(admin_client, user, "/export", reason="Art. 15 request by letter")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert "attachment" in resp.headers["Content-Disposition"]
    data = resp.json
    assert data["profile"]["name"] == "Eero Export" and data["profile"]["email"] == user.email
    assert data["sessions"] and "password_hash" not in json.dumps(data)
    assert "disclosures" in data and "contributed_claims" in data
    assert [e.reason for e in _audit(app, "exported")] == ["Art. 15 request by letter"]
    support = app.test_client()
    session_for(app, support, "support")
    assert _post(support, user, "/export", reason="x").status_code == 403


def test_erasure_needs_a_fresh_passkey_and_deletes_as_the_customer_would(
    app, client, make_user, make_client, monkeypatch
):
    from datetime import timedelta

    from idp.admin import sessions

    user = make_user(email="poistettava@example.com")
    rp, _ = make_client()
    consent(client, rp, user.email)
    sequencer.drain(app)
    admin_client = app.test_client()
    session_for(app, admin_client, "privacy")
    later = sessions.clock() + timedelta(minutes=10)  # the sign-in's passkey is not fresh
    monkeypatch.setattr(sessions, "clock", lambda: later)
    stale = _post(
        admin_client,
        user,
        "/erase",
        reason="Art. 17",
        confirm=user.email,
        next=f"/admin/customers/{user.id}",
    )
    assert stale.headers["Location"].startswith("/admin/reverify")
    monkeypatch.undo()
    no_confirm = _post(admin_client, user, "/erase", reason="Art. 17", confirm="someone@else")
    assert "error=confirm_email" in no_confirm.headers["Location"]
    assert (
        "error=reason_required"
        in _post(admin_client, user, "/erase", confirm=user.email).headers["Location"]
    )
    resp = _post(admin_client, user, "/erase", reason="Art. 17 by letter", confirm=user.email)
    assert resp.headers["Location"].endswith("/admin/customers?done=erased")
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        assert s.get(User, user.id) is None
        assert L.customer_key(s, keys, user.id) is None  # the records no longer identify them
        assert L.verify(s, keys.origin).ok
    assert client.get("/account/").status_code != 200
    assert admin_client.get(f"/admin/customers/{user.id}").status_code == 404
    (entry,) = _audit(app, "erased")
    assert entry.target == f"customer:{user.id}" and entry.reason == "Art. 17 by letter"
