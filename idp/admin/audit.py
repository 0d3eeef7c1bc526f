"""The admins' audit log: a tamper-evident Merkle log of its own, with signed checkpoints.

It is built on the consent ledger's pure machinery (:mod:`consent.merkle`: RFC 9162 hashing,
the compact tree, C2SP signed checkpoints) but not on its event schema: an entry is who
(admin, email, role), when, what (``action``), on what (``target``) and why (``reason``).
Every append signs a checkpoint of the new size, so :func:`verify` can name the exact
first entry that no longer matches: the first checkpoint whose root differs from the
recomputed tree ends at it. The signing key is an Ed25519 key of its own, stored wrapped
by the ledger's master key next to the consent log's key.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from consent import merkle
from consent.keys import LedgerKeys
from consent.sealing import unwrap, wrap
from consent.store import LogKeyRow
from idp.db import aware, utcnow
from idp.models.admins import (
    Admin,
    AdminApiClient,
    AdminAuditCheckpoint,
    AdminAuditEntry,
    AdminAuditHead,
)

KEY_NAME = "avain-admin-audit"
LEAF_VERSION = "avain-admin-audit-v1"
# an entry whose actor is an admin API client: the v1 columns and the client's id
LEAF_VERSION_API = "avain-admin-audit-v2"

Actor = Admin | AdminApiClient | None  # an admin, an admin API client, or the operator (CLI)


def origin(keys: LedgerKeys) -> str:
    """The checkpoints' origin line: the consent log's, with its own last segment."""
    base = keys.origin.removesuffix("/consent-log")
    return f"{base}/admin-audit-log"


def leaf_data(entry: AdminAuditEntry) -> bytes:
    """What a leaf commits to: every column but the leaf hash, as canonical JSON.

    Entries of admins and of the operator keep the v1 form they were written in; an entry
    of an admin API client commits to its client id as well (v2), so setting or clearing
    that column changes the leaf either way.
    """
    columns: list[object] = [
        LEAF_VERSION if entry.api_client_id is None else LEAF_VERSION_API,
        entry.seq,
        aware(entry.at).isoformat(),
        entry.admin_id,
        entry.admin_email,
        entry.role,
        entry.action,
        entry.target,
        entry.reason,
    ]
    if entry.api_client_id is not None:
        columns.append(entry.api_client_id)
    return json.dumps(columns, ensure_ascii=False, separators=(",", ":")).encode()


def _signing_key(session: Session, keys: LedgerKeys) -> Ed25519PrivateKey:
    row = session.get(LogKeyRow, KEY_NAME)
    if row is None:
        private = Ed25519PrivateKey.generate()
        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        try:
            with session.begin_nested():
                session.add(
                    LogKeyRow(
                        name=KEY_NAME,
                        wrapped_private_key=wrap(keys.master, raw, KEY_NAME),
                        public_key=private.public_key().public_bytes(
                            serialization.Encoding.Raw, serialization.PublicFormat.Raw
                        ),
                    )
                )
            return private
        except IntegrityError:  # another transaction made it first
            row = session.get(LogKeyRow, KEY_NAME)
            if row is None:
                raise
    return _unwrapped(keys.master, row.wrapped_private_key)


@lru_cache(maxsize=8)
def _unwrapped(master: bytes, wrapped: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(unwrap(master, wrapped, KEY_NAME))


def public_key(session: Session) -> Ed25519PublicKey | None:
    row = session.get(LogKeyRow, KEY_NAME)
    return Ed25519PublicKey.from_public_bytes(row.public_key) if row else None


def _locked_head(session: Session) -> AdminAuditHead:
    if session.get_bind().dialect.name == "sqlite":  # SQLite ignores FOR UPDATE
        session.execute(
            update(AdminAuditHead).where(AdminAuditHead.id == 1).values(size=AdminAuditHead.size)
        )
    head = session.get(AdminAuditHead, 1, with_for_update=True)
    if head is None:
        try:
            with session.begin_nested():
                session.add(AdminAuditHead(id=1, size=0, frontier=[]))
        except IntegrityError:
            pass
        head = session.get(AdminAuditHead, 1, with_for_update=True, populate_existing=True)
        if head is None:
            raise RuntimeError("the audit log's head could not be made")
    return head


def append(
    session: Session,
    keys: LedgerKeys,
    admin: Actor,
    action: str,
    target: str | None,
    reason: str | None = None,
    *,
    at: datetime | None = None,
) -> AdminAuditEntry:
    """Append one entry and sign a checkpoint of the log's new size.

    ``admin`` is who acted: an admin, an admin API client (its role and client id are
    recorded, and its name in ``admin_email``'s place is left empty), or None for the
    operator at the command line.
    """
    head = _locked_head(session)
    tree = merkle.CompactTree.restore(head.size, [bytes.fromhex(h) for h in head.frontier or []])
    person = admin if isinstance(admin, Admin) else None
    client = admin if isinstance(admin, AdminApiClient) else None
    entry = AdminAuditEntry(
        seq=head.size + 1,
        at=at or utcnow(),
        admin_id=person.id if person else None,
        admin_email=person.email if person else None,
        role=admin.role if admin else None,
        action=action[:64],
        target=target[:400] if target else None,
        reason=reason,
        leaf_hash="",
        api_client_id=client.client_id if client else None,
    )
    leaf = merkle.leaf_hash(leaf_data(entry))
    entry.leaf_hash = leaf.hex()
    tree.append(leaf)
    head.size = entry.seq
    head.frontier = [h.hex() for h in tree.frontier]
    session.add(entry)
    cp = merkle.Checkpoint(origin(keys), tree.size, tree.root())
    note = merkle.sign_checkpoint(cp, _signing_key(session, keys), KEY_NAME)
    session.add(
        AdminAuditCheckpoint(size=cp.size, root=cp.root.hex(), note=note, created_at=entry.at)
    )
    session.flush()
    return entry


def record(
    session: Session,
    admin: Actor,
    action: str,
    target: str | None,
    reason: str | None = None,
) -> AdminAuditEntry:
    """What the console's pages and the admin API call: append with the running app's
    ledger keys."""
    keys: LedgerKeys = current_app.extensions["avain.ledger_keys"]
    return append(session, keys, admin, action, target, reason)


def latest_checkpoint(session: Session) -> AdminAuditCheckpoint | None:
    return session.scalar(
        select(AdminAuditCheckpoint).order_by(AdminAuditCheckpoint.size.desc()).limit(1)
    )


@dataclass
class Report:
    entries: int = 0
    checkpoints: int = 0
    problems: list[tuple[int, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def first_bad(self) -> int | None:
        return min((seq for seq, _ in self.problems), default=None)


def verify(session: Session, keys: LedgerKeys) -> Report:
    """Recompute every leaf and the tree at every checkpoint; name the first bad entry.

    An entry is bad when its columns no longer hash to its stored leaf hash, when its
    sequence number leaves a gap, or when the first checkpoint whose signed root differs
    from the recomputed tree ends at it (a leaf hash rewritten with the columns).
    Checkpoints must carry a valid signature by the audit log's key over this log's origin.
    """
    report = Report()
    key = public_key(session)
    name = origin(keys)
    signed: dict[int, bytes] = {}
    for row in session.scalars(select(AdminAuditCheckpoint).order_by(AdminAuditCheckpoint.size)):
        report.checkpoints += 1
        try:
            if key is None:
                raise ValueError("no signing key is stored")
            cp = merkle.verify_checkpoint(row.note, key, KEY_NAME)
            if cp.origin != name or cp.size != row.size or cp.root.hex() != row.root:
                raise ValueError("its note does not match its row")
        except ValueError as exc:
            report.problems.append((row.size, f"checkpoint of size {row.size}: {exc}"))
            continue
        signed[row.size] = cp.root
    tree = merkle.CompactTree()
    for entry in session.scalars(select(AdminAuditEntry).order_by(AdminAuditEntry.seq)):
        report.entries += 1
        expected = tree.size + 1
        if entry.seq != expected:
            report.problems.append((expected, f"entry {expected} is missing"))
            break
        leaf = merkle.leaf_hash(leaf_data(entry))
        if leaf.hex() != entry.leaf_hash:
            report.problems.append((entry.seq, "its contents do not match its leaf hash"))
        tree.append(bytes.fromhex(entry.leaf_hash) if _is_hash(entry.leaf_hash) else leaf)
        root = signed.get(tree.size)
        if root is not None and root != tree.root():
            report.problems.append(
                (entry.seq, f"the signed checkpoint of size {tree.size} has another root")
            )
    head = session.get(AdminAuditHead, 1)
    size = head.size if head else 0
    if tree.size < size:
        report.problems.append((tree.size + 1, f"entries {tree.size + 1}..{size} are missing"))
    latest = max(signed, default=0)
    if tree.size > latest:
        report.problems.append((latest + 1, f"entries after {latest} have no signed checkpoint"))
    report.problems.sort(key=lambda p: p[0])
    return report


def _is_hash(text: str) -> bool:
    try:
        return len(bytes.fromhex(text)) == merkle.HASH_SIZE
    except ValueError:
        return False


def entries(
    session: Session,
    admin_email: str | None = None,
    action: str | None = None,
    before: int | None = None,
    limit: int | None = 50,
    *,
    api_client_id: str | None = None,
) -> list[AdminAuditEntry]:
    """Entries newest first, filtered by admin (or admin API client) and action; ``before``
    a sequence number (keyset paging on the primary key)."""
    stmt = select(AdminAuditEntry).order_by(AdminAuditEntry.seq.desc())
    if admin_email:
        stmt = stmt.where(AdminAuditEntry.admin_email == admin_email.strip().lower())
    if api_client_id:
        stmt = stmt.where(AdminAuditEntry.api_client_id == api_client_id)
    if action:
        stmt = stmt.where(AdminAuditEntry.action == action)
    if before is not None:
        stmt = stmt.where(AdminAuditEntry.seq < before)
    if limit is not None:
        stmt = stmt.limit(limit)
    return list(session.scalars(stmt))


def as_json(entry: AdminAuditEntry) -> dict[str, object]:
    """An entry as exported: every column, the leaf hash to check it against a checkpoint."""
    return {
        "seq": entry.seq,
        "at": aware(entry.at).isoformat(),
        "admin_id": entry.admin_id,
        "admin_email": entry.admin_email,
        "role": entry.role,
        "action": entry.action,
        "target": entry.target,
        "reason": entry.reason,
        "api_client_id": entry.api_client_id,
        "leaf_hash": entry.leaf_hash,
    }
