"""Shared Signals Framework 1.0 (:mod:`idp.events.signals`): the event streams partners
register, the subjects they add or remove, and the Security Event Tokens queued per stream."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, utcnow

PUSH = "urn:ietf:rfc:8935"
POLL = "urn:ietf:rfc:8936"


class SsfStream(Base):
    """One receiver's stream (SSF 1.0 §8.1.1): its client, how SETs reach it, which event
    types it asked for and gets, and whether it is enabled, paused or disabled."""

    __tablename__ = "ssf_streams"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    #: one stream per client (SSF 1.0 §8.1.1.1), held by the database against a race
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True, unique=True
    )
    delivery_method: Mapped[str] = mapped_column(String(40))
    #: push: the receiver's URL; poll: None (Avain's poll endpoint is derived from the id)
    endpoint_url: Mapped[str | None] = mapped_column(Text)
    #: push: the Authorization header value the receiver asked Avain to send
    authorization_header: Mapped[str | None] = mapped_column(Text)
    events_requested: Mapped[list[str]] = mapped_column(JSON, default=list)
    events_delivered: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16), default="enabled")
    reason: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SsfSubject(Base):
    """A subject the receiver added (``included``) or removed from its stream (§8.1.3).
    Streams start with every customer the client concerns (``default_subjects`` ALL)."""

    __tablename__ = "ssf_subjects"
    __table_args__ = (UniqueConstraint("stream_id", "subject_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[str] = mapped_column(ForeignKey("ssf_streams.id", ondelete="CASCADE"))
    subject_key: Mapped[str] = mapped_column(String(300))
    subject: Mapped[dict[str, Any]] = mapped_column(JSON)
    included: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SsfEvent(Base):
    """A Security Event Token queued for one stream, written in the transaction of the change
    it reports (the outbox pattern). ``claims`` is the SET before signing; it is signed once,
    at its first delivery or poll (``token``), when its consent event has its place in the
    ledger. Push sends each subject's SETs in ``id`` order, every attempt in ``attempt_log``;
    poll hands them out until acknowledged."""

    __tablename__ = "ssf_events"
    __table_args__ = (Index("ix_ssf_events_stream_pending", "stream_id", "acknowledged_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    stream_id: Mapped[str] = mapped_column(ForeignKey("ssf_streams.id", ondelete="CASCADE"))
    jti: Mapped[str] = mapped_column(String(64), unique=True)
    event_type: Mapped[str] = mapped_column(String(200))
    subject_key: Mapped[str] = mapped_column(String(300))
    claims: Mapped[dict[str, Any]] = mapped_column(JSON)
    token: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    attempt_log: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: push: accepted by the receiver (202); poll: last handed out
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: push: accepted; poll: acknowledged (or reported in ``setErrs``); done either way
    acknowledged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    failed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
