"""Schemathesis fuzzes every operation of the admin API from its own OpenAPI document,
in-process against the Flask app, with an owner's token (admin:dangerous too, so that every
operation gets past authorisation): no 5xx, and every response, errors included, is one
the document describes (status, content type, headers, schema).

Driven through Hypothesis directly rather than schemathesis' pytest plugin: the plugin's
fixture-based loader reads ``Function._nodeid``, which pytest 9 no longer has.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.admin.api.client import API, bearer

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
EXAMPLES = 40  # per operation


def fuzz(operation, token: str, calls: dict[str, set[int]]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case):
        resp = case.call_and_validate(headers=bearer(token), checks=CHECKS)
        calls.setdefault(operation.label, set()).add(resp.status_code)

    run()


def test_the_api_keeps_to_its_document(app, api_token):
    token, _ = api_token("owner", dangerous=True, scope="admin:owner admin:dangerous")
    schema = schemathesis.openapi.from_wsgi(f"{API}/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    calls: dict[str, set[int]] = {}
    for operation in operations:
        fuzz(operation, token, calls)
    print(calls)
    # the fuzzing reached the operations themselves, not only the framework's refusals
    assert all(calls.get(op.label) for op in operations), calls
    assert any(200 in codes for codes in calls.values()), calls
