"""Reference numbers for counterparts: UUID v4, the same for the same message every time.

GGk and VECOZO require ``referentienummer``/``traceerId`` to be UUID v4 (the XSD checks the
pattern). A message sent again (a retry after a timeout) must carry the same reference, so the
hub recognises it, and a Du01 or Fo01 quoting it must lead back to the message. So references are
derived from the message id: a v4 message id is used as it is; any other id is hashed (SHA-256)
into the 122 free bits of a v4 UUID.
"""

from __future__ import annotations

import hashlib
import re
import uuid

UUID4 = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")


def is_uuid4(text: str) -> bool:
    return UUID4.match(text) is not None


def uuid4_for(*parts: str) -> str:
    """A UUID v4 (version and variant bits set) derived from ``parts``: same parts, same UUID."""
    if len(parts) == 1 and is_uuid4(parts[0]):
        return parts[0]
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()[:16]
    return str(uuid.UUID(bytes=digest, version=4))
