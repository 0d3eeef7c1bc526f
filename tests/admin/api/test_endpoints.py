"""The first operations of the admin API: what each returns, what it changes, what it
records, each against the same services as the console."""

from __future__ import annotations

from sqlalchemy import select

from idp.admin import accounts, audit
from idp.db import new_session, utcnow
from idp.models import Admin, AdminAuditEntry, Role
from tests.admin.api.client import API, bearer
from tests.admin.api.test_auth import problem
from tests.admin.test_audit import _log, _sql


def _entries(app) -> list[AdminAuditEntry]:
    with app.app_context():
        s = new_session(app)
        found = list(s.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq)))
        s.expunge_all()
        s.close()
    return found


def _admin(app, role: str = "support", email: str = "s@example.com") -> str:
    with app.app_context():
        s = new_session(app)
        made = accounts.create(s, email, Role(role), "Sanna", utcnow())
        s.commit()
        admin_id = made.admin.id
        s.close()
    return admin_id


def test_overview_gives_the_consoles_figures(client, api_token, make_user):
    make_user()
    make_user()
    value, _ = api_token("support")
    body = client.get(f"{API}/overview", headers=bearer(value)).json
    assert body["customers"] == 2
    assert {(e["type"], e["days"]) for e in body["endings"]} == {
        ("withdrawn", 7),
        ("withdrawn", 30),
        ("objection", 7),
        ("objection", 30),
    }
    assert body["logouts_waiting"] == 0 and body["queued_events"] == 0
    assert body["ledger_checkpoint"] is None or body["ledger_checkpoint"]["size"] >= 0


def test_audit_entries_filter_and_page(app, client, api_token):
    _log(app, 7)  # seven operator entries: viewed customer:0..6
    value, client_id = api_token("auditor")
    h = bearer(value)
    first = client.get(f"{API}/audit/entries?action=viewed&limit=3", headers=h).json
    assert [e["target"] for e in first["entries"]] == ["customer:6", "customer:5", "customer:4"]
    assert first["next_before"] == first["entries"][-1]["seq"]
    assert first["checkpoint"]["size"] >= 7 and first["checkpoint"]["note"]
    second = client.get(
        f"{API}/audit/entries?action=viewed&limit=3&before={first['next_before']}", headers=h
    ).json
    assert [e["target"] for e in second["entries"]] == ["customer:3", "customer:2", "customer:1"]
    # the API's own reads are entries too, with the client as the actor
    mine = client.get(f"{API}/audit/entries?api_client={client_id}", headers=h).json
    assert [e["action"] for e in mine["entries"]] == ["viewed", "viewed"]
    assert all(
        e["api_client_id"] == client_id and e["admin_email"] is None for e in mine["entries"]
    )
    assert all(e["role"] == "auditor" for e in mine["entries"])
    assert mine["next_before"] is None
    none = client.get(f"{API}/audit/entries?admin=nobody@example.com", headers=h).json
    assert none == {"entries": [], "next_before": None, "checkpoint": none["checkpoint"]}


def test_audit_verify_says_ok_and_names_an_edited_entry(app, client, api_token):
    _log(app, 4)
    value, _ = api_token("auditor")
    body = client.post(f"{API}/audit/verify", headers=bearer(value)).json
    assert body["ok"] is True and body["first_bad"] is None and body["problems"] == []
    assert body["entries"] == 4  # verified before its own entry is recorded
    _sql(app, "UPDATE admin_audit_entries SET reason = 'nothing to see' WHERE seq = 2")
    body = client.post(f"{API}/audit/verify", headers=bearer(value)).json
    assert body["ok"] is False and body["first_bad"] == 2
    assert body["problems"][0] == {"seq": 2, "problem": "its contents do not match its leaf hash"}
    assert _entries(app)[-1].action == "verified" and _entries(app)[-1].reason == "problems"


def test_an_edited_api_client_in_an_entry_is_named(app, client, api_token, cli_env):
    from tests.admin.conftest import run

    value, client_id = api_token("owner")
    assert client.get(f"{API}/admins", headers=bearer(value)).status_code == 200
    entry = _entries(app)[-1]
    assert entry.api_client_id == client_id
    assert run(cli_env, "audit", "verify").exit_code == 0
    # moving the act to someone else, or to nobody, changes the leaf either way
    _sql(app, "UPDATE admin_audit_entries SET api_client_id = NULL WHERE seq = :s", s=entry.seq)
    bad = run(cli_env, "audit", "verify")
    assert bad.exit_code == 1 and f"first bad entry: {entry.seq}" in bad.stderr


def test_admins_lists_them_for_an_auditor(app, client, api_token):
    admin_id = _admin(app)
    value, _ = api_token("auditor")
    body = client.get(f"{API}/admins", headers=bearer(value)).json
    assert [(a["id"], a["email"], a["role"], a["status"]) for a in body["admins"]] == [
        (admin_id, "s@example.com", "support", "active")
    ]
    assert (_entries(app)[-1].action, _entries(app)[-1].target) == ("viewed", "admins")


def test_disabling_an_admin_needs_admin_dangerous(app, client, api_token):
    admin_id = _admin(app)
    url = f"{API}/admins/{admin_id}/disable"
    # an owner client without the right to dangerous operations
    plain, _ = api_token("owner")
    problem(
        client.post(url, json={"reason": "left"}, headers=bearer(plain)),
        403,
        "dangerous_scope_required",
    )
    # allowed it, but did not ask for it in this token
    unasked, _ = api_token("owner", dangerous=True)
    resp = client.post(url, json={"reason": "left"}, headers=bearer(unasked))
    problem(resp, 403, "dangerous_scope_required")
    assert 'scope="admin:dangerous"' in resp.headers["WWW-Authenticate"]
    with app.app_context():
        s = new_session(app)
        assert s.get(Admin, admin_id).active
        s.close()


def test_disabling_an_admin_with_a_dangerous_token(app, client, api_token, make_api_client):
    from tests.admin.api.client import token_response

    admin_id = _admin(app)
    client_id, secret = make_api_client("owner", dangerous=True)
    resp = token_response(client, client_id, secret, "admin:dangerous")
    assert resp.json["scope"] == "admin:owner admin:dangerous"
    assert resp.json["expires_in"] == 300  # the console's fresh-passkey window
    h = bearer(resp.json["access_token"])
    url = f"{API}/admins/{admin_id}/disable"
    done = client.post(url, json={"reason": "  left   the company "}, headers=h)
    assert done.status_code == 200, done.json
    assert done.json["status"] == "disabled" and done.json["id"] == admin_id
    last = _entries(app)[-1]
    assert (last.action, last.target, last.reason, last.api_client_id) == (
        "admin_disabled",
        "admin:s@example.com",
        "left the company",
        client_id,
    )
    problem(client.post(url, json={"reason": "again"}, headers=h), 409, "already_disabled")
    problem(
        client.post(f"{API}/admins/nobody/disable", json={"reason": "x"}, headers=h),
        404,
        "not_found",
    )
    # a partners client has no admins.manage, dangerous or not
    partners, _ = api_token("partners", dangerous=True, scope="admin:dangerous")
    problem(
        client.post(url, json={"reason": "x"}, headers=bearer(partners)), 403, "insufficient_scope"
    )


def test_a_failed_operation_changes_nothing(app, client, make_api_client, monkeypatch):
    """A fault after the service ran rolls the whole call back: no half-done change, and
    no entry claiming it happened."""
    from tests.admin.api.client import token_response

    admin_id = _admin(app)
    client_id, secret = make_api_client("owner", dangerous=True)
    token = token_response(client, client_id, secret, "admin:dangerous").json["access_token"]
    before = len(_entries(app))

    def broken(*args, **kwargs):
        raise RuntimeError("the disk is full")

    monkeypatch.setattr(audit, "append", broken)
    resp = client.post(
        f"{API}/admins/{admin_id}/disable", json={"reason": "x"}, headers=bearer(token)
    )
    problem(resp, 500, "server_error")
    monkeypatch.undo()
    with app.app_context():
        s = new_session(app)
        assert s.get(Admin, admin_id).active
        s.close()
    assert len(_entries(app)) == before


def test_api_clients_are_listed_without_secrets_and_can_be_disabled(
    app, client, make_api_client, api_token
):
    from tests.admin.api.client import token_response

    other_id, other_secret = make_api_client("support", name="Helpdesk bot")
    held = token_response(client, other_id, other_secret).json["access_token"]
    owner_id, owner_secret = make_api_client("owner", dangerous=True, name="Ops")
    token = token_response(client, owner_id, owner_secret, "admin:dangerous").json["access_token"]
    listed = client.get(f"{API}/api-clients", headers=bearer(token)).json["api_clients"]
    assert [(c["name"], c["role"], c["dangerous"], c["status"]) for c in listed] == [
        ("Helpdesk bot", "support", False, "active"),
        ("Ops", "owner", True, "active"),
    ]
    assert other_secret not in str(listed)
    url = f"{API}/api-clients/{other_id}/disable"
    done = client.post(url, json={"reason": "secret leaked"}, headers=bearer(token))
    assert done.status_code == 200 and done.json["status"] == "disabled"
    assert done.json["disabled_at"]
    problem(client.get(f"{API}/overview", headers=bearer(held)), 401, "invalid_token")
    problem(client.post(url, json={"reason": "x"}, headers=bearer(token)), 409, "already_disabled")
    last = _entries(app)[-1]
    assert (last.action, last.target, last.reason, last.api_client_id) == (
        "api_client_disabled",
        f"api_client:{other_id}",
        "secret leaked",
        owner_id,
    )
    # an auditor sees them, and may disable none
    auditor, _ = api_token("auditor")
    assert client.get(f"{API}/api-clients", headers=bearer(auditor)).status_code == 200
    resp = client.post(
        f"{API}/api-clients/{owner_id}/disable", json={"reason": "x"}, headers=bearer(auditor)
    )
    problem(resp, 403, "insufficient_scope")
