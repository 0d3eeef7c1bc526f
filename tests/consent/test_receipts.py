"""Signed consent receipts and the customer's history export, checked against the log."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import text

from consent import Actor, Channel, ConsentEvent, EventType, ledger as L, merkle
from consent.export import export_history
from consent.model import LegalBasis, Text
from consent.receipts import (
    RECEIPT_TYP,
    issue_receipt,
    receipt_public_jwk,
    verify_receipt,
)
from consent.store import drop_append_only_ddl

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)
ISSUER = "https://login.example.com"
CONTROLLER = {
    "piiController": "Avain Demo Oy",
    "contact": "Tietosuojavastaava",
    "address": {"streetAddress": "Esimerkkikatu 1", "addressCountry": "FI"},
    "email": "privacy@example.com",
    "phone": "+358 9 123 4567",
    "jurisdiction": "FI",
}
TEXTS = {
    "fi": Text("Rengastyön ajanvaraus", "Korjaamo saa tiedot renkaiden vaihdon varaukseen."),
    "en": Text("Tire fitting booking", "The garage gets what it needs to book the fitting."),
}
DETAILS = {
    "language": "fi",
    "notice_version": "2026-11",
    "notice_hash": "ab" * 32,
    "notice_url": "https://login.example.com/privacy/2026-11",
    "offered": [["email", False], ["phone_number", False]],
}


def ev(customer="c1", kind=EventType.GIVEN, claims=("email",), minutes=0, expires=None):
    return ConsentEvent(
        customer_id=customer,
        recipient_id="garage",
        purpose_id="garage_booking",
        purpose_version=1,
        type=kind,
        at=T0 + timedelta(minutes=minutes),
        actor=Actor.CUSTOMER,
        channel=Channel.CONSENT_SCREEN,
        claims=frozenset(claims),
        expires_at=expires,
    )


def record(session, keys, event, details=DETAILS, **kw):
    """Append ``event``, issue its receipt and checkpoint: one unit of work, committed."""
    row = L.append(session, keys, event, details)
    token = issue_receipt(
        session,
        keys,
        event.customer_id,
        row,
        issuer=ISSUER,
        controller=CONTROLLER,
        purpose_texts=TEXTS,
        now=event.at,
        **kw,
    )
    L.checkpoint(session, keys)
    session.commit()
    return row.seq, token


def history(session, keys):
    """Six events of two customers, interleaved; c1 has seq 1, 3, 5 and c2 has 2, 4, 6."""
    tokens = {}
    for i in range(6):
        customer = "c1" if i % 2 == 0 else "c2"
        kind = EventType.WITHDRAWN if i == 4 else EventType.GIVEN
        claims = () if kind is EventType.WITHDRAWN else ("email", "phone_number")[: 1 + i % 2]
        seq, token = record(session, keys, ev(customer, kind, claims, minutes=i))
        tokens[seq] = token
    return tokens


def _tamper(session, *statements):
    dialect = session.get_bind().dialect.name
    for stmt in drop_append_only_ddl(dialect):
        session.execute(text(stmt))
    for stmt in statements:
        session.execute(text(stmt))
    session.commit()


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def _reencode_payload(token: str, change) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(_unb64url(payload))
    change(claims)
    return ".".join([header, _b64url(json.dumps(claims).encode()), signature])


# -- receipts -------------------------------------------------------------------------------


def test_a_receipt_round_trips_and_verifies_against_the_newest_checkpoint(ledger_session, keys):
    expires = T0 + timedelta(days=90)
    seq, token = record(ledger_session, keys, ev(claims=("email", "phone_number"), expires=expires))
    record(ledger_session, keys, ev("c2", minutes=1))  # the checkpoint grows past the receipt

    header = jwt.get_unverified_header(token)
    assert header == {"alg": "EdDSA", "typ": RECEIPT_TYP, "kid": L.LOG_KEY_NAME}
    check = verify_receipt(ledger_session, token, keys.origin)
    assert check.ok, check.problems
    assert (check.seq, check.checkpoint_size) == (1, 2)

    claims = check.claims
    row = L.customer_rows(ledger_session, keys, "c1")[0]
    assert claims["iss"] == ISSUER and claims["sub"] == "c1" == claims["piiPrincipalId"]
    assert claims["jti"] == claims["consentReceiptID"]
    assert claims["version"] == "KI-CR-v1.1.0" and claims["jurisdiction"] == "FI"
    assert claims["consentTimestamp"] == int(T0.timestamp())
    assert claims["iat"] == int(T0.timestamp())
    assert claims["collectionMethod"] == "consent_screen by customer"
    assert claims["language"] == "fi"
    assert claims["policyUrl"] == DETAILS["notice_url"]
    assert claims["piiControllers"][0]["piiController"] == "Avain Demo Oy"
    assert "jurisdiction" not in claims["piiControllers"][0]
    (service,) = claims["services"]
    assert service["service"] == "Rengastyön ajanvaraus"
    (purpose,) = service["purposes"]
    assert purpose["piiCategory"] == ["email", "phone_number"]
    assert purpose["purposeCategory"] == ["garage_booking"]
    assert purpose["consentType"] == "EXPLICIT" and purpose["thirdPartyName"] == "garage"
    assert claims["eventType"] == "given" and claims["eventState"] == "consent given"
    assert claims["purposeId"] == "garage_booking" and claims["purposeVersion"] == 1
    assert claims["recipientId"] == "garage" and claims["recordId"] == seq
    assert claims["expiresAt"] == "2027-02-18T12:00:00Z"
    assert claims["privacyNotice"] == {
        "version": "2026-11",
        "contentHash": "ab" * 32,
        "url": DETAILS["notice_url"],
    }
    assert claims["offered"] == [
        {"claim": "email", "defaultState": False},
        {"claim": "phone_number", "defaultState": False},
    ]
    assert claims["ledger"] == {"seq": 1, "leaf_hash": row.leaf_hash, "log_origin": keys.origin}
    assert merkle.leaf_hash(claims["ledger_leaf"].encode()).hex() == row.leaf_hash
    assert "lawfulBasis" not in claims


def test_a_receipt_verifies_with_standard_tools_and_the_published_jwk(ledger_session, keys):
    _, token = record(ledger_session, keys, ev(), basis=LegalBasis.CONSENT)
    jwk = receipt_public_jwk(ledger_session)
    assert {k: jwk[k] for k in ("kty", "crv", "alg", "kid")} == {
        "kty": "OKP",
        "crv": "Ed25519",
        "alg": "EdDSA",
        "kid": L.LOG_KEY_NAME,
    }
    public = Ed25519PublicKey.from_public_bytes(_unb64url(jwk["x"]))
    header, payload, signature = token.split(".")
    public.verify(_unb64url(signature), f"{header}.{payload}".encode())  # raises if bad
    claims = jwt.decode(token, jwt.PyJWK(jwk), algorithms=["EdDSA"], options={"verify_iat": False})
    assert claims["lawfulBasis"] == "consent"


def test_the_public_jwk_needs_a_log_key(ledger_session):
    with pytest.raises(LookupError):
        receipt_public_jwk(ledger_session)


def test_the_receipt_uses_english_when_the_shown_language_has_no_text(ledger_session, keys):
    _, token = record(ledger_session, keys, ev(), details={**DETAILS, "language": "sv"})
    claims = verify_receipt(ledger_session, token, keys.origin).claims
    assert claims["language"] == "sv"
    assert claims["services"][0]["service"] == "Tire fitting booking"


def test_a_receipt_is_only_issued_for_the_customers_own_event(ledger_session, keys):
    row = L.append(ledger_session, keys, ev("c1"), DETAILS)
    with pytest.raises(LookupError):
        issue_receipt(
            ledger_session,
            keys,
            "c2",
            row,
            issuer=ISSUER,
            controller=CONTROLLER,
            purpose_texts=None,
            now=T0,
        )


def test_a_tampered_payload_is_rejected(ledger_session, keys):
    _, token = record(ledger_session, keys, ev())
    forged = _reencode_payload(
        token,
        lambda c: c["services"][0]["purposes"][0].update(
            piiCategory=["email", "phone_number", "car_registration"]
        ),
    )
    check = verify_receipt(ledger_session, forged, keys.origin)
    assert not check.ok and check.problems == ["signature does not verify"]
    assert check.claims is None and check.seq is None


def test_a_tampered_signature_is_rejected(ledger_session, keys):
    _, token = record(ledger_session, keys, ev())
    header, payload, signature = token.split(".")
    raw = bytearray(_unb64url(signature))
    raw[0] ^= 1
    check = verify_receipt(ledger_session, f"{header}.{payload}.{_b64url(bytes(raw))}", keys.origin)
    assert check.problems == ["signature does not verify"]


def test_a_receipt_signed_by_another_key_is_rejected(ledger_session, keys):
    _, token = record(ledger_session, keys, ev())
    claims = jwt.decode(token, options={"verify_signature": False})
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = jwt.encode(
        claims,
        Ed25519PrivateKey.generate(),
        algorithm="EdDSA",
        headers={"typ": RECEIPT_TYP, "kid": L.LOG_KEY_NAME},
    )
    assert verify_receipt(ledger_session, other, keys.origin).problems == [
        "signature does not verify"
    ]


@pytest.mark.parametrize(
    ("token", "problem"),
    [
        ("not a jwt", "not a well-formed JWT"),
        (jwt.encode({"a": 1}, "k" * 32, algorithm="HS256"), "typ is 'JWT'"),
    ],
)
def test_other_tokens_are_rejected_with_a_reason(ledger_session, keys, token, problem):
    record(ledger_session, keys, ev())
    check = verify_receipt(ledger_session, token, keys.origin)
    assert not check.ok and any(problem in p for p in check.problems), check.problems


def test_the_wrong_log_origin_is_reported(ledger_session, keys):
    _, token = record(ledger_session, keys, ev())
    check = verify_receipt(ledger_session, token, "elsewhere.example/consent-log")
    assert not check.ok
    assert any("not 'elsewhere.example/consent-log'" in p for p in check.problems)


def test_an_entry_altered_in_the_database_is_reported(ledger_session, keys):
    tokens = history(ledger_session, keys)
    _tamper(
        ledger_session, "UPDATE consent_events SET claims = '[\"car_registration\"]' WHERE seq = 3"
    )
    check = verify_receipt(ledger_session, tokens[3], keys.origin)
    assert not check.ok and check.seq == 3
    assert "entry 3 was altered after it was logged" in check.problems
    # the receipt's own leaf is still in the signed log: the receipt proves what was logged
    assert check.checkpoint_size == 6
    assert not any("not included" in p for p in check.problems)
    assert verify_receipt(ledger_session, tokens[2], keys.origin).ok


def test_an_entry_with_a_rewritten_leaf_hash_is_reported(ledger_session, keys):
    tokens = history(ledger_session, keys)
    # a forger who recomputes the leaf hash of an edit (here: any other value) in place
    _tamper(
        ledger_session,
        "UPDATE consent_events SET leaf_hash = substr(leaf_hash, 2) || '0' WHERE seq = 3",
    )
    check = verify_receipt(ledger_session, tokens[3], keys.origin)
    assert "entry 3 has a different leaf hash" in check.problems
    # the log's leaves no longer add up to the signed root, so no other receipt verifies either
    assert (
        "not included in checkpoint 6"
        in verify_receipt(ledger_session, tokens[5], keys.origin).problems
    )


def test_a_deleted_entry_is_reported(ledger_session, keys):
    tokens = history(ledger_session, keys)
    _tamper(ledger_session, "DELETE FROM consent_events WHERE seq = 4")
    check = verify_receipt(ledger_session, tokens[4], keys.origin)
    assert check.problems[0] == "entry 4 is not in the log"
    assert any(p.startswith("not included in checkpoint 6") for p in check.problems)


def test_a_receipt_beyond_the_newest_checkpoint_is_reported(ledger_session, keys):
    record(ledger_session, keys, ev())
    row = L.append(ledger_session, keys, ev("c2", minutes=1), DETAILS)
    token = issue_receipt(
        ledger_session,
        keys,
        "c2",
        row,
        issuer=ISSUER,
        controller=CONTROLLER,
        purpose_texts=TEXTS,
        now=T0,
    )
    ledger_session.commit()
    check = verify_receipt(ledger_session, token, keys.origin)
    assert check.problems == ["entry 2 is not yet covered by a signed checkpoint (newest: 1)"]
    L.checkpoint(ledger_session, keys)
    ledger_session.commit()
    assert verify_receipt(ledger_session, token, keys.origin).ok


def test_a_forged_checkpoint_is_reported(ledger_session, keys):
    _, token = record(ledger_session, keys, ev())
    _tamper(ledger_session, "UPDATE consent_checkpoints SET note = replace(note, '\n1\n', '\n2\n')")
    check = verify_receipt(ledger_session, token, keys.origin)
    assert not check.ok and check.problems[0].startswith("checkpoint 1 does not verify")


def test_a_receipt_still_verifies_after_the_customer_is_erased(ledger_session, keys):
    tokens = history(ledger_session, keys)
    assert L.erase_customer(ledger_session, "c1")
    ledger_session.commit()
    for seq in (1, 3, 5):
        check = verify_receipt(ledger_session, tokens[seq], keys.origin)
        assert check.ok, check.problems
        assert check.claims["sub"] == "c1" and check.checkpoint_size == 6
        assert any("no ledger key" in n for n in check.notes)
    assert verify_receipt(ledger_session, tokens[2], keys.origin).notes == []


def test_a_receipt_for_an_erased_customer_cannot_be_issued(ledger_session, keys):
    history(ledger_session, keys)
    row = L.customer_rows(ledger_session, keys, "c1")[0]
    L.erase_customer(ledger_session, "c1")
    ledger_session.commit()
    with pytest.raises(LookupError):
        issue_receipt(
            ledger_session,
            keys,
            "c1",
            row,
            issuer=ISSUER,
            controller=CONTROLLER,
            purpose_texts=TEXTS,
            now=T0,
        )


# -- export ---------------------------------------------------------------------------------


def test_the_export_lists_every_event_in_order_with_a_complete_chain(ledger_session, keys):
    history(ledger_session, keys)
    export = export_history(
        ledger_session,
        keys,
        "c1",
        legal_basis=lambda purpose, version: LegalBasis.CONSENT,
        now=T0 + timedelta(days=1),
    )
    json.dumps(export)  # JSON-ready as it is
    assert export["available"] is True and export["piiPrincipalId"] == "c1"
    assert export["exportedAt"] == "2026-11-21T12:00:00Z"
    records = export["records"]
    assert [r["recordId"] for r in records] == [1, 3, 5]
    assert [r["eventType"] for r in records] == ["given", "given", "withdrawn"]
    assert [r["eventState"] for r in records] == ["consent given"] * 2 + ["consent withdrawn"]
    first = records[0]
    assert first["eventTime"] == "2026-11-20T12:00:00Z"
    assert first["eventBy"] == "customer" and first["collectionMethod"] == "consent_screen"
    assert first["purposeId"] == "garage_booking" and first["purposeVersion"] == 1
    assert first["lawfulBasis"] == "consent"
    assert first["recipientThirdParties"] == ["garage"]
    assert first["piiInformation"] == ["email"]
    assert first["language"] == "fi"
    assert first["privacyNotice"]["version"] == "2026-11"
    assert first["offered"][0] == {"claim": "email", "defaultState": False}
    assert first["prevLeafHash"] is None
    assert [r["prevLeafHash"] for r in records[1:]] == [r["leafHash"] for r in records[:-1]]

    done = export["completeness"]
    assert done["complete"] is True, done["problems"]
    assert done["count"] == 3 and (done["firstRecordId"], done["lastRecordId"]) == (1, 5)
    assert done["chainVerified"] and done["leavesVerified"]
    checkpoint = L.latest_checkpoint(ledger_session)
    assert done["checkpoint"] == {
        "size": 6,
        "root": checkpoint.root,
        "signatureVerified": True,
        "lastRecordIncluded": True,
    }


def test_the_export_flags_a_missing_entry(ledger_session, keys):
    history(ledger_session, keys)
    _tamper(ledger_session, "DELETE FROM consent_events WHERE seq = 3")
    export = export_history(ledger_session, keys, "c1")
    assert [r["recordId"] for r in export["records"]] == [1, 5]
    done = export["completeness"]
    assert done["complete"] is False and done["chainVerified"] is False
    assert "entry 5 does not link to entry 1 before it" in done["problems"][0]
    assert done["checkpoint"]["lastRecordIncluded"] is False


def test_the_export_flags_a_missing_first_entry(ledger_session, keys):
    history(ledger_session, keys)
    _tamper(ledger_session, "DELETE FROM consent_events WHERE seq = 1")
    done = export_history(ledger_session, keys, "c1")["completeness"]
    assert not done["complete"]
    assert "entry 3, the first in this export, links to an earlier entry" in done["problems"][0]


def test_the_export_flags_an_altered_entry(ledger_session, keys):
    history(ledger_session, keys)
    _tamper(ledger_session, "UPDATE consent_events SET claims = '[]' WHERE seq = 3")
    done = export_history(ledger_session, keys, "c1")["completeness"]
    assert done["chainVerified"] is True and done["leavesVerified"] is False
    assert done["problems"] == ["entry 3 was altered after it was logged"]


def test_the_export_flags_entries_beyond_the_newest_checkpoint(ledger_session, keys):
    history(ledger_session, keys)
    L.append(ledger_session, keys, ev("c1", minutes=10), DETAILS)
    ledger_session.commit()
    done = export_history(ledger_session, keys, "c1")["completeness"]
    assert done["count"] == 4 and done["chainVerified"]
    assert done["problems"] == [
        "entries up to 7 are not yet covered by a signed checkpoint (newest: 6)"
    ]


def test_the_export_after_erasure_is_unavailable_with_a_reason(ledger_session, keys):
    history(ledger_session, keys)
    L.erase_customer(ledger_session, "c1")
    ledger_session.commit()
    export = export_history(ledger_session, keys, "c1")
    assert export["available"] is False and export["records"] == []
    assert export["completeness"] is None
    assert "erased" in export["reason"]
    assert export_history(ledger_session, keys, "c2")["completeness"]["complete"] is True
