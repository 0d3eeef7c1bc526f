"""Consent flows through the test client, shared by the ledger tests: reach the consent
screen, answer it, withdraw from the account page, read the customer's logged history."""

from __future__ import annotations

from consent import ledger as L
from idp.db import new_session
from idp.ledger import sequencer
from tests.conftest import authorize_params, csrf_of, login, query_of


def consent_page(client, params, email):
    resp = client.get("/authorize", query_string=params)
    if resp.headers["Location"].startswith("/login"):
        interaction = query_of(resp.headers["Location"])["interaction"]
        resp = client.get(login(client, email, interaction=interaction).headers["Location"])
    location = resp.headers["Location"]
    assert location.startswith("/consent"), location
    return query_of(location)["interaction"], client.get(location)


def finish(client, interaction, page, **choices):
    data = {"interaction": interaction, "decision": "allow", "csrf_token": csrf_of(page.data)}
    data.update(choices)
    resp = client.post("/consent", data=data)
    resp = client.get(resp.headers["Location"])
    return query_of(resp.headers["Location"])


def userinfo(client, token):
    return client.get("/userinfo", headers={"Authorization": f"Bearer {token['access_token']}"})


def history(app, user):
    """The customer's events, logged and queued, oldest first."""
    sequencer.drain(app)
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context(), new_session(app) as s:
        assert L.queued(s, keys, user.id) == 0
        return [(r.type, r.purpose_id) for r in L.customer_rows(s, keys, user.id)]


def withdraw(client, rp):
    account = client.get("/account/")
    return client.post(
        "/account/sharing/withdraw",
        data={
            "recipient": rp.client_id,
            "purpose": f"signin:{rp.client_id}",
            "csrf_token": csrf_of(account.data),
        },
    )


def consent(client, rp, email, **extra):
    params, _ = authorize_params(rp, scope="openid email", **extra)
    interaction, page = consent_page(client, params, email)
    return finish(client, interaction, page)


def cli_env(app, monkeypatch):
    settings = app.config["AVAIN"]
    for key, value in {
        "IDP_DATABASE_URL": settings.database_url,
        "IDP_SECRET_KEY": settings.secret_key,
        "IDP_ISSUER": settings.issuer,
        "IDP_INSTANCE_PATH": settings.instance_path,
    }.items():
        monkeypatch.setenv(key, value)
