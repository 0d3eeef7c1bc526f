"""The admins' audit log: what it records, and `idp audit verify` naming the first entry
edited, rewritten or deleted directly in the database (SQLite and PostgreSQL)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from consent import merkle
from idp.admin import audit
from idp.db import new_session
from idp.models import AdminAuditEntry
from idp.models.admins import append_only_ddl, drop_append_only_ddl
from tests.admin.conftest import run
from tests.admin.console import enrolled, sign_in


def _log(app, n=5):
    """``n`` entries recorded as the console records them."""
    with app.app_context():
        s = new_session(app)
        for i in range(n):
            audit.record(s, None, "viewed", f"customer:{i}", "a letter" if i % 2 else None)
        s.commit()
        s.close()


def _sql(app, stmt, **params):
    """Edit the log as only someone who can lift its triggers can (a database superuser)."""
    with app.app_context():
        s = new_session(app)
        dialect = s.get_bind().dialect.name
        for ddl in drop_append_only_ddl(dialect):
            s.execute(text(ddl))
        s.execute(text(stmt), params)
        for ddl in append_only_ddl(dialect):
            s.execute(text(ddl))
        s.commit()
        s.close()


@pytest.mark.parametrize(
    "stmt",
    [
        "UPDATE admin_audit_entries SET reason = 'x' WHERE seq = 1",
        "DELETE FROM admin_audit_entries WHERE seq = 1",
        "UPDATE admin_audit_checkpoints SET note = 'x' WHERE size = 1",
        "DELETE FROM admin_audit_checkpoints",
    ],
)
def test_the_database_refuses_to_change_the_log(app, stmt):
    _log(app, 1)
    with app.app_context():
        s = new_session(app)
        with pytest.raises(DatabaseError, match="append-only"):
            s.execute(text(stmt))
        s.rollback()
        s.close()


def test_sign_ins_and_failures_and_views_are_recorded_and_verify(app, client, cli_env):
    _, authenticator = enrolled(app, client, "auditor", "eve@example.com")
    sign_in(client, authenticator)
    client.get("/admin/")
    client.delete_cookie("avain_admin", path="/admin")
    sign_in(client, authenticator, uv=False)
    with app.app_context():
        s = new_session(app)
        rows = list(s.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq)))
        s.close()
    assert [(r.action, r.role) for r in rows] == [
        ("enrolled", "auditor"),
        ("signed_in", "auditor"),
        ("signed_in", "auditor"),
        ("viewed", "auditor"),
        ("sign_in_failed", "auditor"),
    ]
    assert [r.seq for r in rows] == [1, 2, 3, 4, 5]
    ok = run(cli_env, "audit", "verify")
    assert ok.exit_code == 0, ok.output
    assert "ok: 5 entries, 5 signed checkpoints" in ok.stdout


def test_checkpoints_are_signed_notes_of_the_recomputed_tree(app):
    _log(app, 3)
    with app.app_context():
        s = new_session(app)
        rows = list(s.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq)))
        leaves = [merkle.leaf_hash(audit.leaf_data(r)) for r in rows]
        cp = merkle.verify_checkpoint(
            audit.latest_checkpoint(s).note, audit.public_key(s), audit.KEY_NAME
        )
        s.close()
    assert cp.origin == "localhost/admin-audit-log"
    assert cp.size == 3 and cp.root == merkle.root(leaves)


def test_an_edited_entry_is_named(app, cli_env):
    _log(app)
    _sql(app, "UPDATE admin_audit_entries SET reason = 'nothing to see' WHERE seq = 3")
    bad = run(cli_env, "audit", "verify")
    assert bad.exit_code == 1
    assert "first bad entry: 3" in bad.stderr
    assert "entry 3: its contents do not match its leaf hash" in bad.stderr


def test_an_entry_rewritten_with_its_leaf_hash_is_named(app, cli_env):
    """Whoever edits the row and recomputes its leaf hash still breaks the signed roots."""
    _log(app)
    with app.app_context():
        s = new_session(app)
        row = s.get(AdminAuditEntry, 2)
        row.target = "customer:someone-else"
        forged = merkle.leaf_hash(audit.leaf_data(row)).hex()
        s.rollback()
        s.close()
    _sql(
        app,
        "UPDATE admin_audit_entries SET target = 'customer:someone-else', leaf_hash = :h "
        "WHERE seq = 2",
        h=forged,
    )
    bad = run(cli_env, "audit", "verify")
    assert bad.exit_code == 1
    assert "first bad entry: 2" in bad.stderr
    assert "signed checkpoint of size 2 has another root" in bad.stderr


def test_a_deleted_entry_is_named(app, cli_env):
    _log(app)
    _sql(app, "DELETE FROM admin_audit_entries WHERE seq = 4")
    bad = run(cli_env, "audit", "verify")
    assert bad.exit_code == 1 and "first bad entry: 4" in bad.stderr


def test_a_forged_checkpoint_is_named(app, cli_env):
    _log(app, 2)
    _sql(
        app,
        "UPDATE admin_audit_checkpoints SET root = :r WHERE size = 2",
        r=hashlib.sha256(b"x").hexdigest(),
    )
    bad = run(cli_env, "audit", "verify")
    assert bad.exit_code == 1 and "first bad entry: 2" in bad.stderr


def test_the_audit_page_filters_exports_and_verifies(app, client):
    import json

    from tests.admin.console import meta_csrf, session_for

    _log(app, 3)
    session_for(app, client, "auditor")
    page = client.get("/admin/audit").data.decode()
    assert "customer:2" in page and "operator (command line)" in page
    filtered = client.get("/admin/audit?action=signed_in").data.decode()
    assert "customer:2" not in filtered
    export = client.get("/admin/audit/export?action=viewed")
    assert export.mimetype == "application/x-ndjson"
    lines = [json.loads(x) for x in export.data.decode().splitlines()]
    assert [x["target"] for x in lines[:-1]] == [
        "customer:0",
        "customer:1",
        "customer:2",
        "audit_log",  # the page
        "audit_log",  # the filtered page
    ]
    assert lines[-1]["checkpoint"].startswith("localhost/admin-audit-log\n")
    csrf = meta_csrf(client, "/admin/audit")
    ok = client.post("/admin/audit/verify", data={"csrf_token": csrf}).data.decode()
    assert "The log verifies" in ok
    _sql(app, "UPDATE admin_audit_entries SET action = 'nothing' WHERE seq = 2")
    bad = client.post("/admin/audit/verify", data={"csrf_token": csrf}).data.decode()
    assert "First bad entry: 2." in bad
