"""The envelope: one message's raw bytes plus what the gateway knows about it.

An envelope is immutable; each step returns a new one (``dataclasses.replace``) when it learns
something (the message type after identify, the verdict after validate).
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from gateway.logs import mask_bsns


class Direction(StrEnum):
    """Seen from our organisation: ``outbound`` goes to a counterpart, ``inbound`` came from one."""

    OUTBOUND = "outbound"
    INBOUND = "inbound"


@dataclass(frozen=True, order=True)
class MessageType:
    """What identify found: e.g. standard ``iwmo``, code ``WMO301``, version ``3.2``."""

    standard: str
    code: str
    version: str

    def __str__(self) -> str:
        return f"{self.standard} {self.version} {self.code}"


def new_id() -> str:
    return str(uuid.uuid4())


# Message and correlation ids a sender may choose: a UUID, or letters, digits and ``._:-``, at
# most 128 characters, not starting with a dot. Ids become file names (the outbox), log fields
# and ledger keys; no other character is needed for that and any other one can be trouble.
ID_MAX = 128
_SAFE_ID = re.compile(r"[A-Za-z0-9_:-][A-Za-z0-9._:-]{0,127}")


class BadId(ValueError):
    """An id that is not a UUID nor of the safe charset; the text does not quote it."""


def checked_id(value: str, what: str = "message id") -> str:
    """``value`` if it is a safe id (a UUID in its usual form is one); else :class:`BadId`.
    Every door checks the ids a sender chose with this. An id that is not a UUID and holds a
    nine-digit number passing the 11-proef (a BSN, perhaps) is refused too: ids are shown and
    logged and name files where no personal data may be."""
    if not _SAFE_ID.fullmatch(value):
        raise BadId(
            f"{what} must be a UUID or at most {ID_MAX} of the characters A-Z a-z 0-9 . _ : - "
            "(not starting with a dot)"
        )
    if mask_bsns(value) != value and not _is_uuid(value):
        raise BadId(f"{what} must not hold a BSN (a nine-digit number passing the 11-proef)")
    return value


# A content type a sender gives (an HTTP header, a batch item's field, an AMQP property): a
# media type and its parameters in printable ASCII, short enough for every place it goes (an
# AMQP short string holds 255 bytes: a longer one would be accepted and never published).
CONTENT_TYPE_MAX = 127
_CONTENT_TYPE = re.compile(rf"[\x21-\x7e][\x20-\x7e]{{0,{CONTENT_TYPE_MAX - 1}}}")


def checked_content_type(value: str, what: str = "content type") -> str:
    """``value`` if it is empty or a content type of at most :data:`CONTENT_TYPE_MAX`
    printable ASCII characters; else :class:`BadId` (not quoting it)."""
    if value and not _CONTENT_TYPE.fullmatch(value):
        raise BadId(f"{what} must be at most {CONTENT_TYPE_MAX} printable ASCII characters")
    return value


def _is_uuid(value: str) -> bool:
    try:
        return str(uuid.UUID(value)) == value.lower()
    except ValueError:
        return False


@dataclass(frozen=True)
class Envelope:
    body: bytes
    direction: Direction
    message_id: str = field(default_factory=new_id)
    correlation_id: str = ""
    content_type: str = "application/xml"
    message_type: MessageType | None = None
    # Where it came in: "http", "amqp", "file", "cli", or "gateway" for what we produce (retours).
    source: str = ""
    # The message this one answers or was made from (a retour's heenbericht), if any.
    parent_id: str | None = None
    # Who handed it in (an authenticated identity's name, or the identity a door is configured
    # to speak for; "" when the way in has none) and, when it may only send as certain parties,
    # which: receive refuses a message whose sender (the adapter's ``Description.sender``) is
    # not one of them (an empty set: every message). None: anyone (``parties=*``, a local-only
    # gateway without identities, or the gateway's own messages). Every door sets both.
    identity: str = ""
    may_send_as: frozenset[str] | None = None
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))

    def __post_init__(self) -> None:
        if not self.correlation_id:
            object.__setattr__(self, "correlation_id", self.message_id)

    @property
    def route(self) -> str:
        """``<direction>.<standard>.<code>``, or ``<direction>.unidentified`` before identify."""
        if self.message_type is None:
            return f"{self.direction}.unidentified"
        return f"{self.direction}.{self.message_type.standard}.{self.message_type.code}"


def record_envelope(
    message_id: str,
    message_type: MessageType | None = None,
    *,
    direction: Direction = Direction.OUTBOUND,
    correlation_id: str = "",
    content_type: str = "application/xml",
    source: str = "",
) -> Envelope:
    """An envelope without a body that only names a ledger record the gateway writes itself
    about something no door handed to receive: an operations record (a replay job, a monitor
    export) or bytes the parking recorder keeps that were never a message of the ledger. A
    message coming in gets its envelope from ``gateway.door.envelope_for``."""
    return Envelope(
        body=b"",
        direction=direction,
        message_id=message_id,
        correlation_id=correlation_id,
        content_type=content_type,
        message_type=message_type,
        source=source,
    )
