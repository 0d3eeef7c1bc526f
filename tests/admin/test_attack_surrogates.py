"""Attack: a lone UTF-16 surrogate in a JSON string.

``"\\ud800"`` is valid JSON text, and Python's parser gives back a ``str`` holding the lone
surrogate; it is no character, cannot be encoded as UTF-8, and so can be neither stored
(PostgreSQL, SQLite) nor hashed into the audit log. Every JSON body the admin API and the
console take must refuse it with a JSON error, never a 500.
"""

from __future__ import annotations

from idp.admin.api.framework import OPERATIONS
from tests.admin.api.client import API, bearer
from tests.admin.console import meta_csrf, session_for

LONE = '"x\\ud800y"'


def _body_with_lone_surrogates(op) -> bytes:
    """Every string member the operation's body declares, each holding a lone surrogate."""
    props = (op.body or {}).get("properties", {})
    members = [
        f'"{name}": {LONE}'
        for name, schema in props.items()
        if isinstance(schema, dict) and "string" in str(schema.get("type", ""))
    ] or [f'"reason": {LONE}']
    return ("{" + ", ".join(members) + "}").encode()


def test_every_api_body_refuses_a_lone_surrogate(app, client, api_token, make_user):
    value, _ = api_token("owner", dangerous=True, scope="admin:owner admin:dangerous")
    user = make_user()
    failures = []
    for op in OPERATIONS:
        if op.body is None:
            continue
        path = op.path
        for name in ("customer_id", "admin_id", "client_id", "complaint_id", "handle"):
            path = path.replace("{" + name + "}", user.id if name == "customer_id" else "x")
        resp = client.open(
            API + path,
            method=op.method,
            data=_body_with_lone_surrogates(op),
            headers={**bearer(value), "Content-Type": "application/json"},
        )
        if resp.status_code >= 500 or resp.mimetype != "application/problem+json":
            failures.append((op.method, op.path, resp.status_code))
        elif resp.status_code < 400:
            failures.append((op.method, op.path, "accepted", resp.status_code))
    assert not failures, failures


def test_an_api_query_parameter_with_a_surrogate_escape(app, client, api_token):
    value, _ = api_token("owner")
    resp = client.get(f"{API}/customers?q=%ED%A0%80", headers=bearer(value))
    assert resp.status_code < 500


def test_console_json_bodies_refuse_a_lone_surrogate(app, client):
    session_for(app, client, "owner")
    csrf = meta_csrf(client, "/admin/")
    for url in ("/admin/reverify/verify", "/admin/sign-in/verify"):
        resp = client.post(
            url,
            data=('{"credential": ' + LONE + ', "next": ' + LONE + "}").encode(),
            headers={"X-CSRFToken": csrf, "Content-Type": "application/json"},
        )
        assert resp.status_code < 500, (url, resp.data[:300])


def test_a_surrogate_pair_is_one_character_and_passes(app, client, api_token, make_user):
    value, _ = api_token("owner")
    user = make_user()
    resp = client.post(
        f"{API}/customers/{user.id}/lock",
        data=b'{"reason": "taken over \\ud83d\\ude00"}',
        headers={**bearer(value), "Content-Type": "application/json"},
    )
    assert resp.status_code == 200, resp.json


def test_the_refusal_is_a_problem_document(app, client, api_token, make_user):
    value, _ = api_token("owner")
    user = make_user()
    resp = client.post(
        f"{API}/customers/{user.id}/lock",
        data=b'{"reason": "x\\uDC00"}',
        headers={**bearer(value), "Content-Type": "application/json"},
    )
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert "surrogate" in resp.json["detail"]
