"""consent.merkle: RFC 9162 §2.1 hashing and proofs, the compact tree, C2SP checkpoints.

The oracle below computes MTH, PATH and SUBPROOF from the RFC's recursive definitions on the
leaf *data*, with hashlib and list slicing, sharing no code with the module under test.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import random
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings, strategies as st

import consent.merkle
from consent.merkle import (
    EMPTY_ROOT,
    Checkpoint,
    CompactTree,
    consistency_proof,
    inclusion_proof,
    key_id,
    leaf_hash,
    node_hash,
    root,
    sign_checkpoint,
    sign_note,
    subtree_root,
    verify_checkpoint,
    verify_consistency,
    verify_inclusion,
    verify_note,
)

# --- the oracle --------------------------------------------------------------------------------


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def mth(entries: list[bytes]) -> bytes:
    if not entries:
        return sha256(b"")
    if len(entries) == 1:
        return sha256(b"\x00" + entries[0])
    k = split(len(entries))
    return sha256(b"\x01" + mth(entries[:k]) + mth(entries[k:]))


def path(m: int, entries: list[bytes]) -> list[bytes]:
    if len(entries) == 1:
        return []
    k = split(len(entries))
    if m < k:
        return path(m, entries[:k]) + [mth(entries[k:])]
    return path(m - k, entries[k:]) + [mth(entries[:k])]


def subproof(m: int, entries: list[bytes], b: bool) -> list[bytes]:
    if m == len(entries):
        return [] if b else [mth(entries)]
    k = split(len(entries))
    if m <= k:
        return subproof(m, entries[:k], b) + [mth(entries[k:])]
    return subproof(m - k, entries[k:], False) + [mth(entries[:k])]


def entries_of(n: int) -> list[bytes]:
    return [f"consent event {i}".encode() for i in range(n)]


ENTRIES = entries_of(300)
LEAVES = [leaf_hash(e) for e in ENTRIES]


def flip(h: bytes) -> bytes:
    return bytes([h[0] ^ 1]) + h[1:]


# --- RFC 6962 / RFC 9162 reference vectors (Certificate Transparency's test data) --------------

CT_ENTRIES = [
    bytes.fromhex(x)
    for x in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
CT_ROOTS = [
    bytes.fromhex(x)
    for x in (
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    )
]
CT_LEAVES = [leaf_hash(e) for e in CT_ENTRIES]
H96A2 = "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"
H5F08 = "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"
H6B47 = "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"
HBC1A = "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"
HCA85 = "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"
HD37E = "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"
H0EBC = "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"


def test_reference_roots() -> None:
    tree = CompactTree()
    for n, expected in enumerate(CT_ROOTS):
        assert root(CT_LEAVES[:n]) == expected == mth(CT_ENTRIES[:n])
        assert tree.root() == expected
        if n < len(CT_LEAVES):
            tree.append(CT_LEAVES[n])


@pytest.mark.parametrize(
    ("index", "size", "proof"),
    [(0, 8, [H96A2, H5F08, H6B47]), (5, 8, [HBC1A, HCA85, HD37E]), (2, 3, [CT_ROOTS[2].hex()])],
)
def test_reference_inclusion_proofs(index: int, size: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(p) for p in proof]
    assert inclusion_proof(CT_LEAVES, index, size) == expected
    assert verify_inclusion(CT_LEAVES[index], index, size, expected, CT_ROOTS[size])


@pytest.mark.parametrize(
    ("old", "new", "proof"),
    [(2, 8, [H5F08, H6B47]), (6, 8, [H0EBC, HCA85, HD37E]), (2, 5, [H5F08, HBC1A])],
)
def test_reference_consistency_proofs(old: int, new: int, proof: list[str]) -> None:
    expected = [bytes.fromhex(p) for p in proof]
    assert consistency_proof(CT_LEAVES, old, new) == expected
    assert verify_consistency(old, new, CT_ROOTS[old], CT_ROOTS[new], expected)


# --- hashing and roots -------------------------------------------------------------------------


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    a, b = sha256(b"a"), sha256(b"b")
    assert leaf_hash(b"x") == sha256(b"\x00x")
    assert node_hash(a, b) == sha256(b"\x01" + a + b)
    assert leaf_hash(a + b) != node_hash(a, b)
    assert root([]) == EMPTY_ROOT == sha256(b"")


@pytest.mark.parametrize("n", range(0, 70))
def test_root_matches_the_definition(n: int) -> None:
    assert root(LEAVES[:n]) == mth(ENTRIES[:n])


def test_subtree_root_is_the_mth_of_the_range() -> None:
    for start in range(0, 20):
        for end in range(start, 40):
            assert subtree_root(LEAVES, start, end) == mth(ENTRIES[start:end])


@pytest.mark.parametrize(("start", "end"), [(-1, 2), (3, 2), (0, 301)])
def test_subtree_root_refuses_ranges_outside_the_leaves(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="not within 300 leaves"):
        subtree_root(LEAVES, start, end)


# --- inclusion proofs --------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 41))
def test_every_inclusion_proof_verifies_and_nothing_else(n: int) -> None:
    leaves, tree_root = LEAVES[:n], mth(ENTRIES[:n])
    for i in range(n):
        proof = inclusion_proof(leaves, i, n)
        assert proof == path(i, ENTRIES[:n])
        assert verify_inclusion(leaves[i], i, n, proof, tree_root)

        assert not verify_inclusion(flip(leaves[i]), i, n, proof, tree_root)
        assert not verify_inclusion(LEAVES[n], i, n, proof, tree_root)
        assert not verify_inclusion(leaves[i], i, n, proof, flip(tree_root))
        assert not verify_inclusion(leaves[i], i, n, proof, mth(ENTRIES[: n + 1]))
        for j in range(-1, n + 2):
            if j != i:
                assert not verify_inclusion(leaves[i], j, n, proof, tree_root), (i, j, n)
        for size in range(0, 2 * n + 2):
            if size != n:  # claimed with that size's own root: see test_the_root_binds_the_size
                other_root = mth(ENTRIES[:size])
                assert not verify_inclusion(leaves[i], i, size, proof, other_root), (i, size, n)
        for k in range(len(proof)):
            tampered = proof[:k] + [flip(proof[k])] + proof[k + 1 :]
            assert not verify_inclusion(leaves[i], i, n, tampered, tree_root)
        if proof:
            assert not verify_inclusion(leaves[i], i, n, proof[:-1], tree_root)
        assert not verify_inclusion(leaves[i], i, n, [*proof, LEAVES[0]], tree_root)


def test_the_root_binds_the_size() -> None:
    """RFC 9162's verifiers check a proof against a (size, root) pair, not the size alone.

    Leaf 0's proof in the tree of 3, ``[h1, h2]``, has the same shape as its proof in a tree
    of 4, ``[h1, MTH(2:4)]``, so with the size-3 root it also checks under "size 4". No real
    tree of 4 has that root, so this proves nothing false; but it is why a size must only ever
    be used with the root signed alongside it in a checkpoint.
    """
    root3 = mth(ENTRIES[:3])
    proof = inclusion_proof(LEAVES, 0, 3)
    assert verify_inclusion(LEAVES[0], 0, 3, proof, root3)
    assert verify_inclusion(LEAVES[0], 0, 4, proof, root3)  # RFC 9162 §2.1.3.2, literally
    assert not verify_inclusion(LEAVES[0], 0, 4, proof, mth(ENTRIES[:4]))
    cproof = consistency_proof(LEAVES, 1, 3)
    assert verify_consistency(1, 4, mth(ENTRIES[:1]), root3, cproof)  # §2.1.4.2, likewise
    assert not verify_consistency(1, 4, mth(ENTRIES[:1]), mth(ENTRIES[:4]), cproof)


def test_inclusion_proof_refuses_bad_arguments() -> None:
    with pytest.raises(ValueError, match="leaf index 5 is not in a tree of size 5"):
        inclusion_proof(LEAVES, 5, 5)
    with pytest.raises(ValueError, match="leaf index -1"):
        inclusion_proof(LEAVES, -1, 5)
    with pytest.raises(ValueError, match="tree size 0"):
        inclusion_proof(LEAVES, 0, 0)
    with pytest.raises(ValueError, match="tree size 301"):
        inclusion_proof(LEAVES, 0, 301)


def test_inclusion_proof_only_reads_the_tree_it_proves() -> None:
    assert inclusion_proof(LEAVES, 3, 7) == inclusion_proof(LEAVES[:7], 3, 7)


# --- consistency proofs ------------------------------------------------------------------------


@pytest.mark.parametrize("n", range(1, 41))
def test_every_consistency_proof_verifies_and_tampering_fails(n: int) -> None:
    new_root = mth(ENTRIES[:n])
    for m in range(1, n + 1):
        old_root = mth(ENTRIES[:m])
        proof = consistency_proof(LEAVES, m, n)
        assert proof == (subproof(m, ENTRIES[:n], True) if m < n else [])
        assert verify_consistency(m, n, old_root, new_root, proof)

        assert not verify_consistency(m, n, flip(old_root), new_root, proof)
        assert not verify_consistency(m, n, old_root, flip(new_root), proof)
        assert not verify_consistency(m, n, mth(ENTRIES[: m - 1]), new_root, proof)
        assert not verify_consistency(m, n, old_root, mth(ENTRIES[: n + 1]), proof)
        for k in range(len(proof)):
            tampered = proof[:k] + [flip(proof[k])] + proof[k + 1 :]
            assert not verify_consistency(m, n, old_root, new_root, tampered)
            assert not verify_consistency(m, n, old_root, new_root, proof[:k] + proof[k + 1 :])
        assert not verify_consistency(m, n, old_root, new_root, [*proof, LEAVES[0]])
        # Other sizes, each claimed with its own root (see test_the_root_binds_the_size). The
        # empty tree is the one other old tree that is rightly consistent, with an empty proof.
        for other_m in range(0, n + 2):
            if other_m != m and not (other_m == 0 and not proof):
                other_root = mth(ENTRIES[:other_m])
                assert not verify_consistency(other_m, n, other_root, new_root, proof), (m, n)
        for other_n in range(0, 2 * n + 2):
            if other_n != n:
                other_root = mth(ENTRIES[:other_n])
                assert not verify_consistency(m, other_n, old_root, other_root, proof), (m, n)


def test_consistency_edge_cases() -> None:
    r5, r9 = mth(ENTRIES[:5]), mth(ENTRIES[:9])
    assert consistency_proof(LEAVES, 0, 9) == []
    assert consistency_proof(LEAVES, 9, 9) == []
    assert verify_consistency(0, 9, EMPTY_ROOT, r9, [])
    assert verify_consistency(0, 0, EMPTY_ROOT, EMPTY_ROOT, [])
    assert not verify_consistency(0, 9, r5, r9, [])
    assert not verify_consistency(0, 9, EMPTY_ROOT, r9, [r9])
    assert verify_consistency(9, 9, r9, r9, [])
    assert not verify_consistency(9, 9, r5, r9, [])
    assert not verify_consistency(9, 9, r9, r9, [r9])
    assert not verify_consistency(9, 5, r9, r5, consistency_proof(LEAVES, 5, 9))
    assert not verify_consistency(-1, 9, r5, r9, [])
    assert not verify_consistency(5, 9, r5, r9, [])
    with pytest.raises(ValueError, match="old size 10 is not between 0 and the new size 9"):
        consistency_proof(LEAVES, 10, 9)
    with pytest.raises(ValueError, match="tree size 301"):
        consistency_proof(LEAVES, 1, 301)


# --- properties on random sizes ----------------------------------------------------------------

SIZES = st.integers(min_value=1, max_value=3000)


@settings(max_examples=150, deadline=None)
@given(n=SIZES, data=st.data())
def test_random_inclusion_proofs(n: int, data: st.DataObject) -> None:
    entries = entries_of(n)
    leaves = [leaf_hash(e) for e in entries]
    tree_root = mth(entries)
    i = data.draw(st.integers(min_value=0, max_value=n - 1), label="index")
    proof = inclusion_proof(leaves, i, n)
    assert proof == path(i, entries)
    assert len(proof) <= (n - 1).bit_length()
    assert verify_inclusion(leaves[i], i, n, proof, tree_root)
    j = data.draw(st.integers(min_value=-2, max_value=n + 2).filter(lambda j: j != i), label="j")
    assert not verify_inclusion(leaves[i], j, n, proof, tree_root)
    if proof:
        k = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="tampered")
        assert not verify_inclusion(
            leaves[i], i, n, [*proof[:k], flip(proof[k]), *proof[k + 1 :]], tree_root
        )


@settings(max_examples=150, deadline=None)
@given(n=SIZES, data=st.data())
def test_random_consistency_proofs(n: int, data: st.DataObject) -> None:
    entries = entries_of(n)
    leaves = [leaf_hash(e) for e in entries]
    m = data.draw(st.integers(min_value=1, max_value=n), label="old size")
    old_root, new_root = mth(entries[:m]), mth(entries)
    proof = consistency_proof(leaves, m, n)
    assert proof == (subproof(m, entries, True) if m < n else [])
    assert verify_consistency(m, n, old_root, new_root, proof)
    if proof:
        k = data.draw(st.integers(min_value=0, max_value=len(proof) - 1), label="tampered")
        tampered = [*proof[:k], flip(proof[k]), *proof[k + 1 :]]
        assert not verify_consistency(m, n, old_root, new_root, tampered)
    if n > 1:
        other = data.draw(st.integers(1, n).filter(lambda x: x != m), label="other old size")
        assert not verify_consistency(other, n, old_root, new_root, proof)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.binary(max_size=40), max_size=200))
def test_random_data_roots(entries: list[bytes]) -> None:
    leaves = [leaf_hash(e) for e in entries]
    tree = CompactTree()
    tree.extend(leaves)
    assert root(leaves) == tree.root() == mth(entries)
    assert tree.size == len(entries)


# --- CompactTree -------------------------------------------------------------------------------


def test_compact_tree_matches_root_at_every_size_up_to_300() -> None:
    tree = CompactTree()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    for n in range(1, 301):
        tree.append(LEAVES[n - 1])
        assert tree.size == n
        assert tree.root() == root(LEAVES[:n]) == mth(ENTRIES[:n]), n
        assert len(tree._frontier) == n.bit_count()  # the right edge only


@pytest.mark.parametrize("n", [511, 512, 513, 1000, 1023, 1024, 1025, 4097, 6000])
def test_compact_tree_matches_root_for_larger_sizes(n: int) -> None:
    entries = [random.Random(n).randbytes(16) + i.to_bytes(4, "big") for i in range(n)]
    leaves = [leaf_hash(e) for e in entries]
    tree = CompactTree()
    tree.extend(leaves)
    assert tree.root() == root(leaves) == mth(entries)


def test_compact_tree_root_does_not_consume_the_tree() -> None:
    tree = CompactTree()
    tree.extend(LEAVES[:5])
    assert tree.root() == tree.root()
    tree.extend(LEAVES[5:13])
    assert tree.root() == mth(ENTRIES[:13])


def test_compact_tree_refuses_what_is_not_a_leaf_hash() -> None:
    tree = CompactTree()
    with pytest.raises(ValueError, match="a leaf hash is 32 bytes, not 5"):
        tree.append(b"event")
    assert tree.size == 0


# --- signed notes and checkpoints --------------------------------------------------------------

# The example of golang.org/x/mod/sumdb/note, which c2sp.org/signed-note specifies.
GO_SEED = base64.b64decode("AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz")[1:]
GO_PUBLIC = base64.b64decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")[1:]
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = (
    GO_TEXT + "\n\u2014 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
    "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
OTHER_KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(1, 33)))
ORIGIN = "avain.example/consent-ledger"
CP = Checkpoint(ORIGIN, 300, root(LEAVES))


def test_signed_note_matches_the_go_reference() -> None:
    key = Ed25519PrivateKey.from_private_bytes(GO_SEED)
    assert key.public_key().public_bytes_raw() == GO_PUBLIC
    assert key_id("PeterNeumann", key.public_key()).hex() == "c74f20a3"
    assert sign_note(GO_TEXT, key, "PeterNeumann") == GO_NOTE
    assert verify_note(GO_NOTE, key.public_key(), "PeterNeumann") == GO_TEXT
    with pytest.raises(ValueError, match="does not verify"):
        verify_note(
            GO_NOTE.replace("cryptography", "cryptographY"), key.public_key(), "PeterNeumann"
        )


def test_checkpoint_body_is_the_tlog_checkpoint_text() -> None:
    root_b64 = base64.b64encode(CP.root).decode()
    assert CP.body() == f"{ORIGIN}\n300\n{root_b64}\n".encode()
    assert Checkpoint("log", 0, EMPTY_ROOT).body() == (
        b"log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n"
    )


def test_sign_and_verify_checkpoint_round_trip() -> None:
    note = sign_checkpoint(CP, KEY, ORIGIN)
    assert verify_checkpoint(note, KEY.public_key(), ORIGIN) == CP

    body, signature_line = note.split("\n\n")
    assert body.encode() + b"\n" == CP.body()
    assert signature_line.startswith(f"\u2014 {ORIGIN} ") and signature_line.endswith("\n")
    blob = base64.b64decode(signature_line.split(" ")[2])
    raw = KEY.public_key().public_bytes_raw()
    assert (
        blob[:4]
        == sha256(ORIGIN.encode() + b"\n\x01" + raw)[:4]
        == key_id(ORIGIN, KEY.public_key())
    )
    assert len(blob) == 4 + 64
    KEY.public_key().verify(blob[4:], CP.body())


@settings(max_examples=50, deadline=None)
@given(
    origin=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x2FF), min_size=1, max_size=40),
    size=st.integers(min_value=0, max_value=2**64 - 1),
    tree_root=st.binary(min_size=32, max_size=32),
)
def test_random_checkpoints_round_trip(origin: str, size: int, tree_root: bytes) -> None:
    cp = Checkpoint(origin, size, tree_root)
    assert verify_checkpoint(sign_checkpoint(cp, KEY, "k"), KEY.public_key(), "k") == cp


def tamper(signature_line: str) -> str:
    """The signature line with one bit of the Ed25519 signature (not the key ID) flipped."""
    dash, name, blob_b64 = signature_line.split(" ")
    blob = bytearray(base64.b64decode(blob_b64))
    blob[10] ^= 1
    return f"{dash} {name} {base64.b64encode(bytes(blob)).decode()}\n"


def test_tampered_size_is_rejected() -> None:
    note = sign_checkpoint(CP, KEY, ORIGIN)
    with pytest.raises(ValueError, match="does not verify"):
        verify_checkpoint(note.replace("\n300\n", "\n301\n"), KEY.public_key(), ORIGIN)


def test_tampered_root_is_rejected() -> None:
    note = sign_checkpoint(CP, KEY, ORIGIN)
    old, new = (base64.b64encode(r).decode() for r in (CP.root, flip(CP.root)))
    with pytest.raises(ValueError, match="does not verify"):
        verify_checkpoint(note.replace(old, new), KEY.public_key(), ORIGIN)


def test_tampered_signature_is_rejected() -> None:
    note = sign_checkpoint(CP, KEY, ORIGIN)
    body, line = note.split("\n\n")
    with pytest.raises(ValueError, match="does not verify"):
        verify_checkpoint(f"{body}\n\n{tamper(line)}", KEY.public_key(), ORIGIN)


def test_wrong_key_or_key_name_is_rejected() -> None:
    note = sign_checkpoint(CP, KEY, ORIGIN)
    with pytest.raises(ValueError, match="no signature by avain.example/consent-ledger"):
        verify_checkpoint(note, OTHER_KEY.public_key(), ORIGIN)
    with pytest.raises(ValueError, match="no signature by other.example"):
        verify_checkpoint(note, KEY.public_key(), "other.example")


def test_signature_from_another_key_is_not_enough() -> None:
    with pytest.raises(ValueError, match="no signature by"):
        verify_checkpoint(sign_checkpoint(CP, OTHER_KEY, ORIGIN), KEY.public_key(), ORIGIN)


def test_unknown_signatures_are_ignored_but_ours_must_verify() -> None:
    ours = sign_checkpoint(CP, KEY, ORIGIN)
    witness_line = sign_checkpoint(CP, OTHER_KEY, "witness.example").split("\n\n")[1]
    cosigned = ours + witness_line
    assert verify_checkpoint(cosigned, KEY.public_key(), ORIGIN) == CP
    assert verify_checkpoint(cosigned, OTHER_KEY.public_key(), "witness.example") == CP
    body, our_line = ours.split("\n\n")
    with pytest.raises(ValueError, match="does not verify"):
        verify_checkpoint(f"{body}\n\n{witness_line}{tamper(our_line)}", KEY.public_key(), ORIGIN)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"{ORIGIN}\n0300\n{base64.b64encode(bytes(32)).decode()}\n", "leading zeroes"),
        (f"{ORIGIN}\n+3\n{base64.b64encode(bytes(32)).decode()}\n", "not a decimal"),
        (f"{ORIGIN}\n3\n{base64.b64encode(bytes(31)).decode()}\n", "32 bytes, not 31"),
        (f"{ORIGIN}\n3\n{base64.b64encode(bytes(32)).decode()[:-1]}\n", "not valid base64"),
        (f"{ORIGIN}\n3\n", "needs an origin, a tree size and a root hash"),
        (f"{ORIGIN}\n3\n{base64.b64encode(bytes(32)).decode()}\nextra\n", "extension lines"),
        (f"{ORIGIN}\n{2**64}\n{base64.b64encode(bytes(32)).decode()}\n", "not a decimal"),
    ],
)
def test_malformed_checkpoint_bodies_are_rejected(text: str, message: str) -> None:
    note = sign_note(text, KEY, ORIGIN)  # validly signed, so only the body is at fault
    with pytest.raises(ValueError, match=message):
        verify_checkpoint(note, KEY.public_key(), ORIGIN)


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (lambda n: n.replace("\n\n", "\n"), "no blank line"),
        (lambda n: n[:-1], "must end with a newline"),
        (lambda n: n.replace("\u2014 ", "- "), "malformed signature line"),
        (lambda n: n.replace("\u2014 ", "\u2014  "), "malformed signature line"),
        (lambda n: n + "\n", "must end with a newline"),
        (lambda n: n.replace("\n300\n", "\n300\r\n"), "control character"),
        (lambda n: n[:-2] + "!\n", "not valid base64"),
    ],
)
def test_malformed_notes_are_rejected(mangle: Callable[[str], str], message: str) -> None:
    note = sign_checkpoint(CP, KEY, ORIGIN)
    with pytest.raises(ValueError, match=message):
        verify_checkpoint(mangle(note), KEY.public_key(), ORIGIN)


def test_too_many_signatures_are_rejected() -> None:
    note = sign_checkpoint(CP, KEY, ORIGIN)
    line = note.split("\n\n")[1]
    with pytest.raises(ValueError, match="more than 32"):
        verify_checkpoint(note + line * 32, KEY.public_key(), ORIGIN)


@pytest.mark.parametrize("name", ["", "has space", "a+b", "tab\there", "nbsp\u00a0here"])
def test_bad_key_names_are_refused(name: str) -> None:
    with pytest.raises(ValueError, match="key name"):
        sign_checkpoint(CP, KEY, name)


@pytest.mark.parametrize(
    ("origin", "size", "tree_root", "message"),
    [
        ("", 1, bytes(32), "origin"),
        ("a\nb", 1, bytes(32), "origin"),
        ("log", -1, bytes(32), "tree size"),
        ("log", 2**64, bytes(32), "tree size"),
        ("log", True, bytes(32), "tree size"),
        ("log", 1, bytes(31), "32 bytes, not 31"),
    ],
)
def test_checkpoint_fields_are_validated(
    origin: str, size: int, tree_root: bytes, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Checkpoint(origin, size, tree_root)


def test_sign_note_refuses_text_without_final_newline() -> None:
    with pytest.raises(ValueError, match="end with a newline"):
        sign_note("no newline", KEY, ORIGIN)


# --- the package boundary ----------------------------------------------------------------------


def test_merkle_imports_only_the_standard_library_and_cryptography() -> None:
    tree = ast.parse(Path(consent.merkle.__file__).read_text())
    imported = {
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.Import)
        for alias in node.names
    }
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    roots = {name.split(".")[0] for name in imported}
    assert roots <= {
        "__future__",
        "base64",
        "binascii",
        "hashlib",
        "re",
        "collections",
        "dataclasses",
        "cryptography",
    }


def test_a_restored_tree_continues_where_it_stopped():
    from consent.merkle import CompactTree, leaf_hash, root

    leaves = [leaf_hash(bytes([i])) for i in range(37)]
    first = CompactTree()
    first.extend(leaves[:21])
    again = CompactTree.restore(first.size, first.frontier)
    again.extend(leaves[21:])
    assert again.root() == root(leaves)
    with pytest.raises(ValueError):
        CompactTree.restore(21, first.frontier[:-1])
