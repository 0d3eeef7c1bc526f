"""decide(): no claim leaves without its legal basis; checked against the event history."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings, strategies as st

from consent import (
    Actor,
    Channel,
    ConsentEvent,
    EventType,
    Ground,
    LegalBasis,
    Need,
    Purpose,
    Reason,
    ReleaseRequest,
    decide,
    project,
)

T0 = datetime(2026, 11, 1, tzinfo=UTC)
NEC, OPT = Need.NECESSARY, Need.OPTIONAL

GARAGE = Purpose(
    id="garage_booking",
    version=2,
    basis=LegalBasis.CONSENT,
    texts={},
    claims={"name": NEC, "car_registration": NEC, "email": OPT, "tire_purchase": OPT},
    recipients=frozenset({"garage"}),
    validity_days=90,
)
ACCOUNT = Purpose(
    id="account",
    version=1,
    basis=LegalBasis.CONTRACT,
    texts={},
    claims={"name": NEC, "email": NEC, "locale": OPT},
    recipients=frozenset({"shop"}),
)
MARKETING = Purpose(
    id="marketing",
    version=1,
    basis=LegalBasis.CONSENT,
    texts={},
    claims={"email": OPT, "given_name": OPT},
    recipients=frozenset({"shop"}),
)
ANALYTICS = Purpose(
    id="analytics",
    version=1,
    basis=LegalBasis.LEGITIMATE_INTEREST,
    texts={},
    claims={"locale": NEC},
    recipients=frozenset({"shop"}),
)
PURPOSES = [GARAGE, ACCOUNT, MARKETING, ANALYTICS]
CLAIMS = sorted({c for p in PURPOSES for c in p.claims} | {"phone_number"})


def event(kind, purpose=GARAGE, claims=(), at=T0, version=None, expires=None, recipient=None):
    return ConsentEvent(
        customer_id="c1",
        recipient_id=recipient or sorted(purpose.recipients)[0],
        purpose_id=purpose.id,
        purpose_version=purpose.version if version is None else version,
        type=kind,
        at=at,
        actor=Actor.CUSTOMER,
        channel=Channel.CONSENT_SCREEN,
        claims=frozenset(claims),
        expires_at=expires,
    )


def run(events, recipient, claims, now=T0 + timedelta(days=1)):
    states = {k[2]: v for k, v in project(events).items() if k[1] == recipient}
    purposes = [p for p in PURPOSES if recipient in p.recipients]
    return decide(ReleaseRequest("c1", recipient, frozenset(claims)), purposes, states, now)


def test_consent_releases_necessary_and_chosen_optional_claims():
    d = run(
        [event(EventType.GIVEN, claims={"email"})],
        "garage",
        {"name", "car_registration", "email", "tire_purchase"},
    )
    assert d.released == {
        "name": "garage_booking",
        "car_registration": "garage_booking",
        "email": "garage_booking",
    }
    assert d.withheld == {"tire_purchase": Reason.NOT_CHOSEN}


def test_without_consent_nothing_leaves_and_the_reason_says_why():
    d = run([], "garage", {"name", "phone_number"})
    assert d.released == {}
    assert d.withheld == {"name": Reason.NO_CONSENT, "phone_number": Reason.NO_PURPOSE}


def test_withdrawal_refusal_expiry_and_new_version_stop_release():
    given_ = event(EventType.GIVEN, claims={"email"})
    later = T0 + timedelta(hours=1)
    assert run([given_, event(EventType.WITHDRAWN, at=later)], "garage", {"name"}).withheld == {
        "name": Reason.WITHDRAWN
    }
    assert run([event(EventType.REFUSED)], "garage", {"name"}).withheld == {"name": Reason.REFUSED}
    expiring = event(EventType.GIVEN, expires=T0 + timedelta(hours=2))
    assert run([expiring], "garage", {"name"}, now=T0 + timedelta(hours=3)).withheld == {
        "name": Reason.EXPIRED
    }
    old = event(EventType.GIVEN, version=1)
    assert run([old], "garage", {"name"}).withheld == {"name": Reason.OUTDATED}


def test_contract_basis_needs_no_consent_but_optional_claims_do():
    d = run([], "shop", {"name", "email", "locale"})
    assert d.released["name"] == "account" and d.released["email"] == "account"
    # locale is optional for the account but necessary for analytics (legitimate interest)
    assert d.released["locale"] == "analytics"


def test_objection_and_restriction():
    objected = [event(EventType.OBJECTION, purpose=ANALYTICS)]
    assert run(objected, "shop", {"locale"}).withheld == {"locale": Reason.OBJECTED}
    restricted = [event(EventType.RESTRICTION, purpose=ACCOUNT)]
    assert run(restricted, "shop", {"name"}).withheld == {"name": Reason.RESTRICTED}
    lifted = restricted + [event(EventType.RESTRICTION_LIFTED, purpose=ACCOUNT)]
    assert run(lifted, "shop", {"name"}).released == {"name": "account"}


def test_each_released_claim_names_the_ground_it_rests_on():
    """The disclosure log records these: the purpose, its basis and the consent event."""
    given_at = T0 + timedelta(minutes=5)
    logged = replace(event(EventType.GIVEN, claims={"email"}, at=given_at), seq=42)
    d = run([logged], "garage", {"name", "email", "tire_purchase"})
    assert d.grounds == {
        "name": Ground("garage_booking", 2, LegalBasis.CONSENT, given_at, 42),
        "email": Ground("garage_booking", 2, LegalBasis.CONSENT, given_at, 42),
    }
    # a consent still waiting in the intake has no place in the log yet, only its time
    queued = event(EventType.GIVEN, claims={"email"}, at=given_at)
    assert run([queued], "garage", {"email"}).grounds["email"].consent_seq is None
    # a necessary claim on contract or legitimate interest rests on that, not on consent;
    # an optional claim of a contract purpose would need consent (here: none, so analytics)
    shop = run([], "shop", {"name", "locale", "given_name"})
    assert shop.grounds == {
        "name": Ground("account", 1, LegalBasis.CONTRACT),
        "locale": Ground("analytics", 1, LegalBasis.LEGITIMATE_INTEREST),
    }
    chosen = [replace(event(EventType.GIVEN, purpose=MARKETING, claims={"given_name"}), seq=7)]
    marketing = run(chosen, "shop", {"given_name"}).grounds["given_name"]
    assert marketing == Ground("marketing", 1, LegalBasis.CONSENT, T0, 7)


def test_a_withdrawal_leaves_no_ground_and_no_consent_position_in_the_state():
    given_ = replace(event(EventType.GIVEN), seq=3)
    withdrawn = replace(event(EventType.WITHDRAWN, at=T0 + timedelta(hours=1)), seq=4)
    (state,) = project([given_, withdrawn]).values()
    assert state.seq is None
    assert run([given_, withdrawn], "garage", {"name"}).grounds == {}


def test_consent_for_one_recipient_does_not_leak_to_another():
    d = run(
        [event(EventType.GIVEN, claims={"email"})], "shop", {"tire_purchase", "car_registration"}
    )
    assert d.released == {}


# -- properties ------------------------------------------------------------------------

KINDS = list(EventType)
events_strategy = st.lists(
    st.tuples(
        st.sampled_from(KINDS),
        st.sampled_from(PURPOSES),
        st.frozensets(st.sampled_from(CLAIMS), max_size=4),
        st.integers(min_value=0, max_value=3),  # purpose version seen
        st.one_of(st.none(), st.integers(min_value=1, max_value=96)),
    ),  # expiry hours
    max_size=14,
)


def _build(spec):
    out = []
    for i, (kind, purpose, claims, version, expiry) in enumerate(spec):
        at = T0 + timedelta(hours=i)
        out.append(
            event(
                kind,
                purpose,
                claims,
                at=at,
                version=version,
                expires=at + timedelta(hours=expiry) if expiry else None,
            )
        )
    return out


def oracle_consent(events, purpose, claim, now):
    """Straight from the history: the newest ending-or-granting event for the purpose must be
    a grant to the current version, unexpired, naming the claim (or the claim necessary),
    and no restriction may be in force."""
    relevant = [e for e in events if e.purpose_id == purpose.id]
    restricted = False
    last = None
    for e in relevant:
        if e.type is EventType.RESTRICTION:
            restricted = True
        elif e.type is EventType.RESTRICTION_LIFTED:
            restricted = False
        elif e.type in {
            EventType.GIVEN,
            EventType.RENEWED,
            EventType.MODIFIED,
            EventType.WITHDRAWN,
            EventType.REFUSED,
            EventType.EXPIRED,
        }:
            last = e
    if restricted or last is None:
        return False
    if last.type not in {EventType.GIVEN, EventType.RENEWED, EventType.MODIFIED}:
        return False
    if last.purpose_version != purpose.version:
        return False
    if last.expires_at is not None and last.expires_at <= now:
        return False
    return claim in last.claims or purpose.claims[claim] is Need.NECESSARY


@settings(max_examples=400, deadline=None)
@given(
    events_strategy,
    st.sampled_from(["garage", "shop"]),
    st.frozensets(st.sampled_from(CLAIMS), min_size=1),
    st.integers(0, 120),
)
def test_no_claim_leaves_without_a_valid_basis(spec, recipient, claims, hours):
    events = _build(spec)
    now = T0 + timedelta(hours=hours)
    d = run(events, recipient, claims, now=now)
    assert set(d.released) | set(d.withheld) == set(claims)
    assert not set(d.released) & set(d.withheld)
    by_id = {p.id: p for p in PURPOSES}
    for claim, purpose_id in d.released.items():
        purpose = by_id[purpose_id]
        assert recipient in purpose.recipients and claim in purpose.claims
        if purpose.basis is LegalBasis.CONSENT or purpose.claims[claim] is Need.OPTIONAL:
            assert oracle_consent(events, purpose, claim, now), (claim, purpose_id)


@settings(max_examples=300, deadline=None)
@given(events_strategy, st.frozensets(st.sampled_from(CLAIMS), min_size=1))
def test_after_withdrawal_nothing_optional_is_released_again(spec, claims):
    events = _build(spec)
    at = T0 + timedelta(hours=len(events) + 1)
    events.append(event(EventType.WITHDRAWN, GARAGE, at=at))
    d = run(events, "garage", claims, now=at + timedelta(minutes=1))
    assert "garage_booking" not in d.released.values()
