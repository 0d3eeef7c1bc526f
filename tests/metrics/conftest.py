"""Fixtures of the /metrics tests: an app with a metrics token, and scrapes read back with
Prometheus' own parser (``prometheus_client.parser``)."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

TOKEN = "metrics-token-for-the-tests-" + "t" * 24
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def app_config(app_config: dict[str, Any]) -> dict[str, Any]:
    return {**app_config, "metrics_token": TOKEN, "login_max_failures": 3}


class Scrape:
    """One scrape's samples: ``value(name, **labels)`` is 0 for a series not shown, as
    Prometheus reads a counter that has not started."""

    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = {
            (s.name, frozenset(s.labels.items())): s.value
            for family in self.families.values()
            for s in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def label_values(self, name: str, label: str) -> set[str]:
        return {dict(key)[label] for (sample, key) in self.samples if sample == name}


def scrape(client: FlaskClient) -> Scrape:
    resp = client.get("/metrics", headers=BEARER)
    assert resp.status_code == 200, resp.data[:300]
    assert resp.content_type == "text/plain; version=0.0.4; charset=utf-8"
    return Scrape(resp.get_data(as_text=True))


def moved(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.value(name, **labels) - before.value(name, **labels)
