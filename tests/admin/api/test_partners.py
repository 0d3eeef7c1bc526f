"""Partners in the admin API: clients created, changed, rotated and deleted through the same
services as the console (registration's checks, a secret shown once, tokens revoked), the
data-sharing map and the catalogue's versions, each with its problems and audit entries."""

from __future__ import annotations

from sqlalchemy import select

from idp.db import new_session
from idp.models import AdminAuditEntry, Client, hash_secret
from tests.admin.api.client import API, bearer
from tests.admin.api.test_auth import problem
from tests.oauth.test_client_access_token_alg import _header, _stored_alg

NEW = {
    "client_id": "garage",
    "client_name": "Korjaamo Virtanen",
    "redirect_uris": ["https://garage.example/cb"],
    "grant_types": ["authorization_code", "refresh_token", "client_credentials"],
}


def _actions(app) -> list[tuple[str, str | None, str | None]]:
    with app.app_context():
        s = new_session(app)
        found = [
            (e.action, e.target, e.reason)
            for e in s.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq))
        ]
        s.close()
    return found


def _stored(app, client_id):
    with app.app_context():
        s = new_session(app)
        found = s.get(Client, client_id)
        digest = found.client_secret_hash if found else None
        s.close()
    return found is not None, digest


def _client_credentials(client, client_id, secret):
    return client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def test_create_change_rotate_and_delete(app, client, api_token):
    value, _ = api_token("partners", dangerous=True, scope="admin:partners admin:dangerous")
    h = bearer(value)
    resp = client.post(f"{API}/clients", json=NEW, headers=h)
    assert resp.status_code == 201, resp.json
    first = resp.json["client_secret"]
    assert resp.json["client"]["client_id"] == "garage" and resp.json["client"]["has_secret"]
    assert _stored(app, "garage") == (True, hash_secret(first))
    assert [c["client_id"] for c in client.get(f"{API}/clients", headers=h).json["clients"]] == [
        "garage"
    ]

    resp = client.patch(f"{API}/clients/garage", json={"client_name": "Korjaamo V."}, headers=h)
    assert resp.status_code == 200 and resp.json["client"]["client_name"] == "Korjaamo V."
    assert resp.json["client_secret"] is None
    assert resp.json["client"]["redirect_uris"] == NEW["redirect_uris"]  # the rest stays

    resp = client.post(f"{API}/clients/garage/rotate-secret", json={"reason": "leaked"}, headers=h)
    second = resp.json["client_secret"]
    assert _client_credentials(client, "garage", second).status_code == 200
    assert _client_credentials(client, "garage", first).status_code == 401

    resp = client.post(f"{API}/clients/garage/delete", json={"reason": "contract ended"}, headers=h)
    assert resp.status_code == 200 and resp.json["revoked"]["tokens"] == 1
    assert _stored(app, "garage") == (False, None)
    actions = [a for a in _actions(app) if a[0].startswith("client_")]
    assert [a[0] for a in actions] == [
        "client_created",
        "client_updated",
        "client_secret_rotated",
        "client_deleted",
    ]
    assert actions[2][2] == "leaked" and actions[3][2].startswith("contract ended")


def test_registration_checks_are_422_with_its_code(client, api_token):
    value, _ = api_token("partners")
    h = bearer(value)
    body = problem(
        client.post(f"{API}/clients", json={**NEW, "redirect_uris": ["javascript:x"]}, headers=h),
        422,
        "invalid_redirect_uri",
    )
    assert "https" in body["detail"]
    problem(
        client.post(f"{API}/clients", json={**NEW, "client_id": "../x"}, headers=h),
        422,
        "invalid_client_metadata",
    )
    problem(client.post(f"{API}/clients", json={"client_name": 5}, headers=h), 422, "invalid_body")


def test_dangerous_changes_need_the_scope(client, api_token, make_client):
    rp, _ = make_client(client_id="garage")
    value, _ = api_token("partners")
    h = bearer(value)
    problem(
        client.post(f"{API}/clients/garage/rotate-secret", json={"reason": "x"}, headers=h),
        403,
        "dangerous_scope_required",
    )
    problem(
        client.patch(
            f"{API}/clients/garage", json={"token_endpoint_auth_method": "none"}, headers=h
        ),
        403,
        "dangerous_scope_required",
    )
    problem(client.get(f"{API}/clients/nobody", headers=h), 404, "not_found")


def test_the_api_clients_themselves_are_not_partners(client, api_token):
    value, own_id = api_token("partners", dangerous=True, scope="admin:partners admin:dangerous")
    h = bearer(value)
    assert client.get(f"{API}/clients", headers=h).json["clients"] == []
    problem(client.get(f"{API}/clients/{own_id}", headers=h), 404, "not_found")
    problem(
        client.post(f"{API}/clients/{own_id}/rotate-secret", json={"reason": "x"}, headers=h),
        404,
        "not_found",
    )


def test_a_support_token_cannot_touch_clients(client, api_token):
    value, _ = api_token("support")
    problem(client.get(f"{API}/clients", headers=bearer(value)), 403, "insufficient_scope")


def test_the_sharing_map_and_the_catalogue(client, api_token, make_client):
    make_client(client_id="garage", name="Korjaamo Virtanen")
    value, _ = api_token("partners")
    h = bearer(value)
    assert "garage" in client.get(f"{API}/sharing", headers=h).json["partners"]
    m = client.get(f"{API}/sharing/garage", headers=h).json
    assert m["client_registered"] and m["purposes"][0]["purpose_id"] == "garage_booking"
    assert m["agreements"][0]["agreement_id"] == "tire_fitting"
    problem(client.get(f"{API}/sharing/nobody", headers=h), 404, "not_found")
    cat = client.get(f"{API}/catalogue", headers=h).json
    assert "garage_booking" in {p["purpose_id"] for p in cat["purposes"]}
    versions = client.get(f"{API}/catalogue/purposes/garage_booking", headers=h).json
    assert versions["versions"][0]["version"] == versions["version_in_use"]
    problem(client.get(f"{API}/catalogue/purposes/nothing", headers=h), 404, "not_found")


def test_a_privacy_token_sees_the_catalogue_without_agreements(client, api_token):
    value, _ = api_token("privacy")
    cat = client.get(f"{API}/catalogue", headers=bearer(value)).json
    assert "agreements" not in cat and cat["notices"]


def test_the_access_token_algorithm_is_set_and_cleared(app, client, api_token):
    value, _ = api_token("partners")
    h = bearer(value)
    new = {
        "client_id": "garage",
        "client_name": "Korjaamo Virtanen",
        "redirect_uris": ["https://garage.example/cb"],
        "grant_types": ["client_credentials"],
        "access_token_signed_response_alg": "ES256",
    }
    resp = client.post(f"{API}/clients", json=new, headers=h)
    assert resp.status_code == 201, resp.json
    assert resp.json["client"]["access_token_signed_response_alg"] == "ES256"
    token = _client_credentials(client, "garage", resp.json["client_secret"])
    assert _header(token.json["access_token"])["alg"] == "ES256"
    resp = client.patch(f"{API}/clients/garage", json={"client_name": "Korjaamo V."}, headers=h)
    assert resp.json["client"]["access_token_signed_response_alg"] == "ES256"  # kept
    resp = client.patch(
        f"{API}/clients/garage", json={"access_token_signed_response_alg": None}, headers=h
    )
    assert resp.status_code == 200, resp.json
    assert resp.json["client"]["access_token_signed_response_alg"] is None
    assert _stored_alg(app, "garage") is None
    resp = client.patch(
        f"{API}/clients/garage", json={"access_token_signed_response_alg": "HS256"}, headers=h
    )
    assert resp.status_code == 422
