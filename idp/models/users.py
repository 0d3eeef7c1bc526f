"""Customers and their SSO sessions."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, String, Text, func
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from idp.db import Base, aware, utcnow


def new_id() -> str:
    return str(uuid.uuid4())


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    email: Mapped[str] = mapped_column(String(320), unique=True, index=True)
    email_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    name: Mapped[str] = mapped_column(String(200))
    given_name: Mapped[str | None] = mapped_column(String(100))
    family_name: Mapped[str | None] = mapped_column(String(100))
    phone_number: Mapped[str | None] = mapped_column(String(40))
    phone_number_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    # the phone number's digits, national "0" as "358" (:func:`phone_digits`): what the
    # console's search matches a typed number against, whatever spacing either has
    phone_digits: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    locale: Mapped[str | None] = mapped_column(String(10))
    # the customer's own car, a Finnish plate normalised to "ABC-123" (idp.auth.plates)
    car_registration: Mapped[str | None] = mapped_column(String(8))
    password_hash: Mapped[str | None] = mapped_column(Text)
    password_changed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the customer's choice: after the password, also ask for a passkey
    passkey_second_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    # an admin locked sign-in (idp.admin.customers.lock): no password or passkey sign-in
    locked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )

    sessions: Mapped[list[SsoSession]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    # flask-login: the id kept in the cookie is the SSO session's id, set when loaded.
    @property
    def current_sid(self) -> str | None:
        value: str | None = self.__dict__.get("_avain_sid")
        return value

    @current_sid.setter
    def current_sid(self, value: str | None) -> None:
        self.__dict__["_avain_sid"] = value

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        sid: str | None = self.current_sid
        return sid

    def get_user_id(self) -> str:
        """Authlib's user interface."""
        return self.id

    @validates("phone_number")
    def _keep_phone_digits(self, _key: str, value: str | None) -> str | None:
        self.phone_digits = phone_digits(value)
        return value

    def __repr__(self) -> str:
        return f"<User {self.id}>"


COUNTRY_CODE = "358"  # a number written the national way ("040 ...") is a Finnish one


def phone_digits(number: str | None) -> str | None:
    """A phone number as digits in international form: ``+358 40 123`` and ``040 123`` both
    give ``35840123``; ``00`` is the international prefix. None for no digits."""
    digits = "".join(c for c in number or "" if c.isascii() and c.isdigit())
    if digits.startswith("00"):
        digits = digits[2:]
    elif digits.startswith("0"):
        digits = COUNTRY_CODE + digits[1:]
    return digits[:40] or None


# sign-in finds the customer by lower(email) (idp.auth.accounts.find_by_email): without an
# index on the expression every login scanned the table (migration 0015)
Index("ix_users_email_lower", func.lower(User.email))

# The console's customer search (idp.admin.customer_search) has an index of (key, id) for each
# key it searches: lower(email), lower(name), lower(family_name), phone_digits (on SQLite,
# ix_users_email_lower serves the address). They are
# made by migration 0016 only, one way per database (PostgreSQL compares the keys with the
# "C" collation so that a range is exactly a prefix), which the models cannot declare;
# tests/admin/test_customer_search.py checks that each search uses its index.


class SsoSession(Base):
    """A server-side single sign-on session; its id is the OIDC ``sid``."""

    __tablename__ = "sso_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    auth_time: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    acr: Mapped[str] = mapped_column(String(100), default="urn:avain:acr:pwd")
    amr: Mapped[list[str]] = mapped_column(JSON, default=list)
    user_agent: Mapped[str | None] = mapped_column(String(300))
    ip_address: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship(back_populates="sessions")

    def is_active_at(self, now: datetime) -> bool:
        return self.revoked_at is None and aware(self.expires_at) > now
