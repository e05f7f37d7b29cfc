"""How an entry becomes a Merkle leaf: canonical bytes, pure functions.

A leaf commits to every column of an entry: the public part (sequence number, ids, event, time,
route, message type, payload hash) as itself, the personal traffic data (parties, detail,
business keys with hashed BSNs) through its own digest, so retention can erase that part and
keep the digest: the leaf, the tree and every proof stay the same (``retention.py``). A redacted
row shows nothing of its private part (``REDACTED``) and keeps the digest in ``private_hash``.

The leaf starts with the format it was written in. ``ketenpoort/2`` (this version) differs from
``ketenpoort/1`` only in that marker, and what the marker promises: from the first entry of
format 2 on, every erasure is signed (``erasure.py``), and no entry of format 1 follows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from hashlib import sha256
from typing import Any

from gateway.ledger import merkle

FORMAT = "ketenpoort/2"
LEGACY_FORMAT = "ketenpoort/1"  # ledgers written before erasures were signed

# What a redacted row holds in its private columns (sender, receiver, detail, keys).
REDACTED = ("", "", "{}", "{}")


_CANONICAL = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str
).encode  # made once: json.dumps with these options builds an encoder on every call


def canonical(value: Any) -> str:
    return _CANONICAL(value)


def canonical_flat(values: Sequence[Any]) -> str:
    """:func:`canonical` of a list of texts, integers and None, byte for byte, without the
    encoder's set-up per call (every entry hashes two such lists); anything else in it goes
    to :func:`canonical`."""
    parts = []
    for value in values:
        kind = value.__class__
        if kind is str:
            parts.append(_TEXT(value))
        elif kind is int:
            parts.append(int.__repr__(value))
        elif value is None:
            parts.append("null")
        else:
            return canonical(list(values))
    return "[" + ",".join(parts) + "]"


_TEXT = json.encoder.encode_basestring  # a JSON string as ensure_ascii=False writes it


def private_digest(sender: str, receiver: str, detail: str, keys: str) -> str:
    """SHA-256 over the erasable part of an entry (``detail`` and ``keys`` as stored text)."""
    return sha256(canonical_flat((sender, receiver, detail, keys)).encode()).hexdigest()


def leaf_data(
    seq: int,
    message_id: str,
    correlation_id: str,
    event: str,
    at: str,
    route: str,
    standard: str,
    code: str,
    version: str,
    payload_sha256: str | None,
    private: str,
    form: str = FORMAT,
) -> bytes:
    return canonical_flat(
        (
            form,
            seq,
            message_id,
            correlation_id,
            event,
            at,
            route,
            standard,
            code,
            version,
            payload_sha256,
            private,
        )
    ).encode()


# Column order of an entry row as every query in ``sql.py`` selects it.
COLUMNS = (
    "seq, message_id, correlation_id, event, at, route, standard, code, version, sender, "
    "receiver, detail, payload_sha256, keys, leaf_hash, private_hash, redacted"
)


def row_private(row: Sequence[Any]) -> str:
    """The digest of a row's private part: kept (redacted) or recomputed from its columns."""
    return str(row[15]) if row[16] else private_digest(row[9], row[10], row[11], row[13])


def row_leaf(row: Sequence[Any], form: str = FORMAT) -> bytes:
    """The leaf hash recomputed from a stored row (``COLUMNS`` order)."""
    return merkle.leaf_hash(
        leaf_data(
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            row[5],
            row[6],
            row[7],
            row[8],
            row[12],
            row_private(row),
            form,
        )
    )
