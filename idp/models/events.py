"""Outbox of back-channel deliveries, login throttling and the audit log."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, utcnow


class Delivery(Base):
    """A message to a relying party (a logout token) or a customer (mail), with every
    attempt recorded. Pending ones (neither delivered nor given up) are indexed apart: the
    senders look for what is due among them, and /metrics counts them per kind, while the
    table keeps every delivery ever made."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index(
            "ix_deliveries_pending",
            "kind",
            "next_attempt_at",
            sqlite_where=text("delivered_at IS NULL AND failed_at IS NULL"),
            postgresql_where=text("delivered_at IS NULL AND failed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    url: Mapped[str] = mapped_column(Text)
    payload: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ThrottleCounter(Base):
    """Failed-attempt counters when no Redis is configured."""

    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AuditEvent(Base):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str | None] = mapped_column(String(100))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
