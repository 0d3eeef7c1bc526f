"""The OpenAPI document: valid OpenAPI 3.1, generated from the declarations, and saying
what the framework does (security per permission, problem responses)."""

from __future__ import annotations

from openapi_spec_validator import validate
from openapi_spec_validator.validation.exceptions import OpenAPIValidationError

from idp.admin.api.framework import OPERATIONS
from idp.admin.api.openapi import SCOPE_TEXT
from idp.oauth.admin_scopes import ADMIN_SCOPES
from tests.admin.api.client import API


def test_the_document_is_valid_openapi_3_1(client):
    resp = client.get(f"{API}/openapi.json")
    assert resp.status_code == 200 and resp.mimetype == "application/json"
    assert resp.headers["Cache-Control"] == "no-store"
    doc = resp.json
    assert doc["openapi"] == "3.1.0"
    validate(doc)  # raises on any fault


def test_the_validator_would_catch_a_broken_document(client):
    doc = client.get(f"{API}/openapi.json").json
    doc["paths"]["/overview"]["get"]["responses"] = "none"
    try:
        validate(doc)
    except OpenAPIValidationError:
        return
    raise AssertionError("a broken document passed")


def test_every_operation_is_in_the_document_with_its_permission(client):
    doc = client.get(f"{API}/openapi.json").json
    assert {(op.method.lower(), op.path) for op in OPERATIONS} == {
        (method, path) for path, item in doc["paths"].items() for method in item
    }
    disable = doc["paths"]["/admins/{admin_id}/disable"]["post"]
    assert disable["x-avain-permission"] == "admins.manage"
    assert disable["security"] == [{"adminToken": ["admin:owner", "admin:dangerous"]}]
    assert {"400", "401", "403", "404", "409", "415", "422"} <= set(disable["responses"])
    assert disable["responses"]["403"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    overview = doc["paths"]["/overview"]["get"]
    assert {"adminToken": ["admin:support"]} in overview["security"]
    assert {"adminToken": ["admin:partners"]} in overview["security"]
    flows = doc["components"]["securitySchemes"]["adminToken"]["flows"]
    assert flows["clientCredentials"]["tokenUrl"] == "http://localhost/token"
    assert set(flows["clientCredentials"]["scopes"]) == set(ADMIN_SCOPES) == set(SCOPE_TEXT)
    assert doc["servers"] == [{"url": "http://localhost/admin/api/v1"}]
