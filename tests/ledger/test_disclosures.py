"""The disclosure log: every release of customer claims to a partner is recorded, by name."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from consent import ledger as L
from consent.model import Decision, Ground, LegalBasis
from idp.db import new_session
from idp.ledger import disclosures
from idp.models import Disclosure, DisclosureChannel, User
from tests.conftest import PASSWORD, authorize_params, csrf_of, exchange, follow_to_code, login
from tests.ledger.flows import consent_page, finish, userinfo

PHONE, PLATE = "+358 40 123 4567", "ABC-123"
GARAGE_CLAIMS = json.dumps(
    {
        "id_token": {"name": None, "car_registration": None},
        "userinfo": {"car_registration": None},
    }
)


def rows(app, user_id: str) -> list[Disclosure]:
    with new_session(app) as s:
        found = disclosures.of_customer(s, user_id)
        s.expunge_all()
        return found


def garage_customer(app, make_user):
    user = make_user(name="Aino Virtanen")
    with new_session(app) as s:
        row = s.get(User, user.id)
        row.phone_number, row.car_registration = PHONE, PLATE
        s.commit()
    return user


def garage_tokens(app, client, make_user, make_client, **choices):
    """The garage's tokens for a customer with a phone and a car, after the consent screen."""
    user = garage_customer(app, make_user)
    garage, secret = make_client(
        client_id="garage", name="Korjaamo Virtanen", redirect_uris=["https://garage.example/cb"]
    )
    params, verifier = authorize_params(garage, scope="openid profile phone", claims=GARAGE_CLAIMS)
    interaction, page = consent_page(client, params, user.email)
    q = finish(client, interaction, page, **choices)
    return user, garage, secret, exchange(client, garage, secret, q["code"], verifier).json


def introspect(client, rp, secret, token):
    return client.post(
        "/introspect", data={"token": token["access_token"]}, auth=(rp.client_id, secret)
    )


def test_each_channel_records_the_claim_names_and_never_their_values(
    app, client, make_user, make_client
):
    user, garage, secret, token = garage_tokens(
        app, client, make_user, make_client, **{"agree:garage_booking": "on"}
    )
    assert "id_token" in token
    [by_token] = rows(app, user.id)
    assert by_token.channel == "id_token" and by_token.recipient_id == "garage"
    assert by_token.claims == ["car_registration", "name"]

    info = userinfo(client, token).json
    assert info["phone_number"] == PHONE and info["car_registration"] == PLATE
    assert introspect(client, garage, secret, token).json["name"] == "Aino Virtanen"

    found = rows(app, user.id)
    assert [r.channel for r in found] == ["introspection", "userinfo", "id_token"]  # newest first
    assert found[0].claims == found[1].claims == ["car_registration", "name", "phone_number"]
    stored = json.dumps([[r.claims, r.grounds, r.recipient_id, r.channel] for r in found])
    for value in ("Aino", "Virtanen", PHONE, "4567", PLATE, user.email):
        assert value not in stored

    # each release rested on the customer's consent: the ledger event that gave it
    with new_session(app) as s:
        [given] = L.customer_rows(s, app.extensions["avain.ledger_keys"], user.id)
    assert given.type == "given"
    for r in found:
        [ground] = r.grounds
        assert ground["purpose"] == "garage_booking" and ground["basis"] == "consent"
        assert ground["consent_seq"] == given.seq
        assert ground["consent_at"] == disclosures.stamp(given.at)
        assert ground["claims"] == r.claims


def test_nothing_is_recorded_when_only_protocol_claims_leave(app, client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="openid")
    code = follow_to_code(client, params, user.email)["code"]
    token = exchange(client, rp, secret, code, verifier).json
    assert set(userinfo(client, token).json) == {"sub"}
    assert introspect(client, rp, secret, token).json["active"] is True
    assert rows(app, user.id) == []


def test_a_refusal_by_decide_records_nothing(app, client, make_user, make_client):
    user, garage, secret, token = garage_tokens(app, client, make_user, make_client)  # refused
    assert set(userinfo(client, token).json) == {"sub"}
    assert set(introspect(client, garage, secret, token).json) >= {"sub", "active"}
    assert rows(app, user.id) == []


def test_a_claim_the_customer_has_no_value_for_is_not_recorded(app, client, make_user, make_client):
    user = make_user()  # no phone number
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="openid phone email")
    code = follow_to_code(client, params, user.email)["code"]
    token = exchange(client, rp, secret, code, verifier).json
    info = userinfo(client, token).json
    assert "phone_number" not in info
    [row] = rows(app, user.id)
    assert row.claims == sorted(set(info) - {"sub"})  # exactly what left, by name
    assert "phone_number" not in row.claims and "email" in row.claims


def test_the_company_own_services_rest_on_the_contract(app, client, make_user, make_client):
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="openid email")
    code = follow_to_code(client, params, user.email)["code"]
    userinfo(client, exchange(client, rp, secret, code, verifier).json)
    [row] = rows(app, user.id)
    assert row.grounds == [
        {
            "purpose": f"signin:{rp.client_id}",
            "version": 1,
            "basis": "contract",
            "claims": ["email", "email_verified"],
        }
    ]


def test_the_log_can_be_switched_off_for_measuring(app, client, make_user, make_client):
    app.config["AVAIN"] = dataclasses.replace(app.config["AVAIN"], disclosure_log=False)
    user = make_user()
    rp, secret = make_client(first_party=True)
    params, verifier = authorize_params(rp, scope="openid email")
    code = follow_to_code(client, params, user.email)["code"]
    assert userinfo(client, exchange(client, rp, secret, code, verifier).json).json["email"]
    assert rows(app, user.id) == []


def test_a_consent_still_queued_is_found_in_the_log_later(app, make_user):
    """Released before the sequencer gave the consent its place: the export names it."""
    user = make_user()
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        from consent.model import Actor, Channel, ConsentEvent, EventType

        at = datetime.now(UTC).replace(microsecond=123456)
        event = ConsentEvent(
            customer_id=user.id,
            recipient_id="garage",
            purpose_id="garage_booking",
            purpose_version=1,
            type=EventType.GIVEN,
            at=at,
            actor=Actor.CUSTOMER,
            channel=Channel.CONSENT_SCREEN,
        )
        L.submit(s, keys, event, {})
        ground = Ground("garage_booking", 1, LegalBasis.CONSENT, at, None)
        decision = Decision({"name": "garage_booking"}, {}, {"name": ground})
        disclosures.record(s, user.id, "garage", decision, {"name"}, DisclosureChannel.USERINFO, at)
        s.commit()
        [row] = disclosures.of_customer(s, user.id)
        assert row.grounds[0]["consent_seq"] is None
        L.sequence(s, keys)
        s.commit()
        [given] = L.customer_rows(s, keys, user.id)
        [exported] = disclosures.export(s, keys, user.id)
    assert exported["grounds"][0]["consent_seq"] == given.seq
    assert exported["channel"] == "userinfo" and exported["claims"] == ["name"]


def test_releases_alike_on_one_day_are_grouped_newest_first():
    day = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)

    def row(recipient, claims, at, channel="userinfo"):
        return Disclosure(recipient_id=recipient, claims=claims, at=at, channel=channel, grounds=[])

    found = disclosures.summarise(
        [
            row("garage", ["name", "phone_number"], day + timedelta(hours=2)),
            row("garage", ["name", "phone_number"], day + timedelta(hours=1), "id_token"),
            row("garage", ["name"], day + timedelta(minutes=30)),
            row("shop", ["email"], day + timedelta(minutes=20)),
            row("garage", ["name", "phone_number"], day - timedelta(days=1)),
        ]
    )
    assert [(s.recipient_id, s.claims, s.times) for s in found] == [
        ("garage", ("name", "phone_number"), 2),
        ("garage", ("name",), 1),
        ("shop", ("email",), 1),
        ("garage", ("name", "phone_number"), 1),
    ]
    assert found[0].last == day + timedelta(hours=2)
    assert found[0].channels == ("id_token", "userinfo")


def test_deleting_the_account_deletes_its_disclosure_log(app, client, make_user, make_client):
    user = make_user()
    other = make_user()
    rp, secret = make_client(first_party=True)
    for who in (user, other):
        fresh = app.test_client()
        params, verifier = authorize_params(rp, scope="openid email")
        code = follow_to_code(fresh, params, who.email)["code"]
        userinfo(fresh, exchange(fresh, rp, secret, code, verifier).json)
    assert len(rows(app, user.id)) == 1
    login(client, user.email)
    page = client.get("/account/delete")
    done = client.post(
        "/account/delete",
        data={"password": PASSWORD, "confirm": "yes", "csrf_token": csrf_of(page.data)},
    )
    assert done.status_code == 200
    with new_session(app) as s:
        count = s.scalar(select(func.count()).select_from(Disclosure))
    assert count == 1 and len(rows(app, other.id)) == 1  # only the other customer's is left


def test_the_newest_releases_come_first_and_a_limit_keeps_the_newest(app, make_user):
    user = make_user()
    start = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
    decision = Decision(
        {"name": "account"}, {}, {"name": Ground("account", 1, LegalBasis.CONTRACT)}
    )
    with app.app_context(), new_session(app) as s:
        for minutes in (5, 1, 3):
            disclosures.record(
                s,
                user.id,
                "shop",
                decision,
                {"name"},
                DisclosureChannel.USERINFO,
                start + timedelta(minutes=minutes),
            )
        s.commit()
        newest = disclosures.of_customer(s, user.id, limit=2)
        assert [disclosures.stamp(r.at) for r in newest] == [
            (start + timedelta(minutes=m)).isoformat() for m in (5, 3)
        ]
