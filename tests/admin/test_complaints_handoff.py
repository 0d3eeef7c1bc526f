"""Token exchange (the handoff, RFC 8693) while a complaint pauses the agreement's purpose: with
the catalogue marking ``garage_booking`` as marketing for this test, the shop cannot hand the
customer over while the complaint is open, and can again once it is closed."""

from __future__ import annotations

import dataclasses

import pytest

from tests.admin.complaints_flow import close_by_service, open_by_service
from tests.admin.console import invite
from tests.oauth.handoff import error_of, hand_over, partners, profile, shop_token


@pytest.fixture
def booking_is_marketing(app):
    catalogue = app.extensions["avain.catalogue"]
    booking = dataclasses.replace(catalogue.purposes["garage_booking"], marketing=True)
    app.extensions["avain.catalogue"] = dataclasses.replace(
        catalogue, purposes={**catalogue.purposes, "garage_booking": booking}
    )


def test_no_handoff_under_a_paused_purpose(
    app, client, make_user, make_client, booking_is_marketing
):
    shop, _ = partners(make_client)
    user = make_user(email="aino@example.com", name="Aino Asiakas")
    profile(app, user.id, phone_number="+358401234567", car_registration="ABC-123")
    token = shop_token(client, shop, user.email)
    assert hand_over(client, shop, token["access_token"]).status_code == 200
    admin_id, _ = invite(app, "privacy")

    complaint_id = open_by_service(app, admin_id, user.id)
    assert error_of(hand_over(client, shop, token["access_token"])) == (
        "invalid_grant",
        "Purpose garage_booking is paused for garage while a complaint of the customer's is open.",
    )

    close_by_service(app, admin_id, complaint_id)
    assert hand_over(client, shop, token["access_token"]).status_code == 200
