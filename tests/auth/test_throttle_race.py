"""The throttle holds under parallel requests, on every backend and store, at every place
that checks a password: at most ``limit`` passwords are checked, and nothing fails with 500.

Each request of a burst comes from its own client (its own cookie session and database
session), and all are released at once.
"""

from __future__ import annotations

import pytest

from idp.auth import passwords
from tests.burst import burst
from tests.clock import advance
from tests.conftest import PASSWORD, csrf_of, login

N = 16


@pytest.fixture
def app_config(app_config, store_url):
    return {**app_config, "login_max_failures": 3, "redis_url": store_url or ""}


@pytest.fixture
def checks(monkeypatch):
    """Every password check (the Argon2 verify), from any thread."""
    calls: list[bool] = []
    real = passwords.verify

    def counting(password: str, stored: str | None) -> tuple[bool, str | None]:
        calls.append(stored is not None)
        return real(password, stored)

    monkeypatch.setattr(passwords, "verify", counting)
    return calls


def _login_page(client, i):
    return csrf_of(client.get("/login").data)


def _post_login(email_of):
    def send(client, i, csrf):
        return client.post(
            "/login", data={"email": email_of(i), "password": "wrong password", "csrf_token": csrf}
        )

    return send


def test_parallel_wrong_passwords_check_at_most_the_limit_per_account(
    app, make_user, checks, store
):
    user = make_user()
    limit = app.config["AVAIN"].login_max_failures
    responses = burst(app, N, _post_login(lambda i: user.email), _login_page)
    assert sorted({r.status_code for r in responses}) == [401]
    assert len(checks) <= limit
    throttled = [r for r in responses if b"Too many failed attempts" in r.data]
    assert len(throttled) == N - len(checks)
    # the slots are used up: the right password is refused too
    resp = login(app.test_client(), user.email, PASSWORD)
    assert resp.status_code == 401 and b"Too many failed attempts" in resp.data


def test_parallel_spraying_from_one_address_checks_at_most_the_ip_limit(app, checks):
    ip_limit = app.config["AVAIN"].login_max_failures * 4
    responses = burst(app, N, _post_login(lambda i: f"spray{i}@example.com"), _login_page)
    assert sorted({r.status_code for r in responses}) == [401]
    assert len(checks) <= ip_limit < N


def test_parallel_wrong_current_passwords_on_the_account_page(app, make_user, checks):
    user = make_user()
    limit = app.config["AVAIN"].login_max_failures

    def prepare(client, i):
        assert login(client, user.email).status_code == 302
        return csrf_of(client.get("/account/password").data)

    def send(client, i, csrf):
        return client.post(
            "/account/password",
            data={
                "current_password": "wrong password",
                "new_password": "a brand new password",
                "new_password_confirm": "a brand new password",
                "csrf_token": csrf,
            },
        )

    responses = burst(app, N, send, prepare)
    during = checks[N:]  # the N sign-ins of prepare() came first
    assert sorted({r.status_code for r in responses}) == [400]
    assert len(during) <= limit


def test_a_right_password_gives_the_slots_back(app, make_user, checks):
    user = make_user()
    limit = app.config["AVAIN"].login_max_failures
    client = app.test_client()
    for _ in range(limit - 1):
        assert login(client, user.email, "wrong password").status_code == 401
    assert login(client, user.email).status_code == 302
    for _ in range(limit):
        assert login(app.test_client(), user.email, "wrong password").status_code == 401


def test_the_window_ends_inside_the_counting_step(app, make_user, monkeypatch, store, request):
    """A counter whose window has passed starts again at one (no separate clean-up)."""
    user = make_user()
    limit = app.config["AVAIN"].login_max_failures
    for _ in range(limit):
        login(app.test_client(), user.email, "wrong password")
    assert b"Too many" in login(app.test_client(), user.email).data
    window = app.config["AVAIN"].login_throttle_window
    redis_url = request.getfixturevalue("redis_url") if store == "redis" else None
    advance(monkeypatch, window + 1, redis_url)
    assert login(app.test_client(), user.email).status_code == 302
