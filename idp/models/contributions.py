"""Claims that partners contribute to a customer's profile (issue 11: the tire purchase).

A partner writes with the customer's access token (a scope such as ``tire_purchase:write``);
each row says who added what and when, so the account page can show it and the customer
can delete it. A retried write carries the same source reference (the order number) and
lands on the same row.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, utcnow


class ContributedClaim(Base):
    """One value of one claim, contributed by one partner for one of its own records."""

    __tablename__ = "contributed_claims"
    __table_args__ = (
        UniqueConstraint(
            "user_id",
            "claim",
            "source_client_id",
            "source_ref",
            name="uq_contributed_claims_source",
        ),
        Index("ix_contributed_claims_user_id_claim", "user_id", "claim", "recorded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: the claim it is a value of, e.g. ``tire_purchase``
    claim: Mapped[str] = mapped_column(String(64))
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: the partner that wrote it
    source_client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    #: the partner's own reference (an order number): the idempotency key of a write
    source_ref: Mapped[str] = mapped_column(String(100))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
