"""Revocation is final: once a revoking request has returned, no token of the grants it ended
works, and none is issued, however a relying party races it (RFC 9700 §4.14).

Each revoking action a customer has (withdrawal, logout, password change, password reset,
account deletion) runs while relying parties refresh in a loop and redeem a code they were
given just before. Afterwards every access token any of them ever got is inactive, every
refresh token is refused, and the code is not redeemable. On PostgreSQL the rounds run with
real concurrency, repeated to catch a race; on SQLite the single writer serialises them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import (
    PASSWORD,
    authorize_params,
    csrf_of,
    exchange,
    follow_to_code,
    login,
)

ROUNDS = {"sqlite": 2, "postgresql": 6}
MAX_REFRESHES = 400  # a loop that is never refused stops here, and the test fails


@pytest.fixture
def rounds(database_url: str) -> int:
    return ROUNDS["sqlite" if database_url.startswith("sqlite") else "postgresql"]


@dataclass
class Refresher:
    """A relying party that rotates its refresh token as fast as it can."""

    app: Flask
    client_id: str
    secret: str
    refresh_token: str
    issued: list[dict[str, Any]] = field(default_factory=list)
    refused: dict[str, Any] | None = None
    started: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        http = self.app.test_client()
        token = self.refresh_token
        for _ in range(MAX_REFRESHES):
            resp = http.post(
                "/token",
                data={"grant_type": "refresh_token", "refresh_token": token},
                auth=(self.client_id, self.secret),
            )
            self.started.set()
            if resp.status_code != 200:
                self.refused = {"status": resp.status_code, **(resp.json or {})}
                return
            body = resp.json
            self.issued.append(body)
            token = body["refresh_token"]


@dataclass
class Redeemer:
    """A relying party redeeming a code it got before the revocation, at the same moment."""

    app: Flask
    client_id: str
    secret: str
    redirect_uri: str
    code: str
    verifier: str
    go: threading.Event = field(default_factory=threading.Event)
    result: dict[str, Any] | None = None

    def run(self) -> None:
        http = self.app.test_client()
        self.go.wait(10)
        resp = http.post(
            "/token",
            data={
                "grant_type": "authorization_code",
                "code": self.code,
                "redirect_uri": self.redirect_uri,
                "code_verifier": self.verifier,
            },
            auth=(self.client_id, self.secret),
        )
        self.result = {"status": resp.status_code, **(resp.json or {})}


def _tokens_for(browser: FlaskClient, rp: Any, secret: str, email: str, scope: str) -> dict:
    params, verifier = authorize_params(rp, scope=scope)
    q = follow_to_code(browser, params, email)
    resp = exchange(browser, rp, secret, q["code"], verifier)
    assert resp.status_code == 200, resp.json
    return resp.json


def _pending_code(browser: FlaskClient, rp: Any, email: str, scope: str) -> tuple[str, str]:
    params, verifier = authorize_params(rp, scope=scope)
    return follow_to_code(browser, params, email)["code"], verifier


def _assert_nothing_works(app: Flask, rp: Any, secret: str, got: list[dict[str, Any]]) -> None:
    http = app.test_client()
    for body in got:
        intro = http.post(
            "/introspect", data={"token": body["access_token"]}, auth=(rp.client_id, secret)
        ).json
        assert intro == {"active": False}, "an access token outlived the revocation"
        info = http.get("/userinfo", headers={"Authorization": f"Bearer {body['access_token']}"})
        assert info.status_code == 401
    for body in got:
        if "refresh_token" in body:
            resp = http.post(
                "/token",
                data={"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
                auth=(rp.client_id, secret),
            )
            assert resp.status_code == 400 and resp.json["error"] == "invalid_grant"


def _race(
    app: Flask,
    rp: Any,
    secret: str,
    initial: list[dict[str, Any]],
    codes: list[tuple[str, str]],
    revoke: Callable[[], None],
) -> None:
    """Run refresh loops and code redemptions against ``revoke``; then check the outcome."""
    loops = [Refresher(app, rp.client_id, secret, t["refresh_token"]) for t in initial]
    redeemers = [
        Redeemer(app, rp.client_id, secret, rp.redirect_uris[0], code, verifier)
        for code, verifier in codes
    ]
    threads = [threading.Thread(target=x.run) for x in (*loops, *redeemers)]
    for thread in threads:
        thread.start()
    for loop in loops:
        assert loop.started.wait(10)
    for redeemer in redeemers:
        redeemer.go.set()
    revoke()  # the revoking request has returned when this does
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive()

    for loop in loops:
        assert loop.refused is not None, "a refresh loop was never refused"
        assert loop.refused["status"] == 400 and loop.refused["error"] == "invalid_grant"
    got = list(initial)
    for loop in loops:
        got.extend(loop.issued)
    for redeemer in redeemers:
        assert redeemer.result is not None
        if redeemer.result["status"] == 200:  # redeemed before the revocation committed
            got.append(redeemer.result)
        else:
            assert redeemer.result["error"] == "invalid_grant"
    _assert_nothing_works(app, rp, secret, got)


def _withdraw(browser: FlaskClient, rp: Any) -> Callable[[], None]:
    def revoke() -> None:
        account = browser.get("/account/")
        resp = browser.post(
            "/account/sharing/withdraw",
            data={
                "recipient": rp.client_id,
                "purpose": f"signin:{rp.client_id}",
                "csrf_token": csrf_of(account.data),
            },
        )
        assert resp.status_code == 302 and "notice=withdrawn" in resp.headers["Location"]

    return revoke


def _logout(browser: FlaskClient) -> Callable[[], None]:
    def revoke() -> None:
        page = browser.get("/logout")
        resp = browser.post("/logout", data={"confirm": "yes", "csrf_token": csrf_of(page.data)})
        assert resp.status_code in (200, 302)

    return revoke


def _change_password(browser: FlaskClient) -> Callable[[], None]:
    def revoke() -> None:
        page = browser.get("/account/password")
        resp = browser.post(
            "/account/password",
            data={
                "current_password": PASSWORD,
                "new_password": PASSWORD + " 2",
                "new_password_confirm": PASSWORD + " 2",
                "csrf_token": csrf_of(page.data),
            },
        )
        assert resp.status_code == 302, resp.data[:300]

    return revoke


def _reset_password(app: Flask, browser: FlaskClient, user: Any) -> Callable[[], None]:
    from idp.auth import accounts

    with app.app_context():
        link = f"/reset/{accounts.make_reset_token(app.config['AVAIN'].secret_key, user)}"

    def revoke() -> None:
        page = browser.get(link)
        resp = browser.post(
            link,
            data={
                "password": PASSWORD + " 3",
                "password_confirm": PASSWORD + " 3",
                "csrf_token": csrf_of(page.data),
            },
        )
        assert resp.status_code == 200 and b"signed out everywhere" in resp.data

    return revoke


def _delete_account(browser: FlaskClient) -> Callable[[], None]:
    def revoke() -> None:
        page = browser.get("/account/delete")
        resp = browser.post(
            "/account/delete",
            data={"confirm": "yes", "password": PASSWORD, "csrf_token": csrf_of(page.data)},
        )
        assert resp.status_code == 200, resp.data[:300]

    return revoke


OFFLINE = "openid email offline_access"
SESSION_BOUND = "openid email"


def test_withdrawal_ends_grants_in_flight(app, make_user, make_client, rounds):
    for _ in range(rounds):
        user = make_user()
        rp, secret = make_client()
        browser = app.test_client()
        initial = [_tokens_for(browser, rp, secret, user.email, OFFLINE) for _ in range(2)]
        codes = [_pending_code(browser, rp, user.email, OFFLINE)]
        _race(app, rp, secret, initial, codes, _withdraw(browser, rp))


def test_logout_ends_session_grants_in_flight(app, make_user, make_client, rounds):
    for _ in range(rounds):
        user = make_user()
        rp, secret = make_client()
        browser = app.test_client()
        initial = [_tokens_for(browser, rp, secret, user.email, SESSION_BOUND) for _ in range(2)]
        codes = [
            _pending_code(browser, rp, user.email, SESSION_BOUND),
            _pending_code(browser, rp, user.email, OFFLINE),  # not redeemed: ends too
        ]
        _race(app, rp, secret, initial, codes, _logout(browser))


def test_password_change_ends_the_other_sessions_grants_in_flight(
    app, make_user, make_client, rounds
):
    for _ in range(rounds):
        user = make_user()
        rp, secret = make_client()
        elsewhere = app.test_client()  # the session the change signs out
        initial = [_tokens_for(elsewhere, rp, secret, user.email, SESSION_BOUND)]
        codes = [_pending_code(elsewhere, rp, user.email, SESSION_BOUND)]
        here = app.test_client()
        assert login(here, user.email).status_code == 302
        _race(app, rp, secret, initial, codes, _change_password(here))


@pytest.mark.parametrize("action", ["password reset", "account deletion"])
def test_signing_out_everywhere_ends_every_grant_offline_ones_too(
    app, make_user, make_client, rounds, action
):
    for _ in range(rounds):
        user = make_user()
        rp, secret = make_client()
        browser = app.test_client()
        initial = [
            _tokens_for(browser, rp, secret, user.email, OFFLINE),
            _tokens_for(browser, rp, secret, user.email, SESSION_BOUND),
        ]
        codes = [_pending_code(browser, rp, user.email, OFFLINE)]
        revoke = (
            _reset_password(app, app.test_client(), user)
            if action == "password reset"
            else _delete_account(browser)
        )
        _race(app, rp, secret, initial, codes, revoke)


def test_offline_grant_outlives_logout_but_its_unredeemed_code_does_not(
    app, make_user, make_client
):
    """OIDC Core §11: offline_access is for use while the customer is not signed in."""
    user = make_user()
    rp, secret = make_client()
    browser = app.test_client()
    offline = _tokens_for(browser, rp, secret, user.email, OFFLINE)
    code, verifier = _pending_code(browser, rp, user.email, OFFLINE)
    _logout(browser)()
    resp = browser.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": offline["refresh_token"]},
        auth=(rp.client_id, secret),
    )
    assert resp.status_code == 200
    assert exchange(browser, rp, secret, code, verifier).json["error"] == "invalid_grant"


def test_a_code_from_a_session_ended_meanwhile_is_not_redeemable(app, make_user, make_client):
    """The authorization may have raced the logout: redemption checks the session itself."""
    user = make_user()
    rp, secret = make_client()
    browser = app.test_client()
    code, verifier = _pending_code(browser, rp, user.email, SESSION_BOUND)
    with app.app_context():
        from sqlalchemy import update

        from idp.db import new_session, utcnow
        from idp.models import SsoSession

        with new_session(app) as s:  # as if a logout committed without seeing the new grant
            s.execute(update(SsoSession).values(revoked_at=utcnow()))
            s.commit()
    assert exchange(browser, rp, secret, code, verifier).json["error"] == "invalid_grant"
