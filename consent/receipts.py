"""Signed consent receipts: a JWT per ledger event that a customer or auditor can check.

A receipt is a JWS (RFC 7515) in compact form, signed with the ledger's Ed25519 log key,
the same key that signs the log's checkpoints (``alg: EdDSA``, RFC 8037). Its header is
``{"alg": "EdDSA", "typ": "consent-receipt+jwt", "kid": "avain-consent-log"}``; the key
is published as an OKP JWK (:func:`receipt_public_jwk`, served at ``/consent-log/key``).

Claims. The field names follow the Kantara Initiative Consent Receipt Specification v1.1
(``KI-CR-v1.1.0``) and, for what Kantara has no field for, ISO/IEC TS 27560:2023 (consent
record information structure: record, PII processing, event and party sections):

========================== ============================================================
claim                      value
========================== ============================================================
``iss``                    the identity provider's issuer URL
``iat``                    when the receipt was issued (seconds since the epoch)
``jti``                    = ``consentReceiptID``
``sub``                    = ``piiPrincipalId``: the customer id
**Kantara CR v1.1**
``version``                ``"KI-CR-v1.1.0"``
``jurisdiction``           ``controller["jurisdiction"]``, default ``"EU"``
``consentTimestamp``       when the event happened (seconds since the epoch, Kantara's form)
``collectionMethod``       ``"<channel> by <actor>"``, e.g. ``"consent_screen by customer"``
``consentReceiptID``       a random UUID (version 4)
``language``               the language the customer was shown (sealed details), or ``en``
``piiPrincipalId``         the customer id
``piiControllers``         ``[controller]`` with the Kantara keys ``piiController``,
                           ``contact``, ``address``, ``email``, ``phone``,
                           ``piiControllerUrl`` (``name``/``url`` are accepted as aliases)
``policyUrl``              the notice URL from the details, else ``controller["policyUrl"]``
``services``               one service, one purpose: ``service`` is the purpose's title,
                           ``purpose`` its description (in ``language``, from
                           ``purpose_texts``; the purpose id when there is no text),
                           ``purposeCategory`` ``[purpose id]``, ``consentType``
                           ``"EXPLICIT"`` (every box starts unchecked), ``piiCategory`` the
                           claims chosen, ``primaryPurpose`` true, ``termination`` when it
                           lapses, ``thirdPartyDisclosure`` true, ``thirdPartyName`` the
                           recipient id
``sensitive``/``spiCat``   ``false``/``[]``: the catalogue holds no Art. 9 categories
``publicKey``              left out: the ``kid`` header names the key, which a verifier
                           takes from the log's endpoint, never from the receipt itself
**ISO/IEC TS 27560**
``recordId``               the ledger sequence number of the event (as in the export)
``eventType``              the Avain event: given, refused, withdrawn, expired, renewed,
                           modified, objection, restriction, restriction_lifted,
                           complaint_opened, complaint_closed
``eventState``             the same in 27560 words: "consent given", "consent withdrawn", …
``eventTime``              ISO 8601 time of the event, UTC
``eventBy``                who acted: customer, admin or system
``channel``                through what: consent_screen, account_page, admin_console, api
``purposeId``/``purposeVersion``  the catalogue purpose and its version
``lawfulBasis``            only when the caller passes ``basis``
``recipientId``            the recipient (OAuth client / partner id)
``expiresAt``              when the consent lapses, if it does
``privacyNotice``          ``{"version", "contentHash", "url"}`` of the notice shown
``offered``                ``[{"claim", "defaultState"}]``: the boxes shown and their default
**Ledger position**
``ledger``                 ``{"seq", "leaf_hash", "log_origin"}``: where the event sits in the
                           log and the hex RFC 9162 leaf hash it has there
``ledger_leaf``            the exact leaf data (canonical JSON) whose hash is ``leaf_hash``,
                           so anyone can recompute ``SHA-256(0x00 || ledger_leaf)`` and see
                           that the receipt's event is the logged one
========================== ============================================================

The sealed details an event carries (see :func:`consent.ledger.append`) are read with
these keys: ``language``, ``notice_version`` (or ``notice``), ``notice_hash``,
``notice_url`` and ``offered`` (``[[claim, default], …]``, ``{claim: default}`` or
``[{"claim", "default"}]``).

:func:`verify_receipt` checks a receipt against the log: the signature, the header, that
the log's entry ``seq`` still has that leaf hash and was not altered, and that the leaf is
included in the newest signed checkpoint (RFC 9162 inclusion proof, C2SP signed note). It
needs no customer key, so a receipt still verifies after the customer was erased.
"""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy.orm import Session

from consent import ledger, merkle
from consent.model import EventType, LegalBasis, Text
from consent.store import CustomerKeyRow, EventRow

RECEIPT_TYP = "consent-receipt+jwt"
KANTARA_VERSION = "KI-CR-v1.1.0"
ALGORITHM = "EdDSA"

EVENT_STATES: dict[str, str] = {
    EventType.GIVEN: "consent given",
    EventType.REFUSED: "consent refused",
    EventType.WITHDRAWN: "consent withdrawn",
    EventType.EXPIRED: "consent expired",
    EventType.RENEWED: "renewed consent given",
    EventType.MODIFIED: "consent modified",
    EventType.OBJECTION: "objection raised",
    EventType.RESTRICTION: "processing restricted",
    EventType.RESTRICTION_LIFTED: "restriction lifted",
    EventType.COMPLAINT_OPENED: "processing paused for a complaint",
    EventType.COMPLAINT_CLOSED: "complaint closed, processing resumed",
}
"""Avain event type -> ISO/IEC TS 27560 event state (in the words of the DPV consent states)."""

_CONTROLLER_KEYS = {
    "piiController": ("piiController", "name"),
    "contact": ("contact",),
    "address": ("address",),
    "email": ("email",),
    "phone": ("phone",),
    "piiControllerUrl": ("piiControllerUrl", "url"),
}


# -- the details an event was sealed with -----------------------------------------------


@dataclass(frozen=True)
class Shown:
    """What the customer was shown, from an event's sealed details."""

    language: str | None
    notice_version: str | None
    notice_hash: str | None
    notice_url: str | None
    offered: list[dict[str, Any]]  # [{"claim": str, "defaultState": bool}]


def shown(details: Mapping[str, Any]) -> Shown:
    """Read the sealed details' keys (see the module docstring) into one shape."""
    return Shown(
        language=_str_or_none(details.get("language")),
        notice_version=_str_or_none(details.get("notice_version", details.get("notice"))),
        notice_hash=_str_or_none(details.get("notice_hash")),
        notice_url=_str_or_none(details.get("notice_url")),
        offered=_offered(details.get("offered")),
    )


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def _offered(value: Any) -> list[dict[str, Any]]:
    items: list[tuple[str, bool]] = []
    if isinstance(value, Mapping):
        items = [(str(k), bool(v)) for k, v in value.items()]
    elif isinstance(value, list | tuple):
        for item in value:
            if isinstance(item, Mapping):
                default = item.get("default", item.get("defaultState", False))
                items.append((str(item.get("claim")), bool(default)))
            elif isinstance(item, list | tuple) and len(item) == 2:
                items.append((str(item[0]), bool(item[1])))
            else:
                items.append((str(item), False))
    return [{"claim": claim, "defaultState": default} for claim, default in items]


# -- issuing ------------------------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _iso(value: datetime) -> str:
    return _utc(value).isoformat().replace("+00:00", "Z")


def _text(texts: Mapping[str, Text | str] | None, language: str) -> tuple[str, str] | None:
    """(title, description) in ``language``, else English, else any language."""
    if not texts:
        return None
    chosen = texts.get(language) or texts.get("en") or next(iter(texts.values()))
    if isinstance(chosen, Text):
        return chosen.title, chosen.description or chosen.title
    return str(chosen), str(chosen)


def issue_receipt(
    session: Session,
    keys: ledger.LedgerKeys,
    customer_id: str,
    row: EventRow,
    *,
    issuer: str,
    controller: Mapping[str, Any],
    purpose_texts: Mapping[str, Text | str] | None,
    now: datetime,
    basis: LegalBasis | str | None = None,
) -> str:
    """The signed receipt (compact JWS) for ``row``, an event of ``customer_id``.

    ``controller`` holds the Kantara controller keys plus optional ``jurisdiction`` and
    ``policyUrl``; ``purpose_texts`` is the purpose's text by language (``Purpose.texts``).
    Raises ``LookupError`` when the event is not the customer's (or they were erased).
    """
    seen = shown(ledger.details(session, keys, customer_id, row))
    language = seen.language or "en"
    texts = _text(purpose_texts, language)
    title, description = texts if texts else (row.purpose_id, row.purpose_id)
    expires_at = _iso(row.expires_at) if row.expires_at else None
    receipt_id = str(uuid.uuid4())
    party: dict[str, Any] = {}
    for key, aliases in _CONTROLLER_KEYS.items():
        alias = next((a for a in aliases if a in controller), None)
        if alias is not None:
            party[key] = controller[alias]
    termination = f"lapses at {expires_at} unless renewed" if expires_at else "until withdrawn"
    claims: dict[str, Any] = {
        "iss": issuer,
        "iat": int(_utc(now).timestamp()),
        "jti": receipt_id,
        "sub": customer_id,
        # Kantara Consent Receipt v1.1
        "version": KANTARA_VERSION,
        "jurisdiction": str(controller.get("jurisdiction", "EU")),
        "consentTimestamp": int(_utc(row.at).timestamp()),
        "collectionMethod": f"{row.channel} by {row.actor}",
        "consentReceiptID": receipt_id,
        "language": language,
        "piiPrincipalId": customer_id,
        "piiControllers": [party],
        "policyUrl": seen.notice_url or controller.get("policyUrl"),
        "services": [
            {
                "service": title,
                "purposes": [
                    {
                        "purpose": description,
                        "purposeCategory": [row.purpose_id],
                        "consentType": "EXPLICIT",
                        "piiCategory": sorted(row.claims),
                        "primaryPurpose": True,
                        "termination": termination,
                        "thirdPartyDisclosure": True,
                        "thirdPartyName": row.recipient_id,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
        # ISO/IEC TS 27560 record and event
        "recordId": row.seq,
        "eventType": row.type,
        "eventState": EVENT_STATES.get(row.type, row.type),
        "eventTime": _iso(row.at),
        "eventBy": row.actor,
        "channel": row.channel,
        "purposeId": row.purpose_id,
        "purposeVersion": row.purpose_version,
        "recipientId": row.recipient_id,
        "expiresAt": expires_at,
        "privacyNotice": {
            "version": seen.notice_version,
            "contentHash": seen.notice_hash,
            "url": seen.notice_url,
        },
        "offered": seen.offered,
        # the log position
        "ledger": {"seq": row.seq, "leaf_hash": row.leaf_hash, "log_origin": keys.origin},
        "ledger_leaf": ledger.leaf_data(row).decode(),
    }
    if basis is not None:
        claims["lawfulBasis"] = str(basis)
    return jwt.encode(
        claims,
        ledger.log_key(session, keys),
        algorithm=ALGORITHM,
        headers={"typ": RECEIPT_TYP, "kid": ledger.LOG_KEY_NAME},
    )


# -- the public key -----------------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def receipt_public_jwk(session: Session) -> dict[str, str]:
    """The log key as an RFC 8037 OKP JWK; ``LookupError`` before the ledger has one."""
    public = ledger.log_public_key(session)
    if public is None:
        raise LookupError("the consent ledger has no log key yet (nothing was logged)")
    return {
        "kty": "OKP",
        "crv": "Ed25519",
        "x": _b64url(public.public_bytes(Encoding.Raw, PublicFormat.Raw)),
        "alg": ALGORITHM,
        "use": "sig",
        "kid": ledger.LOG_KEY_NAME,
    }


# -- verifying ----------------------------------------------------------------------------


@dataclass
class ReceiptCheck:
    """What :func:`verify_receipt` found; ``ok`` when ``problems`` is empty."""

    ok: bool
    seq: int | None
    checkpoint_size: int | None
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # facts worth knowing, not problems
    claims: dict[str, Any] | None = None  # the receipt's claims once the signature verifies


def verify_receipt(session: Session, token: str, origin: str) -> ReceiptCheck:
    """Check a receipt's signature and header, its log entry, and its inclusion in the log."""
    check = ReceiptCheck(ok=False, seq=None, checkpoint_size=None)
    problems = check.problems
    public = ledger.log_public_key(session)
    claims = _signed_claims(token, public, problems)
    if claims is None:
        return check
    check.claims = claims
    position = _position(claims, origin, problems)
    if position is None:
        return check
    seq, leaf = position
    check.seq = seq
    _check_leaf_data(claims, seq, leaf, problems)
    _check_entry(session, claims, seq, leaf, problems, check.notes)
    check.checkpoint_size = _check_inclusion(session, origin, seq, leaf, problems)
    check.ok = not problems
    return check


def _signed_claims(
    token: str, public: Ed25519PublicKey | None, problems: list[str]
) -> dict[str, Any] | None:
    try:
        header = jwt.get_unverified_header(token)
    except jwt.DecodeError:
        problems.append("the receipt is not a well-formed JWT")
        return None
    if header.get("typ") != RECEIPT_TYP:
        problems.append(f"the header's typ is {header.get('typ')!r}, not {RECEIPT_TYP!r}")
    if header.get("alg") != ALGORITHM:
        problems.append(f"the header's alg is {header.get('alg')!r}, not {ALGORITHM!r}")
    if header.get("kid") != ledger.LOG_KEY_NAME:
        problems.append(f"the header's kid is {header.get('kid')!r}, not {ledger.LOG_KEY_NAME!r}")
    if public is None:
        problems.append("the log's signing key is missing, so nothing can be verified")
        return None
    if problems:
        return None
    try:
        signed = jwt.api_jws.decode_complete(token, public, algorithms=[ALGORITHM])
    except jwt.InvalidSignatureError:
        problems.append("signature does not verify")
        return None
    except jwt.PyJWTError as exc:
        problems.append(f"the receipt cannot be read: {exc}")
        return None
    try:
        claims = json.loads(signed["payload"])
    except ValueError:
        claims = None
    if not isinstance(claims, dict):
        problems.append("the receipt's payload is not a JSON object")
        return None
    return claims


def _position(
    claims: Mapping[str, Any], origin: str, problems: list[str]
) -> tuple[int, str] | None:
    position = claims.get("ledger")
    if not isinstance(position, Mapping):
        problems.append("the receipt has no ledger position")
        return None
    seq, leaf, log = position.get("seq"), position.get("leaf_hash"), position.get("log_origin")
    if isinstance(seq, bool) or not isinstance(seq, int) or seq < 1:
        problems.append(f"the receipt's ledger seq {seq!r} is not a positive integer")
        return None
    if not isinstance(leaf, str) or len(leaf) != 2 * merkle.HASH_SIZE:
        problems.append(f"the receipt's leaf hash {leaf!r} is not a hex SHA-256 hash")
        return None
    try:
        bytes.fromhex(leaf)
    except ValueError:
        problems.append(f"the receipt's leaf hash {leaf!r} is not a hex SHA-256 hash")
        return None
    if log != origin:
        problems.append(f"the receipt is for the log {log!r}, not {origin!r}")
    return seq, leaf


_LEAF_FIELDS = {  # receipt claim -> key in the leaf data
    "recordId": "seq",
    "recipientId": "recipient",
    "purposeId": "purpose",
    "purposeVersion": "version",
    "eventType": "type",
    "eventBy": "actor",
    "channel": "channel",
}


def _check_leaf_data(claims: Mapping[str, Any], seq: int, leaf: str, problems: list[str]) -> None:
    """The receipt's own ``ledger_leaf`` hashes to its leaf hash and says what it says."""
    text = claims.get("ledger_leaf")
    if not isinstance(text, str):
        problems.append("the receipt has no ledger_leaf to recompute its leaf hash from")
        return
    if merkle.leaf_hash(text.encode()).hex() != leaf:
        problems.append("the receipt's ledger_leaf does not hash to its leaf hash")
        return
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        problems.append("the receipt's ledger_leaf is not a JSON object")
        return
    differs = [c for c, k in _LEAF_FIELDS.items() if claims.get(c) != data.get(k)]
    if _pii_category(claims) != data.get("claims"):
        differs.append("piiCategory")
    if not _same_time(claims.get("eventTime"), data.get("at")):
        differs.append("eventTime")
    if not _same_time(claims.get("expiresAt"), data.get("expires_at")):
        differs.append("expiresAt")
    if differs:
        problems.append(
            f"the receipt's {', '.join(differs)} differ from its log entry {seq} (ledger_leaf)"
        )


def _pii_category(claims: Mapping[str, Any]) -> Any:
    """``services[0].purposes[0].piiCategory``, or None when the receipt has no such path."""
    try:
        return claims["services"][0]["purposes"][0]["piiCategory"]
    except (KeyError, IndexError, TypeError):
        return None


def _same_time(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    try:
        return _utc(datetime.fromisoformat(str(a))) == _utc(datetime.fromisoformat(str(b)))
    except ValueError:
        return False


def _check_entry(
    session: Session,
    claims: Mapping[str, Any],
    seq: int,
    leaf: str,
    problems: list[str],
    notes: list[str],
) -> None:
    """The log still holds entry ``seq`` with the receipt's leaf hash, unaltered."""
    row = session.get(EventRow, seq)
    if row is None:
        problems.append(f"entry {seq} is not in the log")
        return
    if row.leaf_hash != leaf:
        problems.append(f"entry {seq} has a different leaf hash")
    elif merkle.leaf_hash(ledger.leaf_data(row)).hex() != row.leaf_hash:
        problems.append(f"entry {seq} was altered after it was logged")
    customer = claims.get("sub")
    owner = session.get(CustomerKeyRow, customer) if isinstance(customer, str) else None
    if owner is None:
        notes.append(
            f"the customer {customer!r} has no ledger key (erased, or never known): only this "
            f"receipt links them to entry {seq}"
        )
    elif owner.subject != row.subject:
        problems.append(f"entry {seq} belongs to another customer than {customer!r}")


def _check_inclusion(
    session: Session, origin: str, seq: int, leaf: str, problems: list[str]
) -> int | None:
    """The receipt's leaf is in the newest signed checkpoint; returns that checkpoint's size."""
    found = ledger.prove_in_latest(session, origin, seq, bytes.fromhex(leaf))
    if found.checkpoint is None:
        problems.append("the log has no signed checkpoint yet")
        return None
    newest = found.checkpoint.size
    signed = found.signed.size if found.signed else newest
    other = found.signed.origin if found.signed else None
    problems.extend(_unproven(f, newest, signed, other, origin, seq) for f in found.failures)
    return signed


def _unproven(
    failure: ledger.Failure, newest: int, size: int, other: str | None, origin: str, seq: int
) -> str:
    """In the receipt check's words: ``newest`` is the stored checkpoint's size, ``size`` and
    ``other`` what its note signed (a note for another log is named, and checked on)."""
    match failure.reason:
        case ledger.Unproven.NO_LOG_KEY:
            return "the log's signing key is missing, so nothing can be verified"
        case ledger.Unproven.NOTE_INVALID:
            return f"checkpoint {newest} does not verify: {failure.detail}"
        case ledger.Unproven.OTHER_LOG:
            return f"checkpoint {size} is for the log {other!r}, not {origin!r}"
        case ledger.Unproven.NOTE_MISMATCH:
            return f"checkpoint {newest}'s signed note does not match it"
        case ledger.Unproven.NOT_COVERED:
            return f"entry {seq} is not yet covered by a signed checkpoint (newest: {size})"
        case ledger.Unproven.UNPROVABLE:
            return f"not included in checkpoint {size}: the log cannot prove it ({failure.detail})"
        case _:
            return f"not included in checkpoint {size}"
