"""PKCE S256 is required for every client (RFC 7636, RFC 9700 §2.1.1)."""

from __future__ import annotations

import pytest

from tests.conftest import authorize_params, exchange, follow_to_code, login, query_of


@pytest.fixture
def rp(make_client):
    return make_client(first_party=True)


def _authorize(client, params):
    return client.get("/authorize", query_string=params)


def test_missing_code_challenge_is_rejected_at_the_client(client, make_user, rp):
    user = make_user()
    login(client, user.email)
    params, _ = authorize_params(rp[0])
    del params["code_challenge"], params["code_challenge_method"]
    resp = _authorize(client, params)
    assert resp.status_code == 302
    q = query_of(resp.headers["Location"])
    assert q["error"] == "invalid_request"
    assert "PKCE" in q["error_description"]
    assert q["state"] == params["state"] and q["iss"] == "http://localhost"


@pytest.mark.parametrize("method", ["plain", "", "S512"])
def test_only_s256_is_accepted(client, make_user, rp, method):
    user = make_user()
    login(client, user.email)
    params, _ = authorize_params(rp[0], code_challenge_method=method)
    q = query_of(_authorize(client, params).headers["Location"])
    assert q["error"] == "invalid_request"


def test_public_and_confidential_clients_both_need_the_verifier(client, make_user, rp):
    user = make_user()
    rp_, secret = rp
    params, verifier = authorize_params(rp_)
    code = follow_to_code(client, params, user.email)["code"]
    resp = exchange(client, rp_, secret, code, "")
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_request"


def test_wrong_verifier_is_invalid_grant(client, make_user, make_client):
    user = make_user()
    rp_, _ = make_client(public=True, first_party=True)
    params, verifier = authorize_params(rp_)
    code = follow_to_code(client, params, user.email)["code"]
    resp = exchange(client, rp_, None, code, "x" * 43 + "wrong")
    assert resp.status_code == 400
    assert resp.json["error"] == "invalid_grant"
