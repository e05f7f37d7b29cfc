"""VECOZO's rules for what we send and what we fetch.

- ConversatieId and TraceerId are UUID v4 (CC04); TraceerId is unique per AGB code (BRS114):
  ours is derived from the message id, so a re-send carries the same TraceerId.
- A heenbericht opens a conversation (ConversatieId = its TraceerId); an answer carries the
  heenbericht's ConversatieId and refers to its TraceerId (AlsAntwoordOp).
- The payload is a ZIP with exactly one XML file (``codec.unzip_payload``), at most 25 MB.
- A fetched payload has the size and SHA-256 checksum its metadata announces.
"""

from __future__ import annotations

import hashlib
from typing import Any

from adapters.lib.refs import is_uuid4
from adapters.vecozo.codec import MAX_PAYLOAD_BYTES, VecozoBericht


def problems(bericht: VecozoBericht, zipped_size: int) -> list[str]:
    found = []
    if not is_uuid4(bericht.conversatie_id):
        found.append("ConversatieId is not a UUID v4")
    if not is_uuid4(bericht.traceer_id):
        found.append("TraceerId is not a UUID v4")
    if bericht.als_antwoord_op and not is_uuid4(bericht.als_antwoord_op):
        found.append("AlsAntwoordOp is not a UUID v4")
    if zipped_size > MAX_PAYLOAD_BYTES:
        found.append(
            f"the payload is {zipped_size} bytes; VECOZO takes at most {MAX_PAYLOAD_BYTES}"
        )
    if not bericht.geadresseerden:
        found.append("no geadresseerde")
    return found


def download_problems(content: bytes, announced: Any) -> list[str]:
    """Does a downloaded payload match the ``HTTPSDownload`` (grootte, checksum) announced?"""
    found = []
    size = announced.get("grootte") if isinstance(announced, dict) else None
    if isinstance(size, int) and size != len(content):
        found.append(f"downloaded {len(content)} bytes; {size} were announced")
    checksum = announced.get("checksum") if isinstance(announced, dict) else None
    if isinstance(checksum, dict):
        algorithm = str(checksum.get("algoritme", "")).replace("-", "").lower()
        if algorithm != "sha256":
            found.append(f"checksum algorithm {checksum.get('algoritme')!r} is not SHA256")
        elif hashlib.sha256(content).hexdigest() != str(checksum.get("waarde", "")).lower():
            found.append("the SHA-256 checksum does not match")
    return found
