"""Proofs of the consent log (RFC 9162 §2.1.3, §2.1.4) from its stored subtree hashes.

A proof names its hashes by leaf range (:func:`consent.merkle.inclusion_ranges`,
:func:`consent.merkle.consistency_ranges`); :mod:`consent.tiles` says which stored subtree
hashes and leaves give them. So a proof is two statements that read at most
``tiles.max_reads(size)`` rows, whatever the size of the log, and equals, byte for byte,
the proof :mod:`consent.merkle` makes from every leaf.
"""

from __future__ import annotations

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from consent import merkle, tiles
from consent.store import EventRow, SubtreeRow


def inclusion(session: Session, seq: int, size: int) -> list[bytes]:
    """RFC 9162 §2.1.3 proof that entry ``seq`` (1-based) is in the tree of ``size``.

    At most two statements and ``tiles.max_reads(size)`` rows, whatever the log's size.
    """
    if not 1 <= seq <= size:
        raise ValueError("seq must be between 1 and the tree size")
    return _proof(session, merkle.inclusion_ranges(seq - 1, size), (seq, size))


def consistency(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """RFC 9162 §2.1.4 proof that the tree of ``old_size`` is a prefix of ``new_size``'s;
    costs as :func:`inclusion`."""
    if not 1 <= old_size <= new_size:
        raise ValueError("need 1 <= old size <= new size")
    return _proof(session, merkle.consistency_ranges(old_size, new_size), (old_size, new_size))


def _proof(
    session: Session, ranges: list[tuple[int, int]], entries: tuple[int, ...]
) -> list[bytes]:
    """The hashes of these leaf ranges, from the stored subtrees and a few leaves.

    ``entries`` must be in the log (the entry proved, the last of each tree): ``ValueError``
    otherwise, as when a hash the proof needs is missing.
    """
    reads = tiles.reads_for(ranges, (seq - 1 for seq in entries))
    leaves: dict[int, bytes] = {}
    if reads.leaves:
        seqs = or_(*(EventRow.seq.between(first + 1, end) for first, end in reads.leaves))
        for seq, leaf in session.execute(select(EventRow.seq, EventRow.leaf_hash).where(seqs)):
            leaves[seq - 1] = bytes.fromhex(leaf)
    stored: dict[tuple[int, int], bytes] = {}
    if reads.stored:
        nodes = or_(
            *(
                and_(SubtreeRow.height == height, SubtreeRow.idx.between(first, end - 1))
                for height, ranges_ in reads.stored.items()
                for first, end in ranges_
            )
        )
        for height, idx, node in session.execute(
            select(SubtreeRow.height, SubtreeRow.idx, SubtreeRow.hash).where(nodes)
        ):
            stored[(height, idx)] = bytes.fromhex(node)
    absent = [seq for seq in entries if seq - 1 not in leaves]
    if absent:
        raise ValueError(f"the log has no entry {absent[0]}")
    try:
        return tiles.assemble(ranges, leaves, stored)
    except KeyError as exc:
        (missing,) = exc.args
        if isinstance(missing, int):
            raise ValueError(f"the log has no entry {missing + 1}") from None
        t = tiles.Subtree(*missing)
        raise ValueError(
            f"the stored hash of entries {t.start + 1}..{t.end} is missing "
            "(`idp ledger verify` reports what else is)"
        ) from None
