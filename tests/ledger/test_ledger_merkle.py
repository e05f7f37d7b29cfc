"""The Merkle tree against RFC 6962/9162 test vectors and an independent recomputation.

The reference functions below follow the RFC's recursive definitions literally (MTH, PATH,
SUBPROOF) over the leaf *data*; the module under test works iteratively over leaf hashes.
"""

from __future__ import annotations

from hashlib import sha256

from hypothesis import given, settings
from hypothesis import strategies as st

from gateway.ledger import merkle

# Certificate Transparency reference inputs and tree heads (RFC 6962 test data).
DATA = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
INCLUSION = [  # (leaf index, tree size, path)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [  # (old size, new size, path)
    (1, 1, []),
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
LEAVES = [merkle.leaf_hash(d) for d in DATA]


# -- the RFC's definitions, recursive and over data (the oracle) ----------------------------


def _k(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(data: list[bytes]) -> bytes:
    if not data:
        return sha256(b"").digest()
    if len(data) == 1:
        return sha256(b"\x00" + data[0]).digest()
    k = _k(len(data))
    return sha256(b"\x01" + ref_mth(data[:k]) + ref_mth(data[k:])).digest()


def ref_path(m: int, data: list[bytes]) -> list[bytes]:
    if len(data) == 1:
        return []
    k = _k(len(data))
    if m < k:
        return [*ref_path(m, data[:k]), ref_mth(data[k:])]
    return [*ref_path(m - k, data[k:]), ref_mth(data[:k])]


def ref_subproof(m: int, data: list[bytes], whole: bool) -> list[bytes]:
    n = len(data)
    if m == n:
        return [] if whole else [ref_mth(data)]
    k = _k(n)
    if m <= k:
        return [*ref_subproof(m, data[:k], whole), ref_mth(data[k:])]
    return [*ref_subproof(m - k, data[k:], False), ref_mth(data[:k])]


# -- vectors ---------------------------------------------------------------------------------


def test_tree_heads_match_the_rfc_vectors() -> None:
    for n in range(len(DATA) + 1):
        assert merkle.root(LEAVES[:n]).hex() == ROOTS[n]
        frontier = merkle.Frontier()
        frontier.extend(LEAVES[:n])
        assert frontier.root().hex() == ROOTS[n]


def test_inclusion_proofs_match_the_rfc_vectors() -> None:
    for index, size, path in INCLUSION:
        proof = merkle.inclusion_proof(index, LEAVES[:size])
        assert [p.hex() for p in proof] == path
        root = bytes.fromhex(ROOTS[size])
        assert merkle.verify_inclusion(index, size, LEAVES[index], proof, root)


def test_consistency_proofs_match_the_rfc_vectors() -> None:
    for old, new, path in CONSISTENCY:
        proof = merkle.consistency_proof(old, LEAVES[:new])
        assert [p.hex() for p in proof] == path
        assert merkle.verify_consistency(
            old, new, proof, bytes.fromhex(ROOTS[old]), bytes.fromhex(ROOTS[new])
        )


# -- properties against the recursive definitions ---------------------------------------------

# Distinct leaves: with equal leaves a proof for one position is rightly valid for another.
blobs = st.lists(st.binary(max_size=8), min_size=1, max_size=70, unique=True)


@settings(max_examples=60, deadline=None)
@given(data=blobs, pick=st.integers(min_value=0))
def test_inclusion_agrees_with_the_definition(data: list[bytes], pick: int) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    n, m = len(data), pick % len(data)
    root = ref_mth(data)
    assert merkle.root(leaves) == root
    proof = merkle.inclusion_proof(m, leaves)
    assert proof == ref_path(m, data)
    assert merkle.verify_inclusion(m, n, leaves[m], proof, root)
    # a wrong leaf, index, size, root or path fails
    assert not merkle.verify_inclusion(m, n, merkle.leaf_hash(data[m] + b"x"), proof, root)
    assert not merkle.verify_inclusion(m, n, leaves[m], proof, ref_mth([*data, b"more"]))
    if n > 1:
        assert not merkle.verify_inclusion((m + 1) % n, n, leaves[m], proof, root)
        bad = [*proof[:-1], bytes([proof[-1][0] ^ 1]) + proof[-1][1:]]
        assert not merkle.verify_inclusion(m, n, leaves[m], bad, root)
        assert not merkle.verify_inclusion(m, n, leaves[m], proof[:-1], root)


@settings(max_examples=60, deadline=None)
@given(data=blobs, pick=st.integers(min_value=0))
def test_consistency_agrees_with_the_definition(data: list[bytes], pick: int) -> None:
    leaves = [merkle.leaf_hash(d) for d in data]
    n = len(data)
    m = 1 + pick % n
    proof = merkle.consistency_proof(m, leaves)
    assert proof == ([] if m == n else ref_subproof(m, data, True))
    old_root, new_root = ref_mth(data[:m]), ref_mth(data)
    assert merkle.verify_consistency(m, n, proof, old_root, new_root)
    if m < n:
        # an old tree that differs in one leaf is not a prefix
        changed = [*data[: m - 1], data[m - 1] + b"!"]
        assert not merkle.verify_consistency(m, n, proof, ref_mth(changed), new_root)
        assert not merkle.verify_consistency(m, n, proof[:-1], old_root, new_root)
        assert not merkle.verify_consistency(m, n, proof, old_root, old_root)


def test_frontier_extends_from_any_size() -> None:
    leaves = [merkle.leaf_hash(bytes([i])) for i in range(100)]
    for cut in (0, 1, 7, 64, 99):
        frontier = merkle.Frontier()
        frontier.extend(leaves[:cut])
        resumed = merkle.Frontier(frontier.size, list(frontier.hashes))
        resumed.extend(leaves[cut:])
        assert resumed.root() == ref_mth([bytes([i]) for i in range(100)])
