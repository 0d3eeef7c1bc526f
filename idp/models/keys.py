"""Signing keys and generated instance secrets."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, utcnow


class SigningKey(Base):
    """A token-signing key pair; the private part is encrypted at rest.

    A key is published from ``created_at``, signs from ``active_from`` until a newer key
    of its algorithm takes over, and stays published until ``retire_after``.
    """

    __tablename__ = "signing_keys"

    kid: Mapped[str] = mapped_column(String(64), primary_key=True)
    alg: Mapped[str] = mapped_column(String(10))
    private_key: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    active_from: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    superseded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retire_after: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class InstanceSecret(Base):
    """Random values generated once per installation (e.g. the pairwise salt)."""

    __tablename__ = "instance_secrets"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CacheGeneration(Base):
    """A counter that moves whenever something the workers keep in memory changes
    (:mod:`idp.cache`): clients, signing keys, instance secrets."""

    __tablename__ = "cache_generations"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)
