"""A scrape is Prometheus' text format as Prometheus' own parser reads it, and shows exactly
the metrics docs/metrics.md lists, each of the type the page gives it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.metrics.conftest import BEARER, scrape

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"
# a row of one of the page's tables: | `name` | type | labels | meaning |
ROW = re.compile(r"^\| `(avain_\w+)` \| (counter|gauge|histogram) \|([^|]*)\|", re.MULTILINE)


def documented() -> dict[str, tuple[str, set[str]]]:
    rows = ROW.findall(DOC.read_text(encoding="utf-8"))
    return {name: (kind, set(re.findall(r"`(\w+)`", labels))) for name, kind, labels in rows}


def test_every_metric_is_documented_and_every_documented_one_is_there(client):
    client.get("/.well-known/openid-configuration")  # a request, so its series exist
    shown = scrape(client).families
    doc = documented()
    # the parser names a counter's family without its ``_total``
    names = {f"{n}_total" if f.type == "counter" else n: f for n, f in shown.items()}
    assert set(names) == set(doc)
    for name, family in names.items():
        kind, labels = doc[name]
        assert family.type == kind, name
        seen = {k for s in family.samples for k in s.labels} - {"le"}
        assert seen <= labels, (name, seen, labels)
    requests = names["avain_http_requests_total"]
    assert {k for s in requests.samples for k in s.labels} == {"endpoint", "method", "status"}


def test_each_sample_is_a_number_with_help_and_type(client):
    resp = client.get("/metrics", headers=BEARER)
    text = resp.get_data(as_text=True)
    families = re.findall(r"^# TYPE (\w+) (\w+)$", text, re.MULTILINE)
    helps = re.findall(r"^# HELP (\w+) .+$", text, re.MULTILINE)
    assert [name for name, _ in families] == helps
    for line in text.splitlines():
        if line and not line.startswith("#"):
            assert re.fullmatch(r'avain_\w+(\{(\w+="[^"]*",?)+\})? [-+0-9.eInfa]+', line), line


def test_series_known_beforehand_are_there_from_the_start(app, client):
    """So that ``rate()`` sees their first event (Prometheus: "avoid missing metrics")."""
    shown = scrape(client)
    for method, outcome in [("password", "throttled"), ("admin_passkey", "failure")]:
        key = frozenset({("method", method), ("outcome", outcome)})
        assert ("avain_logins_total", key) in shown.samples
    assert shown.label_values("avain_tokens_issued_total", "grant_type") == {
        "authorization_code",
        "refresh_token",
        "client_credentials",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
    kinds = shown.label_values("avain_outbox_delivery_attempts_total", "kind")
    assert kinds == {"backchannel_logout", "mail", "security_event"}
