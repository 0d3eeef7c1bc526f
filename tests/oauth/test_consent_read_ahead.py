"""Userinfo and introspection read the customer's consent events for the client in the
token's own statement on PostgreSQL (a LATERAL join, ``idp.oauth.tokens``): the rows kept
for the release must be exactly the rows the ledger's own statement reads, queued events
(still in the intake) and logged ones alike, and the release must decide on them."""

from __future__ import annotations

from typing import Any

from flask import Flask

from consent import ledger as L
from idp.db import KEPT_READS, new_session
from idp.ledger import consents, sequencer
from idp.oauth import tokens
from tests.conftest import authorize_params, exchange
from tests.ledger.flows import consent_page, finish


def _kept_and_read(app: Flask, access_token: str) -> tuple[list[Any] | None, list[Any]]:
    with app.app_context(), new_session(app) as session:
        token = tokens.find_by_access_token(session, access_token, with_consent=True)
        assert token is not None and token.user_id
        kept = session.info.get(KEPT_READS, {}).get(
            (consents._CONSENT_ROWS, token.user_id, token.client_id)
        )
        read = consents._STATES_OF_RECIPIENT.execute(
            session, {"customer_id": token.user_id, "recipient_id": token.client_id}
        ).rows
        return kept, read


def test_events_read_with_the_token_are_the_ledgers_own(
    app: Flask, client: Any, make_user: Any, make_client: Any, monkeypatch: Any
) -> None:
    def later(*_args: Any, **_kwargs: Any) -> Any:
        raise RuntimeError("the sequencer is behind")

    sequence = L.sequence
    monkeypatch.setattr(L, "sequence", later)  # the consent stays queued in the intake
    user = make_user()
    rp, secret = make_client(
        client_id="garage",
        name="Korjaamo Virtanen",
        redirect_uris=["https://garage.example/cb"],
        grant_types=["authorization_code", "refresh_token"],
    )
    params, verifier = authorize_params(rp, scope="openid profile email")
    interaction, page = consent_page(client, params, user.email)
    callback = finish(
        client,
        interaction,
        page,
        **{"agree:garage_booking": "on", "claim:garage_booking:email": "on"},
    )
    access = exchange(client, rp, secret, callback["code"], verifier).json["access_token"]
    postgres = app.extensions["avain.engine"].dialect.name == "postgresql"

    kept, read = _kept_and_read(app, access)  # the consent still queued in the intake
    assert read and all(r.queued for r in read)
    assert kept == read if postgres else kept is None

    monkeypatch.setattr(L, "sequence", sequence)
    sequencer.drain(app)
    kept, read = _kept_and_read(app, access)  # now in the log
    assert read and not any(r.queued for r in read)
    assert kept == read if postgres else kept is None

    # and the release decides on them: the email the customer agreed to leaves
    info = client.get("/userinfo", headers={"Authorization": f"Bearer {access}"}).json
    assert info["email"] == user.email
    body = client.post("/introspect", data={"token": access}, auth=(rp.client_id, secret)).json
    assert body["active"] and body["email"] == user.email


def test_a_token_without_a_customer_is_still_found(client: Any, make_client: Any) -> None:
    """The LATERAL join is an outer one: a client's own token (no customer, so no events)
    still comes back and introspects as active."""
    rp, secret = make_client(grant_types=["client_credentials"], redirect_uris=[])
    access = client.post(
        "/token", data={"grant_type": "client_credentials"}, auth=(rp.client_id, secret)
    ).json["access_token"]
    body = client.post("/introspect", data={"token": access}, auth=(rp.client_id, secret)).json
    assert body["active"] is True and body["sub"] == rp.client_id
