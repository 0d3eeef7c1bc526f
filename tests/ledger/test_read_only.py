"""Read paths do not write: claim release, userinfo, introspection and the public GETs.

Purpose versions are synced and keys made at start-up (:mod:`idp.startup`), so releasing
claims runs no SQL about purpose versions, and the endpoints that only read issue no
INSERT, UPDATE or DELETE but one: a release of customer claims (userinfo, introspection)
writes its row to the disclosure log (:mod:`idp.ledger.disclosures`), the record GDPR
Art. 15(1)(c) gives the customer, and nothing else; the consent ledger is never written.
The token endpoint writes its tokens, but releasing the ID token's claims writes nothing
to the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import event, func, select

from idp.db import new_session
from idp.models import Disclosure
from tests.conftest import authorize_params, exchange, follow_to_code

WRITES = ("INSERT", "UPDATE", "DELETE")


@dataclass
class Statements:
    """The SQL one request sent, as the database saw it."""

    sql: list[str] = field(default_factory=list)
    commits: int = 0

    def writes(self) -> list[str]:
        return [s for s in self.sql if s.lstrip().split(None, 1)[0].upper() in WRITES]

    def touching(self, table_prefix: str) -> list[str]:
        return [s for s in self.sql if table_prefix in s]


@contextmanager
def recorded(app: Flask) -> Iterator[Statements]:
    engine = app.extensions["avain.engine"]
    seen = Statements()

    def before(_conn: Any, _cur: Any, statement: str, *_: Any) -> None:
        seen.sql.append(statement)

    def commit(conn: Any) -> None:
        # a connection outside a transaction (idp.db.without_transaction) has none to commit
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            seen.commits += 1

    event.listen(engine, "before_cursor_execute", before)
    event.listen(engine, "commit", commit)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)
        event.remove(engine, "commit", commit)


@pytest.fixture
def tokens(client, make_user, make_client):  # type: ignore[no-untyped-def]
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(
        rp,
        scope="openid profile email offline_access",
        claims=json.dumps({"id_token": {"name": None}}),  # so the ID token releases a claim
    )
    code = follow_to_code(client, params, user.email)["code"]
    body = exchange(client, rp, secret, code, verifier).json
    assert "refresh_token" in body, body
    return rp, secret, body


def only_the_disclosure(seen: Statements) -> bool:
    writes = seen.writes()
    return len(writes) == 1 and writes[0].lstrip().startswith("INSERT INTO disclosures ")


def _disclosures(app: Flask) -> int:
    with new_session(app) as db:
        return int(db.scalar(select(func.count()).select_from(Disclosure)) or 0)


def test_userinfo_reads_only(app, client, tokens):
    _, _, body = tokens
    before = _disclosures(app)
    with recorded(app) as seen:
        resp = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert resp.status_code == 200 and resp.json["name"]
    # the disclosure's row is the one write, sent outside a transaction: it commits itself
    assert only_the_disclosure(seen) and seen.commits == 0, seen.sql
    assert seen.touching("consent_purpose_versions") == []
    assert _disclosures(app) == before + 1


def test_userinfo_that_releases_no_customer_claim_commits_nothing(
    app, client, make_user, make_client
):
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="openid")
    code = follow_to_code(client, params, user.email)["code"]
    body = exchange(client, rp, secret, code, verifier).json
    with recorded(app) as seen:
        resp = client.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert resp.status_code == 200 and set(resp.json) == {"sub"}
    assert seen.writes() == [] and seen.commits == 0, seen.sql


def test_introspection_reads_only(app, client, tokens):
    rp, secret, body = tokens
    with recorded(app) as seen:
        resp = client.post(
            "/introspect", data={"token": body["access_token"]}, auth=(rp.client_id, secret)
        )
    assert resp.status_code == 200 and resp.json["active"] and resp.json["name"]
    # the view commits what client authentication may write (a JWT assertion's jti);
    # with a client secret that is nothing, and the claims released are recorded
    assert only_the_disclosure(seen), seen.sql
    assert seen.touching("consent_purpose_versions") == []
    assert seen.touching("consent_purpose_versions") == []


def test_refresh_releases_claims_without_writing_to_the_ledger(app, client, tokens):
    rp, secret, body = tokens
    with recorded(app) as seen:
        resp = client.post(
            "/token",
            auth=(rp.client_id, secret),
            data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        )
    assert resp.status_code == 200
    assert seen.writes(), "the new tokens are stored"
    assert [s for s in seen.writes() if "consent_" in s] == []
    assert seen.touching("consent_purpose_versions") == []
    keyset = KeySet.import_key_set(client.get("/jwks.json").json)
    assert jwt.decode(resp.json["id_token"], keyset).claims["name"], "a claim was released"


@pytest.mark.parametrize(
    "path",
    [
        "/jwks.json",
        "/consent-log/checkpoint",
        "/consent-log/key",
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ],
)
def test_public_documents_of_a_fresh_installation_are_read_only(app, client, path):
    with recorded(app) as seen:
        resp = client.get(path)
    assert resp.status_code == 200, resp.data[:300]
    assert seen.writes() == [] and seen.commits == 0, seen.sql


def test_a_fresh_installation_publishes_keys_and_an_empty_checkpoint(client):
    """Made at start-up, before the first request (RFC 9162 §4.10: a log of size 0 has a
    signed tree head too)."""
    assert {k["alg"] for k in client.get("/jwks.json").json["keys"]} == {"RS256", "ES256"}
    assert client.get("/consent-log/checkpoint").data.decode().split("\n")[1] == "0"
    assert client.get("/consent-log/key").json["keys"][0]["crv"] == "Ed25519"
