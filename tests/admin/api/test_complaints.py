"""The admin API's complaints: list, open, show, close, through the same service as the
console; the pause takes effect for the partner, and the API client is the actor in the
ledger and the audit log."""

from __future__ import annotations

from consent import ledger as L
from idp.admin import audit
from idp.db import new_session
from idp.ledger import sequencer
from tests.admin.api.client import API, bearer
from tests.admin.complaints_flow import fresh_tokens, info, marketing_customer


def test_a_privacy_client_opens_shows_lists_and_closes_a_complaint(
    app, client, make_user, make_client, api_token
):
    user, shop, secret = marketing_customer(client, make_user, make_client)
    before = fresh_tokens(client, shop, secret)
    token, client_id = api_token("privacy")
    auth = bearer(token)

    resp = client.post(
        f"{API}/complaints",
        json={"customer": user.email, "reason": "Offers after unsubscribing"},
        headers=auth,
    )
    assert resp.status_code == 201, resp.json
    opened = resp.json
    assert opened["state"] == "open" and opened["customer_id"] == user.id
    assert opened["opened_by_api_client"] == client_id and opened["opened_by_admin"] is None
    assert opened["purposes"] == ["marketing_email"]
    assert info(client, before)[0] == 401
    assert "given_name" not in info(client, fresh_tokens(client, shop, secret))[1]

    again = client.post(
        f"{API}/complaints", json={"customer": user.id, "reason": "again"}, headers=auth
    )
    assert again.status_code == 409 and again.json["code"] == "already_open"
    assert again.headers["Content-Type"] == "application/problem+json"

    shown = client.get(f"{API}/complaints/{opened['id']}", headers=auth)
    assert shown.status_code == 200 and shown.json == opened
    listed = client.get(f"{API}/complaints", headers=auth).json
    assert [c["id"] for c in listed["complaints"]] == [opened["id"]] and listed["total"] == 1
    assert client.get(f"{API}/complaints?state=closed", headers=auth).json["total"] == 0
    overview = client.get(f"{API}/overview", headers=bearer(api_token("auditor")[0])).json
    assert overview["open_complaints"] == 1

    closed = client.post(
        f"{API}/complaints/{opened['id']}/close", json={"reason": "List fixed"}, headers=auth
    )
    assert closed.status_code == 200, closed.json
    assert closed.json["state"] == "closed" and closed.json["closing_reason"] == "List fixed"
    assert closed.json["closed_by_api_client"] == client_id
    assert info(client, fresh_tokens(client, shop, secret))[1]["given_name"] == "Aino"
    twice = client.post(
        f"{API}/complaints/{opened['id']}/close", json={"reason": "x"}, headers=auth
    )
    assert twice.status_code == 409 and twice.json["code"] == "already_closed"

    with new_session(app) as s:
        entries = [(e.action, e.target, e.api_client_id) for e in audit.entries(s, limit=None)]
        assert ("complaint_opened", f"customer:{user.id}", client_id) in entries
        assert ("complaint_closed", f"customer:{user.id}", client_id) in entries
        assert ("viewed", f"complaint:{opened['id']}", client_id) in entries
    sequencer.drain(app)
    keys = app.extensions["avain.ledger_keys"]
    with new_session(app) as s:
        rows = [r for r in L.customer_rows(s, keys, user.id) if r.type.startswith("complaint")]
        assert [(r.type, r.actor, r.channel) for r in rows] == [
            ("complaint_opened", "admin", "api"),
            ("complaint_closed", "admin", "api"),
        ]
        assert L.details(s, keys, user.id, rows[0])["api_client_id"] == client_id


def test_problems_and_permissions(app, client, make_user, api_token):
    user = make_user()
    auth = bearer(api_token("privacy")[0])
    unknown = client.post(
        f"{API}/complaints", json={"customer": "nobody@example.com", "reason": "x"}, headers=auth
    )
    assert unknown.status_code == 404 and unknown.json["code"] == "not_found"
    blank = client.post(
        f"{API}/complaints", json={"customer": user.id, "reason": "\u00a0"}, headers=auth
    )
    assert blank.status_code == 422
    long = client.post(
        f"{API}/complaints", json={"customer": user.id, "reason": "x" * 2001}, headers=auth
    )
    assert long.status_code == 422 and long.json["code"] == "invalid_body"
    missing = client.get(f"{API}/complaints/00000000-0000-0000-0000-000000000000", headers=auth)
    assert missing.status_code == 404
    gone = client.post(f"{API}/complaints/nope/close", json={"reason": "x"}, headers=auth)
    assert gone.status_code == 404
    assert client.get(f"{API}/complaints?page=0", headers=auth).status_code == 400

    for role in ("support", "partners"):
        other = bearer(api_token(role)[0])
        assert client.get(f"{API}/complaints", headers=other).status_code == 403
        refused = client.post(
            f"{API}/complaints", json={"customer": user.id, "reason": "x"}, headers=other
        )
        assert refused.status_code == 403 and refused.json["code"] == "insufficient_scope"
    auditor = bearer(api_token("auditor")[0])
    assert client.get(f"{API}/complaints", headers=auditor).status_code == 200
    assert (
        client.post(
            f"{API}/complaints", json={"customer": user.id, "reason": "x"}, headers=auditor
        ).status_code
        == 403
    )
