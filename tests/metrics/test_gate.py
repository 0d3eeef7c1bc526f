"""/metrics is for the operator's Prometheus alone: with no token set there is no such route,
and with one, a scrape without that exact Bearer token gets a 401 and not one metric."""

from __future__ import annotations

import re
from typing import Any

import pytest

from idp import instruments
from tests.metrics.conftest import BEARER, TOKEN

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.mark.parametrize(
    ("header", "challenge"),
    [
        (None, 'Bearer realm="avain-metrics"'),
        ("Bearer ", 'Bearer realm="avain-metrics"'),
        (f"Basic {TOKEN}", 'Bearer realm="avain-metrics"'),
        ("Bearer not-the-token", 'Bearer realm="avain-metrics", error="invalid_token"'),
        (f"Bearer {TOKEN[:-1]}", 'Bearer realm="avain-metrics", error="invalid_token"'),
        (f"Bearer {TOKEN}x", 'Bearer realm="avain-metrics", error="invalid_token"'),
    ],
)
def test_a_scrape_without_the_token_is_refused(client, header, challenge):
    resp = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert resp.status_code == 401
    assert resp.headers["WWW-Authenticate"] == challenge
    assert resp.headers["Cache-Control"] == "no-store"
    assert b"avain_" not in resp.data


def test_the_token_opens_it_in_any_case_of_the_scheme(client):
    for scheme in ("Bearer", "bearer", "BEARER"):
        resp = client.get("/metrics", headers={"Authorization": f"{scheme} {TOKEN}"})
        assert resp.status_code == 200 and b"avain_http_requests_total" in resp.data
    assert client.get("/metrics", headers=BEARER).headers["Cache-Control"] == "no-store"


class TestWithoutAToken:
    @pytest.fixture
    def app_config(self, app_config: dict[str, Any]) -> dict[str, Any]:
        return {**app_config, "metrics_token": ""}

    def test_there_is_no_such_route(self, app):
        """The same 404 as for any unknown path, to a browser that comes for the first time
        (the page names the path, and its CSRF token may be signed a second later)."""
        assert not [r for r in app.url_map.iter_rules() if "metrics" in r.rule]

        def page(path: str, headers: dict[str, str]) -> tuple[int, list[str], bytes]:
            resp = app.test_client().get(path, headers=headers)
            body = re.sub(rb'(csrf[-_]token"? (?:content|value)=")[^"]+', rb"\1", resp.data)
            return resp.status_code, sorted(resp.headers.keys()), body.replace(path.encode(), b"")

        unknown = page("/metricz", {})
        assert unknown[0] == 404
        assert page("/metrics", {}) == unknown
        assert page("/metrics", BEARER) == unknown

    def test_requests_are_not_timed(self, app, client):
        """No hook at all: the requests of an app without metrics are nowhere counted."""

        def counted() -> float:
            labels = {"endpoint": "oauth.openid_configuration", "method": "GET", "status": "200"}
            value = instruments.REGISTRY.get_sample_value("avain_http_requests_total", labels)
            return value or 0.0

        before = counted()
        assert client.get("/.well-known/openid-configuration").status_code == 200
        assert counted() == before
