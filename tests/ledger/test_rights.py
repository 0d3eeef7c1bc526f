"""Objection (GDPR Art. 21) and restriction (Art. 18): from the account page and by an admin."""

from __future__ import annotations

from click.testing import CliRunner

from consent import ledger as L
from idp import cli
from tests.conftest import authorize_params, csrf_of, exchange
from tests.ledger.flows import cli_env, consent_page, finish, userinfo


def _sign_in_to_shop(client, make_user, make_client, receiver=None):
    user = make_user(name="Aino Virtanen")
    extra = {"backchannel_logout_uri": receiver.url} if receiver else {}
    shop, secret = make_client(
        client_id="tire-shop",
        name="Rengasverkkokauppa",
        redirect_uris=["https://shop.example.com/cb"],
        **extra,
    )
    params, verifier = authorize_params(shop, scope="openid profile email")
    interaction, page = consent_page(client, params, user.email)
    q = finish(client, interaction, page)  # nothing optional ticked, marketing refused
    return user, shop, secret, exchange(client, shop, secret, q["code"], verifier).json


def _events(app, user):
    from idp.db import new_session

    with new_session(app) as s:
        keys = app.extensions["avain.ledger_keys"]
        return [
            (r.type, r.purpose_id, r.actor, r.channel) for r in L.customer_rows(s, keys, user.id)
        ]


def _post(client, action, recipient, purpose):
    account = client.get("/account/sharing")
    return client.post(
        f"/account/sharing/{action}",
        data={"recipient": recipient, "purpose": purpose, "csrf_token": csrf_of(account.data)},
    )


def _fresh_userinfo(client, shop, secret):
    params, verifier = authorize_params(shop, scope="openid profile email")
    resp = client.get("/authorize", query_string=params)
    from tests.conftest import query_of

    code = query_of(resp.headers["Location"])["code"]
    return userinfo(client, exchange(client, shop, secret, code, verifier).json).json


def test_objecting_to_legitimate_interest_stops_it_at_once(
    app, client, make_user, make_client, receiver
):
    user, shop, secret, token = _sign_in_to_shop(client, make_user, make_client, receiver)
    # service reminders rest on legitimate interest: the first name goes without a consent
    assert userinfo(client, token).json["given_name"] == "Aino"
    page = client.get("/account/sharing").data.decode()
    assert "Service reminders" in page and "our legitimate interest" in page
    assert "Object to this" in page

    resp = _post(client, "object", "tire-shop", "service_reminders")
    assert resp.status_code == 302 and "notice=objected" in resp.headers["Location"]
    intro = client.post(
        "/introspect", data={"token": token["access_token"]}, auth=(shop.client_id, secret)
    ).json
    # the shop's sign-in rests on the customer contract, not on the reminders: its token
    # keeps working, and the first name stops at the next release
    assert intro["active"] is True and "given_name" not in intro
    assert "given_name" not in userinfo(client, token).json
    info = _fresh_userinfo(client, shop, secret)
    assert "given_name" not in info
    assert info["email"] == user.email  # the customer contract still stands
    page = client.get("/account/sharing").data.decode()
    assert "objected to" in page and "Object to this" not in page
    assert ("objection", "service_reminders", "customer", "account_page") in _events(app, user)
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)
    assert receiver.tokens == []  # the account with the shop goes on: no logout

    # a second objection, or one against a consent-based purpose, records nothing
    before = _events(app, user)
    _post(client, "object", "tire-shop", "service_reminders")
    _post(client, "object", "tire-shop", "marketing_email")
    _post(client, "object", "nobody", "service_reminders")
    assert _events(app, user) == before


def test_restriction_stops_every_release_until_an_admin_lifts_it(
    app, client, make_user, make_client, monkeypatch
):
    user, shop, secret, token = _sign_in_to_shop(client, make_user, make_client)
    page = client.get("/account/sharing").data.decode()
    assert "Restrict use" in page

    resp = _post(client, "restrict", "tire-shop", "account")
    assert "notice=restricted" in resp.headers["Location"]
    info = _fresh_userinfo(client, shop, secret)
    assert "name" not in info  # only the account purpose shares the full name
    assert info["given_name"] == "Aino"  # service reminders, not restricted, share these
    assert info["email"] == user.email
    assert "restricted" in client.get("/account/sharing").data.decode()

    cli_env(app, monkeypatch)
    runner = CliRunner()
    state = runner.invoke(cli.main, ["ledger", "state", user.email])
    assert state.exit_code == 0 and "restricted" in state.output, state.output
    bad = runner.invoke(
        cli.main,
        [
            "ledger",
            "rights",
            "object",
            user.email,
            "--recipient",
            "tire-shop",
            "--purpose",
            "account",
        ],
    )
    assert bad.exit_code == 1 and "legitimate interest" in bad.output
    lifted = runner.invoke(
        cli.main,
        [
            "ledger",
            "rights",
            "lift-restriction",
            user.email,
            "--recipient",
            "tire-shop",
            "--purpose",
            "account",
            "--reason",
            "address corrected by phone",
        ],
    )
    assert lifted.exit_code == 0, lifted.output
    assert _fresh_userinfo(client, shop, secret)["name"] == "Aino Virtanen"
    events = _events(app, user)
    assert ("restriction", "account", "customer", "account_page") in events
    assert ("restriction_lifted", "account", "admin", "admin_cli") in events
    again = runner.invoke(
        cli.main,
        [
            "ledger",
            "rights",
            "lift-restriction",
            user.email,
            "--recipient",
            "tire-shop",
            "--purpose",
            "account",
        ],
    )
    assert again.exit_code == 1 and "not restricted" in again.output

    from idp.db import new_session

    with new_session(app) as s:
        keys = app.extensions["avain.ledger_keys"]
        lift = [r for r in L.customer_rows(s, keys, user.id) if r.type == "restriction_lifted"]
        assert L.details(s, keys, user.id, lift[0])["reason"] == "address corrected by phone"
        assert L.verify(s, keys.origin).ok


def test_an_admin_records_an_objection_received_by_letter(
    app, client, make_user, make_client, monkeypatch
):
    user, shop, secret, _ = _sign_in_to_shop(client, make_user, make_client)
    cli_env(app, monkeypatch)
    result = CliRunner().invoke(
        cli.main,
        [
            "ledger",
            "rights",
            "object",
            user.email,
            "--recipient",
            "tire-shop",
            "--purpose",
            "service_reminders",
        ],
    )
    assert result.exit_code == 0, result.output
    assert ("objection", "service_reminders", "admin", "admin_cli") in _events(app, user)
    assert "given_name" not in _fresh_userinfo(client, shop, secret)
    unknown = CliRunner().invoke(
        cli.main,
        ["ledger", "rights", "object", "nobody@example.com", "--recipient", "x", "--purpose", "y"],
    )
    assert unknown.exit_code == 1 and "no customer" in unknown.output
