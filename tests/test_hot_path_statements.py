"""The SQL statements each hot path sends, counted per request and held to a budget
(issue 14): a change that adds a round trip to the token endpoint, userinfo or the sign-in
fails here and has to say so, on SQLite and on PostgreSQL.

The budget is exact, not a ceiling: a change that saves a statement lowers it, so the table
below stays the true cost of each path and the next saving shows too. The figures are the
statements the database sees (``before_cursor_execute``), transactions' BEGIN and COMMIT
not included; ``commits`` counts the transactions a request commits (a statement sent
outside a transaction commits by itself, and is not counted again).

The customer has given a partner (the garage) consent, so the ledger decides every claim
released, and the disclosure log is on (its default), as a partner's requests meet it in
production.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from idp import replay
from idp.ledger import sequencer
from tests.auth.passkey_flows import meta_csrf, post_json, register_passkey
from tests.conftest import PASSWORD, authorize_params, csrf_of, exchange, query_of
from tests.ledger.flows import consent_page, finish, userinfo
from tests.ledger.test_read_only import Statements, recorded

# (statements, commits) per request
BUDGET: dict[str, tuple[int, int]] = {
    "discovery": (0, 0),
    "jwks": (0, 0),  # the keys are in the worker's memory (idp/cache.py)
    # client_credentials, userinfo and introspection send their statements outside a
    # transaction (idp.db.without_transaction): no BEGIN, no COMMIT
    "client_credentials": (1, 0),  # the token's row; the client and key are in memory
    "refresh": (4, 1),  # token and customer in one; the grant held; the old token; the new
    # token and customer with the consent events for the client (PostgreSQL's LATERAL;
    # SQLite reads the events in a statement of their own); the disclosure
    "userinfo": (2, 0),
    "introspection": (2, 0),  # as userinfo, the grant's details joined on too
    # signed in, consent already given: straight to the code. The SSO session with its
    # customer, the consent state, the code and the grant (the passkey check only when a
    # phishing-resistant acr is asked for)
    "authorize": (4, 1),
    "authorization_code": (4, 1),  # the code with its customer; grant held; code claimed; token
    # the attempt counted on the account and the IP (one upsert), committed before the
    # password is checked; the customer; the slots given back (one upsert); the SSO session
    "password_login": (4, 2),
    # the challenge's first use (one insertion in replay.PURGE_EVERY also purges: 5); the
    # passkey and its customer in one; the passkey's sign count; the SSO session
    "passkey_login": (4, 1),
}


class Paths:
    """A customer signed in, who gave the garage consent, and the garage's tokens."""

    SCOPE = "openid profile email phone offline_access"

    def __init__(self, app: Flask, client: FlaskClient, make_user: Any, make_client: Any):
        self.app, self.client = app, client
        self.user = make_user()
        self.rp, self.secret = make_client(
            client_id="garage",
            name="Korjaamo Virtanen",
            redirect_uris=["https://garage.example/cb"],
            grant_types=["authorization_code", "refresh_token", "client_credentials"],
        )
        # the customer agrees to the garage's booking purpose, email included, and releases
        # the purpose's necessary claims too: every claim below is decided by the ledger
        params, verifier = authorize_params(self.rp, scope=self.SCOPE)
        interaction, page = consent_page(client, params, self.user.email)
        callback = finish(
            client,
            interaction,
            page,
            **{"agree:garage_booking": "on", "claim:garage_booking:email": "on"},
            scope_offline_access="on",
        )
        sequencer.drain(app)  # the consent is in the log, as it is a moment later in production
        self.tokens = exchange(client, self.rp, self.secret, callback["code"], verifier).json
        assert "refresh_token" in self.tokens, self.tokens
        info = userinfo(client, self.tokens).json
        assert info["email"] == self.user.email and info["name"] == self.user.name, info

    def count(self, call: Any) -> tuple[Statements, Any]:
        with recorded(self.app) as seen:
            resp = call()
        assert resp.status_code in (200, 302), resp.data[:300]
        return seen, resp


@pytest.fixture
def paths(app, client, make_user, make_client) -> Paths:  # type: ignore[no-untyped-def]
    return Paths(app, client, make_user, make_client)


def _discovery(p: Paths) -> Any:
    return p.client.get("/.well-known/openid-configuration")


def _jwks(p: Paths) -> Any:
    return p.client.get("/jwks.json")


def _client_credentials(p: Paths) -> Any:
    return p.client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(p.rp.client_id, p.secret)
    )


def _refresh(p: Paths) -> Any:
    return p.client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": p.tokens["refresh_token"]},
        auth=(p.rp.client_id, p.secret),
    )


def _userinfo(p: Paths) -> Any:
    bearer = {"Authorization": f"Bearer {p.tokens['access_token']}"}
    return p.client.get("/userinfo", headers=bearer)


def _introspection(p: Paths) -> Any:
    return p.client.post(
        "/introspect", data={"token": p.tokens["access_token"]}, auth=(p.rp.client_id, p.secret)
    )


PATHS = {
    "discovery": _discovery,
    "jwks": _jwks,
    "client_credentials": _client_credentials,
    "refresh": _refresh,
    "userinfo": _userinfo,
    "introspection": _introspection,
}


#: on SQLite, paths that read the consent events apart from the token (no LATERAL join)
SQLITE_EXTRA = {"userinfo": 1, "introspection": 1}


def _within_budget(name: str, seen: Statements, backend: str = "postgresql") -> None:
    spent = (len(seen.sql), seen.commits)
    budget = BUDGET[name]
    if backend == "sqlite":
        budget = (budget[0] + SQLITE_EXTRA.get(name, 0), budget[1])
    listing = "\n".join(f"  {s.split(chr(10))[0][:160]}" for s in seen.sql)
    assert spent == budget, (
        f"{name}: {spent[0]} statements and {spent[1]} commits, budget {budget}. "
        f"If the change is meant, set the budget in {__name__} and say why in the commit.\n"
        + listing
    )


@pytest.mark.parametrize("name", list(PATHS))
def test_each_hot_path_keeps_its_statement_budget(paths: Paths, name: str) -> None:
    seen, _ = paths.count(lambda: PATHS[name](paths))
    _within_budget(name, seen, paths.app.extensions["avain.engine"].dialect.name)


def test_authorize_and_token_for_a_signed_in_customer(paths: Paths) -> None:
    """The customer is signed in and has given the consent: /authorize answers with the
    code at once; then the code is redeemed."""
    params, verifier = authorize_params(paths.rp, scope=Paths.SCOPE)
    seen, resp = paths.count(lambda: paths.client.get("/authorize", query_string=params))
    assert resp.status_code == 302
    code = query_of(resp.headers["Location"])["code"]
    _within_budget("authorize", seen)
    seen, _ = paths.count(lambda: exchange(paths.client, paths.rp, paths.secret, code, verifier))
    _within_budget("authorization_code", seen)


def test_password_login(paths: Paths) -> None:
    browser = paths.app.test_client()
    form = {"email": paths.user.email, "password": PASSWORD}
    form["csrf_token"] = csrf_of(browser.get("/login").data)
    seen, resp = paths.count(lambda: browser.post("/login", data=form))
    assert resp.status_code == 302 and "/login" not in resp.headers["Location"]
    _within_budget("password_login", seen)


def test_passkey_login(paths: Paths, monkeypatch: pytest.MonkeyPatch) -> None:
    authenticator = register_passkey(paths.app.test_client(), paths.user)
    browser = paths.app.test_client()
    csrf = meta_csrf(browser)
    options = post_json(browser, "/passkeys/login/options", {}, csrf).json
    body = {"credential": authenticator.assert_(options)}
    # an insertion into the replay cache that does not purge it (test_replay_purge.py)
    monkeypatch.setattr(replay, "_insertions", itertools.count(1))
    seen, resp = paths.count(lambda: post_json(browser, "/passkeys/login/verify", body, csrf))
    assert "redirect" in resp.json, resp.json
    _within_budget("passkey_login", seen)
