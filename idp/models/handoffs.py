"""Handoff tokens (RFC 8693 token exchange between partners), one row per issued token.

The JWT itself is not stored: the row is what makes it single use. Redemption claims it
with ``UPDATE ... WHERE used_at IS NULL AND revoked_at IS NULL``, so of two concurrent
redemptions only one changes the row; a withdrawal of the consent it rests on sets
``revoked_at`` on the same row, so the two serialise on it as well.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, utcnow


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (Index("ix_handoffs_user_id_audience", "user_id", "audience"),)

    jti: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: the client that asked for it (the agreement's ``from``)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    #: the client that may redeem it (the agreement's ``to``)
    audience: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    agreement_id: Mapped[str] = mapped_column(String(100))
    purpose_id: Mapped[str] = mapped_column(String(100))
    #: the grant of the subject token it was exchanged for (the shop's)
    source_grant_id: Mapped[str] = mapped_column(String(36))
    authorization_details: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: names of the claims it carried (never their values)
    claims: Mapped[list[str]] = mapped_column(JSON)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the grant of (customer, audience) its redemption opened
    redeemed_grant_id: Mapped[str | None] = mapped_column(String(36))
