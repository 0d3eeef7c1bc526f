"""Verifying the log: every leaf, chain, checkpoint and stored subtree hash, recomputed.

Reads the log in batches of plain result rows (no ORM objects, no sealed details), up to
the newest checkpoint when it starts, so it can run while the sequencer appends.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from consent import merkle, tiles
from consent.keys import LOG_KEY_NAME, log_public_key
from consent.ledger.columns import EVENTS, LEAF_COLUMNS
from consent.ledger.leaves import leaf_data_of
from consent.ledger.reading import queued
from consent.store import CheckpointRow, EventRow, SubtreeRow


@dataclass(frozen=True)
class Problem:
    seq: int
    what: str


@dataclass(frozen=True)
class Report:
    entries: int  # entries checked
    checkpoints: int
    problems: list[Problem]
    added_during: int = 0  # entries the sequencer added (with their checkpoint) meanwhile
    queued: int = 0  # events accepted but not yet in the log
    subtrees: int = 0  # stored subtree hashes checked (the ones proofs are made of)

    @property
    def ok(self) -> bool:
        return not self.problems


def _rows(session: Session, upto: int, batch: int = 20_000) -> Iterator[Any]:
    """The log's rows up to ``upto`` in order: plain result rows of the columns a check
    needs (no ORM objects, no sealed details), ``batch`` per query."""
    columns = [EVENTS.c[name] for name in (*LEAF_COLUMNS, "leaf_hash")]
    last = 0
    while True:
        chunk = session.execute(
            select(*columns)
            .where(EVENTS.c.seq > last, EVENTS.c.seq <= upto)
            .order_by(EVENTS.c.seq)
            .limit(batch)
        ).all()
        if not chunk:
            return
        yield from chunk
        last = chunk[-1].seq


def verify(session: Session, origin: str) -> Report:
    """Recompute every leaf, chain, checkpoint and stored subtree hash; report the first bad
    entry first.

    Checks the log up to its newest checkpoint when the check starts, so that it can run
    while the sequencer appends; entries after that count as added during the check when
    a checkpoint signed meanwhile covers them, and as unsealed when none does.
    """
    public = log_public_key(session)
    checkpoints = {c.size: c for c in session.scalars(select(CheckpointRow))}
    newest = max(checkpoints, default=0)
    tree = merkle.CompactTree()
    last_of_subject: dict[str, str] = {}
    problems: list[Problem] = []
    subtrees: dict[tuple[int, int], str] = {}  # recomputed, not yet compared with the stored
    stored_problems: list[Problem] = []
    checked = 0
    expected = 1
    for row in _rows(session, upto=newest):
        if row.seq != expected:
            problems.append(Problem(expected, f"entry {expected} is missing (next is {row.seq})"))
            break
        if merkle.leaf_hash(leaf_data_of(row._mapping)).hex() != row.leaf_hash:
            problems.append(Problem(row.seq, f"entry {row.seq} was altered"))
        if row.prev_leaf_hash != last_of_subject.get(row.subject):
            problems.append(
                Problem(
                    row.seq,
                    f"entry {row.seq} does not follow its customer's "
                    "previous entry (one was removed or reordered)",
                )
            )
        last_of_subject[row.subject] = row.leaf_hash
        for t, h in tiles.completed(row.seq, tree.append(bytes.fromhex(row.leaf_hash))):
            subtrees[(t.height, t.index)] = h.hex()
        cp = checkpoints.get(row.seq)
        if cp is not None:
            problems.extend(_check_checkpoint(cp, tree.root(), public, origin))
        if problems:
            break
        if len(subtrees) >= _SUBTREE_BATCH:
            stored_problems.extend(_check_subtrees(session, subtrees))
            checked += len(subtrees)
            subtrees.clear()
        expected += 1
    if not problems:
        stored_problems.extend(_check_subtrees(session, subtrees))
        checked += len(subtrees)
    size = expected - 1 if not problems else problems[0].seq
    added = 0
    if not problems:
        if newest > size:
            problems.append(
                Problem(
                    size + 1,
                    f"checkpoint {newest} covers entries that are gone (the log has {size})",
                )
            )
        else:
            tops = session.execute(
                select(SubtreeRow.height, func.max(SubtreeRow.idx)).group_by(SubtreeRow.height)
            ).all()
            last = session.scalar(select(func.max(EventRow.seq))) or 0  # read after the tops
            stored_problems.extend(_stray_subtrees(tops, last))
            signed = session.scalar(select(func.max(CheckpointRow.size))) or 0
            if last > signed:
                problems.append(
                    Problem(
                        signed + 1,
                        f"entries {signed + 1}..{last} are not covered by a signed checkpoint",
                    )
                )
            else:
                added = last - size
    return Report(
        entries=size,
        checkpoints=len(checkpoints),
        problems=sorted(problems + stored_problems, key=lambda p: p.seq),
        added_during=added,
        queued=queued(session),
        subtrees=checked,
    )


_SUBTREE_BATCH = 1000  # recomputed subtree hashes compared with the stored ones per query


def _check_subtrees(session: Session, recomputed: dict[tuple[int, int], str]) -> list[Problem]:
    """Compare stored subtree hashes with the ones recomputed from the leaves; at each
    height the recomputed ones are consecutive, so one range per height is read."""
    if not recomputed:
        return []
    spans: dict[int, tuple[int, int]] = {}
    for height, idx in recomputed:
        low, high = spans.get(height, (idx, idx))
        spans[height] = (min(low, idx), max(high, idx))
    wanted = or_(
        *(
            and_(SubtreeRow.height == height, SubtreeRow.idx.between(low, high))
            for height, (low, high) in spans.items()
        )
    )
    stored = {
        (height, idx): value
        for height, idx, value in session.execute(
            select(SubtreeRow.height, SubtreeRow.idx, SubtreeRow.hash).where(wanted)
        )
    }
    problems = []
    for key, value in recomputed.items():
        found = stored.get(key)
        if found != value:
            t = tiles.Subtree(*key)
            what = "is missing" if found is None else "was altered"
            problems.append(
                Problem(t.end, f"the stored hash of entries {t.start + 1}..{t.end} {what}")
            )
    return problems


def _stray_subtrees(tops: Sequence[Any], last: int) -> list[Problem]:
    """Stored subtree hashes of heights the log does not keep, or past its last entry (the
    sequencer could not store the real one there)."""
    problems = []
    for height, top in tops:
        if not tiles.is_stored(height):
            problems.append(Problem(last, f"a stored subtree hash of height {height} is foreign"))
        elif (top + 1) << height > last:
            t = tiles.Subtree(height, top)
            problems.append(
                Problem(
                    last,
                    f"a stored subtree hash covers entries {t.start + 1}..{t.end}, "
                    f"past the log's last entry {last}",
                )
            )
    return problems


def _check_checkpoint(
    cp: CheckpointRow, root: bytes, public: Ed25519PublicKey | None, origin: str
) -> list[Problem]:
    if cp.root != root.hex():
        return [Problem(cp.size, f"the log's root at size {cp.size} differs from its checkpoint")]
    if public is None:
        return [Problem(cp.size, "the log's signing key is missing")]
    try:
        signed = merkle.verify_checkpoint(cp.note, public, LOG_KEY_NAME)
    except ValueError as exc:
        return [Problem(cp.size, f"checkpoint {cp.size}: {exc}")]
    if signed.size != cp.size or signed.root != root or signed.origin != origin:
        return [Problem(cp.size, f"checkpoint {cp.size}'s signed note does not match it")]
    return []
