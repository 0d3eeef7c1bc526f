"""Avain's consent ledger: catalogue, append-only events, ``decide()``, Merkle log, receipts.

Stands alone: nothing here imports the identity provider, Flask or Authlib.
"""

from consent.decide import decide
from consent.model import (
    Actor,
    Agreement,
    Channel,
    ConsentEvent,
    ConsentState,
    ConsentStatus,
    Decision,
    EventType,
    Ground,
    LegalBasis,
    Need,
    Purpose,
    Reason,
    ReleaseRequest,
)
from consent.projection import apply, changes, project

__all__ = [
    "Actor",
    "Agreement",
    "Channel",
    "ConsentEvent",
    "ConsentState",
    "ConsentStatus",
    "Decision",
    "EventType",
    "Ground",
    "LegalBasis",
    "Need",
    "Purpose",
    "Reason",
    "ReleaseRequest",
    "apply",
    "changes",
    "decide",
    "project",
]
