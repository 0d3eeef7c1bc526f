"""Proving one entry in the log's newest signed checkpoint, for exports and receipts.

:func:`prove_in_latest` checks the checkpoint's signed note (C2SP) and the entry's RFC 9162
§2.1.3 inclusion proof, and says in reason codes what failed; each caller words them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy.orm import Session

from consent import merkle
from consent.keys import LOG_KEY_NAME, log_public_key
from consent.ledger.reading import latest_checkpoint
from consent.proofs import inclusion
from consent.store import CheckpointRow


class Unproven(StrEnum):
    """Why an entry is not proven in the newest checkpoint, in the order checked."""

    NO_CHECKPOINT = "no_checkpoint"  # the log has none yet
    NO_LOG_KEY = "no_log_key"  # the key that signs checkpoints is missing
    NOTE_INVALID = "note_invalid"  # the checkpoint's signed note does not verify
    OTHER_LOG = "other_log"  # the note is signed for another log's origin
    NOTE_MISMATCH = "note_mismatch"  # the note's size or root differ from the checkpoint's
    NOT_COVERED = "not_covered"  # the entry is newer than the checkpoint
    UNPROVABLE = "unprovable"  # a hash the proof needs is missing from the log
    NOT_INCLUDED = "not_included"  # the proof does not lead to the checkpoint's root


@dataclass(frozen=True)
class Failure:
    reason: Unproven
    detail: str = ""  # the underlying error, where there is one


@dataclass(frozen=True)
class InLatest:
    """What :func:`prove_in_latest` found.

    ``checkpoint``: the newest stored checkpoint (None before the first); ``signed``: its
    note, once the signature verifies; ``failures``: empty when the entry is proven in it.
    A note signed for another log, or saying another size or root, does not stop the check:
    the proof is made against what the note signed.
    """

    checkpoint: CheckpointRow | None
    signed: merkle.Checkpoint | None
    failures: tuple[Failure, ...]

    @property
    def included(self) -> bool:
        return not self.failures

    @property
    def note_matches(self) -> bool:
        """The note verifies and signs this checkpoint of this log."""
        mismatches = {Unproven.OTHER_LOG, Unproven.NOTE_MISMATCH}
        return self.signed is not None and not any(f.reason in mismatches for f in self.failures)


def prove_in_latest(session: Session, origin: str, seq: int, leaf: bytes) -> InLatest:
    """Whether entry ``seq``, with leaf hash ``leaf``, is in the newest signed checkpoint of
    the log ``origin``: the note's signature, then RFC 9162 §2.1.3 inclusion."""
    newest = latest_checkpoint(session)
    if newest is None:
        return InLatest(None, None, (Failure(Unproven.NO_CHECKPOINT),))
    public = log_public_key(session)
    if public is None:
        return InLatest(newest, None, (Failure(Unproven.NO_LOG_KEY),))
    try:
        cp = merkle.verify_checkpoint(newest.note, public, LOG_KEY_NAME)
    except ValueError as exc:
        return InLatest(newest, None, (Failure(Unproven.NOTE_INVALID, str(exc)),))
    failures = []
    if cp.origin != origin:
        failures.append(Failure(Unproven.OTHER_LOG))
    if cp.size != newest.size or cp.root.hex() != newest.root:
        failures.append(Failure(Unproven.NOTE_MISMATCH))
    if seq > cp.size:
        failures.append(Failure(Unproven.NOT_COVERED))
    else:
        try:
            proof = inclusion(session, seq, cp.size)
        except ValueError as exc:
            failures.append(Failure(Unproven.UNPROVABLE, str(exc)))
        else:
            if not merkle.verify_inclusion(leaf, seq - 1, cp.size, proof, cp.root):
                failures.append(Failure(Unproven.NOT_INCLUDED))
    return InLatest(newest, cp, tuple(failures))
