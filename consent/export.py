"""A customer's whole consent history, as JSON, with the proof that nothing is missing.

:func:`export_history` returns one record per ledger event, oldest first, and a
``completeness`` section. Field names follow ISO/IEC TS 27560:2023 (consent record
information structure) where it has one; the rest are Avain's:

=========================== ==================================================================
export field                source / TS 27560 element
=========================== ==================================================================
``schemaVersion``           ``"avain-consent-export/1"`` (27560 record header: schema version)
``piiPrincipalId``          the customer id (27560 record header: PII principal id)
``logOrigin``               the ledger's checkpoint origin line
``exportedAt``              when the export was made (ISO 8601, UTC)
``available``               false after erasure (or for an unknown customer); ``reason`` says why
**per record**
``recordId``                the event's ledger sequence number (27560 record id)
``eventTime``               when it happened, ISO 8601 UTC (27560 event: time)
``eventType``               given, refused, withdrawn, expired, renewed, modified, objection,
                            restriction, restriction_lifted, complaint_opened,
                            complaint_closed (Avain's event type)
``eventState``              the same in 27560 words ("consent given", …; see
                            :data:`consent.receipts.EVENT_STATES`)
``eventBy``                 who acted: customer, admin, system (27560 event: by whom)
``collectionMethod``        through what: consent_screen, account_page, admin_console, api,
                            system (27560 PII processing: collection method)
``purposeId``               the catalogue purpose (27560 PII processing: purpose)
``purposeVersion``          the version of the purpose the event is about
``lawfulBasis``             from the ``legal_basis`` lookup, else null (27560: lawful basis)
``recipientThirdParties``   ``[recipient id]`` (27560: recipient third parties)
``piiInformation``          the claims chosen (27560: PII information, one attribute each)
``expiresAt``               when the consent lapses, if it does (27560 event: validity)
``privacyNotice``           ``{"version", "contentHash", "url"}`` of the notice shown
                            (27560 PII processing: privacy notice)
``language``                the language it was shown in (27560 PII processing: language)
``offered``                 ``[{"claim", "defaultState"}]``: the boxes shown, with their
                            default state (always false)
``leafHash``                the event's RFC 9162 leaf hash in the log (hex)
``prevLeafHash``            the leaf hash of the customer's previous event (null for the first)
``detailsError``            only when the sealed details could not be opened
**completeness**
``complete``                true when every check below holds
``count``                   how many events the export holds
``firstRecordId``/``lastRecordId``  the first and last ``recordId``
``chainVerified``           the first record has no previous one and each record's
                            ``prevLeafHash`` is the leaf hash of the record before it
``leavesVerified``          every record's leaf hash is recomputed from the stored entry
``checkpoint``              the newest signed checkpoint: ``size``, ``root`` (hex), whether
                            its signed note verifies (``signatureVerified``), and whether the
                            newest record is included in it (``lastRecordIncluded``). The
                            leaf data of each event contains its ``prevLeafHash``, so the
                            newest record's inclusion proof commits to the whole chain.
``problems``                what failed, in words
=========================== ==================================================================

A reader can check the chain themselves: ``records[i].prevLeafHash == records[i-1].leafHash``
and ``records[0].prevLeafHash`` is null. A missing event breaks that equation at the
record after it; a missing newest event shows as an entry beyond ``lastRecordId`` that the
log's own verification (:func:`consent.ledger.verify`) reports as missing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from consent import ledger, merkle
from consent.model import LegalBasis
from consent.receipts import EVENT_STATES, shown
from consent.sealing import SealError
from consent.store import EventRow

SCHEMA_VERSION = "avain-consent-export/1"

LegalBasisLookup = Callable[[str, int], LegalBasis | str | None]
"""``(purpose id, purpose version) -> legal basis``, e.g. from the catalogue."""

ERASED_REASON = (
    "no consent history is held for this customer: either they never had a consent event, "
    "or their history was erased (their ledger key was destroyed, so no log entry can be "
    "linked to them any more)"
)


def _iso(value: datetime) -> str:
    value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return value.isoformat().replace("+00:00", "Z")


def export_history(
    session: Session,
    keys: ledger.LedgerKeys,
    customer_id: str,
    *,
    legal_basis: LegalBasisLookup | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The customer's consent history with TS 27560 names; see the module docstring."""
    export: dict[str, Any] = {
        "schemaVersion": SCHEMA_VERSION,
        "piiPrincipalId": customer_id,
        "logOrigin": keys.origin,
        "exportedAt": _iso(now or datetime.now(UTC)),
    }
    rows = ledger.customer_rows(session, keys, customer_id)
    if not rows:
        key = ledger.customer_key(session, keys, customer_id)
        export.update(
            available=False,
            reason=ERASED_REASON if key is None else "the customer has no consent events",
            records=[],
            completeness=None,
        )
        return export
    problems: list[str] = []
    records = [_record(session, keys, customer_id, row, legal_basis, problems) for row in rows]
    export.update(
        available=True,
        records=records,
        completeness=_completeness(session, keys, rows, problems),
    )
    return export


def _record(
    session: Session,
    keys: ledger.LedgerKeys,
    customer_id: str,
    row: EventRow,
    legal_basis: LegalBasisLookup | None,
    problems: list[str],
) -> dict[str, Any]:
    basis = legal_basis(row.purpose_id, row.purpose_version) if legal_basis else None
    record: dict[str, Any] = {
        "recordId": row.seq,
        "eventTime": _iso(row.at),
        "eventType": row.type,
        "eventState": EVENT_STATES.get(row.type, row.type),
        "eventBy": row.actor,
        "collectionMethod": row.channel,
        "purposeId": row.purpose_id,
        "purposeVersion": row.purpose_version,
        "lawfulBasis": None if basis is None else str(basis),
        "recipientThirdParties": [row.recipient_id],
        "piiInformation": sorted(row.claims),
        "expiresAt": _iso(row.expires_at) if row.expires_at else None,
    }
    try:
        seen = shown(ledger.details(session, keys, customer_id, row))
    except (SealError, LookupError) as exc:
        problems.append(f"the details of entry {row.seq} cannot be opened: {exc}")
        record.update(privacyNotice=None, language=None, offered=[], detailsError=str(exc))
    else:
        record.update(
            privacyNotice={
                "version": seen.notice_version,
                "contentHash": seen.notice_hash,
                "url": seen.notice_url,
            },
            language=seen.language,
            offered=seen.offered,
        )
    record.update(leafHash=row.leaf_hash, prevLeafHash=row.prev_leaf_hash)
    return record


def _completeness(
    session: Session, keys: ledger.LedgerKeys, rows: list[EventRow], problems: list[str]
) -> dict[str, Any]:
    chain_ok = True
    previous: EventRow | None = None
    for row in rows:
        expected = previous.leaf_hash if previous else None
        if row.prev_leaf_hash != expected:
            chain_ok = False
            if previous is None:
                problems.append(
                    f"entry {row.seq}, the first in this export, links to an earlier entry of "
                    "the customer that is missing"
                )
            else:
                problems.append(
                    f"entry {row.seq} does not link to entry {previous.seq} before it: an entry "
                    "between them is missing, or one was altered"
                )
        previous = row
    altered = [r.seq for r in rows if merkle.leaf_hash(ledger.leaf_data(r)).hex() != r.leaf_hash]
    problems.extend(f"entry {seq} was altered after it was logged" for seq in altered)
    checkpoint = _checkpoint(session, keys, rows[-1], problems)
    return {
        "complete": not problems,
        "count": len(rows),
        "firstRecordId": rows[0].seq,
        "lastRecordId": rows[-1].seq,
        "chainVerified": chain_ok,
        "leavesVerified": not altered,
        "checkpoint": checkpoint,
        "problems": problems,
    }


def _checkpoint(
    session: Session, keys: ledger.LedgerKeys, last: EventRow, problems: list[str]
) -> dict[str, Any] | None:
    found = ledger.prove_in_latest(session, keys.origin, last.seq, bytes.fromhex(last.leaf_hash))
    newest = found.checkpoint
    if newest is None:
        problems.append("the log has no signed checkpoint yet")
        return None
    result: dict[str, Any] = {
        "size": newest.size,
        "root": newest.root,
        "signatureVerified": found.note_matches,
        "lastRecordIncluded": found.included,
    }
    if found.failures:  # the export names the first only
        problems.append(_unproven(found.failures[0], newest.size, last.seq))
    return result


def _unproven(failure: ledger.Failure, size: int, seq: int) -> str:
    """In the export's words; past the note's checks its size is the checkpoint's."""
    match failure.reason:
        case ledger.Unproven.NO_LOG_KEY:
            return "the log's signing key is missing"
        case ledger.Unproven.NOTE_INVALID:
            return f"checkpoint {size} does not verify: {failure.detail}"
        case ledger.Unproven.OTHER_LOG | ledger.Unproven.NOTE_MISMATCH:
            return f"checkpoint {size}'s signed note does not match it"
        case ledger.Unproven.NOT_COVERED:
            return (
                f"entries up to {seq} are not yet covered by a signed checkpoint (newest: {size})"
            )
        case ledger.Unproven.UNPROVABLE:
            return f"entry {seq} cannot be proven in checkpoint {size}: {failure.detail}"
        case _:
            return f"entry {seq} is not included in checkpoint {size}"
