"""What partners added to the customer's profile, seen from the account page: who added what
and when, deletable one by one, in the JSON export, gone with the account."""

from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from idp.db import new_session
from idp.models import ContributedClaim
from tests.conftest import PASSWORD, csrf_of, login
from tests.oauth.test_contributed_claims import ORDER, WRITE, _post, _token


@pytest.fixture
def shop(make_client):
    return make_client(
        client_id="tire-shop",
        name="Rengasverkkokauppa",
        redirect_uris=["https://shop.example.com/cb"],
        scope=WRITE,
    )


def _bought(client, shop, email, order=ORDER):
    rp, secret = shop
    token = _token(client, rp, secret, email)
    assert _post(client, token, order).status_code == 201
    return token


def _count(app):
    with app.app_context(), new_session(app) as s:
        return s.scalar(select(func.count()).select_from(ContributedClaim))


def _entry_ids(page: str) -> list[str]:
    return [part.split('"', 1)[0] for part in page.split('action="/account/contributed/')[1:]]


@pytest.mark.parametrize(
    ("lang", "heading", "who", "day"),
    [
        ("en", "Added by partners", "added by Rengasverkkokauppa on", "1 Dec 2026"),
        ("fi", "Kumppanien lisäämät tiedot", "lisännyt Rengasverkkokauppa", "1.12.2026"),
        ("sv", "Tillagt av partner", "tillagt av Rengasverkkokauppa", "1.12.2026"),
    ],
)
def test_the_account_page_says_who_added_what_and_when(
    client, make_user, shop, lang, heading, who, day
):
    user = make_user()
    _bought(client, shop, user.email)
    page = html.unescape(client.get("/account/", headers={"Accept-Language": lang}).data.decode())
    assert heading in page and who in page
    assert "R-1042" in page and f"{day}:" in page  # the order's day, in the page's language
    assert "4 × Nokian Hakkapeliitta R5 205/55 R16" in page


def test_the_customer_deletes_an_entry(app, client, make_user, shop):
    user = make_user()
    _bought(client, shop, user.email)
    page = client.get("/account/").data.decode()
    (entry,) = _entry_ids(page)
    resp = client.post(f"/account/contributed/{entry}", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 302 and "notice=contribution_deleted" in resp.headers["Location"]
    assert _count(app) == 0
    after = client.get(resp.headers["Location"]).data.decode()
    assert "The entry was deleted." in after and "R-1042" not in after


def test_nobody_deletes_another_customers_entry(app, client, make_user, shop):
    owner, other = make_user(), make_user()
    _bought(client, shop, owner.email)
    (entry,) = _entry_ids(client.get("/account/").data.decode())
    intruder = app.test_client()
    login(intruder, other.email)
    page = intruder.get("/account/").data.decode()
    resp = intruder.post(f"/account/contributed/{entry}", data={"csrf_token": csrf_of(page)})
    assert resp.status_code == 302 and "contribution_deleted" not in resp.headers["Location"]
    assert _count(app) == 1


def test_the_export_holds_the_contributions(client, make_user, shop):
    user = make_user()
    _bought(client, shop, user.email)
    data = client.get("/account/sharing/export.json").json
    (entry,) = data["contributed_claims"]
    assert entry["claim"] == "tire_purchase" and entry["value"] == ORDER
    assert entry["source"] == {"client_id": "tire-shop", "name": "Rengasverkkokauppa"}
    assert entry["source_reference"] == "R-1042" and entry["recorded_at"]


def test_deleting_the_account_deletes_the_contributions(app, client, make_user, shop):
    user = make_user()
    _bought(client, shop, user.email)
    keep = make_user()
    _bought(app.test_client(), shop, keep.email)
    assert _count(app) == 2
    page = client.get("/account/delete")
    resp = client.post(
        "/account/delete",
        data={"confirm": "yes", "password": PASSWORD, "csrf_token": csrf_of(page.data)},
    )
    assert resp.status_code == 200
    assert _count(app) == 1  # the other customer's stays
