"""After a withdrawal or an objection the Sharing section says exactly what stopped: the
purpose, the service, the details it no longer receives and whether its access ended, in
the customer's language; and only the tokens that rested on that purpose end."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from tests.conftest import authorize_params, csrf_of, exchange, login
from tests.ledger.flows import userinfo
from tests.ledger.test_disclosures import garage_tokens, introspect
from tests.oauth.handoff import Partner, partners, profile, walk


def notice(client, location: str, lang: str) -> str:
    client.set_cookie("avain_lang", lang)
    page = client.get(location).data.decode()
    found = re.search(r'<p class="notice" role="status">(.*?)</p>', page, re.S)
    assert found, page
    return " ".join(html.unescape(found.group(1)).split())


def change(client, action: str, recipient: str, purpose: str):
    resp = client.post(
        f"/account/sharing/{action}",
        data={
            "recipient": recipient,
            "purpose": purpose,
            "csrf_token": csrf_of(client.get("/account/sharing").data),
        },
    )
    assert resp.status_code == 302, resp.data[:300]
    return resp.headers["Location"]


@pytest.mark.parametrize(
    ("lang", "says"),
    [
        (
            "en",
            "You withdrew your consent. Tire fitting booking: Korjaamo Virtanen no longer "
            "receives your name, your phone number, and your car's registration number, and "
            "its access to your details was ended.",
        ),
        (
            "fi",
            "Peruit suostumuksesi. Renkaanvaihdon ajanvaraus – Korjaamo Virtanen ei enää saa "
            "näitä tietojasi: nimesi, puhelinnumerosi ja autosi rekisterinumero. Sen pääsy "
            "tietoihisi päättyi.",
        ),
        (
            "sv",
            "Du återkallade ditt samtycke. Bokning av däckbyte: Korjaamo Virtanen får inte "
            "längre ditt namn, ditt telefonnummer och din bils registreringsnummer, och dess "
            "åtkomst till dina uppgifter avslutades.",
        ),
    ],
)
def test_the_withdrawal_notice_says_what_stopped(
    app, client, make_user, make_client, lang: str, says: str
):
    garage_tokens(app, client, make_user, make_client, **{"agree:garage_booking": "on"})
    location = change(client, "withdraw", "garage", "garage_booking")
    assert location.startswith("/account/sharing?")
    assert notice(client, location, lang) == says


def test_a_notice_for_nothing_on_the_page_stays_general(app, client, make_user, make_client):
    garage_tokens(app, client, make_user, make_client, **{"agree:garage_booking": "on"})
    location = "/account/sharing?notice=withdrawn&recipient=garage&purpose=no_such_purpose"
    assert notice(client, location, "en") == (
        "Your consent was withdrawn. The service can no longer use your details for it."
    )


def test_a_link_alone_claims_nothing_about_what_stopped(app, client, make_user, make_client):
    """The notice's detail comes from this browser's own change, never from the URL."""
    garage_tokens(app, client, make_user, make_client, **{"agree:garage_booking": "on"})
    location = "/account/sharing?notice=withdrawn&recipient=garage&purpose=garage_booking"
    assert notice(client, location, "en") == (
        "You withdrew your consent: Tire fitting booking, Korjaamo Virtanen. Korjaamo "
        "Virtanen can no longer use your details for it."
    )


def test_the_old_account_url_of_a_notice_leads_to_its_section(client, make_user):
    login(client, make_user().email)
    resp = client.get("/account/?notice=withdrawn&recipient=garage&purpose=garage_booking")
    assert resp.status_code == 302
    assert resp.headers["Location"] == (
        "/account/sharing?notice=withdrawn&recipient=garage&purpose=garage_booking"
    )
    resp = client.get("/account/?notice=passkey_added")
    assert resp.headers["Location"] == "/account/security?notice=passkey_added"


def _shop_signed_in(client, make_client, email, shop=None):
    """The shop's tokens, on the customer contract (purpose "account")."""
    shop = shop or partners(make_client)[0]
    params, verifier = authorize_params(shop.rp, scope="openid email profile offline_access")
    callback, _ = walk(client, params, email, {})
    token = exchange(client, shop.rp, shop.secret, callback["code"], verifier).json
    assert "access_token" in token, token
    return shop, token


def _turn_on_offers(client, *claims: str):
    resp = client.post(
        "/account/sharing/turn-on",
        data={
            "recipient": "tire-shop",
            "purpose": "marketing_email",
            "csrf_token": csrf_of(client.get("/account/sharing").data),
            **{f"claim:{c}": "on" for c in claims},
        },
    )
    assert resp.status_code == 302


def test_withdrawing_offers_by_email_leaves_the_shop_account_and_its_tokens(
    app, client, make_user, make_client
):
    user = make_user()
    profile(app, user.id, given_name="Aino")
    shop, token = _shop_signed_in(client, make_client, user.email)
    _turn_on_offers(client, "email", "given_name")
    # the first name also serves the service reminders: object to those first, so that
    # withdrawing the offers leaves the shop without it
    change(client, "object", "tire-shop", "service_reminders")
    assert userinfo(client, token).json.get("given_name") == "Aino"

    location = change(client, "withdraw", "tire-shop", "marketing_email")
    assert notice(client, location, "en") == (
        "You withdrew your consent. Offers by email: Rengasverkkokauppa no longer receives "
        "your first name; your customer account is unaffected. It still receives your email "
        "address for the other purposes shown below."
    )
    assert notice(client, location, "fi") == (
        "Peruit suostumuksesi. Tarjoukset sähköpostiin – Rengasverkkokauppa ei enää saa "
        "näitä tietojasi: etunimesi. Asiakastiliisi tämä ei vaikuta. Muihin alla näkyviin "
        "tarkoituksiin se saa edelleen nämä tiedot: sähköpostiosoitteesi."
    )
    # the shop's tokens rest on the customer contract: they keep working, without the name
    assert introspect(client, shop.rp, shop.secret, token).json["active"] is True
    info = userinfo(client, token)
    assert info.status_code == 200
    assert info.json["email"] == user.email and "given_name" not in info.json
    refreshed = client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": token["refresh_token"]},
        auth=shop.auth,
    )
    assert refreshed.status_code == 200, refreshed.json


def test_withdrawing_the_garage_ends_only_the_garage(app, client, make_user, make_client):
    """The garage's purpose was all it had: its tokens end. The shop's do not."""
    user, garage, secret, garage_token = garage_tokens(
        app, client, make_user, make_client, **{"agree:garage_booking": "on"}
    )
    shop = Partner(
        *make_client(
            client_id="tire-shop",
            name="Rengasverkkokauppa",
            redirect_uris=["http://localhost:5001/callback"],
            grant_types=["authorization_code", "refresh_token"],
        )
    )
    shop, shop_token = _shop_signed_in(client, make_client, user.email, shop)
    change(client, "withdraw", "garage", "garage_booking")
    assert introspect(client, garage, secret, garage_token).json == {"active": False}
    assert introspect(client, shop.rp, shop.secret, shop_token).json["active"] is True


def test_only_the_purposes_handoffs_and_their_grants_end(app, db, make_user, make_client):
    """revoke_purpose_tokens, for a recipient that keeps other purposes: the handoffs of the
    purpose (unredeemed ones, and the grants redeemed ones opened) end; the recipient's
    other handoffs and grants, and other customers', stand."""
    from datetime import timedelta

    from idp.db import utcnow
    from idp.models import Grant, Handoff
    from idp.revocation import revoke_purpose_tokens

    me, other = make_user(), make_user()
    make_client(client_id="tire-shop", name="Shop")
    make_client(client_id="garage", name="Garage")
    soon = utcnow() + timedelta(minutes=5)

    def grant(gid, user):
        db.add(Grant(id=gid, client_id="garage", user_id=user.id, created_at=utcnow()))

    def handoff(jti, user, purpose, redeemed=None):
        db.add(
            Handoff(
                jti=jti,
                client_id="tire-shop",
                audience="garage",
                user_id=user.id,
                agreement_id="tire_fitting",
                purpose_id=purpose,
                source_grant_id="shop-grant",
                authorization_details=[],
                claims=["name"],
                expires_at=soon,
                used_at=utcnow() if redeemed else None,
                redeemed_grant_id=redeemed,
            )
        )

    for gid, user in [("g-booking", me), ("g-other", me), ("g-signin", me), ("g-theirs", other)]:
        grant(gid, user)
    handoff("h-open", me, "garage_booking")
    handoff("h-used", me, "garage_booking", redeemed="g-booking")
    handoff("h-other", me, "storage", redeemed="g-other")
    handoff("h-theirs", other, "garage_booking", redeemed="g-theirs")
    db.commit()

    revoke_purpose_tokens(db, me.id, "garage", "garage_booking")
    db.commit()
    db.expire_all()
    revoked = {g.id for g in db.scalars(select(Grant)) if g.revoked_at is not None}
    assert revoked == {"g-booking"}
    ended = {h.jti for h in db.scalars(select(Handoff)) if h.revoked_at is not None}
    assert ended == {"h-open"}  # a redeemed handoff is over; its grant is what ended
