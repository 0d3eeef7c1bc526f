"""Admin accounts: creation with a one-time enrolment link, listing, role changes,
disabling.

Services: a ``Session`` first, ``flush()`` but never ``commit()``.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from idp.db import aware
from idp.models.admins import (
    Admin,
    AdminEnrolment,
    AdminPasskey,
    AdminSession,
    AdminStatus,
    Role,
)

ENROLMENT_LIFETIME = timedelta(hours=24)


class AdminError(Exception):
    """An admin operation was refused; ``code`` says why (and picks the message)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find(session: Session, email: str) -> Admin | None:
    return session.scalar(select(Admin).where(Admin.email == normalise_email(email)))


@dataclass(frozen=True)
class Invitation:
    admin: Admin
    token: str
    expires_at: datetime


def create(session: Session, email: str, role: Role, name: str | None, now: datetime) -> Invitation:
    """A new admin and its enrolment token (shown once; only its hash is stored)."""
    email = normalise_email(email)
    if "@" not in email or len(email) > 320 or any(c.isspace() for c in email):
        raise AdminError("invalid_email")
    if find(session, email) is not None:
        raise AdminError("exists")
    admin = Admin(
        email=email,
        display_name=" ".join((name or email.split("@")[0]).split())[:200],
        role=role.value,
        status=AdminStatus.ACTIVE.value,
        created_at=now,
    )
    session.add(admin)
    session.flush()
    return invite(session, admin, now)


def invite(session: Session, admin: Admin, now: datetime) -> Invitation:
    """A new enrolment link for ``admin`` (e.g. a lost passkey): earlier unused links die."""
    session.execute(
        update(AdminEnrolment)
        .where(AdminEnrolment.admin_id == admin.id, AdminEnrolment.used_at.is_(None))
        .values(used_at=now)
    )
    token = secrets.token_urlsafe(32)
    expires = now + ENROLMENT_LIFETIME
    session.add(
        AdminEnrolment(
            token_hash=digest(token), admin_id=admin.id, created_at=now, expires_at=expires
        )
    )
    session.flush()
    return Invitation(admin, token, expires)


def enrolment(session: Session, token: str, now: datetime) -> tuple[AdminEnrolment, Admin]:
    """The unused, unexpired enrolment of ``token`` and its active admin."""
    row = session.get(AdminEnrolment, digest(token[:200]))
    if row is None or row.used_at is not None:
        raise AdminError("link_invalid")
    if aware(row.expires_at) <= now:
        raise AdminError("link_expired")
    admin = session.get(Admin, row.admin_id)
    if admin is None or not admin.active:
        raise AdminError("link_invalid")
    return row, admin


def use_enrolment(session: Session, row: AdminEnrolment, now: datetime) -> None:
    """Spend the link: of two enrolments in flight with one link, the UPDATE that commits
    first wins and the other is refused (its passkey is not kept)."""
    result = session.execute(
        update(AdminEnrolment)
        .where(AdminEnrolment.token_hash == row.token_hash, AdminEnrolment.used_at.is_(None))
        .values(used_at=now)
    )
    if getattr(result, "rowcount", 0) != 1:
        raise AdminError("link_invalid")


def all_admins(session: Session) -> list[Admin]:
    return list(session.scalars(select(Admin).order_by(Admin.created_at, Admin.email)))


def describe(admin: Admin) -> dict[str, str | None]:
    return {
        "id": admin.id,
        "email": admin.email,
        "name": admin.display_name,
        "role": admin.role,
        "status": admin.status,
        "created_at": aware(admin.created_at).isoformat(),
        "last_sign_in_at": aware(admin.last_sign_in_at).isoformat()
        if admin.last_sign_in_at
        else None,
    }


def disable(session: Session, admin: Admin, now: datetime) -> None:
    """Disable ``admin``: their sessions end and their unused links die at once. The last
    active owner stays: an owner API client could otherwise lock every owner out."""
    if not admin.active:
        raise AdminError("already_disabled")
    if admin.role == Role.OWNER.value and active_owners(session) <= 1:
        raise AdminError("last_owner")
    admin.status = AdminStatus.DISABLED.value
    _end_sessions(session, admin, now)
    session.execute(
        update(AdminEnrolment)
        .where(AdminEnrolment.admin_id == admin.id, AdminEnrolment.used_at.is_(None))
        .values(used_at=now)
    )
    session.flush()


def active_owners(session: Session) -> int:
    return len(
        session.scalars(
            select(Admin.id).where(
                Admin.role == Role.OWNER.value, Admin.status == AdminStatus.ACTIVE.value
            )
        ).all()
    )


def change_role(session: Session, admin: Admin, role: Role, now: datetime) -> str:
    """Give ``admin`` another role; returns the role they had. Their console sessions end,
    so the new role holds from their next sign-in and no page opened under the old one
    acts on. The last active owner keeps the role: someone must be able to manage admins."""
    if not admin.active:
        raise AdminError("not_active")
    before = admin.role
    if before == role.value:
        raise AdminError("same_role")
    if before == Role.OWNER.value and active_owners(session) <= 1:
        raise AdminError("last_owner")
    admin.role = role.value
    _end_sessions(session, admin, now)
    session.flush()
    return before


def _end_sessions(session: Session, admin: Admin, now: datetime) -> None:
    session.execute(
        update(AdminSession)
        .where(AdminSession.admin_id == admin.id, AdminSession.ended_at.is_(None))
        .values(ended_at=now)
    )


def forget_passkeys(session: Session, admin: Admin, now: datetime) -> int:
    """A lost or stolen passkey: every passkey of ``admin`` goes and their sessions end; a
    new enrolment link is their way back. Returns how many passkeys were removed."""
    removed = session.execute(
        delete(AdminPasskey).where(AdminPasskey.admin_id == admin.id).returning(AdminPasskey.id)
    ).all()
    _end_sessions(session, admin, now)
    session.flush()
    return len(removed)
