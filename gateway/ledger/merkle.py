"""The ledger's Merkle tree: RFC 9162 (Certificate Transparency 2.0) §2.1, as pure functions.

Leaves are hashed as ``SHA-256(0x00 || data)``, interior nodes as ``SHA-256(0x01 || left ||
right)``; the tree over ``n`` leaves splits at the largest power of two below ``n``. This module
knows nothing about the database: it works on lists of leaf hashes.

- :func:`root` is the tree head (MTH) of a list of leaf hashes;
- :class:`Frontier` keeps the right edge of a growing tree (one hash per set bit of its size),
  so a checkpoint extends the previous one without re-reading the whole ledger;
- :func:`inclusion_proof` / :func:`verify_inclusion`: entry ``i`` is in the tree of size ``n``;
- :func:`consistency_proof` / :func:`verify_consistency`: the tree of size ``m`` is a prefix of
  the tree of size ``n`` (nothing before ``m`` was changed, removed or reordered).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256

EMPTY_ROOT = sha256(b"").digest()


def leaf_hash(data: bytes) -> bytes:
    return sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return sha256(b"\x01" + left + right).digest()


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


@dataclass
class Frontier:
    """The roots of the perfect subtrees making up a tree of ``size`` leaves, largest first."""

    size: int = 0
    hashes: list[bytes] = field(default_factory=list)

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        self.size += 1
        n = self.size
        while not n & 1:
            right = self.hashes.pop()
            self.hashes[-1] = node_hash(self.hashes[-1], right)
            n >>= 1

    def extend(self, leaves: Iterable[bytes]) -> None:
        for leaf in leaves:
            self.append(leaf)

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        result = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            result = node_hash(left, result)
        return result

    def copy(self) -> Frontier:
        return Frontier(self.size, list(self.hashes))


def root(leaves: Sequence[bytes], lo: int = 0, hi: int | None = None) -> bytes:
    """MTH of ``leaves[lo:hi]``."""
    frontier = Frontier()
    frontier.extend(leaves[lo : len(leaves) if hi is None else hi])
    return frontier.root()


def inclusion_proof(index: int, leaves: Sequence[bytes], size: int | None = None) -> list[bytes]:
    """PATH(index, D[size]) of RFC 9162 §2.1.3.1 (``size`` defaults to ``len(leaves)``)."""
    n = len(leaves) if size is None else size
    if not 0 <= index < n <= len(leaves):
        raise ValueError(f"no leaf {index} in a tree of size {n}")
    proof: list[bytes] = []
    lo, hi, m = 0, n, index
    while hi - lo > 1:
        k = _split(hi - lo)
        if m < k:
            proof.append(root(leaves, lo + k, hi))
            hi = lo + k
        else:
            proof.append(root(leaves, lo, lo + k))
            lo, m = lo + k, m - k
    proof.reverse()
    return proof


def consistency_proof(
    old_size: int, leaves: Sequence[bytes], size: int | None = None
) -> list[bytes]:
    """PROOF(old_size, D[size]) of RFC 9162 §2.1.4.1."""
    n = len(leaves) if size is None else size
    if not 0 <= old_size <= n <= len(leaves):
        raise ValueError(f"no consistency proof from size {old_size} to {n}")
    if old_size in (0, n):
        return []
    proof: list[bytes] = []
    lo, hi, m, whole = 0, n, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            proof.append(root(leaves, lo + k, hi))
            hi = lo + k
        else:
            proof.append(root(leaves, lo, lo + k))
            lo, m, whole = lo + k, m - k, False
    if not whole:
        proof.append(root(leaves, lo, hi))
    proof.reverse()
    return proof


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes | None:
    """The root that ``proof`` leads to from ``leaf`` (RFC 9162 §2.1.3.2), or None if malformed."""
    if not 0 <= index < size:
        return None
    fn, sn, result = index, size - 1, leaf
    for sibling in proof:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            result = node_hash(sibling, result)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            result = node_hash(result, sibling)
        fn >>= 1
        sn >>= 1
    return result if sn == 0 else None


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    return root_from_inclusion(index, size, leaf, proof) == expected_root


def verify_consistency(
    old_size: int, size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2: the tree ``old_root`` of ``old_size`` is a prefix of ``new_root``."""
    if not 0 <= old_size <= size:
        return False
    if old_size == size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof and old_root == EMPTY_ROOT
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is a node of the new tree
        path.insert(0, old_root)
    if not path:
        return False
    fn, sn = old_size - 1, size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    first = second = path[0]
    for node in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            first = node_hash(node, first)
            second = node_hash(node, second)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            second = node_hash(second, node)
        fn >>= 1
        sn >>= 1
    return sn == 0 and first == old_root and second == new_root
