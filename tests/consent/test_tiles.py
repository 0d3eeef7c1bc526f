"""Stored subtree hashes (C2SP tlog-tiles' hashes): proofs from them equal proofs from leaves."""

from __future__ import annotations

from functools import cache

import pytest
from hypothesis import given, settings, strategies as st

from consent import merkle, tiles


def _leaves(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


@cache
def _log(n: int, height: int) -> tuple[list[bytes], dict[tuple[int, int], bytes]]:
    """A log of ``n`` leaves and the hashes it stores, at a tile height of ``height``."""
    old = tiles.TILE_HEIGHT
    tiles.TILE_HEIGHT = height
    try:
        leaves = _leaves(n)
        return leaves, {(t.height, t.index): h for t, h in tiles.subtrees(leaves)}
    finally:
        tiles.TILE_HEIGHT = old


def _from_store(ranges, leaves, stored):
    """The proof from exactly the hashes ``reads_for`` names, and how many it read."""
    reads = tiles.reads_for(ranges)
    given_leaves = {i: leaves[i] for first, end in reads.leaves for i in range(first, end)}
    given_stored = {
        (h, i): stored[(h, i)]
        for h, spans in reads.stored.items()
        for a, b in spans
        for i in range(a, b)
    }
    return tiles.assemble(ranges, given_leaves, given_stored), reads.count


@pytest.fixture(params=[8, 3, 1], ids=lambda h: f"height{h}")
def height(request, monkeypatch):
    monkeypatch.setattr(tiles, "TILE_HEIGHT", request.param)
    return request.param


def test_every_stored_hash_is_its_subtree_root(height):
    leaves, stored = _log(1100, height)
    expected = {
        (h, i)
        for h in range(height, 11, height)
        for i in range(len(leaves) >> h)  # every complete, aligned subtree of that height
    }
    assert set(stored) == expected
    for (h, i), value in stored.items():
        assert value == merkle.subtree_root(leaves, i << h, (i + 1) << h)


@pytest.mark.parametrize("small", [3, 1])
def test_every_proof_of_a_small_log_from_stored_hashes(small, monkeypatch):
    monkeypatch.setattr(tiles, "TILE_HEIGHT", small)
    leaves, stored = _log(100, small)
    for size in range(1, len(leaves) + 1):
        for i in range(size):
            ranges = merkle.inclusion_ranges(i, size)
            proof, reads = _from_store(ranges, leaves, stored)
            assert proof == merkle.inclusion_proof(leaves, i, size)
            assert reads <= tiles.max_reads(size)
            ranges = merkle.consistency_ranges(i, size)
            proof, reads = _from_store(ranges, leaves, stored)
            assert proof == merkle.consistency_proof(leaves, i, size)
            assert reads <= tiles.max_reads(size)


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_proofs_from_stored_hashes(data):
    leaves, stored = _log(3000, tiles.TILE_HEIGHT)
    size = data.draw(st.integers(1, 3000))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    proof, reads = _from_store(merkle.inclusion_ranges(index, size), leaves, stored)
    assert proof == merkle.inclusion_proof(leaves, index, size)
    assert reads <= tiles.max_reads(size)
    proof, reads = _from_store(merkle.consistency_ranges(old, size), leaves, stored)
    assert proof == merkle.consistency_proof(leaves, old, size)
    assert reads <= tiles.max_reads(size)


# 70,000 leaves: stored hashes at heights 8 and 16, as in a log of that size
BIG = 70_000


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_random_proofs_of_a_large_log_from_stored_hashes(data):
    leaves, stored = _log(BIG, tiles.TILE_HEIGHT)
    size = data.draw(st.sampled_from([1 << 16, (1 << 16) + 1, BIG]) | st.integers(1 << 16, BIG))
    index = data.draw(st.integers(0, size - 1))
    old = data.draw(st.integers(0, size))
    proof, reads = _from_store(merkle.inclusion_ranges(index, size), leaves, stored)
    assert proof == merkle.inclusion_proof(leaves, index, size)
    assert reads <= tiles.max_reads(size) < 3 * 256 * 3  # not the size of the log
    proof, reads = _from_store(merkle.consistency_ranges(old, size), leaves, stored)
    assert proof == merkle.consistency_proof(leaves, old, size)
    assert reads <= tiles.max_reads(size)


def test_a_missing_hash_is_named():
    leaves, stored = _log(600, 8)
    ranges = merkle.inclusion_ranges(0, 600)  # needs the subtree of leaves 256..511
    del_key = (8, 1)
    partial = {k: v for k, v in stored.items() if k != del_key}
    with pytest.raises(KeyError) as caught:
        tiles.assemble(ranges, dict(enumerate(leaves)), partial)
    assert caught.value.args == (del_key,)


def test_the_compact_tree_reports_the_subtrees_each_leaf_completes():
    leaves = _leaves(300)
    tree = merkle.CompactTree()
    for n, leaf in enumerate(leaves, start=1):
        done = tree.append(leaf)
        assert len(done) == (n & -n).bit_length()  # one per trailing zero bit of n, and one
        for h, value in enumerate(done):
            assert value == merkle.subtree_root(leaves, n - (1 << h), n)


def test_blocks_refuse_ranges_no_proof_names():
    assert tiles.blocks(256, 300) == [
        tiles.Subtree(5, 8),
        tiles.Subtree(3, 36),
        tiles.Subtree(2, 74),
    ]
    with pytest.raises(ValueError, match="RFC 9162"):
        tiles.blocks(3, 7)
    with pytest.raises(ValueError, match="empty"):
        tiles.blocks(4, 4)


def test_a_backfill_continues_a_tree_across_batches():
    leaves = _leaves(5000)
    whole = list(tiles.subtrees(leaves))
    tree = merkle.CompactTree()
    batched = [
        s
        for start in range(0, 5000, 777)
        for s in tiles.subtrees(leaves[start : start + 777], tree)
    ]
    assert batched == whole and tree.root() == merkle.root(leaves)
