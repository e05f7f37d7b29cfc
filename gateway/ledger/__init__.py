"""The ledger: every step of every message, append-only, with the raw payloads beside it.

One API for the whole gateway (:class:`Ledger`); backends live in ``ledger/backends/``. The
ledger is the source of truth for a message's state: workers read a message's history to stay
idempotent, rules read earlier messages through :meth:`Ledger.find`, and the sweeper publishes
what was recorded but never confirmed by the broker.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from gateway.adapter import Description
from gateway.envelope import Envelope


class Event(StrEnum):
    RECEIVED = "received"
    MAPPED = "mapped"
    VALIDATED = "validated"
    REJECTED = "rejected"
    PUBLISHED = "published"
    DELIVERED = "delivered"
    RETOUR_SENT = "retour-sent"
    RETRIED = "retried"
    PARKED = "parked"
    REPLAYED = "replayed"
    DISCARDED = "discarded"
    ERASED = "erased"


@dataclass(frozen=True)
class Entry:
    seq: int
    message_id: str
    correlation_id: str
    event: Event
    at: str  # ISO 8601, UTC
    route: str
    standard: str
    code: str
    version: str
    sender: str
    receiver: str
    detail: Mapping[str, Any] = field(default_factory=dict)
    payload_sha256: str | None = None


class Ledger(Protocol):
    def append(
        self,
        envelope: Envelope,
        event: Event,
        *,
        detail: Mapping[str, Any] | None = None,
        payload: bytes | None = None,
        description: Description | None = None,
    ) -> Entry:
        """Record one event; durable when this returns."""
        ...

    def history(self, message_id: str) -> list[Entry]:
        """All entries of one message, oldest first."""
        ...

    def payload(self, sha256: str) -> bytes | None: ...

    def find(self, key: str, value: str) -> Sequence[Entry]:
        """Entries indexed under a business key (``bsn`` values are hashed before lookup)."""
        ...

    def awaiting_publication(self) -> list[str]:
        """Message ids recorded for publication whose publication was never confirmed."""
        ...

    def close(self) -> None: ...


class LedgerError(RuntimeError):
    pass


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 of a personal identifier: searchable, but not reversible without the key."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


def open_ledger(dsn: str, bsn_hash_key: str) -> Ledger:
    """``sqlite:///path`` (embedded default) or ``postgresql://...`` (scale-out, issue #5)."""
    if dsn.startswith("sqlite:///"):
        from gateway.ledger.backends.sqlite import SqliteLedger

        return SqliteLedger(dsn.removeprefix("sqlite:///"), bsn_hash_key)
    raise LedgerError(f"unsupported ledger url {dsn.split(':', 1)[0]}://...")
