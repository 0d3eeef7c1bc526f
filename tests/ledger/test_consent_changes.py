"""A customer cannot grow the consent log by repeating themselves: only changes are recorded."""

from __future__ import annotations

import threading

from idp import context
from idp.account import sharing
from idp.db import new_session, utcnow
from idp.ledger.context import consent_context
from idp.models import Client, User
from tests.conftest import login
from tests.ledger.flows import consent, history, withdraw


def test_withdrawing_a_consent_never_given_records_nothing(app, client, make_user, make_client):
    user = make_user()
    rp, _ = make_client()
    login(client, user.email)
    for _ in range(5):
        resp = withdraw(client, rp)
        assert resp.status_code == 302 and "notice=withdrawn" in resp.headers["Location"]
    assert history(app, user) == []


def test_a_repeated_choice_is_recorded_once(app, client, make_user, make_client):
    user = make_user()
    rp, _ = make_client()
    purpose = f"signin:{rp.client_id}"
    consent(client, rp, user.email)
    withdraw(client, rp)
    withdraw(client, rp)
    consent(client, rp, user.email)
    consent(client, rp, user.email, prompt="consent")  # asked again: the same answer
    assert history(app, user) == [
        ("given", purpose),
        ("withdrawn", purpose),
        ("given", purpose),
    ]


def _change(app, user_id, client_id, action="withdraw"):
    with app.app_context(), new_session(app) as s:
        queued = sharing.change(
            s,
            consent_context(),
            context.settings().issuer,
            s.get(User, user_id),
            s.get(Client, client_id),
            f"signin:{client_id}",
            action,
            language="en",
            session_id=None,
            now=utcnow(),
        )
        s.commit()
        return queued


def test_a_repeated_withdrawal_does_not_log_the_client_out_again(
    app, client, make_user, make_client
):
    user = make_user()
    rp, _ = make_client(backchannel_logout_uri="https://rp.example.com/backchannel")
    assert _change(app, user.id, rp.client_id) == 0  # never given: no logout either
    consent(client, rp, user.email)
    assert _change(app, user.id, rp.client_id) == 1
    assert _change(app, user.id, rp.client_id) == 0


def test_concurrent_identical_withdrawals_record_one_event(app, client, make_user, make_client):
    user = make_user()
    rp, _ = make_client()
    purpose = f"signin:{rp.client_id}"
    rounds, n = 3, 8
    for _ in range(rounds):
        consent(client, rp, user.email)
        start = threading.Barrier(n)
        errors: list[BaseException] = []

        def withdraw(start=start, errors=errors):
            try:
                start.wait()
                _change(app, user.id, rp.client_id)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=withdraw) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
    assert history(app, user) == [("given", purpose), ("withdrawn", purpose)] * rounds
