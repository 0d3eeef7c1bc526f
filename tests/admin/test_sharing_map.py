"""The data-sharing map: counted in SQL, and the count agrees with the ledger's own projection
over random histories (logged and queued events alike); the page shows the purposes,
claims and bases from the catalogue, the counts, the last disclosure, the agreements and
the Shared Signals stream, and unknown partners get a readable 404."""

from __future__ import annotations

import json
import random
from collections import Counter
from datetime import timedelta
from itertools import groupby

from sqlalchemy import literal, select, union_all
from sqlalchemy.sql import Subquery

from consent import Actor, Channel, ConsentEvent, EventType, ledger as L
from consent.ledger.columns import EVENT_FIELDS, as_event
from consent.model import ConsentStatus
from consent.projection import project
from consent.store import EventRow, IntakeRow
from idp.admin import consent_counts, sharing
from idp.db import new_session, utcnow
from idp.models import Disclosure, SsfEvent, SsfStream
from idp.models.ssf import PUSH
from tests.admin.console import session_for

TYPES = list(EventType)


def _event(customer, purpose, kind, at, version=1, recipient="garage", expires=None):
    return ConsentEvent(
        customer_id=customer,
        recipient_id=recipient,
        purpose_id=purpose,
        purpose_version=version,
        type=kind,
        at=at,
        actor=Actor.CUSTOMER,
        channel=Channel.ACCOUNT_PAGE,
        claims=frozenset({"email"}) if kind == EventType.GIVEN else frozenset(),
        expires_at=expires,
    )


def _union() -> Subquery:
    """Every customer's events, logged and queued, as consent.ledger.reading reads one's."""
    logged = select(
        EventRow.subject,
        literal(0).label("queued"),
        EventRow.seq.label("pos"),
        *[getattr(EventRow, n) for n in EVENT_FIELDS],
    )
    waiting = select(
        IntakeRow.subject, literal(1), IntakeRow.id, *[getattr(IntakeRow, n) for n in EVENT_FIELDS]
    )
    return union_all(logged, waiting).subquery()


def _by_projection(session, recipient, now):
    """The reference: every event read into Python and folded by consent.projection."""
    both = _union()
    rows = session.execute(select(both).order_by(both.c.subject, both.c.queued, both.c.pos))
    counts: Counter[tuple[str, int]] = Counter()
    for subject, events in groupby(rows, key=lambda r: r.subject):
        for (_, r, purpose), state in project(as_event(x, subject) for x in events).items():
            live = state.expires_at is None or state.expires_at > now
            stands = state.status == ConsentStatus.ACTIVE and live
            if r == recipient and stands and not (state.objected or state.restricted):
                counts[(purpose, state.purpose_version)] += 1
    return dict(counts)


def test_the_sql_count_agrees_with_the_projection(app):
    keys = app.extensions["avain.ledger_keys"]
    rng = random.Random(12)
    now = utcnow()
    start = now - timedelta(days=50)
    events = []
    for i in range(400):
        expires = rng.choice([None, None, now - timedelta(days=1), now + timedelta(days=9)])
        events.append(
            _event(
                f"c{rng.randrange(15)}",
                rng.choice(["garage_booking", "other"]),
                rng.choice(TYPES),
                start + timedelta(minutes=i),
                version=rng.choice([1, 1, 2]),
                recipient=rng.choice(["garage", "garage", "tire-shop"]),
                expires=expires if rng.random() < 0.5 else None,
            )
        )
    with app.app_context():
        s = new_session(app)
        L.append_many(s, keys, [(e, {}) for e in events[:300]])
        L.submit_many(s, keys, [(e, {}) for e in events[300:]])  # still queued
        s.commit()
        for recipient in ("garage", "tire-shop"):
            expected = _by_projection(s, recipient, now)
            assert expected, "the history should leave some consents standing"
            assert consent_counts.active_by_version(s, recipient, now) == expected
        s.close()


def _history(app, user_id):
    now = utcnow()
    keys = app.extensions["avain.ledger_keys"]
    G, W, OBJ = EventType.GIVEN, EventType.WITHDRAWN, EventType.OBJECTION
    events = [
        _event("c1", "garage_booking", G, now - timedelta(days=40)),
        _event("c2", "garage_booking", G, now - timedelta(days=40)),
        _event("c3", "garage_booking", G, now - timedelta(days=40)),
        _event("c4", "garage_booking", G, now - timedelta(days=40), version=0),  # outdated
        _event("c3", "garage_booking", W, now - timedelta(days=20)),
        _event("c2", "garage_booking", W, now - timedelta(days=2)),
        _event("c2", "garage_booking", G, now - timedelta(days=1)),
        _event("c5", "garage_booking", OBJ, now - timedelta(days=3)),
        _event("c6", "marketing_email", G, now, recipient="tire-shop"),  # someone else's
    ]
    with app.app_context():
        s = new_session(app)
        L.append_many(s, keys, [(e, {}) for e in events])
        L.checkpoint(s, keys)
        s.add(
            Disclosure(
                user_id=user_id,
                recipient_id="garage",
                channel="userinfo",
                claims=["car_registration", "phone_number"],
                grounds=[{"purpose": "garage_booking", "version": 1, "basis": "consent"}],
                at=now - timedelta(hours=1),
            )
        )
        stream = SsfStream(
            id="s-1",
            client_id="garage",
            delivery_method=PUSH,
            endpoint_url="https://garage.example/ssf",
            events_requested=[],
            events_delivered=[
                "https://schemas.openid.net/secevent/caep/event-type/session-revoked"
            ],
        )
        s.add(stream)
        s.flush()
        for n, delivered in enumerate((now, None)):
            s.add(
                SsfEvent(
                    stream_id="s-1",
                    jti=f"j{n}",
                    event_type="x",
                    subject_key="k",
                    claims={},
                    delivered_at=delivered,
                    acknowledged_at=delivered,
                )
            )
        s.commit()
        s.close()


def test_the_map_of_a_partner(app, client, make_client, make_user):
    make_client(client_id="garage", name="Korjaamo Virtanen")
    _history(app, make_user().id)
    with app.app_context():
        s = new_session(app)
        m = sharing.sharing_map(s, app.extensions["avain.catalogue"], "garage", utcnow())
        s.close()
    assert m is not None and m.client is not None
    (share,) = m.shares
    assert share.purpose.id == "garage_booking" and share.on_consent
    version = share.purpose.version
    assert version >= 1
    # c1 and c2 stand on the version in use; c4 consented to an older one
    assert share.counts.current == (2 if version == 1 else 0)
    assert share.counts.withdrawals == {7: 1, 30: 2}
    assert share.counts.objections == {7: 1, 30: 1}
    assert m.last_disclosure is not None and m.last_disclosure.claims == [
        "car_registration",
        "phone_number",
    ]
    assert [a.id for a in m.receives] == ["tire_fitting"] and not m.hands_over
    assert m.stream is not None and m.stream.pending == 1 and m.stream.method == "push"

    data = json.loads(json.dumps(sharing.as_json(m, agreements=True)))  # what the API sends
    assert data["purposes"][0]["withdrawals"] == {"7d": 1, "30d": 2}
    assert data["last_disclosure"]["purposes"] == ["garage_booking"]
    assert data["shared_signals"]["pending"] == 1 and data["agreements"][0]["from"] == "tire-shop"
    assert "agreements" not in sharing.as_json(m, agreements=False)

    session_for(app, client, "partners")
    page = client.get("/admin/sharing/garage").data.decode()
    assert "Korjaamo Virtanen" in page and "garage_booking" in page
    assert "Consent (GDPR Art. 6(1)(a))" in page
    assert "car_registration" in page and "tire_fitting" in page
    assert "https://garage.example/ssf" in page
    assert "1 waiting" in page or "1 events waiting" in page
    listing = client.get("/admin/sharing").data.decode()
    assert (
        'href="/admin/sharing/garage"' in listing and 'href="/admin/sharing/tire-shop"' in listing
    )


def test_a_partner_without_a_client_and_a_client_outside_the_catalogue(app, client, make_client):
    rp, _ = make_client(name="Lone RP")
    purpose = f"signin:{rp.client_id}"
    with app.app_context():
        s = new_session(app)
        keys = app.extensions["avain.ledger_keys"]
        given = _event("c1", purpose, EventType.GIVEN, utcnow(), recipient=rp.client_id)
        L.append_many(s, keys, [(given, {})])
        s.commit()
        m = sharing.sharing_map(s, app.extensions["avain.catalogue"], rp.client_id, utcnow())
        s.close()
    # its customers are asked at sign-in for the profile claims: that purpose is its map
    (share,) = m.shares
    assert share.purpose.id == purpose and share.counts.current == 1

    session_for(app, client, "partners")
    page = client.get("/admin/sharing/tire-shop").data.decode()
    assert "no client is registered" in page and "marketing_email" in page
    page = client.get(f"/admin/sharing/{rp.client_id}").data.decode()
    assert "Signing in (outside the catalogue)" in page and purpose in page
    assert "Nothing has been disclosed" in page


def test_unknown_partners_are_a_readable_404(app, client):
    session_for(app, client, "partners")
    for path in ("/admin/sharing/nobody", "/admin/sharing/" + "x" * 500):
        resp = client.get(path)
        assert resp.status_code == 404 and b"No such partner" in resp.data


def test_an_auditor_sees_the_map_and_its_agreements(app, client):
    session_for(app, client, "auditor")
    assert b"tire_fitting" in client.get("/admin/sharing/garage").data
