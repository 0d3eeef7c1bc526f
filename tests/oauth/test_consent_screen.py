"""The consent screen's traps (issue 13), each through the Flask test client: a ticked claim
is never a silent refusal, the texts are true per screen, a client outside the catalogue is
asked all or nothing and recorded so, what is always shared is shown with its basis, the
controller comes from the catalogue, and marketing is offered on the account page instead
of at sign-in."""

from __future__ import annotations

import re

import pytest

from consent import ledger as L
from consent.catalogue import CatalogueError, load_catalogue
from idp.db import new_session
from tests.conftest import authorize_params, csrf_of, exchange
from tests.ledger.flows import consent_page, finish, userinfo


def _rows(app, user):
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        return [(r, L.details(s, keys, user.id, r)) for r in L.customer_rows(s, keys, user.id)]


def _garage(make_client):
    return make_client(
        client_id="garage", name="Korjaamo Virtanen", redirect_uris=["https://garage.example/cb"]
    )


def _shop(make_client):
    return make_client(
        client_id="tire-shop", name="Rengasverkkokauppa", redirect_uris=["https://shop.example/cb"]
    )


def _text(page) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.data.decode()))


def test_a_ticked_claim_without_the_switch_is_agreement_not_refusal(
    app, client, make_user, make_client
):
    user = make_user()
    garage, secret = _garage(make_client)
    params, verifier = authorize_params(garage, scope="openid profile email phone")
    interaction, page = consent_page(client, params, user.email)
    # the switch left off, one optional claim ticked: the customer agreed to the purpose
    q = finish(client, interaction, page, **{"claim:garage_booking:email": "on"})
    info = userinfo(client, exchange(client, garage, secret, q["code"], verifier).json).json
    assert info["email"] == user.email and info["name"] == user.name  # necessary came too
    ((row, details),) = _rows(app, user)
    assert row.type == "given" and row.purpose_id == "garage_booking"
    assert details["chosen"] == ["email"]


def test_the_switch_off_and_nothing_ticked_is_a_refusal(app, client, make_user, make_client):
    user = make_user()
    garage, _ = _garage(make_client)
    params, _ = authorize_params(garage, scope="openid profile email phone")
    interaction, page = consent_page(client, params, user.email)
    finish(client, interaction, page)
    ((row, _details),) = _rows(app, user)
    assert row.type == "refused"


def test_each_purpose_is_one_switch_with_its_claims_beneath(client, make_user, make_client):
    user = make_user()
    garage, _ = _garage(make_client)
    params, _ = authorize_params(garage, scope="openid profile email phone")
    _, page = consent_page(client, params, user.email)
    html = page.data.decode()
    switches = re.findall(r'<input[^>]*role="switch"[^>]*>', html)
    assert len(switches) == 1 and 'name="agree:garage_booking"' in switches[0]
    group = html[html.index('data-purpose="garage_booking"') :]
    for claim in ("tire_purchase", "email"):
        assert f'name="claim:garage_booking:{claim}"' in group
    assert "<details" in group and "Details" in group  # the full text is behind Details
    assert not re.search(r"<input[^>]*checked", html)
    assert "<script" in html and 'src="/static/consent.js"' in html
    assert not re.search(r"<script(?![^>]*src=)", html)  # no inline script (CSP)


def test_the_garage_names_its_own_company_as_controller(client, make_user, make_client):
    user = make_user()
    garage, _ = _garage(make_client)
    params, _ = authorize_params(garage, scope="openid profile email phone")
    _, page = consent_page(client, params, user.email)
    text = _text(page)
    assert "Controller of what Korjaamo Virtanen receives: Korjaamo Virtanen Oy." in text
    assert "Avain Demo Oy" not in text


def test_the_controller_is_recorded_with_the_event(app, client, make_user, make_client):
    user = make_user()
    garage, _ = _garage(make_client)
    params, _ = authorize_params(garage, scope="openid profile email phone")
    interaction, page = consent_page(client, params, user.email)
    finish(client, interaction, page, **{"agree:garage_booking": "on"})
    ((_row, details),) = _rows(app, user)
    assert details["controller"] == "Korjaamo Virtanen Oy"
    assert details["necessary_shown"] == ["car_registration", "name", "phone_number"]


def test_the_shop_shows_what_is_always_shared_and_why_and_not_marketing(
    app, client, make_user, make_client
):
    user = make_user(name="Aino Virtanen")
    shop, secret = _shop(make_client)
    params, verifier = authorize_params(shop, scope="openid profile email")
    interaction, page = consent_page(client, params, user.email)
    text = _text(page)
    assert "Always shared with Rengasverkkokauppa" in text
    assert "Why: your customer contract needs these." in text
    # service reminders (legitimate interest): shown, with the right to object linked
    assert "Service reminders" in text
    assert "Why: our legitimate interest, without your consent." in text
    assert 'href="/account/sharing"' in page.data.decode()
    assert "You can object to it on your account page." in text
    # marketing is offered on the account page, not bundled into signing in
    assert "Offers by email" not in text and "marketing_email" not in page.data.decode()
    # the old footer that the always-shared items contradicted is gone
    assert "Nothing is shared without your choice" not in text
    assert "Controller of what Rengasverkkokauppa receives: Avain Demo Oy." in text
    q = finish(client, interaction, page)
    info = userinfo(client, exchange(client, shop, secret, q["code"], verifier).json).json
    assert info["given_name"] == "Aino"  # released as the screen said, always
    events = _rows(app, user)
    assert [(r.type, r.purpose_id) for r, _ in events] == [("given", "account")]
    details = events[0][1]
    assert details["always_shown"] == {
        "account": ["name", "email", "email_verified"],
        "service_reminders": ["given_name", "email"],
    }


def test_a_client_outside_the_catalogue_is_all_or_nothing_and_recorded_so(
    app, client, make_user, make_client
):
    user = make_user()
    rp, secret = make_client()
    params, verifier = authorize_params(rp, scope="openid profile email")
    interaction, page = consent_page(client, params, user.email)
    html = page.data.decode()
    assert not re.search(r'<input[^>]*type="checkbox"', html)  # no choice it does not honour
    assert "you allow them all or none" in _text(page)
    assert "Shared by Avain Demo Oy." in _text(page)
    listed = re.findall(r'<li data-claim="([a-z_]+)"', html)
    q = finish(client, interaction, page)
    ((row, details),) = _rows(app, user)
    assert row.type == "given"
    assert sorted(row.claims) == sorted(listed)  # exactly what the screen listed
    assert set(listed) == {
        "name",
        "given_name",
        "family_name",
        "locale",
        "updated_at",
        "email",
        "email_verified",
    }
    assert "offered" not in details  # no claim was offered as a choice of its own
    assert sorted(details["necessary_shown"]) == sorted(listed)
    info = userinfo(client, exchange(client, rp, secret, q["code"], verifier).json).json
    assert info["email"] == user.email and info["name"] == user.name


def test_marketing_is_turned_on_on_the_account_page(app, client, make_user, make_client):
    user = make_user()
    shop, _ = _shop(make_client)
    params, _ = authorize_params(shop, scope="openid profile email")
    interaction, page = consent_page(client, params, user.email)
    finish(client, interaction, page)
    account = client.get("/account/sharing")
    text = _text(account)
    assert "Offers by email" in text and "Turn on" in text
    resp = client.post(
        "/account/sharing/turn-on",
        data={
            "recipient": "tire-shop",
            "purpose": "marketing_email",
            "claim:email": "on",
            "csrf_token": csrf_of(account.data),
        },
    )
    assert resp.status_code == 302 and "notice=given" in resp.headers["Location"]
    events = _rows(app, user)
    row, details = events[-1]
    assert (row.type, row.purpose_id, row.channel) == ("given", "marketing_email", "account_page")
    assert sorted(row.claims) == ["email"]
    assert details["offered"] == [
        {"claim": "email", "default": False},
        {"claim": "given_name", "default": False},
    ]
    assert "Withdraw consent" in _text(client.get("/account/sharing"))


def test_turning_on_a_purpose_that_is_not_a_consent_changes_nothing(
    app, client, make_user, make_client
):
    user = make_user()
    shop, _ = _shop(make_client)
    params, _ = authorize_params(shop, scope="openid profile email")
    interaction, page = consent_page(client, params, user.email)
    finish(client, interaction, page)
    account = client.get("/account/")
    before = len(_rows(app, user))
    resp = client.post(
        "/account/sharing/turn-on",
        data={
            "recipient": "tire-shop",
            "purpose": "service_reminders",
            "csrf_token": csrf_of(account.data),
        },
    )
    assert resp.status_code == 302 and "notice=given" not in resp.headers["Location"]
    assert len(_rows(app, user)) == before


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('ask = "later"', 'ask must be "signin" or "account"'),
        ('ask = "account"\nbasis = "contract"', "only a consent is offered on the account page"),
    ],
)
def test_the_catalogue_checks_ask(tmp_path, entry, problem):
    base = "\n".join(
        line
        for line in (
            "[claims]",
            'email = { category = "contact" }',
            "[[recipients]]",
            'id = "shop"',
            'name = "Shop"',
            *_texts("recipients"),
            "[[purposes]]",
            'id = "news"',
            *([] if "basis" in entry else ['basis = "consent"']),
            'recipients = ["shop"]',
            entry,
            "[purposes.claims]",
            'email = "optional"',
            *_texts("purposes"),
            "[[notices]]",
            'version = "1"',
            'url = "/privacy/1"',
            "[notices.files]",
            'fi = "n.md"',
            'sv = "n.md"',
            'en = "n.md"',
        )
    )
    (tmp_path / "n.md").write_text("notice")
    path = tmp_path / "c.toml"
    path.write_text(base)
    with pytest.raises(CatalogueError, match=re.escape(problem)):
        load_catalogue(path)


def _texts(header):
    for lang in ("fi", "sv", "en"):
        yield f"[{header}.texts.{lang}]"
        yield 'title = "T"'
        yield 'description = "D"'


def test_ask_and_controller_do_not_change_a_purpose_hash(tmp_path):
    from pathlib import Path

    src = Path("config/purposes.toml").read_text()
    for name in ("privacy-2026-11.fi.md", "privacy-2026-11.sv.md", "privacy-2026-11.en.md"):
        (tmp_path / "notices").mkdir(exist_ok=True)
        (tmp_path / "notices" / name).write_bytes(Path("config/notices", name).read_bytes())
    (tmp_path / "a.toml").write_text(src)
    (tmp_path / "b.toml").write_text(
        src.replace('ask = "account"\n', "").replace('controller = "Korjaamo Virtanen Oy"\n', "")
    )
    a, b = load_catalogue(tmp_path / "a.toml"), load_catalogue(tmp_path / "b.toml")
    assert a.purposes["marketing_email"].ask == "account" != b.purposes["marketing_email"].ask
    assert a.recipients["garage"].controller == "Korjaamo Virtanen Oy"
    assert b.recipients["garage"].controller is None
    assert {k: p.content_hash for k, p in a.purposes.items()} == {
        k: p.content_hash for k, p in b.purposes.items()
    }


def test_the_receipt_names_the_recipients_controller(app, client, make_user, make_client):
    import base64
    import json

    from idp.ledger import sequencer

    user = make_user()
    garage, _ = _garage(make_client)
    params, _ = authorize_params(garage, scope="openid profile email phone")
    interaction, page = consent_page(client, params, user.email)
    finish(client, interaction, page, **{"agree:garage_booking": "on"})
    sequencer.drain(app)
    listing = client.get("/account/sharing/receipts").data.decode()
    (link,) = re.findall(r'href="(/account/sharing/receipts/\d+\.jwt)"', listing)
    token = client.get(link).data.decode()
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert claims["piiControllers"][0]["piiController"] == "Korjaamo Virtanen Oy"
