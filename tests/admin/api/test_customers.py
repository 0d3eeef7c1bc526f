"""The admin API's customers: the console's services behind bearer tokens, each call in the
audit log with the API client as the actor."""

from __future__ import annotations

from sqlalchemy import select

from consent import ledger as L
from idp.db import new_session
from idp.ledger import sequencer
from idp.models import AdminAuditEntry, User
from tests.admin.api.client import API, bearer
from tests.conftest import login
from tests.ledger.flows import consent


def _entries(app, action):
    with app.app_context(), new_session(app) as s:
        return list(
            s.scalars(
                select(AdminAuditEntry)
                .where(AdminAuditEntry.action == action)
                .order_by(AdminAuditEntry.seq)
            )
        )


def test_search_and_a_customer_with_the_proven_timeline(
    app, client, api_token, make_user, make_client
):
    user = make_user("aino.virtanen@example.com", name="Aino Virtanen")
    rp, _ = make_client(name="Korjaamo")
    consent(app.test_client(), rp, user.email)
    sequencer.drain(app)
    token, client_id = api_token("support")
    found = client.get(f"{API}/customers", query_string={"q": "aino.v"}, headers=bearer(token))
    assert found.status_code == 200, found.json
    assert found.json["kind"] == "email" and [c["id"] for c in found.json["customers"]] == [user.id]
    bad = client.get(f"{API}/customers", query_string={"q": "a"}, headers=bearer(token))
    assert bad.status_code == 400 and bad.json["code"] == "query_too_short"
    page = client.get(f"{API}/customers/{user.id}", headers=bearer(token))
    assert page.status_code == 200, page.json
    (line,) = page.json["consents"]
    assert line["recipient"] == rp.client_id and line["status"] == "active"
    (event,) = line["events"]
    assert event["type"] == "given" and event["proven"] and event["problem"] is None
    assert page.json["checkpoint"]["size"] >= 1 and len(page.json["sessions"]) == 1
    assert client.get(f"{API}/customers/nobody", headers=bearer(token)).status_code == 404
    (viewed,) = [e for e in _entries(app, "viewed") if e.target == f"customer:{user.id}"]
    assert viewed.api_client_id == client_id


def test_a_rights_request_names_the_api_client(app, client, api_token, make_user, make_client):
    user = make_user()
    rp, _ = make_client()
    consent(app.test_client(), rp, user.email)
    token, client_id = api_token("support")
    body = {
        "recipient": rp.client_id,
        "purpose": f"signin:{rp.client_id}",
        "action": "withdraw",
        "received_by": "letter",
        "reason": "letter of 1 Dec",
    }
    url = f"{API}/customers/{user.id}/rights"
    resp = client.post(url, json=body, headers=bearer(token))
    assert resp.status_code == 200, resp.json
    assert resp.json["recorded"] is True
    again = client.post(url, json=body, headers=bearer(token))
    assert again.status_code == 200 and again.json["recorded"] is False
    objected = client.post(url, json={**body, "action": "object"}, headers=bearer(token))
    assert objected.status_code == 409 and objected.json["code"] == "not_applicable"
    nobody = client.post(url, json={**body, "recipient": "nobody"}, headers=bearer(token))
    assert nobody.status_code == 422 and nobody.json["code"] == "no_such_recipient"
    sequencer.drain(app)
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        last = L.customer_rows(s, keys, user.id)[-1]
        details = L.details(s, keys, user.id, last)
    assert (last.actor, last.channel) == ("admin", "letter")
    assert details["admin"] == f"api-client:{client_id}"


def test_lock_unlock_and_sessions(app, client, api_token, make_user):
    user = make_user()
    browser = app.test_client()
    login(browser, user.email)
    token, _ = api_token("support")
    page = client.get(f"{API}/customers/{user.id}", headers=bearer(token)).json
    (session,) = page["sessions"]
    why = {"reason": "taken over"}
    url = f"{API}/customers/{user.id}"
    assert client.post(f"{url}/lock", json=why, headers=bearer(token)).status_code == 200
    assert (
        client.post(f"{url}/lock", json=why, headers=bearer(token)).json["code"] == "already_locked"
    )
    assert browser.get("/account/").status_code != 200
    assert login(app.test_client(), user.email).status_code == 401
    ended = client.post(f"{url}/sessions/{session['handle']}/end", json=why, headers=bearer(token))
    assert ended.status_code == 404 and ended.json["code"] == "no_such_session"
    assert client.post(f"{url}/unlock", json=why, headers=bearer(token)).status_code == 200
    assert login(app.test_client(), user.email).status_code == 302
    empty = client.post(f"{url}/unlock", json={"reason": " "}, headers=bearer(token))
    assert empty.status_code == 422


def test_export_and_erasure_need_their_permission_and_the_dangerous_scope(
    app, client, api_token, make_user
):
    user = make_user(name="Eero Export")
    support, _ = api_token("support")
    why = {"reason": "Art. 15 request"}
    url = f"{API}/customers/{user.id}"
    assert client.post(f"{url}/export", json=why, headers=bearer(support)).status_code == 403
    privacy, _ = api_token("privacy")
    data = client.post(f"{url}/export", json=why, headers=bearer(privacy))
    assert data.status_code == 200 and data.json["profile"]["name"] == "Eero Export"
    plain = client.post(f"{url}/erase", json=why, headers=bearer(privacy))
    assert plain.status_code == 403 and plain.json["code"] == "dangerous_scope_required"
    dangerous, _ = api_token("privacy", dangerous=True, scope="admin:privacy admin:dangerous")
    erased = client.post(f"{url}/erase", json={"reason": "Art. 17"}, headers=bearer(dangerous))
    assert erased.status_code == 200, erased.json
    with app.app_context(), new_session(app) as s:
        assert s.get(User, user.id) is None
    assert [e.reason for e in _entries(app, "erased")] == ["Art. 17"]
