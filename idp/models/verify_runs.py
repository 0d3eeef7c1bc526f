"""The record of each full verification of a Merkle log (the consent ledger, the admins'
audit log), so the console can say when a log was last checked and what was found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base


class VerifyRun(Base):
    """One run of ``idp ledger verify``, ``idp audit verify`` or the console's button.

    ``log`` is ``consent`` or ``audit``; ``first_bad`` the first entry that did not match
    (null when ``ok``) and ``problem`` what was wrong with it, in the verifier's words.
    ``by`` says who ran it: ``cli`` or ``admin:<email>``."""

    __tablename__ = "verify_runs"
    __table_args__ = (Index("ix_verify_runs_log_finished", "log", "finished_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    log: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool]
    entries: Mapped[int]
    first_bad: Mapped[int | None]
    problem: Mapped[str | None] = mapped_column(Text)
    by: Mapped[str] = mapped_column(String(400))
