"""One-time values remembered until they expire (a replay cache) when no Redis is configured."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base


class ReplayEntry(Base):
    """A value seen once (a client assertion's ``jti``, a passkey challenge) and until when
    it must stay refused. Expired rows are deleted lazily by later insertions."""

    __tablename__ = "replay_cache"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
