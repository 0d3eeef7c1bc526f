"""Customers' complaints about how their data is used, as privacy admins record them.

While a complaint is open, every purpose the catalogue marks ``marketing`` is paused for the
customer (:mod:`idp.admin.complaints`). The pause itself lives in the consent ledger
(``complaint_opened`` and ``complaint_closed`` events), which ``decide()`` reads; this row is
the case file the console lists: who opened it, why, and how it ended.

At most one complaint per customer is open at a time (a partial unique index): a second
complaint while one is open is part of the same case, and two open ones would leave it unclear
which closing lifts the pause.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, utcnow
from idp.models.users import new_id


class Complaint(Base):
    __tablename__ = "complaints"
    __table_args__ = (
        Index(
            "ux_complaints_open_customer",
            "customer_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
        Index("ix_complaints_opened_at", "opened_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    customer_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    #: who opened it: an admin in the console, or an admin API client (the other is None)
    opened_by: Mapped[str | None] = mapped_column(ForeignKey("admins.id", ondelete="SET NULL"))
    opened_by_client: Mapped[str | None] = mapped_column(
        ForeignKey("admin_api_clients.client_id", ondelete="SET NULL")
    )
    reason: Mapped[str] = mapped_column(Text)
    #: the marketing purposes paused when it was opened (the catalogue may change meanwhile)
    purposes: Mapped[list[str]] = mapped_column(JSON, default=list)
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_by: Mapped[str | None] = mapped_column(ForeignKey("admins.id", ondelete="SET NULL"))
    closed_by_client: Mapped[str | None] = mapped_column(
        ForeignKey("admin_api_clients.client_id", ondelete="SET NULL")
    )
    closing_reason: Mapped[str | None] = mapped_column(Text)

    @property
    def is_open(self) -> bool:
        return self.closed_at is None
