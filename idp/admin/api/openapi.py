"""The OpenAPI 3.1 document of the admin API, generated from the operations' declarations
(:func:`idp.admin.api.framework.operation`): there is no hand-written description to keep
in step with the code. Served at ``/admin/api/v1/openapi.json``.
"""

from __future__ import annotations

from typing import Any

from idp.admin.api import problems
from idp.admin.api.framework import Operation, scopes_granting
from idp.oauth import admin_scopes

VERSION = "1.0.0"
PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
SCHEME = "adminToken"

SCOPE_TEXT = {
    "admin:support": "Customer support: customers, their sessions, rights requests.",
    "admin:privacy": "Privacy officer: all of support, complaints, exports, erasure, ledger.",
    "admin:partners": "Partner manager: clients, partner agreements, the data-sharing map.",
    "admin:auditor": "Auditor: read-only everywhere, and the audit log.",
    "admin:owner": "Owner: everything, admins included.",
    admin_scopes.DANGEROUS: "Dangerous operations (erasure, secret rotation, role changes, "
    "disabling an admin), besides their permission; such a token lives 5 minutes.",
}

# what each status of the framework means, for every operation that can answer it
STATUS_TEXT = {
    400: "A parameter or the body is malformed.",
    401: "No token, or an invalid, expired or revoked one.",
    403: "The token's role lacks the permission, or admin:dangerous is missing.",
    404: "Nothing found at this path.",
    409: "The state does not allow it (already done).",
    415: "The body is not application/json.",
    422: "The body does not match its schema.",
}


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": STATUS_TEXT.get(status, "A problem."),
        "content": {problems.MEDIA_TYPE: {"schema": PROBLEM_REF}},
    }


def _operation(op: Operation) -> dict[str, Any]:
    needed = [admin_scopes.DANGEROUS] if op.dangerous else []
    text = op.description or op.summary
    text += f"\n\nPermission: `{op.permission}`."
    if op.dangerous:
        text += " Dangerous: the token needs `admin:dangerous` as well."
    out: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "description": text,
        "tags": [op.tag],
        "security": [{SCHEME: [scope, *needed]} for scope in scopes_granting(op.permission)],
        "x-avain-permission": op.permission.value,
        "x-avain-dangerous": op.dangerous,
    }
    if op.parameters:
        out["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required or p.where == "path",
                "description": p.description,
                "schema": p.schema,
            }
            for p in op.parameters
        ]
    statuses = {400, 401, 403, *op.errors}
    if any(p.where == "path" for p in op.parameters):
        statuses.add(404)
    if op.body is not None:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body}},
        }
        statuses |= {415, 422}
    out["responses"] = {
        str(op.status): {
            "description": op.summary,
            "content": {"application/json": {"schema": op.response}},
        },
        **{str(s): _problem(s) for s in sorted(statuses)},
    }
    return out


def document(operations: list[Operation], issuer: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://spec.openapis.org/oas/3.1/dialect/base",
        "info": {
            "title": "Avain admin API",
            "version": VERSION,
            "description": "Every action of Avain's admin console, for programs. Tokens: "
            "OAuth 2.0 client credentials at the token endpoint, for an admin API client "
            "made with `idp admins api-client create`. Errors: RFC 9457 problem details. "
            "See docs/admin-api.md.",
        },
        "servers": [{"url": issuer.rstrip("/") + admin_scopes.API_PATH}],
        "paths": paths,
        "components": {
            "schemas": {"Problem": problems.SCHEMA},
            "securitySchemes": {
                SCHEME: {
                    "type": "oauth2",
                    "description": "A JWT access token (RFC 9068) of an admin API client.",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": issuer.rstrip("/") + "/token",
                            "scopes": SCOPE_TEXT,
                        }
                    },
                }
            },
        },
    }
