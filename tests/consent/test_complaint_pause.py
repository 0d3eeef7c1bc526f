"""A complaint pauses marketing: the ledger's ``complaint_opened`` and ``complaint_closed``
events, how they project, what ``decide()`` makes of a paused purpose, the catalogue's
``marketing`` flag, and that a log holding them still verifies and gives receipts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from consent import ledger as L
from consent.catalogue import load_catalogue, purpose_hash
from consent.decide import decide
from consent.model import (
    Actor,
    Channel,
    ConsentStatus,
    EventType,
    LegalBasis,
    Need,
    Purpose,
    Reason,
    ReleaseRequest,
)
from consent.projection import NARROWING, changes, project
from consent.receipts import EVENT_STATES
from tests.consent.events import T0, ev
from tests.consent.test_catalogue import DEMO, MINIMAL, error, load, replaced

OPENED, CLOSED = EventType.COMPLAINT_OPENED, EventType.COMPLAINT_CLOSED
KEY = ("customer-1", "shop", "marketing")


def _admin(event):
    return replace(event, actor=Actor.ADMIN, channel=Channel.ADMIN_CONSOLE, claims=frozenset())


def _events(*kinds_claims):
    out = []
    for i, (kind, claims) in enumerate(kinds_claims):
        event = ev(kind=kind, purpose="marketing", recipient="shop", claims=claims, minutes=i)
        out.append(_admin(event) if kind in (OPENED, CLOSED) else event)
    return out


MARKETING = Purpose(
    id="marketing",
    version=1,
    basis=LegalBasis.CONSENT,
    texts={},
    claims={"email": Need.OPTIONAL, "given_name": Need.OPTIONAL},
    recipients=frozenset({"shop"}),
    marketing=True,
)
REMINDERS = Purpose(
    id="reminders",
    version=1,
    basis=LegalBasis.LEGITIMATE_INTEREST,
    texts={},
    claims={"given_name": Need.NECESSARY},
    recipients=frozenset({"shop"}),
    marketing=True,
)
WANTED = ReleaseRequest("customer-1", "shop", frozenset({"email", "given_name"}))


def _decide(events, purposes=(MARKETING,)):
    states = {k[2]: s for k, s in project(events).items()}
    return decide(WANTED, list(purposes), states, T0)


def test_an_open_complaint_pauses_the_consent_and_keeps_it_as_chosen():
    given = (EventType.GIVEN, ("email", "given_name"))
    before = _decide(_events(given))
    assert before.claims == {"email", "given_name"}
    state = project(_events(given, (OPENED, ())))[KEY]
    assert state.paused and state.status == ConsentStatus.ACTIVE
    assert state.claims == {"email", "given_name"}  # the choice is kept, not withdrawn
    paused = _decide(_events(given, (OPENED, ())))
    assert paused.claims == frozenset()
    assert paused.withheld == {
        "email": "paused_for_complaint",
        "given_name": "paused_for_complaint",
    }
    assert _decide(_events(given, (OPENED, ()), (CLOSED, ()))).claims == before.claims


def test_a_pause_stops_even_what_another_basis_would_release():
    """Marketing on legitimate interest: its necessary claim needs no consent, but a complaint
    still stops it (the pause is about marketing, whatever its basis)."""
    events = [_admin(ev(kind=OPENED, purpose="reminders", recipient="shop", claims=()))]
    decision = _decide(events, (REMINDERS,))
    assert decision.withheld["given_name"] == Reason.PAUSED
    assert _decide([], (REMINDERS,)).released == {"given_name": "reminders"}


def test_what_the_customer_does_during_the_pause_is_what_stands_after_it():
    given = (EventType.GIVEN, ("email",))
    withdrew = _events(given, (OPENED, ()), (EventType.WITHDRAWN, ()), (CLOSED, ()))
    assert project(withdrew)[KEY].status == ConsentStatus.WITHDRAWN
    assert _decide(withdrew).withheld["email"] == Reason.WITHDRAWN
    gave = _events((OPENED, ()), (EventType.GIVEN, ("given_name",)))
    assert _decide(gave).claims == frozenset()  # a consent given meanwhile waits too
    assert _decide([*gave, _events((CLOSED, ()))[0]]).claims == {"given_name"}


def test_the_reason_a_pause_gives_outranks_consent_reasons_but_not_restriction():
    events = _events((EventType.WITHDRAWN, ()), (OPENED, ()))
    assert _decide(events).withheld["email"] == Reason.PAUSED
    restricted = [*events, _events((EventType.RESTRICTION, ()))[0]]
    assert _decide(restricted).withheld["email"] == Reason.RESTRICTED


def test_opening_and_closing_are_recorded_only_when_they_change_something():
    state = project(_events((EventType.GIVEN, ("email",)), (OPENED, ())))[KEY]
    opened, closed = _events((OPENED, ()), (CLOSED, ()))
    assert not changes(state, opened)  # already paused
    assert changes(state, closed)
    assert changes(None, opened)  # a purpose never consented to is paused too
    assert not changes(None, closed)
    assert not changes(replace(state, paused=False), closed)
    assert OPENED in NARROWING and CLOSED not in NARROWING


def test_receipts_and_exports_name_the_new_events():
    assert EVENT_STATES[OPENED] == "processing paused for a complaint"
    assert EVENT_STATES[CLOSED] == "complaint closed, processing resumed"


# -- the catalogue ------------------------------------------------------------------------


def test_the_demo_marks_marketing_email_and_nothing_else_as_marketing():
    cat = load_catalogue(DEMO)
    assert [p.id for p in cat.purposes.values() if p.marketing] == ["marketing_email"]


def test_marketing_is_read_and_does_not_change_the_hash(tmp_path: Path):
    plain = load(tmp_path, MINIMAL).purposes["booking"]
    marked = load(
        tmp_path, replaced("validity_days = 90\n", "validity_days = 90\nmarketing = true\n")
    )
    purpose = marked.purposes["booking"]
    assert purpose.marketing and not plain.marketing
    assert purpose.content_hash == plain.content_hash == purpose_hash(purpose)


def test_marketing_must_be_true_or_false(tmp_path: Path):
    message = error(
        tmp_path, replaced("validity_days = 90\n", 'validity_days = 90\nmarketing = "yes"\n')
    )
    assert "[[purposes]] 'booking'" in message
    assert "marketing must be true or false, not 'yes'" in message
    assert "marketing = true" in message


# -- the log ------------------------------------------------------------------------------


def test_a_log_with_complaint_events_verifies_and_projects(ledger_session, keys):
    details = {"complaint": "c-1", "admin_id": "a-1", "admin_email": "dpo@example.com"}
    L.append(ledger_session, keys, ev(claims=("email",)), {"language": "fi"})
    L.append(
        ledger_session, keys, _admin(ev(kind=OPENED, minutes=1)), {**details, "reason": "spam"}
    )
    L.checkpoint(ledger_session, keys)
    ledger_session.commit()
    assert L.states(ledger_session, keys, "customer-1")[("garage", "garage_booking")].paused
    L.submit(ledger_session, keys, _admin(ev(kind=CLOSED, minutes=2)), {**details, "reason": "ok"})
    ledger_session.commit()
    L.sequence(ledger_session, keys)
    ledger_session.commit()
    report = L.verify(ledger_session, keys.origin)
    assert report.ok, report.problems
    assert report.entries == 3
    state = L.states(ledger_session, keys, "customer-1")[("garage", "garage_booking")]
    assert not state.paused and state.status == ConsentStatus.ACTIVE and state.claims == {"email"}
    opened = L.customer_rows(ledger_session, keys, "customer-1")[1]
    assert (opened.type, opened.actor) == ("complaint_opened", "admin")
    assert L.details(ledger_session, keys, "customer-1", opened)["reason"] == "spam"
