"""A customer cannot grow the consent log by repeating themselves: only changes are recorded."""

from __future__ import annotations

import threading

from consent import ledger as L
from idp import context
from idp.account import sharing
from idp.db import new_session, utcnow
from idp.ledger import sequencer
from idp.models import Client, User
from tests.conftest import authorize_params, csrf_of, login
from tests.ledger.test_consent_flow import _consent_page, _finish


def _history(app, user):
    """The customer's events, logged and queued, oldest first."""
    sequencer.drain(app)
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        assert L.queued(s, keys, user.id) == 0
        return [(r.type, r.purpose_id) for r in L.customer_rows(s, keys, user.id)]


def _withdraw(client, rp):
    account = client.get("/account/")
    return client.post(
        "/account/sharing/withdraw",
        data={
            "recipient": rp.client_id,
            "purpose": f"signin:{rp.client_id}",
            "csrf_token": csrf_of(account.data),
        },
    )


def _consent(client, rp, email, **extra):
    params, _ = authorize_params(rp, scope="openid email", **extra)
    interaction, page = _consent_page(client, params, email)
    return _finish(client, interaction, page)


def test_withdrawing_a_consent_never_given_records_nothing(app, client, make_user, make_client):
    user = make_user()
    rp, _ = make_client()
    login(client, user.email)
    for _ in range(5):
        resp = _withdraw(client, rp)
        assert resp.status_code == 302 and "notice=withdrawn" in resp.headers["Location"]
    assert _history(app, user) == []


def test_a_repeated_choice_is_recorded_once(app, client, make_user, make_client):
    user = make_user()
    rp, _ = make_client()
    purpose = f"signin:{rp.client_id}"
    _consent(client, rp, user.email)
    _withdraw(client, rp)
    _withdraw(client, rp)
    _consent(client, rp, user.email)
    _consent(client, rp, user.email, prompt="consent")  # asked again: the same answer
    assert _history(app, user) == [
        ("given", purpose),
        ("withdrawn", purpose),
        ("given", purpose),
    ]


def _change(app, user_id, client_id, action="withdraw"):
    with app.app_context(), new_session(app) as s:
        queued = sharing.change(
            s,
            context.consent_context(),
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
    _consent(client, rp, user.email)
    assert _change(app, user.id, rp.client_id) == 1
    assert _change(app, user.id, rp.client_id) == 0


def test_concurrent_identical_withdrawals_record_one_event(app, client, make_user, make_client):
    user = make_user()
    rp, _ = make_client()
    purpose = f"signin:{rp.client_id}"
    rounds, n = 3, 8
    for _ in range(rounds):
        _consent(client, rp, user.email)
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
    assert _history(app, user) == [("given", purpose), ("withdrawn", purpose)] * rounds
