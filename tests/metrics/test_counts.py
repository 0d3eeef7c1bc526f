"""The counters move with real requests: token grants, sign-ins, userinfo, deliveries, and
every request by its endpoint, never by its path. Read back through /metrics itself.

On SQLite alone: what is counted does not depend on the database (the gauges, which do,
are tested on both in test_gauges.py). Counts live in the process and outlast one test's
app, so each test compares a scrape before with one after.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp.db import new_session
from idp.events.outbox import deliver_due
from idp.models import Delivery
from idp.outbound import policy_from
from tests.auth.passkey_flows import passkey_sign_in, register_passkey
from tests.conftest import authorize_params, exchange, follow_to_code, login
from tests.ledger.test_read_only import recorded
from tests.metrics.conftest import moved, scrape
from tests.test_hot_path_statements import BUDGET

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

TOKENS = "avain_tokens_issued_total"
LOGINS = "avain_logins_total"
REQUESTS = "avain_http_requests_total"
LATENCY = "avain_http_request_duration_seconds"
DELIVERIES = "avain_outbox_delivery_attempts_total"


def _client_credentials(client: FlaskClient, rp: Any, secret: str) -> Any:
    return client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, secret)
    )


def test_each_grant_counts_its_tokens(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(
        grant_types=["authorization_code", "refresh_token", "client_credentials"]
    )
    before = scrape(client)
    assert _client_credentials(client, rp, secret).status_code == 200
    assert _client_credentials(client, rp, "wrong secret").status_code == 401
    params, verifier = authorize_params(rp, scope="openid offline_access", prompt="consent")
    code = follow_to_code(client, params, user.email)["code"]
    tokens = exchange(client, rp, secret, code, verifier).json
    refreshed = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        auth=(rp.client_id, secret),
    )
    assert refreshed.status_code == 200, refreshed.json
    after = scrape(client)

    assert moved(before, after, TOKENS, grant_type="client_credentials") == 1
    assert moved(before, after, TOKENS, grant_type="authorization_code") == 1
    assert moved(before, after, TOKENS, grant_type="refresh_token") == 1
    token_requests = {"endpoint": "oauth.token", "method": "POST"}
    assert moved(before, after, REQUESTS, **token_requests, status="200") == 3
    assert moved(before, after, REQUESTS, **token_requests, status="401") == 1
    assert moved(before, after, f"{LATENCY}_count", endpoint="oauth.token") == 4
    assert moved(before, after, f"{LATENCY}_sum", endpoint="oauth.token") > 0


def test_password_sign_ins_count_by_outcome(client, make_user):
    user = make_user()
    before = scrape(client)
    assert login(client, user.email).status_code == 302
    for _ in range(3):  # login_max_failures is 3 here (conftest.py)
        assert login(client, user.email, "not the password").status_code == 401
    assert login(client, user.email).status_code == 401  # the right one, after the limit
    after = scrape(client)

    assert moved(before, after, LOGINS, method="password", outcome="success") == 1
    assert moved(before, after, LOGINS, method="password", outcome="failure") == 3
    assert moved(before, after, LOGINS, method="password", outcome="throttled") == 1


def test_passkey_sign_ins_count_by_outcome(client, make_user):
    user = make_user()
    authenticator = register_passkey(client, user)
    before = scrape(client)
    assert passkey_sign_in(client, authenticator)[0].status_code == 200
    refused, _ = passkey_sign_in(client, authenticator, origin="https://evil.example")
    assert refused.status_code == 401
    after = scrape(client)

    assert moved(before, after, LOGINS, method="passkey", outcome="success") == 1
    assert moved(before, after, LOGINS, method="passkey", outcome="failure") == 1
    assert moved(before, after, LOGINS, method="password", outcome="success") == 0


def test_userinfo_is_counted_under_its_endpoint(client, make_user, make_client):
    user = make_user()
    rp, secret = make_client()
    params, verifier = authorize_params(rp)
    code = follow_to_code(client, params, user.email)["code"]
    access = exchange(client, rp, secret, code, verifier).json["access_token"]
    before = scrape(client)
    assert client.get("/userinfo", headers={"Authorization": f"Bearer {access}"}).status_code == 200
    assert client.get("/userinfo", headers={"Authorization": "Bearer nonsense"}).status_code == 401
    after = scrape(client)

    userinfo = {"endpoint": "oauth.userinfo", "method": "GET"}
    assert moved(before, after, REQUESTS, **userinfo, status="200") == 1
    assert moved(before, after, REQUESTS, **userinfo, status="401") == 1
    assert moved(before, after, f"{LATENCY}_count", endpoint="oauth.userinfo") == 2
    assert moved(before, after, f"{LATENCY}_bucket", endpoint="oauth.userinfo", le="+Inf") == 2


def test_documents_answered_from_memory_are_counted_too(client):
    """Discovery and the JWKS are answered before Flask after the first time
    (idp.documents): each still counts, under its endpoint, 304s apart."""
    before = scrape(client)
    for _ in range(3):
        etag = client.get("/jwks.json").headers["ETag"]
    assert client.get("/jwks.json", headers={"If-None-Match": etag}).status_code == 304
    assert client.head("/.well-known/openid-configuration").status_code == 200
    after = scrape(client)

    jwks = {"endpoint": "oauth.jwks", "method": "GET"}
    assert moved(before, after, REQUESTS, **jwks, status="200") == 3
    assert moved(before, after, REQUESTS, **jwks, status="304") == 1
    assert moved(before, after, f"{LATENCY}_count", endpoint="oauth.jwks") == 4
    discovery = {"endpoint": "oauth.openid_configuration", "method": "HEAD", "status": "200"}
    assert moved(before, after, REQUESTS, **discovery) == 1


def test_paths_and_methods_nobody_routes_share_one_label(client):
    """A client choosing paths and methods must not make new series: one label for all."""
    before = scrape(client)
    for n in range(5):
        assert client.get(f"/no/such/page/{n}").status_code == 404
    assert client.open("/jwks.json", method="BREW").status_code == 405
    after = scrape(client)

    assert moved(before, after, REQUESTS, endpoint="unmatched", method="GET", status="404") == 5
    assert moved(before, after, REQUESTS, endpoint="unmatched", method="other", status="405") == 1
    endpoints = after.label_values(REQUESTS, "endpoint")
    assert not [e for e in endpoints if "/" in e], endpoints
    assert after.label_values(REQUESTS, "method") <= {"GET", "HEAD", "POST", "other"}


def test_back_channel_deliveries_count_attempts_by_outcome(app: Flask, client, receiver):
    def queue(url: str) -> None:
        with new_session(app) as session:
            session.add(Delivery(kind="backchannel_logout", client_id="rp", url=url, payload="t"))
            session.commit()

    def deliver() -> int:
        policy = policy_from(app.config["AVAIN"])
        return deliver_due(app.extensions["avain.sessionmaker"], 2.0, 8, outbound=policy)

    before = scrape(client)
    queue(receiver.url)
    assert deliver() == 1  # taken
    receiver.status = 503
    queue(receiver.url)
    assert deliver() == 1  # to be tried again
    queue("http://127.0.0.1:9/not-allowed")  # outside outbound_allow_hosts: never tried again
    assert deliver() == 1
    after = scrape(client)

    logout = {"kind": "backchannel_logout"}
    assert moved(before, after, DELIVERIES, **logout, outcome="delivered") == 1
    assert moved(before, after, DELIVERIES, **logout, outcome="failed") == 1
    assert moved(before, after, DELIVERIES, **logout, outcome="dropped") == 1
    assert after.value("avain_outbox_pending", **logout) == 1  # the one to try again
    assert len(receiver.tokens) == 2


def test_counting_costs_no_statement(app, client, make_client):
    """The hot paths keep their budgets with metrics on (tests/test_hot_path_statements.py);
    a scrape reads the database twice: the intake's backlog and the outbox's."""
    rp, secret = make_client(grant_types=["client_credentials"])
    assert _client_credentials(client, rp, secret).status_code == 200  # caches filled
    with recorded(app) as seen:
        assert _client_credentials(client, rp, secret).status_code == 200
    assert (len(seen.sql), seen.commits) == BUDGET["client_credentials"]
    with recorded(app) as seen:
        scrape(client)
    assert len(seen.sql) == 2, seen.sql


def test_a_scrape_is_counted_too(client):
    before = scrape(client)
    after = scrape(client)
    scraped = {"endpoint": "metrics.scrape", "method": "GET", "status": "200"}
    assert moved(before, after, REQUESTS, **scraped) == 1
