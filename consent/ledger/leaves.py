"""What a Merkle leaf of the log commits to: the canonical JSON of its entry (version 1)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from consent.ledger.columns import LEAF_COLUMNS, aware
from consent.sealing import canonical
from consent.store import EventRow


def leaf_data(row: EventRow) -> bytes:
    """What the Merkle leaf commits to: every column but the stored hashes of itself."""
    return leaf_data_of({name: getattr(row, name) for name in LEAF_COLUMNS})


def leaf_data_of(values: Mapping[str, Any]) -> bytes:
    """The leaf data of an entry's :data:`~consent.ledger.columns.LEAF_COLUMNS` values."""
    expires_at = values["expires_at"]
    return canonical(
        {
            "v": 1,
            "seq": values["seq"],
            "subject": values["subject"],
            "recipient": values["recipient_id"],
            "purpose": values["purpose_id"],
            "version": values["purpose_version"],
            "type": values["type"],
            "at": aware(values["at"]).isoformat(),
            "actor": values["actor"],
            "channel": values["channel"],
            "claims": sorted(values["claims"]),
            "expires_at": aware(expires_at).isoformat() if expires_at else None,
            "details": values["details_commitment"],
            "prev": values["prev_leaf_hash"],
        }
    )
