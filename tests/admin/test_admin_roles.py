"""Owners invite admins and change their roles (issue 12: role changes are dangerous): from
the console behind a fresh passkey, from the API with ``admin:dangerous``, and with
``idp admins role``. The admin's sessions end at a change; nobody changes their own role;
the last active owner stays one; every change is in the audit log with its reason."""

from __future__ import annotations

from sqlalchemy import select

from idp.admin import accounts
from idp.db import new_session, utcnow
from idp.models import Admin, AdminAuditEntry, AdminSession, Role
from tests.admin.api.client import API, bearer
from tests.admin.conftest import run
from tests.admin.console import enrol, invite, meta_csrf, session_for


def _admin(app, admin_id):
    with app.app_context(), new_session(app) as s:
        found = s.get(Admin, admin_id)
        assert found is not None
        s.expunge(found)
        return found


def _entries(app, action):
    with app.app_context(), new_session(app) as s:
        return list(
            s.scalars(select(AdminAuditEntry).where(AdminAuditEntry.action == action)).all()
        )


def _open_sessions(app, admin_id):
    with app.app_context(), new_session(app) as s:
        return s.scalars(
            select(AdminSession.token_hash).where(
                AdminSession.admin_id == admin_id, AdminSession.ended_at.is_(None)
            )
        ).all()


def test_an_owner_changes_a_role_and_the_admins_sessions_end(app, client, make_user):
    target_id, _ = invite(app, "support", "tuki@example.com")
    other = app.test_client()
    session_for(app, other, "support")  # someone else's session stays
    with app.app_context(), new_session(app) as s:
        from idp.admin import sessions

        sessions.start(s, s.get(Admin, target_id), sessions.clock())
        s.commit()
    assert _open_sessions(app, target_id)
    owner_id = session_for(app, client, "owner")
    csrf = meta_csrf(client, "/admin/admins")
    form = {"csrf_token": csrf, "role": "privacy", "reason": "Joined the DPO's team"}
    resp = client.post(f"/admin/admins/{target_id}/role", data=form)
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/admins"
    assert _admin(app, target_id).role == "privacy"
    assert _open_sessions(app, target_id) == []
    (entry,) = _entries(app, "admin_role_changed")
    assert entry.target == "admin:tuki@example.com"
    assert entry.reason == "support->privacy: Joined the DPO's team"
    assert entry.admin_id == owner_id

    # not their own, not without a reason, not a role that does not exist
    for target, data, error in (
        (owner_id, form, "not_your_own_role"),
        (target_id, form | {"reason": "  "}, "reason_required"),
        (target_id, form | {"role": "root"}, "invalid_role"),
        (target_id, form, "same_role"),
    ):
        refused = client.post(f"/admin/admins/{target}/role", data=data)
        assert refused.headers["Location"] == f"/admin/admins?error={error}", error
    assert client.post("/admin/admins/nobody/role", data=form).status_code == 404
    assert _admin(app, owner_id).role == "owner"
    assert len(_entries(app, "admin_role_changed")) == 1


def test_the_last_owner_stays_an_owner(app):
    owner_id, _ = invite(app, "owner", "ainoa@example.com")
    with app.app_context(), new_session(app) as s:
        owner = s.get(Admin, owner_id)
        try:
            accounts.change_role(s, owner, Role.AUDITOR, utcnow())
        except accounts.AdminError as exc:
            assert exc.code == "last_owner"
        else:
            raise AssertionError("the last owner was demoted")
        second = accounts.create(s, "toinen@example.com", Role.OWNER, None, utcnow()).admin
        assert accounts.change_role(s, owner, Role.AUDITOR, utcnow()) == "owner"
        try:
            accounts.change_role(s, second, Role.SUPPORT, utcnow())
        except accounts.AdminError as exc:
            assert exc.code == "last_owner"
        else:
            raise AssertionError("the last owner was demoted")


def test_an_owner_invites_an_admin_who_enrols_with_the_link(app, client):
    session_for(app, client, "owner")
    csrf = meta_csrf(client, "/admin/admins")
    form = {
        "csrf_token": csrf,
        "email": "Uusi@Example.com",
        "name": "Uusi Ylläpitäjä",
        "role": "auditor",
        "reason": "External audit 2027",
    }
    page = client.post("/admin/admins/invite", data=form)
    assert page.status_code == 200
    html = page.data.decode()
    link = html.split('id="enrolment-link">', 1)[1].split("<", 1)[0]
    assert link.startswith("http://localhost/admin/enrol/")
    (entry,) = _entries(app, "admin_invited")
    assert (
        entry.target == "admin:uusi@example.com" and entry.reason == "auditor: External audit 2027"
    )
    assert link.rsplit("/", 1)[1] not in (entry.reason or "")  # the link is never logged

    again = client.post("/admin/admins/invite", data=form)
    assert again.headers["Location"] == "/admin/admins?error=exists"
    bad = client.post("/admin/admins/invite", data=form | {"email": "not an address"})
    assert bad.headers["Location"] == "/admin/admins?error=invalid_email"

    newcomer = app.test_client()
    _, resp = enrol(newcomer, link.rsplit("/", 1)[1])
    assert resp.status_code == 200, resp.json
    assert newcomer.get("/admin/audit").status_code == 200  # an auditor
    assert newcomer.get("/admin/admins").status_code == 200
    assert newcomer.post(
        "/admin/admins/invite", data=form | {"csrf_token": meta_csrf(newcomer, "/admin/")}
    ).status_code in (302, 403)
    assert len(_entries(app, "admin_invited")) == 1


def test_the_api_needs_the_dangerous_scope(app, client, api_token):
    target_id, _ = invite(app, "support", "api-tuki@example.com")
    token, _ = api_token("owner")
    body = {"role": "partners", "reason": "Moved to partner management"}
    refused = client.post(f"{API}/admins/{target_id}/role", json=body, headers=bearer(token))
    assert refused.status_code == 403
    assert _admin(app, target_id).role == "support"

    dangerous, client_id = api_token("owner", dangerous=True, scope="admin:owner admin:dangerous")
    done = client.post(f"{API}/admins/{target_id}/role", json=body, headers=bearer(dangerous))
    assert done.status_code == 200, done.json
    assert done.json["role"] == "partners"
    again = client.post(f"{API}/admins/{target_id}/role", json=body, headers=bearer(dangerous))
    assert again.status_code == 409 and again.json["code"] == "same_role"

    made = client.post(
        f"{API}/admins",
        json={"email": "api-uusi@example.com", "role": "support", "reason": "New hire"},
        headers=bearer(dangerous),
    )
    assert made.status_code == 201, made.json
    assert made.json["admin"]["role"] == "support"
    assert "/admin/enrol/" in made.json["enrolment_link"]
    (entry,) = _entries(app, "admin_invited")
    assert entry.api_client_id == client_id


def test_the_command_line(app, cli_env):
    invite(app, "support", "cli-tuki@example.com")
    done = run(cli_env, "admins", "role", "cli-tuki@example.com", "auditor", "--reason", "audit")
    assert done.exit_code == 0 and "support -> auditor" in done.stdout
    same = run(cli_env, "admins", "role", "cli-tuki@example.com", "auditor")
    assert same.exit_code == 1 and "auditor already" in same.output
    unknown = run(cli_env, "admins", "role", "nobody@example.com", "auditor")
    assert unknown.exit_code == 1


def test_nobody_disables_the_last_owner(app, client, cli_env, api_token):
    """Not an owner API client (it could lock every owner out), not the command line."""
    owner_id, _ = invite(app, "owner", "viimeinen@example.com")
    dangerous, _ = api_token("owner", dangerous=True, scope="admin:owner admin:dangerous")
    body = {"reason": "taking over"}
    refused = client.post(f"{API}/admins/{owner_id}/disable", json=body, headers=bearer(dangerous))
    assert refused.status_code == 409 and refused.json["code"] == "last_owner"
    cli = run(cli_env, "admins", "disable", "viimeinen@example.com")
    assert cli.exit_code == 1 and "last active owner" in cli.output
    assert _admin(app, owner_id).active

    invite(app, "owner", "toinen-omistaja@example.com")
    done = client.post(f"{API}/admins/{owner_id}/disable", json=body, headers=bearer(dangerous))
    assert done.status_code == 200 and done.json["status"] == "disabled"
