"""Requests queue consent events; the sequencer puts them in the log after the commit."""

from __future__ import annotations

import time

from click.testing import CliRunner
from sqlalchemy import func, select

from consent import ledger as L
from consent.store import EventRow, IntakeRow
from idp import cli
from idp.ledger import sequencer
from tests.conftest import authorize_params, csrf_of, exchange
from tests.ledger.flows import cli_env, consent_page, finish, userinfo


def _counts(app):
    from idp.db import new_session

    with new_session(app) as s:
        return (
            s.scalar(select(func.count()).select_from(EventRow)),
            s.scalar(select(func.count()).select_from(IntakeRow)),
        )


def test_a_running_sequencer_is_woken_by_the_commit(app, client, make_user, make_client):
    user = make_user()
    rp, _ = make_client()
    running = sequencer.start(app, interval=60)  # only a wake-up can make it look in time
    try:
        params, _ = authorize_params(rp, scope="openid email")
        interaction, page = consent_page(client, params, user.email)
        finish(client, interaction, page)
        deadline = time.monotonic() + 10
        while _counts(app) != (1, 0) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _counts(app) == (1, 0)
    finally:
        sequencer.stop(app)
    assert not running.thread.is_alive()


def test_queued_events_decide_at_once_and_wait_safely_for_the_sequencer(
    app, client, make_user, make_client, monkeypatch
):
    """With the sequencer failing, consent and withdrawal still work, from the intake; the
    operator's `idp ledger sequence` later puts both in the log."""
    user = make_user()
    rp, secret = make_client()

    def broken(*_args, **_kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(L, "sequence", broken)
    params, verifier = authorize_params(rp, scope="openid email")
    interaction, page = consent_page(client, params, user.email)
    q = finish(client, interaction, page)
    token = exchange(client, rp, secret, q["code"], verifier).json
    assert userinfo(client, token).json["email"] == user.email
    assert _counts(app) == (0, 1)

    account = client.get("/account/sharing")
    assert b"Withdraw consent" in account.data
    client.post(
        "/account/sharing/withdraw",
        data={
            "recipient": rp.client_id,
            "purpose": f"signin:{rp.client_id}",
            "csrf_token": csrf_of(account.data),
        },
    )
    assert _counts(app) == (0, 2)
    assert b"withdrawn" in client.get("/account/sharing").data
    listing = client.get("/account/sharing/receipts")
    assert listing.status_code == 200 and b"2 events are being recorded" in listing.data
    params, _ = authorize_params(rp, scope="openid email", prompt="none")
    resp = client.get("/authorize", query_string=params)
    assert "consent_required" in resp.headers["Location"]

    monkeypatch.undo()
    cli_env(app, monkeypatch)
    runner = CliRunner()
    checked = runner.invoke(cli.main, ["ledger", "verify"])
    assert checked.exit_code == 0 and "2 events wait to be sequenced" in checked.output
    result = runner.invoke(cli.main, ["ledger", "sequence"])
    assert result.exit_code == 0 and "2 events sequenced" in result.output, result.output
    assert _counts(app) == (2, 0)
    from idp.db import new_session

    with new_session(app) as s:
        keys = app.extensions["avain.ledger_keys"]
        assert [r.type for r in L.customer_rows(s, keys, user.id)] == ["given", "withdrawn"]
        assert L.verify(s, keys.origin).ok
    assert b"being recorded" not in client.get("/account/sharing/receipts").data


def test_only_the_real_commit_kicks_the_sequencer(app, monkeypatch):
    """A SAVEPOINT's release (the audit log makes its head in one) is no commit: kicking
    the sequencer then made it wait for the request's own write lock on SQLite (30 s)."""
    from sqlalchemy import text

    from idp.db import new_session

    kicked: list[object] = []
    monkeypatch.setattr(sequencer, "kick", lambda a: kicked.append(a))
    with app.app_context():
        s = new_session(app)
        s.info[L.QUEUED] = True
        with s.begin_nested():
            s.execute(text("SELECT 1"))
        assert kicked == []
        s.commit()
        assert kicked == [app]
        s.close()
