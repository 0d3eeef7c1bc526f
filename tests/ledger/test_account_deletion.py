"""GDPR Art. 17 from the account page: the customer deletes their own account."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from consent import ledger as L
from consent.store import CustomerKeyRow, EventRow
from tests.conftest import PASSWORD, authorize_params, csrf_of, exchange, login
from tests.ledger.flows import consent_page, finish


def _count(app, table, **where):
    from idp.db import new_session

    with new_session(app) as s:
        stmt = select(func.count()).select_from(table)
        for column, value in where.items():
            stmt = stmt.where(getattr(table, column) == value)
        return s.scalar(stmt)


def test_the_customer_deletes_their_account(app, client, make_user, make_client, receiver):
    from idp.models import User

    user = make_user()
    rp, secret = make_client(backchannel_logout_uri=receiver.url)
    params, verifier = authorize_params(rp, scope="openid email")
    interaction, page = consent_page(client, params, user.email)
    q = finish(client, interaction, page)
    token = exchange(client, rp, secret, q["code"], verifier).json
    assert "Delete your account" in client.get("/account/privacy").data.decode()

    page = client.get("/account/delete")
    assert page.status_code == 200 and b"cannot be undone" in page.data
    wrong = client.post(
        "/account/delete",
        data={"password": "not it", "confirm": "yes", "csrf_token": csrf_of(page.data)},
    )
    assert wrong.status_code == 400 and _count(app, User, id=user.id) == 1
    unticked = client.post(
        "/account/delete", data={"password": PASSWORD, "csrf_token": csrf_of(page.data)}
    )
    assert unticked.status_code == 400 and b"Tick the box" in unticked.data
    done = client.post(
        "/account/delete",
        data={"password": PASSWORD, "confirm": "yes", "csrf_token": csrf_of(page.data)},
    )
    assert done.status_code == 200 and b"Your account was deleted" in done.data

    assert _count(app, User, id=user.id) == 0
    assert _count(app, CustomerKeyRow, customer_id=user.id) == 0
    assert _count(app, EventRow) == 1  # the log keeps the entry, which identifies no one
    intro = client.post(
        "/introspect", data={"token": token["access_token"]}, auth=(rp.client_id, secret)
    ).json
    assert intro == {"active": False}
    for thread in app.extensions.get("avain.outbox_threads", []):
        thread.join(timeout=10)
    assert len(receiver.tokens) == 1
    assert client.get("/account/").status_code == 302  # signed out
    again = login(client, user.email)  # the password no longer opens anything
    assert again.status_code == 401 and "Location" not in again.headers
    from idp.db import new_session

    with new_session(app) as s:
        keys = app.extensions["avain.ledger_keys"]
        assert L.verify(s, keys.origin).ok
        assert L.states(s, keys, user.id) == {}


def test_a_passkey_only_customer_must_have_signed_in_lately(app, client, make_user):
    from idp.db import new_session
    from idp.models import SsoSession, User

    user = make_user()
    login(client, user.email)
    with new_session(app) as s:
        s.get(User, user.id).password_hash = None  # as if they chose passkeys only
        for sso in s.scalars(select(SsoSession).where(SsoSession.user_id == user.id)):
            sso.auth_time = sso.auth_time - timedelta(minutes=30)
        s.commit()
    page = client.get("/account/delete")
    assert b"sign in again" in page.data and b'name="password"' not in page.data
    stale = client.post(
        "/account/delete", data={"confirm": "yes", "csrf_token": csrf_of(page.data)}
    )
    assert stale.status_code == 400 and _count(app, User, id=user.id) == 1
    with new_session(app) as s:
        for sso in s.scalars(select(SsoSession).where(SsoSession.user_id == user.id)):
            sso.auth_time = sso.auth_time + timedelta(minutes=30)
        s.commit()
    done = client.post("/account/delete", data={"confirm": "yes", "csrf_token": csrf_of(page.data)})
    assert done.status_code == 200 and _count(app, User, id=user.id) == 0


def test_guessing_the_password_on_these_forms_counts_toward_the_sign_in_limit(
    app, client, make_user
):
    """A stolen session cannot be used to guess the password: deleting the account and
    changing the password count failures like sign-ins do, and stop at the same limit."""
    from idp.models import User

    user = make_user()
    login(client, user.email)
    limit = app.config["AVAIN"].login_max_failures
    page = client.get("/account/delete")
    for i in range(limit):
        form = "/account/delete" if i % 2 else "/account/password"
        data = (
            {"password": f"guess {i}", "confirm": "yes"}
            if form == "/account/delete"
            else {
                "current_password": f"guess {i}",
                "new_password": "a brand new passphrase",
                "new_password_confirm": "a brand new passphrase",
            }
        )
        resp = client.post(form, data={**data, "csrf_token": csrf_of(page.data)})
        assert resp.status_code == 400 and b"Too many" not in resp.data
    blocked = client.post(
        "/account/delete",
        data={"password": PASSWORD, "confirm": "yes", "csrf_token": csrf_of(page.data)},
    )
    assert blocked.status_code == 400 and b"Too many failed attempts" in blocked.data
    assert _count(app, User, id=user.id) == 1
