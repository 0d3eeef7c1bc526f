"""A pending authorization request waiting for the customer (login, account choice, consent).

Login and consent are an explicit state machine: ``/authorize`` stores the request
here, sends the browser to the step it needs, and resumes with this record's id.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base, utcnow


class Interaction(Base):
    __tablename__ = "interactions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    consented_scope: Mapped[str | None] = mapped_column(String(1000))
    consented_for: Mapped[str | None] = mapped_column(String(36))
    account_selected_for: Mapped[str | None] = mapped_column(String(64))
