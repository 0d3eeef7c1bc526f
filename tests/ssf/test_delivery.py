"""SET delivery: push (RFC 8935) to a real receiver that is down and comes back, across an
app restart; poll (RFC 8936) with acknowledgements; every SET verifiable with /jwks.json."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet
from sqlalchemy import select

from consent import ledger as L
from idp import create_app
from idp.db import new_session, utcnow
from idp.events import outbox, signals
from idp.models import Client, SsfEvent, User
from idp.models.ssf import POLL, PUSH
from tests.conftest import PASSWORD, csrf_of
from tests.ledger.flows import consent, withdraw
from tests.ssf.receiver import SetReceiver, payload
from tests.ssf.test_streams import cc_token

ISSUER = "http://localhost"
SESSION_REVOKED = signals.SESSION_REVOKED
WITHDRAWN = f"{ISSUER}/ssf/event-type/consent-withdrawn"


@pytest.fixture
def partner(client, make_client):
    rp, secret = make_client(
        grant_types=["authorization_code", "refresh_token", "client_credentials"],
        subject_type="pairwise",
    )
    return rp, {"Authorization": f"Bearer {cc_token(client, rp, secret)}"}


def _stream(client, auth, delivery, events=(SESSION_REVOKED, WITHDRAWN)):
    resp = client.post(
        "/ssf/stream", json={"delivery": delivery, "events_requested": list(events)}, headers=auth
    )
    assert resp.status_code == 201, resp.data
    return resp.get_json()["stream_id"]


def _revoke_sessions(app, users, rp, rounds):
    """Queue session-revoked SETs, interleaving the customers, one commit each."""
    for _ in range(rounds):
        for user in users:
            with app.app_context(), new_session(app) as s:
                signals.session_revoked(
                    s, ISSUER, s.get(User, user.id), [s.get(Client, rp.client_id)]
                )
                s.commit()


def _join(app):
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)


def _push_until_done(app, rounds=5):
    later = utcnow() + timedelta(hours=1)
    for _ in range(rounds):
        _join(app)
        outbox.push_signals(app, now=later)
        later += timedelta(hours=1)


def _queued(app, stream_id):
    with new_session(app) as s:
        return list(
            s.scalars(select(SsfEvent).where(SsfEvent.stream_id == stream_id).order_by(SsfEvent.id))
        )


def _check_exactly_once_in_order(receiver, events):
    got = receiver.claims()
    jtis = [c["jti"] for c in got]
    assert len(jtis) == len(set(jtis)), "a SET arrived twice"
    assert sorted(jtis) == sorted(e.jti for e in events), "a SET is missing"
    for key in {e.subject_key for e in events}:
        sent = [e.jti for e in events if e.subject_key == key]
        arrived = [c["jti"] for c in got if signals.subject_key(c["sub_id"]) == key]
        assert arrived == sent, "out of order for one subject"


def test_a_receiver_down_then_back_gets_every_set_once_in_order(app, client, partner, make_user):
    rp, auth = partner
    receiver = SetReceiver(expected_auth="Bearer receiver-secret")
    stream_id = _stream(
        client,
        auth,
        {
            "method": PUSH,
            "endpoint_url": receiver.url,
            "authorization_header": "Bearer receiver-secret",
        },
    )
    users = [make_user(), make_user()]
    _revoke_sessions(app, users, rp, rounds=3)  # receiver down: every push fails
    _join(app)
    events = _queued(app, stream_id)
    assert len(events) == 6
    assert all(e.acknowledged_at is None and e.attempts >= 1 for e in events[:1])
    assert events[0].attempt_log[0]["error"] in {"NewConnectionError", "ConnectionRefusedError"}
    receiver.start()
    try:
        _push_until_done(app)
        _revoke_sessions(app, users[:1], rp, rounds=1)  # and one while it is up
        _push_until_done(app)
    finally:
        receiver.stop()
    events = _queued(app, stream_id)
    assert len(events) == 7 and all(e.acknowledged_at is not None for e in events)
    assert all(e.attempt_log[-1]["status"] == 202 for e in events)
    _check_exactly_once_in_order(receiver, events)


def test_nothing_is_lost_across_a_restart(app_config, app, client, partner, make_user):
    rp, auth = partner
    receiver = SetReceiver()
    stream_id = _stream(client, auth, {"method": PUSH, "endpoint_url": receiver.url})
    user = make_user()
    _revoke_sessions(app, [user], rp, rounds=3)
    _join(app)
    app.extensions["avain.engine"].dispose()
    # a new process on the same database, the receiver back
    again = create_app(app_config)
    receiver.start()
    try:
        _push_until_done(again)
    finally:
        receiver.stop()
        _join(again)
        again.extensions["avain.engine"].dispose()
    events = _queued(again, stream_id)
    assert len(events) == 3
    _check_exactly_once_in_order(receiver, events)


def test_withdrawal_is_pushed_at_once_signed_and_verifiable(app, client, partner, make_user):
    rp, auth = partner
    receiver = SetReceiver()
    receiver.start()
    try:
        _stream(client, auth, {"method": PUSH, "endpoint_url": receiver.url})
        user = make_user()
        consent(client, rp, user.email)
        start = time.monotonic()
        withdraw(client, rp)
        assert receiver.arrived.wait(5), "no SET within 5 s of the withdrawal"
        elapsed = time.monotonic() - start
        _join(app)
    finally:
        receiver.stop()
    assert elapsed < 5
    (token,) = receiver.tokens
    keys = KeySet.import_key_set(client.get("/jwks.json").get_json())
    decoded = jwt.decode(token, keys, algorithms=["RS256"])
    assert decoded.header["typ"] == "secevent+jwt"
    claims = decoded.claims
    assert claims["iss"] == ISSUER and claims["aud"] == rp.client_id
    with app.app_context(), new_session(app) as s:
        from idp.subjects import subject

        sub = subject(s, s.get(User, user.id), s.get(Client, rp.client_id))
    assert sub != user.id  # pairwise
    assert claims["sub_id"] == {"format": "iss_sub", "iss": ISSUER, "sub": sub}
    event = claims["events"][WITHDRAWN]
    assert event["purpose"] == f"signin:{rp.client_id}"
    assert event["recipient"] == rp.client_id
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        rows = L.customer_rows(s, keys, user.id)
    (logged,) = [r for r in rows if r.type == "withdrawn"]
    assert event["ledger_seq"] == logged.seq  # the ledger position of that very event
    assert "_ledger" not in event


def test_poll_with_acknowledgements(app, client, partner, make_user):
    rp, auth = partner
    stream_id = _stream(client, auth, {"method": POLL})
    url = f"/ssf/poll/{stream_id}"
    assert client.post(url, json={"returnImmediately": True}, headers=auth).get_json() == {
        "sets": {},
        "moreAvailable": False,
    }
    user = make_user()
    _revoke_sessions(app, [user], rp, rounds=3)
    first = client.post(url, json={"maxEvents": 2, "returnImmediately": True}, headers=auth)
    body = first.get_json()
    assert first.status_code == 200 and len(body["sets"]) == 2 and body["moreAvailable"]
    jtis = list(body["sets"])
    assert [payload(t)["jti"] for t in body["sets"].values()] == jtis
    # acknowledge one, report an error on the other: the third comes next
    second = client.post(
        url,
        json={
            "ack": [jtis[0]],
            "setErrs": {jtis[1]: {"err": "invalid_key", "description": "test"}},
            "returnImmediately": True,
        },
        headers=auth,
    ).get_json()
    assert len(second["sets"]) == 1 and not second["moreAvailable"]
    (third,) = second["sets"]
    assert third not in jtis
    last = client.post(url, json={"ack": [third], "returnImmediately": True}, headers=auth)
    assert last.get_json() == {"sets": {}, "moreAvailable": False}
    events = _queued(app, stream_id)
    assert all(e.acknowledged_at is not None for e in events)
    assert events[1].failed_at is not None
    for bad in ({"maxEvents": -1}, {"ack": "x"}, {"returnImmediately": "yes"}, [1]):
        assert client.post(url, json=bad, headers=auth).status_code == 400
    # a maxEvents past any database integer is served as the most one poll hands out
    for huge in (2**63, 10**30):
        resp = client.post(url, json={"maxEvents": huge, "returnImmediately": True}, headers=auth)
        assert resp.status_code == 200 and resp.get_json() == {"sets": {}, "moreAvailable": False}


def test_verification_and_removed_subjects(app, client, partner, make_user):
    rp, auth = partner
    stream_id = _stream(client, auth, {"method": POLL})
    assert (
        client.post(
            "/ssf/verify", json={"stream_id": stream_id, "state": "abc"}, headers=auth
        ).status_code
        == 204
    )
    user, other = make_user(), make_user()
    with app.app_context(), new_session(app) as s:
        from idp.subjects import subject

        removed = subject(s, s.get(User, other.id), s.get(Client, rp.client_id))
    client.post(
        "/ssf/subjects:remove",
        json={
            "stream_id": stream_id,
            "subject": {"format": "iss_sub", "iss": ISSUER, "sub": removed},
        },
        headers=auth,
    )
    _revoke_sessions(app, [user, other], rp, rounds=1)
    sets = client.post(
        f"/ssf/poll/{stream_id}", json={"returnImmediately": True}, headers=auth
    ).get_json()["sets"]
    claims = [payload(t) for t in sets.values()]
    assert claims[0]["events"] == {signals.VERIFICATION: {"state": "abc"}}
    assert claims[0]["sub_id"] == {"format": "opaque", "id": stream_id}
    assert [c["sub_id"]["sub"] for c in claims[1:]] != [removed]
    assert len(claims) == 2


def test_a_paused_stream_holds_and_a_disabled_one_drops(app, client, partner, make_user):
    rp, auth = partner
    stream_id = _stream(client, auth, {"method": POLL})
    url = f"/ssf/poll/{stream_id}"
    user = make_user()
    client.post("/ssf/status", json={"stream_id": stream_id, "status": "paused"}, headers=auth)
    _revoke_sessions(app, [user], rp, rounds=1)
    assert client.post(url, json={"returnImmediately": True}, headers=auth).get_json()["sets"] == {}
    client.post("/ssf/status", json={"stream_id": stream_id, "status": "enabled"}, headers=auth)
    assert (
        len(client.post(url, json={"returnImmediately": True}, headers=auth).get_json()["sets"])
        == 1
    )
    client.post("/ssf/status", json={"stream_id": stream_id, "status": "disabled"}, headers=auth)
    _revoke_sessions(app, [user], rp, rounds=1)
    client.post("/ssf/status", json={"stream_id": stream_id, "status": "enabled"}, headers=auth)
    assert client.post(url, json={"returnImmediately": True}, headers=auth).get_json()["sets"] == {}


def test_logout_and_account_deletion_signal_the_clients(app, client, partner, make_user):
    rp, auth = partner
    stream_id = _stream(
        client, auth, {"method": POLL}, events=(SESSION_REVOKED, signals.ACCOUNT_PURGED)
    )
    user = make_user()
    consent(client, rp, user.email)
    page = client.get("/account/delete")
    resp = client.post(
        "/account/delete",
        data={"confirm": "yes", "password": PASSWORD, "csrf_token": csrf_of(page.data)},
    )
    assert resp.status_code == 200 and b"deleted" in resp.data.lower(), resp.data[:300]
    sets = client.post(
        f"/ssf/poll/{stream_id}", json={"returnImmediately": True}, headers=auth
    ).get_json()["sets"]
    kinds = [next(iter(payload(t)["events"])) for t in sets.values()]
    assert kinds == [SESSION_REVOKED, signals.ACCOUNT_PURGED]


def test_a_session_whose_time_ran_out_ends_as_a_logout_does(app, client, partner, make_user):
    """The worker's sweep: revoked as of its expiry, its codes and tokens dead, and the
    client that took part told (CAEP session-revoked by "policy"), once."""
    from idp.models import SsoSession
    from idp.sso.logout import sweep_expired_sessions

    rp, auth = partner
    stream_id = _stream(client, auth, {"method": POLL}, events=(SESSION_REVOKED,))
    user = make_user()
    consent(client, rp, user.email)
    expired_at = utcnow() - timedelta(minutes=1)
    with app.app_context(), new_session(app) as s:
        sso = s.scalars(select(SsoSession).where(SsoSession.user_id == user.id)).one()
        sso.expires_at = expired_at
        sid = sso.id
        s.commit()
    assert sweep_expired_sessions(app) == 1
    assert sweep_expired_sessions(app) == 0
    with app.app_context(), new_session(app) as s:
        sso = s.get(SsoSession, sid)
        assert sso is not None and sso.revoked_at is not None
        assert abs(sso.revoked_at.replace(tzinfo=None) - expired_at.replace(tzinfo=None)) < (
            timedelta(seconds=1)
        )
    sets = client.post(
        f"/ssf/poll/{stream_id}", json={"returnImmediately": True}, headers=auth
    ).get_json()["sets"]
    events = [payload(t)["events"] for t in sets.values()]
    assert events == [{SESSION_REVOKED: events[0][SESSION_REVOKED]}]
    assert events[0][SESSION_REVOKED]["initiating_entity"] == "policy"


def test_the_worker_runs_the_session_sweep(app):
    """``idp serve`` hands the sweep to the outbox worker as a job; the loop runs it."""
    import threading

    from idp.events.outbox import start_worker

    ran = threading.Event()
    start_worker(app, interval=0.05, jobs=[(60.0, lambda _app: ran.set())])
    try:
        assert ran.wait(5)
    finally:
        app.extensions["avain.outbox_stop"].set()
