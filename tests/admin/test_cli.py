"""`idp admins create|list|disable`: the enrolment link printed once, and working."""

from __future__ import annotations

import json

from sqlalchemy import select

from idp.db import new_session
from idp.models import AdminAuditEntry
from tests.admin.conftest import run
from tests.admin.console import enrol


def test_create_prints_a_link_that_enrols_the_first_owner(app, client, cli_env):
    made = run(cli_env, "admins", "create", "--email", "Owner@Example.com", "--role", "owner")
    assert made.exit_code == 0, made.output
    assert "created owner@example.com (owner)" in made.stdout
    link = made.stdout.strip().splitlines()[-1]
    assert link.startswith("http://localhost/admin/enrol/")
    token = link.rsplit("/", 1)[1]
    _, resp = enrol(client, token)
    assert resp.status_code == 200, resp.json
    assert client.get("/admin/admins").status_code == 200
    listed = json.loads(run(cli_env, "admins", "list", "--json").stdout)
    assert [(a["email"], a["role"], a["status"]) for a in listed] == [
        ("owner@example.com", "owner", "active")
    ]
    assert listed[0]["last_sign_in_at"]


def test_emails_are_unique_whatever_their_case(app, cli_env):
    assert (
        run(cli_env, "admins", "create", "--email", "a@example.com", "--role", "support").exit_code
        == 0
    )
    again = run(cli_env, "admins", "create", "--email", "A@EXAMPLE.com", "--role", "owner")
    assert again.exit_code == 1 and "exists" in again.output
    bad = run(cli_env, "admins", "create", "--email", "a@example.com", "--role", "root")
    assert bad.exit_code == 2


def test_disable_ends_the_admin_and_is_audited(app, client, cli_env):
    made = run(cli_env, "admins", "create", "--email", "s@example.com", "--role", "support")
    token = made.stdout.strip().rsplit("/", 1)[1]
    enrol(client, token)
    assert client.get("/admin/").status_code == 200
    done = run(cli_env, "admins", "disable", "S@example.com", "--reason", "left the company")
    assert done.exit_code == 0 and "disabled s@example.com" in done.stdout
    assert client.get("/admin/").status_code == 302
    assert "disabled" in run(cli_env, "admins", "list").stdout
    assert run(cli_env, "admins", "disable", "s@example.com").exit_code == 1
    assert run(cli_env, "admins", "disable", "nobody@example.com").exit_code == 1
    with app.app_context():
        s = new_session(app)
        actions = [(e.action, e.target, e.reason) for e in s.scalars(select(AdminAuditEntry))]
        s.close()
    assert ("admin_created", "admin:s@example.com", "role support") in actions
    assert ("admin_disabled", "admin:s@example.com", "left the company") in actions
    assert run(cli_env, "audit", "verify").exit_code == 0


def test_link_gives_a_new_link_and_ends_the_old_one(app, client, cli_env):
    made = run(cli_env, "admins", "create", "--email", "p@example.com", "--role", "partners")
    old = made.stdout.strip().rsplit("/", 1)[1]
    again = run(cli_env, "admins", "link", "P@example.com")
    assert again.exit_code == 0, again.output
    new = again.stdout.strip().rsplit("/", 1)[1]
    assert new != old
    assert client.get(f"/admin/enrol/{old}").status_code == 410
    _, resp = enrol(client, new)
    assert resp.status_code == 200, resp.json
    assert run(cli_env, "admins", "link", "nobody@example.com").exit_code == 1
    run(cli_env, "admins", "disable", "p@example.com")
    assert run(cli_env, "admins", "link", "p@example.com").exit_code == 1


def test_link_replace_removes_a_lost_passkey(app, client, cli_env):
    from tests.admin.console import sign_in

    made = run(cli_env, "admins", "create", "--email", "o@example.com", "--role", "owner")
    lost, _ = enrol(client, made.stdout.strip().rsplit("/", 1)[1])
    assert client.get("/admin/").status_code == 200
    again = run(cli_env, "admins", "link", "o@example.com", "--replace")
    assert again.exit_code == 0, again.output
    assert client.get("/admin/").status_code == 302  # the session ended
    assert sign_in(client, lost).json["error"] == "unknown_passkey"
    new, resp = enrol(client, again.stdout.strip().rsplit("/", 1)[1])
    assert resp.status_code == 200
    client.delete_cookie("avain_admin", path="/admin")
    assert sign_in(client, new).status_code == 200
    with app.app_context():
        s = new_session(app)
        reasons = [
            e.reason for e in s.scalars(select(AdminAuditEntry)) if e.action == "enrolment_link"
        ]
        s.close()
    assert reasons == ["replacing 1 passkeys"]


def test_api_client_create_prints_a_secret_that_gets_a_token(app, client, cli_env):
    from tests.admin.api.client import API, bearer, token_response

    made = run(
        cli_env, "admins", "api-client", "create", "--name", "DPO  reports", "--role", "auditor"
    )
    assert made.exit_code == 0, made.output
    assert "created admin API client 'DPO reports' (auditor)" in made.stdout
    lines = dict(
        line.split(":", 1) for line in made.stdout.splitlines() if line.startswith("client_")
    )
    client_id, secret = lines["client_id"].strip(), lines["client_secret"].strip()
    token = token_response(client, client_id, secret).json
    assert token["scope"] == "admin:auditor"
    assert (
        client.get(f"{API}/audit/entries", headers=bearer(token["access_token"])).status_code == 200
    )
    listed = json.loads(run(cli_env, "admins", "api-client", "list", "--json").stdout)
    assert [
        (c["client_id"], c["name"], c["role"], c["dangerous"], c["status"]) for c in listed
    ] == [(client_id, "DPO reports", "auditor", False, "active")]
    assert secret not in run(cli_env, "admins", "api-client", "list").stdout
    done = run(cli_env, "admins", "api-client", "disable", client_id, "--reason", "rotated")
    assert done.exit_code == 0 and "1 live tokens revoked" in done.stdout
    assert (
        client.get(f"{API}/audit/entries", headers=bearer(token["access_token"])).status_code == 401
    )
    assert run(cli_env, "admins", "api-client", "disable", client_id).exit_code == 1
    assert run(cli_env, "admins", "api-client", "disable", "nope").exit_code == 1
    bad = run(cli_env, "admins", "api-client", "create", "--name", "x", "--role", "root")
    assert bad.exit_code == 2
    with app.app_context():
        s = new_session(app)
        actions = [(e.action, e.target, e.reason) for e in s.scalars(select(AdminAuditEntry))]
        s.close()
    assert ("api_client_created", f"api_client:{client_id}", "role auditor") in actions
    assert ("api_client_disabled", f"api_client:{client_id}", "rotated") in actions
    assert run(cli_env, "audit", "verify").exit_code == 0


def test_api_client_create_with_dangerous(cli_env):
    made = run(
        cli_env, "admins", "api-client", "create", "--name", "ops", "--role", "owner", "--dangerous"
    )
    assert made.exit_code == 0 and "(owner, dangerous)" in made.stdout
    assert "+dangerous" in run(cli_env, "admins", "api-client", "list").stdout
    blank = run(cli_env, "admins", "api-client", "create", "--name", "  ", "--role", "owner")
    assert blank.exit_code == 1 and "name_required" in blank.output
