"""The Overview shows figures computed from the data: customers, active consents per purpose
and recipient, withdrawals and objections by window, undelivered logouts, the checkpoint."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import timedelta

from sqlalchemy import text

from consent import Actor, Channel, ConsentEvent, EventType, ledger as L
from consent.store import append_only_ddl, drop_append_only_ddl
from idp.admin import overview
from idp.db import new_session, utcnow
from idp.events.kinds import BACKCHANNEL_LOGOUT
from idp.models import Delivery
from tests.admin.conftest import run
from tests.admin.console import meta_csrf, session_for


def _event(customer, purpose, kind, at, recipient="garage"):
    return ConsentEvent(
        customer_id=customer,
        recipient_id=recipient,
        purpose_id=purpose,
        purpose_version=1,
        type=kind,
        at=at,
        actor=Actor.CUSTOMER,
        channel=Channel.ACCOUNT_PAGE,
        claims=frozenset({"email"}) if kind == EventType.GIVEN else frozenset(),
    )


def _history(app):
    now = utcnow()
    keys = app.extensions["avain.ledger_keys"]
    G, W, OBJ = EventType.GIVEN, EventType.WITHDRAWN, EventType.OBJECTION
    events = [
        _event("c1", "garage_booking", G, now - timedelta(days=40)),
        _event("c2", "garage_booking", G, now - timedelta(days=40)),
        _event("c3", "garage_booking", G, now - timedelta(days=40)),
        _event("c1", "marketing", G, now - timedelta(days=40), recipient="tire-shop"),
        _event("c3", "garage_booking", W, now - timedelta(days=20)),  # in 30 days, not 7
        _event("c2", "garage_booking", W, now - timedelta(days=2)),  # in both
        _event("c2", "garage_booking", G, now - timedelta(days=1)),  # gave it again
        _event("c1", "marketing", OBJ, now - timedelta(days=3), recipient="tire-shop"),
    ]
    with app.app_context():
        s = new_session(app)
        L.append_many(s, keys, [(e, {}) for e in events])
        L.checkpoint(s, keys)
        s.add(Delivery(kind=BACKCHANNEL_LOGOUT, client_id="garage", url="https://x/", payload="t"))
        s.add(
            Delivery(
                kind=BACKCHANNEL_LOGOUT,
                client_id="garage",
                url="https://x/",
                payload="t",
                failed_at=now,
            )
        )
        s.add(
            Delivery(
                kind=BACKCHANNEL_LOGOUT,
                client_id="garage",
                url="https://x/",
                payload="t",
                delivered_at=now,
            )
        )
        s.commit()
        s.close()


def test_the_figures(app, make_user):
    make_user()
    make_user()
    _history(app)
    with app.app_context():
        s = new_session(app)
        o = overview.build(s, utcnow())
        s.close()
    assert o.customers == 2
    # c3 withdrew; c2 withdrew and gave again; c1 objected to marketing (its consent stands
    # in the ledger, but the data is not used for it: not counted as active)
    assert o.active == {("garage_booking", "garage"): 2}
    assert o.endings == {
        ("withdrawn", 7): 1,
        ("withdrawn", 30): 2,
        ("objection", 7): 1,
        ("objection", 30): 1,
    }
    assert (o.logouts_waiting, o.logouts_failed) == (1, 1)
    assert o.checkpoint_size == 8 and o.queued == 0


def test_the_page_shows_them(app, client, make_user):
    make_user()
    _history(app)
    session_for(app, client, "support")
    page = client.get("/admin/").data.decode()
    assert re.search(r'id="customers">1<', page)
    assert re.search(r"<td>garage_booking</td><td>garage</td><td>2</td>", page)
    assert "8" in re.search(r'id="checkpoint">([^<]*)<', page).group(1)
    assert "1" in re.search(r'id="logouts">([^<]*)<', page).group(1)


def _verified(page: str) -> list[str]:
    return [re.sub(r"<[^>]+>", "", m) for m in re.findall(r'class="verified">(.*?)</dd>', page)]


def test_the_last_verification_of_each_log(app, client, cli_env, make_user):
    """Each full check leaves its result for the overview: never, all match, the first bad
    entry; the newest run is the one shown, whoever ran it (the CLI or the console)."""
    make_user()
    _history(app)
    session_for(app, client, "owner")
    never = _verified(client.get("/admin/").data.decode())
    assert never == [
        "Never. Run idp ledger verify on a schedule.",
        "Never. Run idp audit verify on a schedule.",
    ]

    assert run(cli_env, "ledger", "verify").exit_code == 0
    consent_ok = _verified(client.get("/admin/").data.decode())[0]
    assert consent_ok.endswith(": all 8 entries match"), consent_ok

    with app.app_context():  # what only a database superuser could do
        s = new_session(app)
        dialect = s.get_bind().dialect.name
        for ddl in drop_append_only_ddl(dialect):
            s.execute(text(ddl))
        s.execute(text("UPDATE consent_events SET claims = '[]' WHERE seq = 3"))
        for ddl in append_only_ddl(dialect):
            s.execute(text(ddl))
        s.commit()
        s.close()
    assert run(cli_env, "ledger", "verify").exit_code == 1
    client.post("/admin/audit/verify", data={"csrf_token": meta_csrf(client, "/admin/audit")})
    consent_bad, audit_ok = _verified(client.get("/admin/").data.decode())
    assert "entry 3 does not match" in consent_bad, consent_bad
    assert audit_ok.endswith("entries match"), audit_ok


def test_the_api_gives_the_last_verifications(app, client, cli_env, api_token):
    _history(app)
    token, _ = api_token("auditor")
    bearer = {"Authorization": f"Bearer {token}"}
    before = client.get("/admin/api/v1/overview", headers=bearer).json
    assert before["ledger_verified"] is None and before["audit_log_verified"] is None
    assert run(cli_env, "ledger", "verify").exit_code == 0
    after = client.get("/admin/api/v1/overview", headers=bearer).json["ledger_verified"]
    assert after["ok"] is True and after["entries"] == 8 and after["by"] == "cli"
    assert after["first_bad"] is None and after["problem"] is None


def test_a_consent_past_its_expiry_is_not_active(app):
    """The Overview counts as the sharing map does and as decide() releases: a consent
    whose time ran out is no longer in use, though no event has said so yet."""
    now = utcnow()
    keys = app.extensions["avain.ledger_keys"]
    lapsed = replace(
        _event("c9", "garage_booking", EventType.GIVEN, now - timedelta(days=400)),
        expires_at=now - timedelta(days=35),
    )
    standing = replace(
        _event("c8", "garage_booking", EventType.GIVEN, now - timedelta(days=10)),
        expires_at=now + timedelta(days=355),
    )
    with app.app_context():
        s = new_session(app)
        L.append_many(s, keys, [(lapsed, {}), (standing, {})])
        s.commit()
        assert overview.active_consents(s, now) == {("garage_booking", "garage"): 1}
        s.close()
