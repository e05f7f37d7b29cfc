"""The ledger: every step of every message, append-only and tamper-evident, payloads beside it.

One API for the whole gateway (:class:`Ledger`); the SQL behind it lives in ``ledger/sql.py``
and the two backends in ``ledger/backends/`` (SQLite, the embedded default, and PostgreSQL).
The ledger is the source of truth for a message's state: workers read a message's history to
stay idempotent, rules read earlier messages through :meth:`Ledger.find`, the sweeper publishes
what was recorded but never confirmed by the broker, operations search it.

Entries are the leaves of an RFC 9162 Merkle tree (``merkle.py``); signed checkpoints of the
tree (``checkpoint.py``) are kept in the database and exported to a file; ``audit.py`` verifies
the whole ledger against them and makes inclusion and consistency proofs; ``retention.py``
erases payloads and personal traffic data by policy while every proof keeps verifying.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from gateway.description import Description, Table
from gateway.envelope import Envelope

if TYPE_CHECKING:
    from gateway.config import Settings
    from gateway.ledger.checkpoint import Signer
    from gateway.ledger.sql import SqlLedger


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
    # Exchanged before Ketenpoort and recorded so that rules know it (``gateway/imports.py``).
    IMPORTED = "imported"
    ERASED = "erased"
    # Operations: someone saw the payload (who, which); a deadline passed without its answer;
    # its answer came after all, later than due (recorded by the deadline monitor).
    VIEWED = "viewed"
    OVERDUE = "overdue"
    ANSWERED_LATE = "answered-late"


# The direction of the gateway's records of its own operations (a bulk replay job, a monitor
# export): kept in the ledger like messages, but nothing that flowed.
OPERATIONS = "operations"

# The events that make a message count as an earlier message for rules and derivations: accepted
# by the gateway, or exchanged before it and imported (``gateway/imports.py``).
EARLIER = frozenset({Event.VALIDATED, Event.IMPORTED})


@dataclass(frozen=True)
class Entry:
    seq: int  # 1-based; the entry is leaf ``seq - 1`` of the Merkle tree
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
    # Business keys recorded with this entry; ``bsn`` values are keyed hashes, never BSNs.
    keys: Mapping[str, Sequence[str]] = field(default_factory=dict)
    # Personal traffic data (parties, detail, keys) was erased by a retention policy.
    redacted: bool = False


class Status(StrEnum):
    """Where a message stands, derived from its entries (``state.py``)."""

    RECEIVED = "received"  # recorded, no verdict yet
    FAILED = "failed"  # refused or rejected, and not going anywhere
    AWAITING_PUBLICATION = "awaiting-publication"  # verdict recorded, broker not yet confirmed
    PUBLISHED = "published"  # on the bus
    RETRYING = "retrying"  # a delivery attempt failed; the bus tries again
    DELIVERED = "delivered"  # handed over; no answer due
    AWAITING_ANSWER = "awaiting-answer"  # a heenbericht waiting for its retour
    ANSWERED = "answered"  # its retour was sent (inbound) or received (outbound)
    PARKED = "parked"  # out of attempts; operations decide
    DISCARDED = "discarded"  # operations gave up on it
    IMPORTED = "imported"  # exchanged before Ketenpoort; recorded, never sent by it


@dataclass(frozen=True)
class MessageState:
    """One message as the ledger sees it now (the ``messages`` table, derived from entries)."""

    message_id: str
    correlation_id: str
    direction: str
    route: str
    standard: str
    code: str
    sender: str
    receiver: str
    status: Status
    verdict: str  # "validated", "rejected" or "" (no verdict yet)
    expects_answer: bool
    answered_by: str | None  # the message id of the retour
    first_seq: int
    last_seq: int
    first_at: str
    last_at: str


@dataclass(frozen=True)
class Record:
    """One event to record (:meth:`Ledger.append_many`); the arguments of :meth:`Ledger.append`."""

    envelope: Envelope
    event: Event
    detail: Mapping[str, Any] | None = None
    payload: bytes | None = None
    description: Description | None = None


@dataclass(frozen=True)
class Query:
    """Search criteria; all given ones must hold. ``keys`` are business keys (``bsn`` plain:
    the ledger hashes it before looking it up). Times are ISO 8601 bounds on ``first_at``."""

    message_id: str | None = None
    correlation_id: str | None = None
    keys: Mapping[str, str] = field(default_factory=dict)
    party: str | None = None  # sender or receiver
    code: str | None = None
    status: Status | None = None
    since: str | None = None
    until: str | None = None
    limit: int = 100
    # Newest first; ``before_seq``: only messages first recorded before this entry (the next
    # page after a page whose oldest message has ``first_seq == before_seq``).
    before_seq: int | None = None


def time_bound(text: str) -> str:
    """A bound on ``first_at`` (``Query.since``, ``until``) in the ledger's form: an ISO 8601
    date-time or date, without a zone taken as UTC, as UTC with microseconds."""
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ValueError("expected an ISO 8601 date or date-time") from None
    aware = moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)
    return aware.astimezone(dt.UTC).isoformat(timespec="microseconds")


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
        """Record one event of the message ``envelope`` names (its id, correlation id, route
        and type); durable when this returns. For a message the ledger already holds, without
        its envelope at hand: :meth:`append_event`."""
        ...

    def append_event(
        self,
        message_id: str,
        event: Event,
        *,
        detail: Mapping[str, Any] | None = None,
        payload: bytes | None = None,
        description: Description | None = None,
    ) -> Entry:
        """Record one event on a message the ledger holds, named by its entries (its correlation
        id, direction and type: ``history.read_history``); durable when this returns.
        ``KeyError`` when the ledger has no entry of ``message_id``."""
        ...

    def append_many(self, records: Sequence[Record]) -> list[Entry]:
        """Record several events in one transaction (one fsync), in this order; durable when
        this returns. All or nothing: if it raises, none of them was recorded."""
        ...

    def histories(self, message_ids: Sequence[str]) -> dict[str, list[Entry]]:
        """:meth:`history` of several messages in one query (absent ids: no key)."""
        ...

    def history(self, message_id: str) -> list[Entry]:
        """All entries of one message, oldest first."""
        ...

    def payload(self, sha256: str) -> bytes | None:
        """A recorded payload (None if unknown or erased by retention)."""
        ...

    def find(self, key: str, value: str) -> Sequence[Entry]:
        """Entries indexed under a business key (``bsn`` values are hashed before lookup)."""
        ...

    def find_many(self, key: str, values: Sequence[str]) -> dict[str, list[Entry]]:
        """:meth:`find` of several values in one query (every value gets a key)."""
        ...

    def payloads(self, sha256s: Sequence[str]) -> dict[str, bytes]:
        """:meth:`payload` of several in one query (unknown or erased: no key)."""
        ...

    def domain_rows(self, table: Table, column: str, values: Sequence[str]) -> list[dict[str, Any]]:
        """Rows of a domain table whose ``column`` is one of ``values`` (``domain.py``)."""
        ...

    def personal(self, value: str) -> str:
        """The keyed hash a personal value is stored under (``bsn_hash_key``)."""
        ...

    def state(self, message_id: str) -> MessageState | None:
        """The message's current state, derived from its entries."""
        ...

    def search(self, query: Query) -> list[MessageState]:
        """Messages matching ``query``, newest first."""
        ...

    def awaiting_publication(self, older_than: float = 0.0) -> list[str]:
        """Message ids recorded for publication whose publication was never confirmed (with
        ``older_than``: only those whose latest entry is at least that many seconds old)."""
        ...

    def claim(self, message_ids: Sequence[str]) -> AbstractContextManager[set[str]]:
        """Hold messages for handing them over: yields the ids of ``message_ids`` this caller
        holds until the block ends; no other worker, in this process or any other on the
        ledger, holds them meanwhile. A claim whose holder died is free (PostgreSQL: a session
        advisory lock, gone with its session; SQLite: a row naming a process that is gone)."""
        ...

    # Whether this backend serves one gateway instance only (SQLite: ``ketenpoort run`` holds
    # the lease "instance" and a second one refuses to start).
    single_instance: bool

    def lease(self, name: str) -> Lease:
        """A lease on the duty ``name`` among every process using this ledger (see
        :class:`Lease`): the way a background duty that must run once is elected."""
        ...

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """A section only one process (or thread) at a time runs for ``name``, across every
        process using this ledger: yields True when this caller holds it, False (at once) when
        another does."""
        ...

    def checkpoint(self, *, force: bool = False) -> Any:
        """Sign and export a checkpoint if one is due (or ``force``); returns it or None."""
        ...

    def close(self) -> None: ...


class Lease(Protocol):
    """One process's hold on a duty that must run once among all processes on a ledger
    (the sweeper, the deadline monitor, the pollers, automatic checkpoints).

    PostgreSQL: a session advisory lock on a connection of the lease's own; the database
    frees it when the holder dies or its connection is cut, and another process takes it.
    SQLite (one instance): a lock file beside the database, freed by the kernel when the
    holder dies."""

    def acquire(self) -> bool:
        """Take the lease without waiting: True when this process holds it now."""
        ...

    def held(self) -> bool:
        """Whether the lease is still this process's (PostgreSQL: its connection answers)."""
        ...

    def release(self) -> None: ...


class LedgerError(RuntimeError):
    pass


class LedgerUnavailable(LedgerError):
    """The ledger cannot be opened: its database cannot be reached, is not a ledger, or (when
    it must exist) is not there. The text says which, and names the settings; no password."""


class AlreadyReceived(LedgerError):
    """A ``received`` entry for this message id was recorded before (a message id is received
    once: a second receive of it at the same moment, by another process or thread, loses)."""


def keyed_hash(key: str, value: str) -> str:
    """HMAC-SHA256 of a personal identifier: searchable, but not reversible without the key."""
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class LedgerOptions:
    """How a ledger signs, exports and seals; see :func:`options_from_settings`."""

    signer: Signer | None = None  # None: no automatic checkpoints (tests, read-only tools)
    checkpoint_every: int = 1000  # entries
    checkpoint_seconds: float = 60.0
    checkpoint_file: str | None = None  # JSON lines, one signed checkpoint per line
    witness: str | None = None  # another file, or an http(s) URL each checkpoint is POSTed to
    payload_key: bytes | None = None  # AES-256-GCM key for payloads at rest


def open_ledger(
    dsn: str, bsn_hash_key: str, options: LedgerOptions | None = None, *, create: bool = True
) -> SqlLedger:
    """``sqlite:///path`` (embedded default) or ``postgresql://...[?schema=name]``. With
    ``create=False`` a ledger that is not there yet is :class:`LedgerUnavailable` (a command
    reading the ledger must not start an empty one, and report on it, under a wrong setting)."""
    options = options or LedgerOptions()
    if dsn.startswith("sqlite:///"):
        from gateway.ledger.backends.sqlite import SqliteLedger

        return SqliteLedger(dsn.removeprefix("sqlite:///"), bsn_hash_key, options, create=create)
    if dsn.startswith(("postgresql://", "postgres://")):
        try:
            from gateway.ledger.backends.postgres import PostgresLedger
        except ImportError as exc:  # psycopg comes with the extra, not with the gateway
            raise LedgerUnavailable(
                "a postgresql:// ledger needs the PostgreSQL driver, which is not installed: "
                "pip install 'ketenpoort[postgres]'"
            ) from exc
        return PostgresLedger(dsn, bsn_hash_key, options, create=create)
    raise LedgerError(f"unsupported ledger url {dsn.split(':', 1)[0]}://...")


def no_sqlite_ledger(dsn: str) -> LedgerUnavailable | None:
    """The error for a SQLite ledger file that is not there (None: it is, or not SQLite)."""
    path = dsn.removeprefix("sqlite:///") if dsn.startswith("sqlite:///") else None
    if path is None or path == ":memory:" or Path(path).exists():
        return None
    return LedgerUnavailable(
        f"no ledger at {path} (settings var_dir, ledger_url): are these the installation's "
        "settings (--config, KETENPOORT_CONFIG)?"
    )


def options_from_settings(settings: Settings) -> LedgerOptions:
    from gateway.errors import ConfigError
    from gateway.ledger.checkpoint import load_signer
    from gateway.ledger.payloads import parse_key

    key = settings.ledger_checkpoint_key
    key_file = (
        None if key.startswith(("ed25519:", "hmac:")) else Path(key or settings.ledger_key_path)
    )
    if key_file is not None and key_file.resolve().is_relative_to(settings.drop_dir.resolve()):
        raise ConfigError(
            f"ledger_checkpoint_key: the key file {key_file} lies in the file drop folder "
            f"{settings.drop_dir}, which the gateway reads messages from; keep it elsewhere"
        )
    try:
        signer = load_signer(key, settings.ledger_key_path)
    except (ValueError, OSError) as exc:
        raise ConfigError(f"ledger_checkpoint_key: {exc}") from None
    return LedgerOptions(
        signer=signer,
        checkpoint_every=settings.ledger_checkpoint_every,
        checkpoint_seconds=settings.ledger_checkpoint_seconds,
        checkpoint_file=str(settings.ledger_checkpoint_path),
        witness=settings.ledger_checkpoint_witness or None,
        payload_key=parse_key(settings.ledger_payload_key),
    )


def ledger_from_settings(settings: Settings, *, create: bool = True) -> SqlLedger:
    """The gateway's ledger, configured from settings (``ledger.*``); ``create=False`` for a
    command that reads an existing ledger (see :func:`open_ledger`)."""
    missing = None if create else no_sqlite_ledger(settings.ledger_dsn)
    if missing is not None:  # before the options: they would make a checkpoint key
        raise missing
    return open_ledger(
        settings.ledger_dsn, settings.bsn_hash_key, options_from_settings(settings), create=create
    )
