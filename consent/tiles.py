"""Stored hashes of complete subtrees, so that a proof reads O(log n) hashes, as C2SP tlog-tiles.

C2SP tlog-tiles (https://c2sp.org/tlog-tiles) serves a Merkle log as tiles: the tile at
level ``L`` holds consecutive hashes of the complete, aligned subtrees of height
``8·L``, up to 256 of them, and any hash of the tree is computed from at most one tile per
level. The ledger keeps the same hashes, one per row of ``consent_log_subtrees``: for each
height ``h`` that is a positive multiple of :data:`TILE_HEIGHT`, the hash of every complete
subtree of ``2**h`` leaves that starts at a multiple of ``2**h``. Level 0 is the leaf
hashes, which the log's entries already hold. Incomplete (partial) tiles are not stored:
hashes at the log's right edge come from the level below. The sequencer writes a row the
moment the leaf that completes its subtree is appended, in the same transaction, and the
rows never change (they hold hashes only, so erasure has nothing to take from them).

A proof is a list of ``MTH(D[start:end])`` (:func:`consent.merkle.inclusion_ranges`,
:func:`consent.merkle.consistency_ranges`). Each such range is a few complete aligned
subtrees (:func:`blocks`), and the hash of a subtree of height ``h`` is one stored hash
when ``h`` is a multiple of :data:`TILE_HEIGHT`, else ``2**(h mod 8)`` hashes of the stored
level below. A proof's subtrees have distinct heights but for a few, so it reads at most
:func:`max_reads` hashes: ``3 · 255`` per 8 levels of the tree, whatever its size.

Pure functions: the storage layer (:mod:`consent.ledger`) reads what :func:`reads_for`
names and hands the hashes to :func:`assemble`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from consent.merkle import CompactTree, node_hash

__all__ = [
    "TILE_HEIGHT",
    "Reads",
    "Subtree",
    "assemble",
    "blocks",
    "completed",
    "is_stored",
    "max_reads",
    "reads_for",
    "source",
    "subtrees",
]

TILE_HEIGHT = 8  # tlog-tiles' tile height: a stored hash for every 8 levels of the tree


@dataclass(frozen=True, order=True)
class Subtree:
    """The complete subtree of ``2**height`` leaves from leaf ``index * 2**height`` (0-based)."""

    height: int
    index: int

    @property
    def start(self) -> int:
        return self.index << self.height

    @property
    def end(self) -> int:
        """One past its last leaf: the tree size at which it is complete."""
        return (self.index + 1) << self.height


def is_stored(height: int) -> bool:
    return height > 0 and height % TILE_HEIGHT == 0


def completed(size: int, hashes: Sequence[bytes]) -> list[tuple[Subtree, bytes]]:
    """The stored subtrees the leaf that made the tree ``size`` completed, with their hashes.

    ``hashes`` is what :meth:`consent.merkle.CompactTree.append` returned for that leaf.
    """
    return [
        (Subtree(h, (size >> h) - 1), hashes[h])
        for h in range(TILE_HEIGHT, len(hashes), TILE_HEIGHT)
    ]


def subtrees(
    leaf_hashes: Iterable[bytes], tree: CompactTree | None = None
) -> Iterator[tuple[Subtree, bytes]]:
    """Every stored subtree of the log of these leaves, in the order they complete.

    Continues ``tree`` when given (it is appended to). O(log n) memory: for a backfill.
    """
    tree = tree if tree is not None else CompactTree()
    for leaf in leaf_hashes:
        hashes = tree.append(leaf)
        yield from completed(tree.size, hashes)


def blocks(start: int, end: int) -> list[Subtree]:
    """``D[start:end]`` as complete aligned subtrees, largest first.

    Defined for the ranges RFC 9162's recursions name, whose ``start`` is a multiple of
    the smallest power of two not below ``end - start``. Their MTH folds these blocks from
    the right (the §2.1.1 split ``k`` is the first block), as ``CompactTree.root`` does.
    """
    out = []
    pos, left = start, end - start
    if left <= 0:
        raise ValueError(f"range [{start}, {end}) is empty")
    while left:
        h = left.bit_length() - 1
        if pos % (1 << h):
            raise ValueError(f"range [{start}, {end}) is not one an RFC 9162 proof names")
        out.append(Subtree(h, pos >> h))
        pos += 1 << h
        left -= 1 << h
    return out


def source(t: Subtree) -> Subtree:
    """The first of the ``2**(t.height mod TILE_HEIGHT)`` stored hashes (or leaves, at height
    0) that ``t``'s hash is computed from; they are consecutive at that height."""
    below = t.height - t.height % TILE_HEIGHT
    return Subtree(below, t.index << (t.height - below))


@dataclass(frozen=True)
class Reads:
    """What a proof needs read: ``[first, end)`` ranges of leaf indexes (0-based), and of
    stored subtree indexes by height. Overlapping and adjacent ranges are merged."""

    leaves: list[tuple[int, int]]
    stored: dict[int, list[tuple[int, int]]]

    @property
    def count(self) -> int:
        """How many hashes: the rows a store reads."""
        ranges = [*self.leaves, *(r for rs in self.stored.values() for r in rs)]
        return sum(end - first for first, end in ranges)


def reads_for(ranges: Iterable[tuple[int, int]], leaves: Iterable[int] = ()) -> Reads:
    """The leaves and stored hashes from which the hashes of these leaf ranges follow, and
    the ``leaves`` (0-based indexes) the caller wants besides."""
    wanted: dict[int, list[tuple[int, int]]] = {0: [(i, i + 1) for i in leaves]}
    for start, end in ranges:
        for t in blocks(start, end):
            first = source(t)
            count = 1 << (t.height - first.height)
            wanted.setdefault(first.height, []).append((first.index, first.index + count))
    merged = {height: _merge(rs) for height, rs in sorted(wanted.items())}
    return Reads(leaves=merged.pop(0, []), stored=merged)


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for first, end in sorted(ranges):
        if out and first <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((first, end))
    return out


def assemble(
    ranges: Iterable[tuple[int, int]],
    leaves: Mapping[int, bytes],
    stored: Mapping[tuple[int, int], bytes],
) -> list[bytes]:
    """``MTH(D[start:end])`` of each range, from the leaf hashes (by 0-based index) and the
    stored hashes (by ``(height, index)``) that :func:`reads_for` named.

    Raises ``KeyError`` with the first hash it lacks: a leaf index, or ``(height, index)``.
    """
    out = []
    for start, end in ranges:
        hashes = [_perfect(t, leaves, stored) for t in blocks(start, end)]
        node = hashes.pop()
        while hashes:
            node = node_hash(hashes.pop(), node)
        out.append(node)
    return out


def _perfect(
    t: Subtree, leaves: Mapping[int, bytes], stored: Mapping[tuple[int, int], bytes]
) -> bytes:
    first = source(t)
    count = 1 << (t.height - first.height)
    if first.height == 0:
        level = [leaves[i] for i in range(first.index, first.index + count)]
    else:
        level = [stored[(first.height, i)] for i in range(first.index, first.index + count)]
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def max_reads(size: int) -> int:
    """The most hashes any inclusion or consistency proof in a tree of ``size`` reads."""
    bands = -(-max(size - 1, 1).bit_length() // TILE_HEIGHT)
    return 3 * ((1 << TILE_HEIGHT) - 1) * bands
