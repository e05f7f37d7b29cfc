"""What an erasure claims, signed: the detail of an ``erased`` entry (pure functions).

Retention (``retention.py``) records an ``erased`` entry before it empties a payload or redacts
entries. Its detail names everything it erases: the payloads (``payloads``: their SHA-256) and
the entries it redacts (``entries``: ``[seq, private digest]`` pairs, all earlier entries of the
same message). The detail is signed with the checkpoint key over the message id and the detail
(``signature``, ``key_id``), so only the holder of that key can make an erasure that
``ledger verify`` accepts: a row set to redacted, or a payload emptied, by someone with only
database access, shows as a problem however they dress it up.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

from gateway.ledger.checkpoint import Signer, Verifier
from gateway.ledger.records import canonical

CONTEXT = "ketenpoort erasure"
SIGNATURE = "signature"
KEY_ID = "key_id"


def body(message_id: str, detail: Mapping[str, Any]) -> bytes:
    """The signed bytes: the message id and the detail without its signature."""
    claim = {k: v for k, v in detail.items() if k != SIGNATURE}
    return canonical([CONTEXT, message_id, claim]).encode()


def signed(signer: Signer, message_id: str, detail: Mapping[str, Any]) -> dict[str, Any]:
    """``detail`` with the key id and a signature over it (and the message id)."""
    claim = {**detail, KEY_ID: signer.key_id}
    signature = signer.sign(body(message_id, claim))
    return {**claim, SIGNATURE: base64.b64encode(signature).decode()}


def signature_ok(verifier: Verifier, message_id: str, detail: Mapping[str, Any]) -> bool:
    text = detail.get(SIGNATURE)
    if not isinstance(text, str) or detail.get(KEY_ID) != verifier.key_id:
        return False
    try:
        signature = base64.b64decode(text, validate=True)
    except ValueError:
        return False
    return verifier.verify(body(message_id, detail), signature)


def redacted_entries(detail: Mapping[str, Any]) -> dict[int, str]:
    """``{seq: private digest}`` of the entries an erasure redacts (malformed pairs skipped:
    the entries they would name then count as redacted without an erasure)."""
    found: dict[int, str] = {}
    for pair in detail.get("entries") or ():
        if (
            isinstance(pair, list)
            and len(pair) == 2
            and isinstance(pair[0], int)
            and isinstance(pair[1], str)
        ):
            found[pair[0]] = pair[1]
    return found
