"""One error format under /admin/api/v1, whatever goes wrong: problem details, no HTML."""

from __future__ import annotations

from tests.admin.api.client import API, bearer
from tests.admin.api.test_auth import problem


def test_unknown_path_and_wrong_method_are_problems(client, api_token):
    value, _ = api_token("owner")
    problem(client.get(f"{API}/nothing-here", headers=bearer(value)), 404, "not_found")
    problem(client.get(f"{API}/nothing-here"), 404, "not_found")
    resp = client.delete(f"{API}/overview", headers=bearer(value))
    problem(resp, 405, "method_not_allowed")
    assert "GET" in resp.headers["Allow"]


def test_a_bad_query_parameter_is_400_naming_it(client, api_token):
    value, _ = api_token("owner")
    for query in ("limit=abc", "limit=0", "limit=501", "before=-3", "limit=1&limit=2"):
        body = problem(
            client.get(f"{API}/audit/entries?{query}", headers=bearer(value)),
            400,
            "invalid_parameter",
        )
        assert body["errors"][0]["where"] in ("limit", "before"), body
    body = problem(
        client.get(f"{API}/audit/entries?admin={'a' * 400}", headers=bearer(value)),
        400,
        "invalid_parameter",
    )
    assert body["errors"] == [{"where": "admin", "message": body["errors"][0]["message"]}]


def test_bodies_need_json_of_the_schema(client, api_token, make_api_client):
    value, _ = api_token("owner", dangerous=True, scope="admin:owner admin:dangerous")
    url = f"{API}/admins/00000000-0000-0000-0000-000000000000/disable"
    problem(client.post(url, data="reason=x", headers=bearer(value)), 415, "unsupported_media_type")
    resp = client.post(url, data="{nope", content_type="application/json", headers=bearer(value))
    problem(resp, 400, "invalid_json")
    body = problem(client.post(url, json={"reason": 5}, headers=bearer(value)), 422, "invalid_body")
    assert body["errors"][0]["where"] == "/reason"
    body = problem(client.post(url, json={}, headers=bearer(value)), 422, "invalid_body")
    problem(client.post(url, json={"reason": "   "}, headers=bearer(value)), 422, "invalid_body")
    problem(client.post(url, json={"reason": "left"}, headers=bearer(value)), 404, "not_found")


def test_no_csrf_token_is_needed(client, api_token):
    value, _ = api_token("auditor")
    assert client.post(f"{API}/audit/verify", headers=bearer(value)).status_code == 200
