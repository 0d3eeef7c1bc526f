"""Sign-ins from one client IP check their passwords side by side, and the throttle still
counts every attempt exactly (idp.auth.accounts.begin_login, idp.auth.throttle).

An attempt's slots are taken and committed before its password is checked, so the counter
rows are not held locked through the Argon2 hash: were they, the second sign-in from an
address would wait for the first to finish. Here each password check waits until all the
burst's sign-ins are checking theirs at once (a barrier), so a sign-in stuck behind another's
row lock fails the test; afterwards the counts left behind are checked by what the throttle
lets through, one attempt at a time. Each request is its own thread with its own database
session and connection (tests/burst.py), on SQLite and on PostgreSQL, counters in the
database (Redis counts in one script per step: tests/auth/test_throttle_race.py).
"""

from __future__ import annotations

import threading

import pytest

from idp.auth import passwords
from tests.burst import burst
from tests.conftest import PASSWORD, csrf_of, login

N = 6
TOO_MANY = b"Too many failed attempts"


@pytest.fixture
def app_config(app_config):
    return {**app_config, "login_max_failures": N}  # and 4 * N per client IP


class SideBySide:
    """Password checks that go on only once ``parties`` of them are under way together."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.barrier: threading.Barrier | None = None
        self.checked = 0
        self.lock = threading.Lock()
        real = passwords.verify

        def verify(password: str, stored: str | None) -> tuple[bool, str | None]:
            with self.lock:
                self.checked += 1
            if self.barrier is not None:
                self.barrier.wait()  # BrokenBarrierError when one never comes
            return real(password, stored)

        monkeypatch.setattr(passwords, "verify", verify)

    def expect(self, parties: int) -> None:
        self.barrier = threading.Barrier(parties, timeout=20)

    def done(self) -> None:
        self.barrier = None


@pytest.fixture
def side_by_side(monkeypatch):
    return SideBySide(monkeypatch)


def _page(client, i):
    return csrf_of(client.get("/login").data)


def _sign_in(email_of, password):
    def send(client, i, csrf):
        return client.post(
            "/login", data={"email": email_of(i), "password": password, "csrf_token": csrf}
        )

    return send


def _ip_slots_left(app) -> int:
    """Wrong passwords on unknown addresses from the tests' IP until one is refused: each
    takes one of the IP's slots and none of an account's that is used elsewhere."""
    for n in range(4 * N + 1):
        resp = login(app.test_client(), f"nobody{n}@example.com", "wrong password")
        assert resp.status_code == 401
        if TOO_MANY in resp.data:
            return n
    raise AssertionError("the IP was never throttled")


def test_sign_ins_from_one_address_check_their_passwords_side_by_side(app, make_user, side_by_side):
    users = [make_user() for _ in range(N)]
    side_by_side.expect(N)
    responses = burst(app, N, _sign_in(lambda i: users[i].email, PASSWORD), _page)
    side_by_side.done()
    assert [r.status_code for r in responses] == [302] * N
    assert side_by_side.checked == N
    # each right password gave its IP slot back: none was lost to a concurrent update
    assert _ip_slots_left(app) == 4 * N


def test_parallel_wrong_passwords_are_each_counted_and_lock_the_account(
    app, make_user, side_by_side
):
    user = make_user()
    side_by_side.expect(N)  # the account's whole limit, checked at the same moment
    responses = burst(app, N, _sign_in(lambda i: user.email, "wrong password"), _page)
    side_by_side.done()
    assert [r.status_code for r in responses] == [401] * N
    assert not any(TOO_MANY in r.data for r in responses)
    assert side_by_side.checked == N
    # all N counted on the account: the right password is now refused, unchecked
    resp = login(app.test_client(), user.email, PASSWORD)
    assert resp.status_code == 401 and TOO_MANY in resp.data
    assert side_by_side.checked == N
    # and all N on the address, whose limit is 4 * N
    assert _ip_slots_left(app) == 3 * N


def test_one_account_signing_in_many_times_at_once_from_one_address(app, make_user):
    """A customer's repeated clicks: each sign-in counts its slots on the account and the IP
    and gives them back while the others take theirs, on the same two rows. Both steps lock
    the rows in one order, so none waits for another in a cycle (PostgreSQL would end one
    with a deadlock error, a 500); and no slot is lost."""
    user = make_user()
    for _ in range(3):
        responses = burst(app, N, _sign_in(lambda i: user.email, PASSWORD), _page)
        assert [r.status_code for r in responses] == [302] * N
    # every slot came back: the account takes N - 1 failures and still signs in...
    for _ in range(N - 1):
        assert login(app.test_client(), user.email, "wrong password").status_code == 401
    assert login(app.test_client(), user.email).status_code == 302
    # ...and the address has all its slots but those N - 1
    assert _ip_slots_left(app) == 4 * N - (N - 1)
