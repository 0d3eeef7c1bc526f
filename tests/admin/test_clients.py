"""Clients in the console: list, create and edit them with registration's own checks, rotate
a secret behind a fresh passkey (the new one works at /token, the old one stops), delete
one (its tokens stop working), and bad input of every kind answered with a readable page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from idp.admin import sessions
from idp.db import new_session, utcnow
from idp.models import AdminAuditEntry, Client, Token, hash_secret
from tests.admin.console import meta_csrf, session_for
from tests.conftest import authorize_params, exchange, follow_to_code

FORM = {
    "client_name": "Rengasverkkokauppa",
    "redirect_uris": "https://shop.example.com/cb\nhttps://shop.example.com/cb2",
    "post_logout_redirect_uris": "https://shop.example.com/bye",
    "backchannel_logout_uri": "",
    "grant_types": ["authorization_code", "refresh_token"],
    "token_endpoint_auth_method": "client_secret_basic",
    "subject_type": "public",
    "scope": "openid profile email offline_access",
    "id_token_signed_response_alg": "RS256",
}


@pytest.fixture
def console(app, client):
    session_for(app, client, "partners")
    return client, meta_csrf(client, "/admin/clients")


def _post(client, csrf, url, **fields):
    data = {**FORM, **fields, "csrf_token": csrf}
    return client.post(url, data={k: v for k, v in data.items() if v is not None})


def _get_client(app, client_id):
    with app.app_context():
        s = new_session(app)
        found = s.get(Client, client_id)
        if found is not None:
            s.expunge(found)
        s.close()
    return found


def _audit(app, action):
    with app.app_context():
        s = new_session(app)
        rows = list(s.scalars(select(AdminAuditEntry).where(AdminAuditEntry.action == action)))
        s.close()
    return rows


def _secret_of(page: str) -> str:
    found = re.search(r'id="client-secret" class="secret">([^<]+)<', page)
    assert found, page
    return found.group(1)


def test_create_shows_the_secret_once_and_keeps_only_its_hash(app, console):
    client, csrf = console
    resp = _post(client, csrf, "/admin/clients/new", client_id="tire-shop")
    assert resp.status_code == 200, resp.data[:2000]
    page = resp.data.decode()
    secret = _secret_of(page)
    assert "shown only now" in page
    stored = _get_client(app, "tire-shop")
    assert stored.client_secret_hash == hash_secret(secret) != secret
    assert stored.redirect_uris == FORM["redirect_uris"].split("\n")
    assert stored.response_types == ["code"]
    assert [e.target for e in _audit(app, "client_created")] == ["client:tire-shop"]
    listing = client.get("/admin/clients").data.decode()
    assert "Rengasverkkokauppa" in listing and secret not in listing
    assert secret not in client.get("/admin/clients/tire-shop").data.decode()


def test_a_public_client_gets_no_secret(app, console):
    client, csrf = console
    resp = _post(client, csrf, "/admin/clients/new", token_endpoint_auth_method="none")
    assert resp.status_code == 200
    assert 'id="client-secret"' not in resp.data.decode()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"redirect_uris": "javascript:alert(1)"}, "redirect_uri must be https"),
        ({"redirect_uris": "not a uri at all"}, "without spaces"),
        ({"redirect_uris": "https://rp.example.com/cb#frag"}, "fragment"),
        ({"redirect_uris": "https://" + "a" * 3000 + ".example/"}, "at most 2000"),
        ({"redirect_uris": ""}, "At least one redirect_uri"),
        ({"post_logout_redirect_uris": "http://evil.example/bye"}, "post_logout_redirect_uri"),
        ({"backchannel_logout_uri": "https://10.0.0.1/logout"}, "backchannel_logout_uri"),
        ({"client_name": ""}, "client_name must be 1 to 200"),
        ({"client_name": "x" * 5000}, "client_name must be 1 to 200"),
        ({"client_name": "x" * 30000}, "too long"),
        ({"grant_types": ["password"]}, "Unsupported grant type"),
        ({"grant_types": []}, "At least one grant type"),
        ({"token_endpoint_auth_method": "tls_client_auth"}, "Unsupported token_endpoint"),
        ({"token_endpoint_auth_method": "private_key_jwt"}, "private_key_jwt needs the client"),
        ({"jwks": "{not json"}, "JWK Set in JSON"),
        ({"jwks": "[1, 2]"}, "JWK Set in JSON"),
        ({"jwks": "[" * 5000 + "]" * 5000}, "JWK Set in JSON"),
        ({"jwks": '{"keys": [{"kty": "oct", "k": "AAAA"}]}'}, "jwks"),
        ({"subject_type": "secret"}, "subject_type must be public or pairwise"),
        (
            {
                "subject_type": "pairwise",
                "redirect_uris": "https://a.example/cb\nhttps://b.example/cb",
            },
            "one host",
        ),
        ({"id_token_signed_response_alg": "none"}, "RS256 or ES256"),
        (
            {"token_endpoint_auth_method": "none", "grant_types": ["client_credentials"]},
            "public client",
        ),
        ({"client_id": "../etc/passwd"}, "client_id must be"),
        ({"client_id": "x" * 65}, "client_id must be"),
        ({"redirect_uris": "\n".join(f"https://rp.example/{i}" for i in range(21))}, "At most 20"),
    ],
)
def test_bad_input_gives_a_readable_form_not_a_500(app, console, fields, message):
    client, csrf = console
    resp = _post(client, csrf, "/admin/clients/new", **fields)
    assert resp.status_code == 400, resp.data[:500]
    page = resp.data.decode()
    assert 'id="form-error"' in page and message in page, page[:3000]
    assert 'id="client-form"' in page  # the form again, with what was typed
    with app.app_context():
        s = new_session(app)
        assert s.scalars(select(Client)).first() is None
        s.close()


def test_a_client_id_taken_already(app, console, make_client):
    make_client(client_id="garage")
    client, csrf = console
    resp = _post(client, csrf, "/admin/clients/new", client_id="garage")
    assert resp.status_code == 400 and b"exists already" in resp.data


def test_edit_saves_what_registration_accepts_and_audits_the_fields(app, console, make_client):
    rp, _ = make_client(name="Old name")
    client, csrf = console
    url = f"/admin/clients/{rp.client_id}"
    page = client.get(url).data.decode()
    assert "Old name" in page and "https://rp.example.com/cb" in page
    resp = _post(client, csrf, url, client_name="New name", redirect_uris="https://new.example/cb")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("saved=1")
    stored = _get_client(app, rp.client_id)
    assert stored.client_name == "New name"
    assert stored.redirect_uris == ["https://new.example/cb"]
    assert stored.client_secret_hash == rp.client_secret_hash  # the secret is untouched
    (entry,) = _audit(app, "client_updated")
    assert entry.target == f"client:{rp.client_id}"
    assert "client_name" in entry.reason and "redirect_uris" in entry.reason

    # refused edits change nothing
    resp = _post(client, csrf, url, redirect_uris="ftp://new.example/cb")
    assert resp.status_code == 400 and b"redirect_uri must be https" in resp.data
    assert _get_client(app, rp.client_id).redirect_uris == ["https://new.example/cb"]


def test_moving_between_secret_and_public(app, console, make_client):
    rp, _ = make_client()
    client, csrf = console
    url = f"/admin/clients/{rp.client_id}"
    assert _post(client, csrf, url, token_endpoint_auth_method="none").status_code == 302
    assert _get_client(app, rp.client_id).client_secret_hash is None
    resp = _post(client, csrf, url, token_endpoint_auth_method="client_secret_post")
    assert resp.status_code == 200
    secret = _secret_of(resp.data.decode())
    assert _get_client(app, rp.client_id).client_secret_hash == hash_secret(secret)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/clients/nobody",
        "/admin/clients/" + "x" * 300,
        "/admin/clients/nobody/delete",
        "/admin/clients/%00%ff",
    ],
)
def test_unknown_clients_are_a_readable_404(console, path):
    client, _ = console
    resp = client.get(path)
    assert resp.status_code in (400, 404)  # a NUL byte is refused before the route
    assert b"<html" in resp.data and b"Traceback" not in resp.data


def test_unknown_client_on_post(console):
    client, csrf = console
    for path in ("/admin/clients/nobody", "/admin/clients/nobody/rotate"):
        resp = _post(client, csrf, path, reason="x")
        assert resp.status_code == 404, path


def _client_credentials(client, client_id, secret):
    return client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(client_id, secret)
    )


def test_rotate_needs_a_fresh_passkey_then_the_old_secret_stops(
    app, console, make_client, monkeypatch
):
    rp, old = make_client(grant_types=["client_credentials"], redirect_uris=[])
    client, csrf = console
    assert _client_credentials(client, rp.client_id, old).status_code == 200
    url = f"/admin/clients/{rp.client_id}/rotate"
    back = f"/admin/clients/{rp.client_id}"

    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(sessions, "clock", lambda: later)
    resp = client.post(url, data={"csrf_token": csrf, "reason": "leaked", "next": back})
    assert resp.status_code == 302 and resp.headers["Location"].startswith("/admin/reverify")
    monkeypatch.undo()
    assert _client_credentials(client, rp.client_id, old).status_code == 200  # nothing changed

    resp = client.post(url, data={"csrf_token": csrf, "reason": "", "next": back})
    assert resp.status_code == 400 and b"Give a reason" in resp.data

    resp = client.post(url, data={"csrf_token": csrf, "reason": "leaked", "next": back})
    assert resp.status_code == 200
    new = _secret_of(resp.data.decode())
    assert new != old
    assert _client_credentials(client, rp.client_id, new).status_code == 200
    refused = _client_credentials(client, rp.client_id, old)
    assert refused.status_code == 401 and refused.json["error"] == "invalid_client"
    (entry,) = _audit(app, "client_secret_rotated")
    assert entry.reason == "leaked" and new not in (entry.reason or "")


def test_rotate_is_refused_for_a_client_without_a_secret(console, make_client):
    rp, _ = make_client(public=True)
    client, csrf = console
    resp = client.post(
        f"/admin/clients/{rp.client_id}/rotate", data={"csrf_token": csrf, "reason": "x"}
    )
    assert resp.status_code == 400 and b"does not authenticate with a secret" in resp.data


def test_delete_revokes_the_tokens(app, console, make_client, make_user):
    user = make_user()
    rp, secret = make_client()
    client, csrf = console
    params, verifier = authorize_params(rp, scope="openid email offline_access")
    customer = app.test_client()
    code = follow_to_code(customer, params, user.email)["code"]
    tokens = exchange(customer, rp, secret, code, verifier).json
    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert customer.get("/userinfo", headers=bearer).status_code == 200

    page = client.get(f"/admin/clients/{rp.client_id}/delete").data.decode()
    assert "1 tokens still valid" in page or "1 token" in page
    url = f"/admin/clients/{rp.client_id}/delete"
    resp = client.post(url, data={"csrf_token": csrf, "reason": ""})
    assert resp.status_code == 400 and b"Give a reason" in resp.data
    resp = client.post(url, data={"csrf_token": csrf, "reason": "contract ended"})
    assert resp.status_code == 302 and "deleted=" in resp.headers["Location"]
    assert b"was deleted" in client.get(resp.headers["Location"]).data

    assert _get_client(app, rp.client_id) is None
    assert customer.get("/userinfo", headers=bearer).status_code == 401
    refresh = customer.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(rp.client_id, secret),
    )
    assert refresh.status_code in (400, 401)
    with app.app_context():
        s = new_session(app)
        assert s.scalars(select(Token).where(Token.client_id == rp.client_id)).first() is None
        s.close()
    (entry,) = _audit(app, "client_deleted")
    assert entry.reason.startswith("contract ended") and "1 grants" in entry.reason
    assert client.get(f"/admin/clients/{rp.client_id}").status_code == 404


def test_an_auditor_sees_clients_read_only(app, client, make_client):
    rp, _ = make_client()
    session_for(app, client, "auditor")
    # a link cannot make the console say a live client was deleted
    assert b"was deleted" not in client.get(f"/admin/clients?deleted={rp.client_id}").data
    page = client.get(f"/admin/clients/{rp.client_id}").data.decode()
    assert "Test RP" in page
    assert 'id="save-client"' not in page and 'id="rotate-secret"' not in page
    assert "<fieldset disabled" in page


def test_changing_the_auth_method_needs_a_fresh_passkey(app, console, make_client, monkeypatch):
    rp, _ = make_client()
    client, csrf = console
    later = utcnow() + timedelta(minutes=6)
    monkeypatch.setattr(sessions, "clock", lambda: later)
    url = f"/admin/clients/{rp.client_id}"
    resp = _post(client, csrf, url, token_endpoint_auth_method="none")
    assert resp.status_code == 403
    page = resp.data.decode()
    assert 'id="reverify-link"' in page and "/admin/reverify?next=" in page
    assert _get_client(app, rp.client_id).client_secret_hash == rp.client_secret_hash
    # other edits need no passkey
    assert _post(client, csrf, url, client_name="Renamed").status_code == 302


def test_the_api_shapes_of_a_client(app, make_client):
    from idp.admin import partners

    rp, _ = make_client(first_party=True)
    with app.app_context():
        s = new_session(app)
        found = s.get(Client, rp.client_id)
        described = partners.describe_client(found)
        s.close()
    assert described["first_party"] is True and described["has_secret"] is True
    assert not {"client_secret", "client_secret_hash"} & set(described)
    spec = partners.spec_from_metadata({"client_name": "  X  ", "redirect_uris": ["https://x/"]})
    assert spec.name == "X" and spec.grant_types == ["authorization_code"]
    assert spec.token_endpoint_auth_method == "client_secret_basic" and spec.scope == "openid"


def test_admin_api_clients_are_not_partners(app, console, make_api_client):
    """Rotating an owner API client's secret here would hand its role to a partner manager."""
    api_client_id, secret = make_api_client("owner", dangerous=True)
    client, csrf = console
    assert api_client_id.encode() not in client.get("/admin/clients").data
    assert client.get(f"/admin/clients/{api_client_id}").status_code == 404
    assert client.get(f"/admin/sharing/{api_client_id}").status_code == 404
    assert api_client_id.encode() not in client.get("/admin/sharing").data
    for path in ("", "/rotate", "/delete"):
        resp = _post(client, csrf, f"/admin/clients/{api_client_id}{path}", reason="x")
        assert resp.status_code == 404, path
    resp = _post(client, csrf, "/admin/clients/new", client_id=api_client_id)
    assert resp.status_code == 400  # the id is taken; the API client is untouched
    stored = _get_client(app, api_client_id)
    assert stored is not None and stored.client_secret_hash == hash_secret(secret)
