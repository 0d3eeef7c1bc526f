"""The consent ledger's append-only Merkle log, hashed exactly as RFC 9162 §2.1, and checkpoints.

Hashing is RFC 9162 (Certificate Transparency v2) §2.1.1, the same as RFC 6962: SHA-256,
a leaf is ``SHA-256(0x00 || data)``, an interior node ``SHA-256(0x01 || left || right)``,
and a list of ``n > 1`` leaves splits at ``k``, the largest power of two smaller than ``n``.
The empty tree's hash is ``SHA-256()`` of nothing.

* ``root``/``subtree_root``: the Merkle Tree Hash (MTH) by its recursive definition.
* ``inclusion_proof``/``verify_inclusion``: PATH of §2.1.3.1 and the verifier of §2.1.3.2.
* ``consistency_proof``/``verify_consistency``: PROOF/SUBPROOF of §2.1.4.1 and the verifier
  of §2.1.4.2. The verifiers follow the RFC's numbered steps literally; the only additions are
  the edge cases the RFC leaves undefined (empty old tree, equal sizes, sizes out of order).
* ``CompactTree``: the streaming builder that keeps only the right edge of the tree
  (one perfect-subtree hash per set bit of the size, so at most ``log2(n) + 1`` hashes).
* ``Checkpoint``: a tree head in the C2SP tlog-checkpoint form, signed as a C2SP signed note
  with Ed25519 (https://c2sp.org/tlog-checkpoint, https://c2sp.org/signed-note).

Proof generation reads leaf hashes through ``Sequence.__getitem__`` only, so a storage layer
can hand in a lazy sequence over its leaf-hash column. Costs are given per function.
``inclusion_ranges``/``consistency_ranges`` are the same recursions naming each hash of a
proof by its leaf range, so that a log can compute them from stored subtree hashes
(:mod:`consent.tiles`) and read O(log n) hashes instead of ``size``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "Checkpoint",
    "CompactTree",
    "consistency_proof",
    "consistency_ranges",
    "inclusion_proof",
    "inclusion_ranges",
    "key_id",
    "leaf_hash",
    "node_hash",
    "root",
    "sign_checkpoint",
    "sign_note",
    "subtree_root",
    "verify_checkpoint",
    "verify_consistency",
    "verify_inclusion",
    "verify_note",
]

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()
_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"
_sha256 = hashlib.sha256


# --- RFC 9162 §2.1.1: the Merkle Tree Hash ----------------------------------------------------


def leaf_hash(data: bytes) -> bytes:
    """``MTH({d}) = SHA-256(0x00 || d)``: the hash of one leaf's data."""
    return _sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 || left || right)``: the hash of an interior node."""
    return _sha256(_NODE_PREFIX + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``k < n <= 2k``), for ``n >= 2``."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of the whole list of leaf hashes; ``SHA-256()`` for an empty list. O(n) hashes."""
    return subtree_root(leaf_hashes, 0, len(leaf_hashes))


def subtree_root(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    """MTH(D[start:end]), by the recursive definition of §2.1.1.

    ``end - start - 1`` node hashes, recursion depth ``log2(end - start)``; reads only
    ``leaf_hashes[start:end]``, one item at a time.
    """
    if not 0 <= start <= end <= len(leaf_hashes):
        raise ValueError(f"range [{start}, {end}) is not within {len(leaf_hashes)} leaves")
    if start == end:
        return EMPTY_ROOT
    return _mth(leaf_hashes, start, end)


def _mth(leaf_hashes: Sequence[bytes], start: int, end: int) -> bytes:
    n = end - start
    if n == 1:
        return leaf_hashes[start]
    k = _split(n)
    return node_hash(_mth(leaf_hashes, start, start + k), _mth(leaf_hashes, start + k, end))


# --- RFC 9162 §2.1.3: inclusion proofs ---------------------------------------------------------


def inclusion_proof(leaf_hashes: Sequence[bytes], index: int, size: int) -> list[bytes]:
    """PATH(index, D[size]) of §2.1.3.1: the proof that leaf ``index`` is in the tree of ``size``.

    Uses ``leaf_hashes[:size]``. The proof's subtrees are disjoint, so generating it costs
    fewer than ``size`` node hashes (O(size)) and ``ceil(log2(size))`` hashes of memory.
    """
    _check_size(leaf_hashes, size)
    return [_mth(leaf_hashes, start, end) for start, end in inclusion_ranges(index, size)]


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """PATH(index, D[size]) with each ``MTH(D[start:end])`` named by its ``(start, end)``.

    The proof is the hashes of these leaf ranges, in this order, however they are
    computed: from the leaves, or from stored subtree hashes (:mod:`consent.tiles`).
    """
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is not in a tree of size {size}")
    return _path(index, 0, size)


def _path(m: int, start: int, end: int) -> list[tuple[int, int]]:
    """PATH(m, D[start:end]), with ``m`` counted from ``start``."""
    n = end - start
    if n == 1:
        return []
    k = _split(n)
    if m < k:
        return _path(m, start, start + k) + [(start + k, end)]
    return _path(m - k, start + k, end) + [(start, start + k)]


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether ``proof`` shows ``leaf_hash`` at ``index`` of the tree ``root`` of ``size``.

    RFC 9162 §2.1.3.2, step by step (``fn``, ``sn`` and ``r`` are the RFC's names).
    """
    # 1. If leaf_index >= tree_size, fail. (A negative index is refused as well.)
    if index < 0 or index >= size:
        return False
    # 2. Set fn to leaf_index and sn to tree_size - 1.
    fn, sn = index, size - 1
    # 3. Set r to hash.
    r = leaf_hash
    # 4. For each value p in the inclusion_path array:
    for p in proof:
        # a. If sn is 0, stop the iteration and fail the proof verification.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set r to HASH(0x01 || p || r).
            r = node_hash(p, r)
            # ii. If LSB(fn) is not set, right-shift fn and sn equally until either
            #     LSB(fn) is set or fn is 0.
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        # Otherwise: i. Set r to HASH(0x01 || r || p).
        else:
            r = node_hash(r, p)
        # c. Finally, right-shift both fn and sn one time.
        fn, sn = fn >> 1, sn >> 1
    # 5. The proof holds if sn is 0 and r equals the root hash.
    return sn == 0 and r == root


# --- RFC 9162 §2.1.4: consistency proofs -------------------------------------------------------


def consistency_proof(leaf_hashes: Sequence[bytes], old_size: int, new_size: int) -> list[bytes]:
    """PROOF(old_size, D[new_size]) of §2.1.4.1: the tree of ``old_size`` is a prefix of this one.

    Empty when there is nothing to prove (``old_size`` is 0 or equals ``new_size``). Uses
    ``leaf_hashes[:new_size]``; the subtrees are disjoint, so O(new_size) node hashes.
    """
    _check_size(leaf_hashes, new_size)
    ranges = consistency_ranges(old_size, new_size)
    return [_mth(leaf_hashes, start, end) for start, end in ranges]


def consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """PROOF(old_size, D[new_size]), each ``MTH(D[start:end])`` named by ``(start, end)``."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"old size {old_size} is not between 0 and the new size {new_size}")
    if old_size in (0, new_size):
        return []
    return _subproof(old_size, 0, new_size, True)


def _subproof(m: int, start: int, end: int, b: bool) -> list[tuple[int, int]]:
    """SUBPROOF(m, D[start:end], b); ``b`` says the subtree is the whole old tree's root path."""
    n = end - start
    if m == n:
        return [] if b else [(start, end)]
    k = _split(n)
    if m <= k:
        return _subproof(m, start, start + k, b) + [(start + k, end)]
    return _subproof(m - k, start + k, end, False) + [(start, start + k)]


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """Whether ``proof`` shows the tree (``old_size``, ``old_root``) is a prefix of the new one.

    ``0 < old_size < new_size`` is checked by RFC 9162 §2.1.4.2 literally. The RFC leaves the
    rest undefined; here the empty tree (whose hash must be ``SHA-256()``) is a prefix of
    every tree, a tree is consistent with itself, and both take an empty proof.
    """
    if old_size < 0 or old_size > new_size:
        return False
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    if old_size == new_size:
        return not proof and old_root == new_root
    return _rfc9162_verify_consistency(old_size, new_size, old_root, new_root, proof)


def _rfc9162_verify_consistency(
    first: int, second: int, first_hash: bytes, second_hash: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2 for ``0 < first < second``, with the RFC's names."""
    # 1. If consistency_path is an empty array, stop and fail the proof verification.
    if not proof:
        return False
    consistency_path = list(proof)
    # 2. If first is an exact power of 2, prepend first_hash to the consistency_path array.
    if first & (first - 1) == 0:
        consistency_path.insert(0, first_hash)
    # 3. Set fn to first - 1 and sn to second - 1.
    fn, sn = first - 1, second - 1
    # 4. If LSB(fn) is set, right-shift fn and sn equally until LSB(fn) is not set.
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    # 5. Set both fr and sr to the first value in the consistency_path array.
    fr = sr = consistency_path[0]
    # 6. For each subsequent value c in the consistency_path array:
    for c in consistency_path[1:]:
        # a. If sn is 0, stop the iteration and fail the proof verification.
        if sn == 0:
            return False
        # b. If LSB(fn) is set, or if fn is equal to sn, then:
        if fn & 1 or fn == sn:
            # i. Set fr to HASH(0x01 || c || fr).  ii. Set sr to HASH(0x01 || c || sr).
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            # iii. If LSB(fn) is not set, right-shift fn and sn equally until either
            #      LSB(fn) is set or fn is 0.
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        # Otherwise: i. Set sr to HASH(0x01 || sr || c).
        else:
            sr = node_hash(sr, c)
        # c. Finally, right-shift both fn and sn one time.
        fn, sn = fn >> 1, sn >> 1
    # 7. fr must equal first_hash, sr must equal second_hash, and sn must be 0.
    return fr == first_hash and sr == second_hash and sn == 0


def _check_size(leaf_hashes: Sequence[bytes], size: int) -> None:
    if not 0 < size <= len(leaf_hashes):
        raise ValueError(f"tree size {size} is not between 1 and {len(leaf_hashes)} leaves")


# --- The streaming builder ---------------------------------------------------------------------


class CompactTree:
    """An append-only Merkle tree that keeps only its right edge: O(log n) hashes.

    ``_frontier`` holds the roots of the perfect subtrees the leaves so far fall into, largest
    (leftmost) first, one per set bit of ``size``. Appending a leaf merges equal-sized
    subtrees like a binary counter carries (one node hash per append on average); ``root()``
    folds the frontier from the right, which is the §2.1.1 split into ``k`` and ``n - k``.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self) -> None:
        self._frontier: list[bytes] = []
        self._size = 0

    @property
    def size(self) -> int:
        """The number of leaves appended so far."""
        return self._size

    @property
    def frontier(self) -> list[bytes]:
        """The right edge, largest subtree first: with ``size``, all that must be stored."""
        return list(self._frontier)

    @classmethod
    def restore(cls, size: int, frontier: Sequence[bytes]) -> CompactTree:
        """Continue a tree from a stored ``size`` and :attr:`frontier`."""
        if size < 0 or len(frontier) != bin(size).count("1"):
            raise ValueError(
                f"a tree of size {size} has {bin(size).count('1')} edge hashes, not {len(frontier)}"
            )
        if any(len(h) != HASH_SIZE for h in frontier):
            raise ValueError(f"edge hashes are {HASH_SIZE} bytes")
        tree = cls()
        tree._frontier = list(frontier)
        tree._size = size
        return tree

    def append(self, leaf_hash: bytes) -> list[bytes]:
        """Add one leaf, given as its leaf hash (``leaf_hash(data)``).

        Returns the hashes of the perfect subtrees that this leaf completes, by height:
        item ``h`` is the MTH of the ``2**h`` leaves that end with this one (item 0 is the
        leaf hash itself). Those are the subtrees a log may store (:mod:`consent.tiles`).
        """
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash is {HASH_SIZE} bytes, not {len(leaf_hash)}")
        frontier = self._frontier
        node = leaf_hash
        completed = [node]
        carry = self._size
        while carry & 1:
            node = node_hash(frontier.pop(), node)
            completed.append(node)
            carry >>= 1
        frontier.append(node)
        self._size += 1
        return completed

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append every leaf hash in order."""
        for leaf in leaf_hashes:
            self.append(leaf)

    def root(self) -> bytes:
        """MTH of the leaves so far, equal to ``root(leaves)``; ``SHA-256()`` when empty."""
        if not self._frontier:
            return EMPTY_ROOT
        subtrees = reversed(self._frontier)
        node = next(subtrees)
        for left in subtrees:
            node = node_hash(left, node)
        return node


# --- C2SP signed notes (Ed25519) ---------------------------------------------------------------

_ED25519_TYPE = b"\x01"
_SIGNATURE_PREFIX = "\u2014 "  # em dash, space
_MAX_SIGNATURES = 32  # signed-note: verifiers MUST accept at least 16


def key_id(key_name: str, public_key: Ed25519PublicKey) -> bytes:
    """The 4-byte key ID: ``SHA-256(key name || 0x0A || 0x01 || public key)[:4]``."""
    raw = public_key.public_bytes(Encoding.Raw, PublicFormat.Raw)
    return _sha256(key_name.encode() + b"\n" + _ED25519_TYPE + raw).digest()[:4]


def sign_note(text: str, private_key: Ed25519PrivateKey, key_name: str) -> str:
    """``text`` as a C2SP signed note with one Ed25519 signature line by ``key_name``."""
    _check_key_name(key_name)
    _check_note_chars(text, "note text")
    if not text.endswith("\n"):
        raise ValueError("the note text must end with a newline")
    signature = private_key.sign(text.encode())
    blob = base64.b64encode(key_id(key_name, private_key.public_key()) + signature).decode()
    return f"{text}\n{_SIGNATURE_PREFIX}{key_name} {blob}\n"


def verify_note(note: str, public_key: Ed25519PublicKey, key_name: str) -> str:
    """The text of a signed note, once the signature by ``key_name``/``public_key`` verifies.

    Signatures by other keys are ignored, as signed-note requires. Raises ``ValueError``
    when the note is malformed, has no signature by this key, or that signature fails.
    """
    _check_key_name(key_name)
    _check_note_chars(note, "signed note")
    text, signatures = _split_note(note)
    wanted = key_id(key_name, public_key)
    ours = [sig for name, kid, sig in signatures if name == key_name and kid == wanted]
    if not ours:
        found = ", ".join(f"{name} ({kid.hex()})" for name, kid, _ in signatures)
        raise ValueError(
            f"the note has no signature by {key_name} ({wanted.hex()}); it is signed by {found}"
        )
    for signature in ours:
        try:
            public_key.verify(signature, text.encode())
        except InvalidSignature:
            raise ValueError(
                f"the signature by {key_name} does not verify: the note text was altered"
            ) from None
    return text


def _split_note(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """The text (with its final newline) and the (name, key ID, signature) of each line."""
    blank = note.rfind("\n\n")
    if blank < 0:
        raise ValueError("not a signed note: no blank line between the text and the signatures")
    text, block = note[: blank + 1], note[blank + 2 :]
    if not block.endswith("\n"):
        raise ValueError("not a signed note: the signature lines must end with a newline")
    lines = block[:-1].split("\n")
    if len(lines) > _MAX_SIGNATURES:
        raise ValueError(f"the note has {len(lines)} signatures, more than {_MAX_SIGNATURES}")
    return text, [_parse_signature_line(line) for line in lines]


def _parse_signature_line(line: str) -> tuple[str, bytes, bytes]:
    parts = line.removeprefix(_SIGNATURE_PREFIX).split(" ")
    if not line.startswith(_SIGNATURE_PREFIX) or len(parts) != 2 or not parts[0]:
        raise ValueError(f"malformed signature line {line!r}: expected '\u2014 <name> <base64>'")
    blob = _strict_b64decode(parts[1], "signature")
    if len(blob) < 5:
        raise ValueError(f"the signature by {parts[0]} is too short to hold a key ID")
    return parts[0], blob[:4], blob[4:]


def _check_key_name(key_name: str) -> None:
    if not key_name or "+" in key_name or any(c.isspace() or c < " " for c in key_name):
        raise ValueError(f"key name {key_name!r} must be non-empty, without spaces or '+'")


def _check_note_chars(note: str, what: str) -> None:
    if any(c < " " and c != "\n" for c in note):
        raise ValueError(f"the {what} contains a control character other than newline")
    try:
        note.encode()
    except UnicodeEncodeError:
        raise ValueError(f"the {what} is not valid UTF-8") from None


def _strict_b64decode(text: str, what: str) -> bytes:
    """Standard base64 (RFC 4648 §4), padded and canonical, or ``ValueError``."""
    try:
        data = base64.b64decode(text, validate=True)
    except binascii.Error:
        raise ValueError(f"the {what} is not valid base64: {text!r}") from None
    if base64.b64encode(data).decode() != text:
        raise ValueError(f"the {what} is not canonical base64: {text!r}")
    return data


# --- C2SP tlog-checkpoint ----------------------------------------------------------------------

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,19}")  # ASCII, no leading zeroes; fits uint64 below
_MAX_SIZE = 2**64 - 1


@dataclass(frozen=True)
class Checkpoint:
    """A signed tree head: the log's ``origin`` line, its tree ``size`` and ``root`` hash."""

    origin: str
    size: int
    root: bytes

    def __post_init__(self) -> None:
        if not self.origin or any(c < " " for c in self.origin):
            raise ValueError("the origin must be a non-empty line without control characters")
        if isinstance(self.size, bool) or not 0 <= self.size <= _MAX_SIZE:
            raise ValueError(f"the tree size {self.size!r} is not an unsigned 64-bit integer")
        if len(self.root) != HASH_SIZE:
            raise ValueError(f"the root hash is {HASH_SIZE} bytes, not {len(self.root)}")

    def body(self) -> bytes:
        """The note text: ``origin``, size in decimal, base64 root, each ending in a newline."""
        root_b64 = base64.b64encode(self.root).decode()
        return f"{self.origin}\n{self.size}\n{root_b64}\n".encode()


def sign_checkpoint(cp: Checkpoint, private_key: Ed25519PrivateKey, key_name: str) -> str:
    """The checkpoint as a C2SP signed note signed with Ed25519 by ``key_name``.

    tlog-checkpoint recommends that ``key_name`` be the checkpoint's origin.
    """
    return sign_note(cp.body().decode(), private_key, key_name)


def verify_checkpoint(note: str, public_key: Ed25519PublicKey, key_name: str) -> Checkpoint:
    """The checkpoint in a signed note, once its signature by ``key_name`` verifies.

    Raises ``ValueError`` on a bad or missing signature or a malformed body. The caller
    still has to check that ``origin`` names the log it expects.
    """
    return _parse_checkpoint(verify_note(note, public_key, key_name))


def _parse_checkpoint(text: str) -> Checkpoint:
    lines = text.split("\n")[:-1]  # the text ends with a newline
    if len(lines) < 3:
        raise ValueError("a checkpoint needs an origin, a tree size and a root hash line")
    if len(lines) > 3:
        raise ValueError("the checkpoint has extension lines, which this log does not accept")
    origin, size, root_b64 = lines
    if not _DECIMAL.fullmatch(size) or int(size) > _MAX_SIZE:
        raise ValueError(f"the tree size {size!r} is not a decimal without leading zeroes")
    return Checkpoint(origin, int(size), _strict_b64decode(root_b64, "root hash"))
