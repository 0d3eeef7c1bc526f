"""The catalogue in the console: purposes, notices and agreements as configured; each
purpose's stored versions with a readable diff between consecutive ones (texts, claims,
basis, recipients, validity) and what the change means for customers, with how many
consents a new version left behind."""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import pytest

from consent import Actor, Channel, ConsentEvent, EventType, ledger as L
from consent.catalogue import load_catalogue
from idp.admin import catalogue_view
from idp.db import new_session, utcnow
from idp.ledger.service import sync_purposes
from tests.admin.console import session_for

CONFIG = Path(__file__).resolve().parents[2] / "config"


def _changed_catalogue(tmp_path: Path) -> Path:
    """The demo catalogue with garage_booking changed: text, a claim, validity, basis kept."""
    folder = tmp_path / "config"
    shutil.copytree(CONFIG, folder)
    path = folder / "purposes.toml"
    text = path.read_text()
    start = text.index('id = "garage_booking"')
    head, tail = text[:start], text[start:]
    tail = tail.replace("validity_days = 90", "validity_days = 180", 1)
    tail = tail.replace('email = "optional"', 'email = "optional"\naddress = "optional"', 1)
    tail = tail.replace(
        "so that the garage can book a tire fitting time",
        "so that the garage can book a tire fitting or storage time",
        1,
    )
    tail = tail.replace(
        "Your consent is \\\nvalid for 90 days", "Your consent is \\\nvalid for 180 days", 1
    )
    path.write_text(head + tail)
    return path


def _consent(customer, version, at):
    return ConsentEvent(
        customer_id=customer,
        recipient_id="garage",
        purpose_id="garage_booking",
        purpose_version=version,
        type=EventType.GIVEN,
        at=at,
        actor=Actor.CUSTOMER,
        channel=Channel.CONSENT_SCREEN,
        claims=frozenset({"name"}),
    )


@pytest.fixture
def second_version(app, tmp_path):
    """garage_booking changed and Avain "restarted": version 2 stored and in use."""
    keys = app.extensions["avain.ledger_keys"]
    with app.app_context():
        s = new_session(app)
        now = utcnow()
        L.append_many(
            s,
            keys,
            [(_consent("c1", 1, now - timedelta(days=3)), {}), (_consent("c2", 1, now), {})],
        )
        numbered = sync_purposes(s, load_catalogue(_changed_catalogue(tmp_path)))
        L.append_many(
            s, keys, [(_consent("c3", numbered.purposes["garage_booking"].version, now), {})]
        )
        s.commit()
        s.close()
    app.extensions["avain.catalogue"] = numbered
    return numbered


def test_the_diff_between_versions(app, second_version):
    with app.app_context():
        s = new_session(app)
        h = catalogue_view.history(s, second_version, "garage_booking", utcnow())
        s.close()
    assert h is not None
    newest, first = h.versions
    assert (newest.number, first.number) == (2, 1) and first.change is None
    c = newest.change
    assert c.claims_added == [("address", "optional")] and not c.claims_removed
    assert c.validity == (90, 180) and c.basis is None and not c.recipients_added
    (text,) = c.texts
    assert (text.language, text.part) == ("en", "description")
    assert ("ins", "or storage") in text.segments
    assert [s for s in text.segments if s[0] != "same"] == [
        ("ins", "or storage"),
        ("del", "90"),
        ("ins", "180"),
    ]
    assert "consent_outdated" in c.effects and "asked_at_sign_in" in c.effects
    assert "validity_from_now" in c.effects
    assert (h.current_consents, h.outdated_consents) == (1, 2)
    data = json.loads(json.dumps(catalogue_view.history_json(h)))  # what the API sends
    assert [v["version"] for v in data["versions"]] == [2, 1]
    assert data["versions"][0]["changes"]["validity_days"] == {"was": 90, "is": 180}
    assert data["versions"][1]["changes"] is None
    listed = json.loads(json.dumps(catalogue_view.catalogue_json(second_version, True)))
    assert {p["purpose_id"] for p in listed["purposes"]} >= {"garage_booking", "account"}
    assert listed["agreements"][0]["agreement_id"] == "tire_fitting"


def test_compare_names_every_kind_of_change():
    old = {
        "basis": "consent",
        "claims": {"email": "optional", "name": "necessary"},
        "recipients": ["garage"],
        "texts": {"fi": {"title": "Vanha", "description": "Sama teksti"}},
        "validity_days": None,
        "ask": "signin",
    }
    new = {
        "basis": "legitimate_interest",
        "claims": {"name": "optional", "phone_number": "necessary"},
        "recipients": ["garage", "tire-shop"],
        "texts": {"fi": {"title": "Uusi", "description": "Sama teksti"}},
        "validity_days": None,
        "ask": "signin",
    }
    c = catalogue_view.compare(old, new)
    assert c.basis == ("consent", "legitimate_interest")
    assert c.claims_added == [("phone_number", "necessary")] and c.claims_removed == ["email"]
    assert c.needs_changed == [("name", "necessary", "optional")]
    assert c.recipients_added == ["tire-shop"] and c.validity is None
    assert [(t.language, t.part, t.segments) for t in c.texts] == [
        ("fi", "title", [("del", "Vanha"), ("ins", "Uusi")])
    ]
    assert {
        "no_longer_consent",
        "new_necessary_shared",
        "new_recipient_on_basis",
        "no_longer_shared",
        "necessary_continue",
    } <= set(c.effects)


def test_the_pages(app, client, second_version):
    session_for(app, client, "privacy")
    page = client.get("/admin/catalogue").data.decode()
    for purpose in ("account", "marketing_email", "service_reminders", "garage_booking"):
        assert f'href="/admin/catalogue/{purpose}"' in page
    assert "/privacy/2026-11" in page and "car_registration" in page
    assert "tire_fitting" not in page  # privacy officers do not see partner agreements

    page = client.get("/admin/catalogue/garage_booking").data.decode()
    assert 'id="version-2"' in page and 'id="version-1"' in page
    assert "<ins>or storage</ins>" in page and "<del>90</del>" in page
    assert "Claim added: address (optional)" in page
    assert "Consent valid: 90 days → 180 days" in page
    assert "asked again the next time they sign in" in page
    assert 'id="outdated-consents">2' in page


def test_the_page_in_finnish(app, client, second_version):
    session_for(app, client, "partners")
    client.set_cookie("lang", "fi")
    page = client.get("/admin/catalogue/garage_booking", headers={"Accept-Language": "fi"})
    assert page.status_code == 200
    assert "Renkaanvaihdon ajanvaraus" in page.data.decode()


def test_unknown_purposes_are_a_readable_404(app, client):
    session_for(app, client, "auditor")
    for path in ("/admin/catalogue/nothing", "/admin/catalogue/" + "y" * 400):
        resp = client.get(path)
        assert resp.status_code == 404 and b"No such purpose" in resp.data
