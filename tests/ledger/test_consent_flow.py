"""Consent decides every claim release: the screen, the ledger events, withdrawal."""

from __future__ import annotations

import re

from joserfc import jwt
from joserfc.jwk import KeySet

from consent import ledger as L
from idp import startup
from tests.conftest import authorize_params, csrf_of, exchange, query_of
from tests.ledger.flows import consent_page, finish, userinfo


def test_generic_client_consent_is_a_ledger_event_and_limits_claims(
    app, client, make_user, make_client
):
    user = make_user()
    rp, secret = make_client()
    params, verifier = authorize_params(rp, scope="openid email")
    interaction, page = consent_page(client, params, user.email)
    assert b"Your email address" in page.data
    q = finish(client, interaction, page)
    token = exchange(client, rp, secret, q["code"], verifier).json
    info = userinfo(client, token).json
    assert info["email"] == user.email and "name" not in info
    # a wider scope later needs a new decision; prompt=none cannot make it
    params, _ = authorize_params(rp, scope="openid email profile", prompt="none")
    resp = client.get("/authorize", query_string=params)
    assert query_of(resp.headers["Location"])["error"] == "consent_required"
    with app.app_context():
        from idp.db import new_session

        s = new_session(app)
        keys = app.extensions["avain.ledger_keys"]
        rows = L.customer_rows(s, keys, user.id)
        assert [r.type for r in rows] == ["given"]
        details = L.details(s, keys, user.id, rows[0])
        assert details["language"] == "en" and details["notice_version"] == "2026-11"
        assert L.verify(s, keys.origin).ok
        s.close()


def test_partner_purposes_are_unticked_choices_and_refusal_does_not_block(
    client, make_user, make_client
):
    user = make_user()
    garage, secret = make_client(
        client_id="garage",
        name="Korjaamo Virtanen",
        redirect_uris=["https://garage.example.com/cb"],
    )
    params, verifier = authorize_params(garage, scope="openid profile email phone")
    interaction, page = consent_page(client, params, user.email)
    html = page.data.decode()
    # the garage is an independent controller (the catalogue's recipient controller)
    assert "Korjaamo Virtanen Oy" in html and "Avain Demo Oy" not in html
    assert 'name="agree:garage_booking"' in html
    assert 'name="claim:garage_booking:email"' in html
    assert not re.search(r"<input[^>]*checked", html)  # nothing pre-ticked
    q = finish(client, interaction, page)  # switch left off, nothing ticked: refused
    token = exchange(client, garage, secret, q["code"], verifier).json
    assert set(userinfo(client, token).json) == {"sub"}
    keys = KeySet.import_key_set(client.get("/jwks.json").json)
    assert "name" not in jwt.decode(token["id_token"], keys).claims


def test_agreeing_without_an_optional_claim_releases_only_the_rest(client, make_user, make_client):
    _, _, token = _garage_token(client, make_user, make_client, **{"agree:garage_booking": "on"})
    info = userinfo(client, token).json
    assert info["name"] == "Aino Virtanen"
    assert "email" not in info  # optional, left unticked
    page = client.get("/account/sharing").data.decode()
    assert "Korjaamo Virtanen" in page and "Your name" in page
    assert "Your email address" not in page


def test_withdrawal_revokes_tokens_at_once_and_logs_the_client_out(
    app, client, make_user, make_client, receiver
):
    user = make_user()
    rp, secret = make_client(backchannel_logout_uri=receiver.url)
    params, verifier = authorize_params(rp, scope="openid email")
    interaction, page = consent_page(client, params, user.email)
    q = finish(client, interaction, page)
    token = exchange(client, rp, secret, q["code"], verifier).json
    account = client.get("/account/sharing")
    assert b"Withdraw consent" in account.data
    resp = client.post(
        "/account/sharing/withdraw",
        data={
            "recipient": rp.client_id,
            "purpose": f"signin:{rp.client_id}",
            "csrf_token": csrf_of(account.data),
        },
    )
    assert resp.status_code == 302
    intro = client.post(
        "/introspect", data={"token": token["access_token"]}, auth=(rp.client_id, secret)
    ).json
    assert intro == {"active": False}
    assert userinfo(client, token).status_code == 401
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)
    assert len(receiver.tokens) == 1
    assert b"withdrawn" in client.get("/account/sharing").data
    # the customer still gets in, and is asked again
    params, _ = authorize_params(rp, scope="openid email")
    assert client.get("/authorize", query_string=params).headers["Location"].startswith("/consent")


def test_receipts_and_export_from_the_account_page(
    app, client, make_user, make_client, tmp_path, monkeypatch
):
    user = make_user()
    rp, secret = make_client()
    params, verifier = authorize_params(rp, scope="openid email")
    interaction, page = consent_page(client, params, user.email)
    finish(client, interaction, page)
    listing = client.get("/account/sharing/receipts")
    assert listing.status_code == 200 and b"Download receipt" in listing.data
    seq = re.search(rb"/account/sharing/receipts/(\d+)\.jwt", listing.data).group(1).decode()
    receipt = client.get(f"/account/sharing/receipts/{seq}.jwt")
    assert receipt.mimetype == "application/jwt"
    assert "attachment" in receipt.headers["Content-Disposition"]
    with app.app_context():
        from consent.receipts import verify_receipt
        from idp.db import new_session

        s = new_session(app)
        check = verify_receipt(s, receipt.data.decode(), app.extensions["avain.ledger_keys"].origin)
        s.close()
    assert check.ok, check.problems
    assert check.claims["sub"] == user.id
    export = client.get("/account/sharing/export.json").json
    assert export["available"] is True and export["completeness"]["complete"] is True
    assert [r["eventType"] for r in export["records"]] == ["given"]
    # the CLI checks the same file
    path = tmp_path / "receipt.jwt"
    path.write_bytes(receipt.data)
    from click.testing import CliRunner

    from idp import cli

    settings = app.config["AVAIN"]
    for key, value in {
        "IDP_DATABASE_URL": settings.database_url,
        "IDP_SECRET_KEY": settings.secret_key,
        "IDP_ISSUER": settings.issuer,
        "IDP_INSTANCE_PATH": settings.instance_path,
    }.items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(cli.main, ["ledger", "check-receipt", str(path)])
    path.write_bytes(receipt.data[:-4] + b"AAAA")
    bad = CliRunner().invoke(cli.main, ["ledger", "check-receipt", str(path)])
    assert result.exit_code == 0, result.output
    assert f"ok: entry {seq}" in result.output
    assert bad.exit_code == 1


def test_a_changed_purpose_asks_the_customer_again(app, client, make_user, make_client):
    import dataclasses

    user = make_user()
    garage, secret = make_client(
        client_id="garage",
        name="Korjaamo Virtanen",
        redirect_uris=["https://garage.example.com/cb"],
    )
    params, verifier = authorize_params(garage, scope="openid profile")
    interaction, page = consent_page(client, params, user.email)
    finish(client, interaction, page, **{"agree:garage_booking": "on"})
    params, _ = authorize_params(garage, scope="openid profile", prompt="none")
    assert "code" in query_of(client.get("/authorize", query_string=params).headers["Location"])
    catalogue = app.extensions["avain.catalogue"]
    changed = dataclasses.replace(catalogue.purposes["garage_booking"], content_hash="new text")
    app.extensions["avain.catalogue"] = dataclasses.replace(
        catalogue, purposes={**catalogue.purposes, "garage_booking": changed}
    )
    startup.prepare(app)  # as a restart with the changed catalogue would
    params, verifier = authorize_params(garage, scope="openid profile", prompt="none")
    q = query_of(client.get("/authorize", query_string=params).headers["Location"])
    assert q["error"] == "consent_required"
    params, verifier = authorize_params(garage, scope="openid profile")
    assert client.get("/authorize", query_string=params).headers["Location"].startswith("/consent")


def _introspect(client, rp, secret, token):
    return client.post(
        "/introspect", data={"token": token["access_token"]}, auth=(rp.client_id, secret)
    ).json


def _garage_token(client, make_user, make_client, **choices):
    """The partner garage's tokens after the consent screen, with ``choices`` submitted."""
    user = make_user(name="Aino Virtanen")
    garage, secret = make_client(
        client_id="garage",
        name="Korjaamo Virtanen",
        redirect_uris=["https://garage.example.com/cb"],
    )
    params, verifier = authorize_params(garage, scope="openid profile email")
    interaction, page = consent_page(client, params, user.email)
    q = finish(client, interaction, page, **choices)
    return garage, secret, exchange(client, garage, secret, q["code"], verifier).json


def test_introspection_releases_what_userinfo_releases_and_no_more(client, make_user, make_client):
    garage, secret, token = _garage_token(
        client, make_user, make_client, **{"agree:garage_booking": "on"}
    )
    intro = _introspect(client, garage, secret, token)
    info = userinfo(client, token).json
    assert intro["active"] is True and intro["client_id"] == "garage"
    assert intro["name"] == info["name"] == "Aino Virtanen"
    assert "email" not in intro  # optional, left unticked: not in userinfo either
    protocol = {"active", "scope", "client_id", "token_type", "iat", "iss", "aud", "jti", "exp"}
    assert set(intro) - protocol - {"auth_time", "acr"} == set(info)


def test_introspection_of_a_refused_purpose_names_only_the_subject(client, make_user, make_client):
    garage, secret, token = _garage_token(client, make_user, make_client)  # agree left empty
    intro = _introspect(client, garage, secret, token)
    assert intro["active"] is True and intro["sub"]
    assert not {"name", "email", "given_name", "family_name"} & set(intro)
