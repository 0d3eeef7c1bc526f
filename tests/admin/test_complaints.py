"""Complaints (issue 12): opening one pauses the customer's marketing purposes in every way a
claim leaves Avain, ends the tokens that depended on them as a withdrawal does (and only
those), and closing restores the customer's own choices for new tokens.

Service-level: the functions of :mod:`idp.admin.complaints` that the console and the admin API
call, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import uuid
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from consent import ledger as L
from idp.admin import complaints
from idp.admin.complaints import ComplaintError
from idp.db import new_session, utcnow
from idp.ledger import sequencer
from idp.ledger.context import consent_context
from idp.localtime import day
from idp.models import Complaint, SsfEvent, User
from tests.admin.complaints_flow import (
    close_by_service,
    fresh_tokens,
    info,
    marketing_customer,
    open_by_service,
    post_account,
)
from tests.admin.console import invite
from tests.conftest import authorize_params, exchange, follow_to_code

ID_TOKEN_CLAIMS = json.dumps({"id_token": {"given_name": None}})


def _id_token_claims(tokens):
    import jwt

    return jwt.decode(tokens["id_token"], options={"verify_signature": False})


def test_opening_pauses_marketing_everywhere_and_closing_restores_it(
    app, client, make_user, make_client
):
    user, shop, secret = marketing_customer(client, make_user, make_client)
    old = fresh_tokens(client, shop, secret, claims=ID_TOKEN_CLAIMS)
    status, claims = info(client, old)
    assert status == 200 and claims["given_name"] == "Aino"
    assert _id_token_claims(old)["given_name"] == "Aino"
    admin_id, _ = invite(app, "privacy")

    complaint_id = open_by_service(app, admin_id, user.id, "Gets offers after unsubscribing")

    # the token that carried the marketing claim is gone, as on a withdrawal
    assert info(client, old)[0] == 401
    intro = client.post(
        "/introspect", data={"token": old["access_token"]}, auth=(shop.client_id, secret)
    )
    assert intro.json == {"active": False}
    refreshed = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": old["refresh_token"]},
        auth=(shop.client_id, secret),
    )
    assert refreshed.status_code == 400 and refreshed.json["error"] == "invalid_grant"
    # new tokens release what the other purposes allow, and nothing under marketing
    during = fresh_tokens(client, shop, secret, claims=ID_TOKEN_CLAIMS)
    status, claims = info(client, during)
    assert status == 200 and "given_name" not in claims and claims["email"] == user.email
    assert "given_name" not in _id_token_claims(during)
    intro = client.post(
        "/introspect", data={"token": during["access_token"]}, auth=(shop.client_id, secret)
    ).json
    assert intro["active"] and "given_name" not in intro and intro["email"] == user.email

    close_by_service(app, admin_id, complaint_id, "Marketing list fixed")

    assert info(client, old)[0] == 401  # revoked tokens stay revoked
    status, claims = info(client, during)  # a token issued meanwhile gets the claim again
    assert status == 200 and claims["given_name"] == "Aino"
    after = fresh_tokens(client, shop, secret, claims=ID_TOKEN_CLAIMS)
    assert info(client, after)[1]["given_name"] == "Aino"
    assert _id_token_claims(after)["given_name"] == "Aino"


def test_opening_and_closing_are_ledger_events_with_the_admin_and_the_reason(
    app, client, make_user, make_client
):
    user, _, _ = marketing_customer(client, make_user, make_client)
    admin_id, _ = invite(app, "privacy", "dpo@example.com")
    complaint_id = open_by_service(app, admin_id, user.id, "Gets offers   after unsubscribing")
    close_by_service(app, admin_id, complaint_id, "List fixed")
    sequencer.drain(app)
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        rows = [r for r in L.customer_rows(s, keys, user.id) if r.type.startswith("complaint")]
        assert [(r.type, r.recipient_id, r.purpose_id, r.actor, r.channel) for r in rows] == [
            ("complaint_opened", "tire-shop", "marketing_email", "admin", "admin_console"),
            ("complaint_closed", "tire-shop", "marketing_email", "admin", "admin_console"),
        ]
        opened, closed = (L.details(s, keys, user.id, r) for r in rows)
        assert opened["reason"] == "Gets offers after unsubscribing"
        assert closed["reason"] == "List fixed"
        assert opened["admin_email"] == closed["admin_email"] == "dpo@example.com"
        assert opened["complaint"] == closed["complaint"] == complaint_id
        assert L.verify(s, keys.origin).ok
        row = s.get(Complaint, complaint_id)
        assert row is not None and row.closing_reason == "List fixed" and row.closed_by == admin_id
        assert row.purposes == ["marketing_email"]


def test_a_recipient_that_got_nothing_under_marketing_keeps_its_tokens(
    app, client, make_user, make_client
):
    """No marketing consent: the shop's tokens carried nothing the pause takes away."""
    user = make_user()
    shop, secret = make_client(
        client_id="tire-shop", name="Shop", redirect_uris=["https://shop.example.com/cb"]
    )
    params, verifier = authorize_params(shop, scope="openid profile email")
    tokens = exchange(
        client, shop, secret, follow_to_code(client, params, user.email)["code"], verifier
    ).json
    admin_id, _ = invite(app, "privacy")
    open_by_service(app, admin_id, user.id)
    status, claims = info(client, tokens)
    assert status == 200 and claims["given_name"]  # under service reminders, not paused
    with app.app_context(), new_session(app) as s:
        assert s.scalars(select(SsfEvent)).all() == []


def test_partners_outside_marketing_keep_their_tokens(app, client, make_user, make_client):
    user, _, _ = marketing_customer(client, make_user, make_client)
    other, secret = make_client()
    params, verifier = authorize_params(other, scope="openid email")
    tokens = exchange(
        client, other, secret, follow_to_code(client, params, user.email)["code"], verifier
    ).json
    admin_id, _ = invite(app, "privacy")
    open_by_service(app, admin_id, user.id)
    status, claims = info(client, tokens)
    assert status == 200 and claims["email"] == user.email


def test_the_shop_hears_of_the_pause_through_its_shared_signals_stream(
    app, client, make_user, make_client
):
    user, shop, secret = marketing_customer(client, make_user, make_client)
    with app.app_context(), new_session(app) as s:
        from idp.models import SsfStream

        s.add(
            SsfStream(
                id=str(uuid.uuid4()),
                client_id=shop.client_id,
                delivery_method="urn:ietf:rfc:8936",
                events_requested=[],
                events_delivered=[
                    "http://localhost/ssf/event-type/consent-restricted",
                ],
            )
        )
        s.commit()
    admin_id, _ = invite(app, "privacy")
    open_by_service(app, admin_id, user.id)
    with app.app_context(), new_session(app) as s:
        (event,) = s.scalars(select(SsfEvent)).all()
        assert event.event_type == "http://localhost/ssf/event-type/consent-restricted"
        body = json.dumps(event.claims)
        assert "marketing_email" in body and '"admin"' in body


def test_one_open_complaint_per_customer_and_a_readable_refusal(
    app, client, make_user, make_client
):
    user, _, _ = marketing_customer(client, make_user, make_client)
    admin_id, _ = invite(app, "privacy")
    first = open_by_service(app, admin_id, user.id)
    with pytest.raises(ComplaintError) as again:
        open_by_service(app, admin_id, user.id)
    assert again.value.code == "already_open"
    close_by_service(app, admin_id, first)
    with pytest.raises(ComplaintError) as twice:
        close_by_service(app, admin_id, first)
    assert twice.value.code == "already_closed"
    second = open_by_service(app, admin_id, user.id, "again")
    assert second != first
    with app.app_context(), new_session(app) as s:
        assert complaints.count_open(s) == 1
        assert [r.complaint.id for r in complaints.of_customer(s, user.id)] == [second, first]


@pytest.mark.parametrize(
    ("reason", "code"),
    [("", "reason_required"), ("  \n ", "reason_required"), ("x" * 2001, "reason_too_long")],
)
def test_a_reason_is_required(app, make_user, reason, code):
    user = make_user()
    admin_id, _ = invite(app, "privacy")
    with pytest.raises(ComplaintError) as refused:
        open_by_service(app, admin_id, user.id, reason)
    assert refused.value.code == code
    with app.app_context(), new_session(app) as s:
        assert complaints.count_open(s) == 0


def test_customers_are_found_by_id_or_email(app, make_user):
    user = make_user(email="Aino.Virtanen@example.com")
    with app.app_context(), new_session(app) as s:
        assert complaints.find_customer(s, user.id).id == user.id
        assert complaints.find_customer(s, " aino.virtanen@EXAMPLE.com ").id == user.id
        for query, code in (
            ("", "customer_required"),
            ("nobody@example.com", "no_such_customer"),
            ("x" * 400, "no_such_customer"),
            ("not-an-id", "no_such_customer"),
        ):
            with pytest.raises(ComplaintError) as refused:
                complaints.find_customer(s, query)
            assert refused.value.code == code


def test_the_account_page_shows_the_pause_and_the_paused_purpose(
    app, client, make_user, make_client
):
    user, _, _ = marketing_customer(client, make_user, make_client)
    page = client.get("/account/sharing").data.decode()
    assert 'id="complaint-pause"' not in page
    admin_id, _ = invite(app, "privacy")
    complaint_id = open_by_service(app, admin_id, user.id)
    page = client.get("/account/sharing").data.decode()
    assert 'id="complaint-pause"' in page
    assert "Paused because of your complaint" in page and "Offers by email" in page
    assert day(utcnow(), "en", ZoneInfo("Europe/Helsinki")) in page
    assert "paused while your complaint is handled" in page
    # the customer may still withdraw during the pause; closing then restores nothing
    resp = post_account(
        client,
        "/account/sharing/withdraw",
        {"recipient": "tire-shop", "purpose": "marketing_email"},
    )
    assert resp.status_code == 302
    close_by_service(app, admin_id, complaint_id)
    page = client.get("/account/sharing").data.decode()
    assert 'id="complaint-pause"' not in page
    with app.app_context(), new_session(app) as s:
        customer = s.get(User, user.id)
        assert customer is not None
        states = L.states(s, consent_context().keys, customer.id)
        assert states[("tire-shop", "marketing_email")].status == "withdrawn"
