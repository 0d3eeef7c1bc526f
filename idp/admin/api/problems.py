"""Every error of the admin API in one format: RFC 9457 problem details
(``application/problem+json``), never an HTML page.

A problem has the RFC's members ``type``, ``title``, ``status`` and ``detail``, and two of
Avain's: ``code``, a short stable name to branch on (``invalid_token``, ``not_found``, ...),
and for ``422`` the list ``errors`` of what is wrong where (a JSON Pointer into the body,
or the name of a query parameter). ``type`` is ``urn:avain:problem:<code>``: a URI
(RFC 9457 §3.1.1) that names the kind of problem without promising a page behind it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from flask import Response, json

MEDIA_TYPE = "application/problem+json"
REALM = "avain-admin-api"

# codes the framework itself answers with (an endpoint adds its own, e.g. ``conflict``)
CODES = {
    400: "invalid_request",
    401: "invalid_token",
    403: "insufficient_scope",
    404: "not_found",
    405: "method_not_allowed",
    413: "request_too_large",
    415: "unsupported_media_type",
    422: "invalid_body",
    500: "server_error",
    503: "temporarily_unavailable",
}

SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "RFC 9457 problem details.",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string", "description": "urn:avain:problem:<code>"},
        "title": {"type": "string"},
        "status": {"type": "integer", "minimum": 400, "maximum": 599},
        "detail": {"type": "string"},
        "code": {"type": "string", "description": "A stable name to branch on."},
        "errors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["where", "message"],
                "properties": {"where": {"type": "string"}, "message": {"type": "string"}},
            },
        },
    },
}


class Problem(Exception):
    """Raise from an endpoint (or the framework) to answer with a problem."""

    def __init__(
        self,
        status: int,
        detail: str,
        code: str | None = None,
        *,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.code = code or CODES.get(status, "error")
        self.errors = errors
        self.headers = headers or {}


def response(problem: Problem) -> Response:
    body: dict[str, Any] = {
        "type": f"urn:avain:problem:{problem.code}",
        "title": HTTPStatus(problem.status).phrase,
        "status": problem.status,
        "detail": problem.detail,
        "code": problem.code,
    }
    if problem.errors is not None:
        body["errors"] = problem.errors
    resp = Response(json.dumps(body), status=problem.status, mimetype=MEDIA_TYPE)
    for name, value in problem.headers.items():
        resp.headers[name] = value
    resp.headers["Cache-Control"] = "no-store"
    return resp


def render(status: int, error: str, description: str) -> Response:
    """What :mod:`idp.errors` calls for an error under the API's path (404, 405, 413, ...)."""
    code = CODES.get(status, error) if status in (404, 405, 413, 500) else error
    return response(Problem(status, description or HTTPStatus(status).description, code))


def challenge(code: str | None = None, scope: str | None = None) -> dict[str, str]:
    """RFC 6750 §3: the ``WWW-Authenticate`` header of a 401 or 403."""
    value = f'Bearer realm="{REALM}"'
    if code:
        value += f', error="{code}"'
    if scope:
        value += f', scope="{scope}"'
    return {"WWW-Authenticate": value}
