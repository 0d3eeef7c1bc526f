"""The disclosure log: each release of a customer's claims to a recipient, by name only."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from idp.db import Base


class DisclosureChannel(StrEnum):
    """How the claims left Avain."""

    ID_TOKEN = "id_token"  # noqa: S105  # OIDC Core §2, at the token endpoint
    USERINFO = "userinfo"  # OIDC Core §5.3
    INTROSPECTION = "introspection"  # RFC 7662 §2.2


class Disclosure(Base):
    """One release of customer claims to a recipient (GDPR Art. 15(1)(c), Art. 5(2)).

    ``claims`` are names, never values. ``grounds`` says what each release rested on, one
    entry per purpose: ``{"purpose", "version", "basis", "claims"}`` and, on consent,
    ``consent_at`` (when the consent that stood was given) and ``consent_seq`` (its place
    in the consent log; null while it still waited in the intake, found again by
    :func:`idp.ledger.disclosures.resolve`). ``recipient_id`` is the client id, kept
    without a foreign key: the record outlives a deleted client. Rows go with the
    customer's account (the foreign key cascades; see :mod:`idp.ledger.disclosures`).
    """

    __tablename__ = "disclosures"
    __table_args__ = (
        Index("ix_disclosures_user_id_at", "user_id", "at"),
        # the console's data-sharing map: a partner's newest disclosure
        Index("ix_disclosures_recipient_id_at", "recipient_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    recipient_id: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(24))
    claims: Mapped[list[str]] = mapped_column(JSON)
    grounds: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
