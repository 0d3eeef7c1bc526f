"""Admins of the console: their accounts, passkeys, enrolment links, sessions and the audit log.

Admins are not customers: no password, no ``users`` row. Emails are stored lower-cased, so
the unique constraint is case-insensitive on every database.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, utcnow
from idp.models.users import new_id


class Role(StrEnum):
    """What an admin is for (issue 12); the permissions of each are in :mod:`idp.admin.roles`."""

    SUPPORT = "support"
    PRIVACY = "privacy"
    PARTNERS = "partners"
    AUDITOR = "auditor"
    OWNER = "owner"


class AdminStatus(StrEnum):
    ACTIVE = "active"
    DISABLED = "disabled"


class Admin(Base):
    __tablename__ = "admins"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True)  # lower-cased
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=AdminStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_sign_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def active(self) -> bool:
        return self.status == AdminStatus.ACTIVE


class AdminPasskey(Base):
    __tablename__ = "admin_passkeys"

    id: Mapped[str] = mapped_column(String(1400), primary_key=True)  # credential id, base64url
    admin_id: Mapped[str] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary)
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AdminEnrolment(Base):
    """A one-time enrolment link: only the SHA-256 of its token is stored."""

    __tablename__ = "admin_enrolments"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin_id: Mapped[str] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AdminSession(Base):
    """A signed-in console session; the cookie holds a token, this row its SHA-256."""

    __tablename__ = "admin_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    admin_id: Mapped[str] = mapped_column(ForeignKey("admins.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # the last time the admin proved a passkey in this session (sign-in or re-verification)
    verified_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AdminApiClient(Base):
    """An OAuth client of the admin API (client credentials): what role it acts in.

    Its ``clients`` row holds the secret's digest and the scopes (``admin:<role>``, and
    ``admin:dangerous`` when the operator allowed it); this row says it is an admin API
    client at all, and a disabled one gets no token and is refused with any token it holds.
    """

    __tablename__ = "admin_api_clients"

    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    dangerous: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default=AdminStatus.ACTIVE.value)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    @property
    def active(self) -> bool:
        return self.status == AdminStatus.ACTIVE


class AdminAuditEntry(Base):
    """An entry of the admins' audit log: a leaf of its own Merkle tree (idp.admin.audit)."""

    __tablename__ = "admin_audit_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    admin_id: Mapped[str | None] = mapped_column(String(36), index=True)
    admin_email: Mapped[str | None] = mapped_column(String(320))
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(400))
    reason: Mapped[str | None] = mapped_column(Text)
    leaf_hash: Mapped[str] = mapped_column(String(64))
    # the actor when an admin API client acted (its client_id; admin_id is then empty)
    api_client_id: Mapped[str | None] = mapped_column(String(64), index=True)


class AdminAuditHead(Base):
    """One row: the audit log's size and the right edge of its tree, locked by each append."""

    __tablename__ = "admin_audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    size: Mapped[int] = mapped_column(Integer, default=0)
    frontier: Mapped[list[str]] = mapped_column(JSON, default=list)


class AdminAuditCheckpoint(Base):
    __tablename__ = "admin_audit_checkpoints"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# The audit log's entries and checkpoints refuse UPDATE and DELETE in the database itself;
# the Merkle log makes any change that gets round this (a superuser dropping the triggers)
# evident to `idp audit verify`.
APPEND_ONLY_TABLES = ("admin_audit_entries", "admin_audit_checkpoints")


def append_only_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            "CREATE OR REPLACE FUNCTION admin_audit_append_only() RETURNS trigger AS $$ "
            "BEGIN RAISE EXCEPTION 'the admin audit log is append-only: % on % refused', "
            "TG_OP, TG_TABLE_NAME; END; $$ LANGUAGE plpgsql",
            *(
                f"CREATE TRIGGER {t}_append_only BEFORE UPDATE OR DELETE ON {t} "
                "FOR EACH ROW EXECUTE FUNCTION admin_audit_append_only()"
                for t in APPEND_ONLY_TABLES
            ),
        ]
    if dialect == "sqlite":
        return [
            f"CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t} BEGIN SELECT "
            f"RAISE(ABORT, 'the admin audit log is append-only: {op} on {t} refused'); END"
            for t in APPEND_ONLY_TABLES
            for op in ("UPDATE", "DELETE")
        ]
    raise ValueError(f"no append-only triggers for {dialect}")


def drop_append_only_ddl(dialect: str) -> list[str]:
    if dialect == "postgresql":
        return [
            *(f"DROP TRIGGER IF EXISTS {t}_append_only ON {t}" for t in APPEND_ONLY_TABLES),
            "DROP FUNCTION IF EXISTS admin_audit_append_only()",
        ]
    if dialect == "sqlite":
        return [
            f"DROP TRIGGER IF EXISTS {t}_no_{op}"
            for t in APPEND_ONLY_TABLES
            for op in ("update", "delete")
        ]
    raise ValueError(f"no append-only triggers for {dialect}")
