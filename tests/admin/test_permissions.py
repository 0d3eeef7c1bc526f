"""Every /admin route declares its permission, refuses a visitor, and refuses each role that
its permission is not given to: found by walking the application's whole URL map."""

from __future__ import annotations

import pytest
from flask import Flask

from idp.admin.roles import PERMISSIONS, PUBLIC, Permission, allows, declared
from idp.models import Role
from tests.admin.console import meta_csrf, session_for

SAMPLE = {
    "token": "not-a-real-token",
    "admin_id": "00000000-0000-0000-0000-000000000000",
    "client_id": "no-such-client",
    "recipient_id": "no-such-partner",
    "partner_id": "no-such-partner",
    "purpose_id": "no-such-purpose",
    "complaint_id": "00000000-0000-0000-0000-000000000000",
    "customer_id": "00000000-0000-0000-0000-000000000000",
    "handle": "0123456789abcdef01234567",
}
API = "/admin/api/"  # the admin API: bearer tokens with admin scopes instead of the session


def admin_routes(app: Flask, api: bool = False) -> list[tuple[str, str, str | None]]:
    """(method, path, declared permission) of every rule under /admin: the console's, or
    with ``api`` the admin API's."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/admin") or rule.rule.startswith(API) != api:
            continue
        path = rule.build({k: SAMPLE[k] for k in rule.arguments}, append_unknown=False)[1]
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, path, declared(app.view_functions[rule.endpoint])))
    return found


def call(client, method, path, csrf):
    if method == "GET":
        return client.get(path)
    return client.post(path, data={"csrf_token": csrf, "reason": "test"})


def test_every_admin_route_declares_a_permission(app):
    routes = admin_routes(app) + admin_routes(app, api=True)
    assert len(routes) >= 15
    undeclared = [(m, p) for m, p, d in routes if d is None]
    assert not undeclared, f"routes without a declared permission: {undeclared}"
    public = sorted(p for _, p, d in routes if d == PUBLIC)
    allowed = ("/admin/sign-in", "/admin/enrol/", "/admin/api/v1/openapi.json")
    assert all(p.startswith(allowed) for p in public), public


def test_a_visitor_is_refused_everywhere_but_sign_in(app, client):
    csrf = meta_csrf(client)
    for method, path, permission in admin_routes(app):
        if permission == PUBLIC:
            continue
        resp = call(client, method, path, csrf)
        if method == "GET":
            assert resp.status_code == 302, (method, path)
            assert resp.headers["Location"].startswith("/admin/sign-in"), (method, path)
        else:
            assert resp.status_code == 401, (method, path, resp.status_code)


def call_api(client, method, path, token=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if method == "GET":
        return client.get(path, headers=headers)
    return client.open(path, method=method, json={"reason": "test"}, headers=headers)


def test_the_api_refuses_a_call_without_a_token_everywhere(app, client):
    routes = [r for r in admin_routes(app, api=True) if r[2] != PUBLIC]
    assert len(routes) >= 4
    for method, path, _ in routes:
        resp = call_api(client, method, path)
        assert resp.status_code == 401, (method, path, resp.status_code)
        assert resp.mimetype == "application/problem+json", (method, path)


@pytest.mark.parametrize("role", list(Role))
def test_each_api_scope_gets_exactly_its_permissions(app, client, role, api_token):
    """A token of each role (with admin:dangerous, so that only the role decides) is refused
    exactly the routes whose permission its role lacks."""
    token, _ = api_token(role.value, dangerous=True, scope=f"admin:{role.value} admin:dangerous")
    checked = 0
    for method, path, permission in admin_routes(app, api=True):
        if permission == PUBLIC:
            continue
        resp = call_api(client, method, path, token)
        if allows(role, Permission(permission)):
            assert resp.status_code not in (401, 403), (role, method, path, resp.json)
        else:
            assert resp.status_code == 403, (role, method, path, resp.status_code)
            assert resp.json["code"] == "insufficient_scope"
            checked += 1
    assert role == Role.OWNER or checked, f"{role} was refused nothing"


@pytest.mark.parametrize("role", list(Role))
def test_each_role_gets_exactly_its_permissions(app, client, role):
    session_for(app, client, role.value)
    csrf = meta_csrf(client, "/admin/reverify")
    checked = 0
    for method, path, permission in admin_routes(app):
        if permission == PUBLIC or path == "/admin/sign-out":
            continue
        resp = call(client, method, path, csrf)
        if allows(role, Permission(permission)):
            assert resp.status_code not in (401, 403), (role, method, path, resp.status_code)
            assert not resp.headers.get("Location", "").startswith("/admin/sign-in")
        else:
            assert resp.status_code == 403, (role, method, path, resp.status_code)
            checked += 1
    assert role == Role.OWNER or checked, f"{role} was refused nothing"


def test_the_roles_are_as_issue_12_gives_them():
    p = PERMISSIONS
    assert p[Role.SUPPORT] < p[Role.PRIVACY]  # privacy: all of support and more
    assert Permission.CUSTOMERS_ERASE in p[Role.PRIVACY] - p[Role.SUPPORT]
    assert Permission.COMPLAINTS_MANAGE in p[Role.PRIVACY]
    assert Permission.CLIENTS_MANAGE in p[Role.PARTNERS]
    assert Permission.CUSTOMERS_VIEW not in p[Role.PARTNERS]
    # auditor: read-only everywhere, and the audit log
    assert Permission.AUDIT_VIEW in p[Role.AUDITOR]
    assert not [x for x in p[Role.AUDITOR] if x.value.endswith((".manage", ".erase"))]
    assert {x for x in Permission if x.value.endswith(".view")} <= p[Role.AUDITOR]
    assert p[Role.OWNER] == frozenset(Permission)
    assert Permission.ADMINS_MANAGE not in set().union(*(p[r] for r in Role if r is not Role.OWNER))


def test_the_menu_shows_only_what_the_role_may_open(app, client):
    session_for(app, client, "support")
    page = client.get("/admin/").data.decode()
    assert 'href="/admin/admins"' not in page and 'href="/admin/audit"' not in page
    assert "Customer support" in page


def test_an_auditor_sees_admins_but_no_disable_button(app, client):
    session_for(app, client, "auditor")
    page = client.get("/admin/admins").data.decode()
    assert 'href="/admin/audit"' in page and "Auditor" in page
    assert 'class="danger"' not in page
