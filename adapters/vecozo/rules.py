"""VECOZO's rules for what we send and what we fetch. Rule ids (VZ01-VZ05) are ours; the code is
the foutcode VECOZO answers the same fault with (CC03, CC04), where there is one.

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
from gateway.adapter import Finding


def check(bericht: VecozoBericht, zipped_size: int) -> list[Finding]:
    """What we are about to send: its findings (empty: it may go)."""
    found = []
    for name, value in (
        ("ConversatieId", bericht.conversatie_id),
        ("TraceerId", bericht.traceer_id),
        ("AlsAntwoordOp", bericht.als_antwoord_op),
    ):
        if (value or name != "AlsAntwoordOp") and not is_uuid4(value):
            found.append(Finding("VZ01", "CC04", name, f"{name} is not a UUID v4"))
    if zipped_size > MAX_PAYLOAD_BYTES:
        text = f"the payload is {zipped_size} bytes; VECOZO takes at most {MAX_PAYLOAD_BYTES}"
        found.append(Finding("VZ02", "CC03", "Payload", text))
    if not bericht.geadresseerden:
        found.append(Finding("VZ03", "", "Geadresseerden", "no geadresseerde"))
    return found


def check_download(content: bytes, announced: Any) -> list[Finding]:
    """Does a downloaded payload match the ``HTTPSDownload`` (grootte, checksum) announced?"""
    found = []
    size = announced.get("grootte") if isinstance(announced, dict) else None
    if isinstance(size, int) and size != len(content):
        text = f"downloaded {len(content)} bytes; {size} were announced"
        found.append(Finding("VZ04", "", "HTTPSDownload/grootte", text))
    checksum = announced.get("checksum") if isinstance(announced, dict) else None
    if isinstance(checksum, dict):
        algorithm = str(checksum.get("algoritme", "")).replace("-", "").lower()
        if algorithm != "sha256":
            text = f"checksum algorithm {checksum.get('algoritme')!r} is not SHA256"
            found.append(Finding("VZ05", "", "HTTPSDownload/checksum", text))
        elif hashlib.sha256(content).hexdigest() != str(checksum.get("waarde", "")).lower():
            text = "the SHA-256 checksum does not match"
            found.append(Finding("VZ05", "", "HTTPSDownload/checksum", text))
    return found
