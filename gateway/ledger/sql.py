"""The ledger on a SQL database: everything the two backends share.

Tables (the backends create them; DDL differs only in types and triggers):

- ``entries``: one row per event, append-only (triggers refuse UPDATE and DELETE, except the
  redaction retention may do), ``seq`` gap-free from 1 in commit order, each with its Merkle
  ``leaf_hash`` (``records.py``);
- ``payloads``: raw bytes once per SHA-256, compressed and optionally encrypted; retention may
  empty ``content`` but never remove the row or change its hash;
- ``entry_keys``: business-key index (``bsn`` only as a keyed hash);
- ``messages``: each message's current state (``state.py``), derived, for search;
- ``counts``: entries per hour, route, counterpart and outcome (``counts.py``), derived;
- ``checkpoints``: signed tree heads, each with the tree's right edge (``merkle.Frontier``) so
  the next checkpoint only hashes the entries added since.

Appends use group commit: concurrent callers queue their entries, one of them writes the whole
queue in one transaction (one fsync), and every caller returns once its entry is durable.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from itertools import chain
from typing import Any

from gateway.description import Description, Table
from gateway.envelope import Envelope
from gateway.ledger import (
    EARLIER,
    AlreadyReceived,
    Entry,
    Event,
    Lease,
    LedgerError,
    LedgerOptions,
    MessageState,
    Query,
    Record,
    Status,
    counts,
    domain,
    keyed_hash,
    merkle,
    payloads,
)
from gateway.ledger.checkpoint import Checkpoint, export, sign, signature_ok, to_witness
from gateway.ledger.history import read_history
from gateway.ledger.reads import Reads
from gateway.ledger.records import (
    COLUMNS,
    LEGACY_FORMAT,
    REDACTED,
    canonical,
    leaf_data,
    private_digest,
    row_leaf,
)
from gateway.ledger.state import DESCRIBED, advance, answered
from gateway.ledger.written import Written
from gateway.logs import get_logger

log = get_logger(__name__)

# The business key a retour's ``Description.answers`` refers to (see gateway/adapter.py).
ANSWER_KEY = "BerichtIdentificatie"

_STATE_COLUMNS = (
    "message_id, correlation_id, direction, route, standard, code, sender, receiver, status, "
    "verdict, expects_answer, answered_by, first_seq, last_seq, first_at, last_at"
)
_UPSERT_STATE = (
    f"INSERT INTO messages ({_STATE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
    "?, ?) ON CONFLICT (message_id) DO UPDATE SET route = excluded.route, "
    "standard = excluded.standard, code = excluded.code, sender = excluded.sender, "
    "receiver = excluded.receiver, status = excluded.status, verdict = excluded.verdict, "
    "expects_answer = excluded.expects_answer, answered_by = excluded.answered_by, "
    "last_seq = excluded.last_seq, last_at = excluded.last_at"
)
_INSERT_ENTRY = (
    "INSERT INTO entries (seq, message_id, correlation_id, event, at, route, standard, code, "
    "version, sender, receiver, detail, payload_sha256, keys, leaf_hash, redacted) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)"
)


# An entry's detail as stored (made once: json.dumps with options builds an encoder per call).
_DETAIL = json.JSONEncoder(sort_keys=True, default=str).encode


_FIND_COLUMNS = ", ".join(f"e.{c.strip()}" for c in COLUMNS.split(","))
_FIND = (
    "SELECT " + _FIND_COLUMNS + " FROM entry_keys k JOIN entries e ON e.seq = k.seq "
    "WHERE k.key = ? AND k.value = ? ORDER BY k.seq"  # the index's order: no sort
)


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    """``values`` in slices small enough for one statement's parameters."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _json(text: str) -> Any:
    return {} if text == "{}" else json.loads(text)  # most entries have no keys, many no detail


def entry_from_row(row: Sequence[Any]) -> Entry:
    if row[16]:  # redacted: whatever the private columns hold is not shown (``verify`` judges it)
        row = (*row[:9], REDACTED[0], REDACTED[1], REDACTED[2], row[12], REDACTED[3], *row[14:])
    return Entry(
        seq=row[0],
        message_id=row[1],
        correlation_id=row[2],
        event=Event(row[3]),
        at=row[4],
        route=row[5],
        standard=row[6],
        code=row[7],
        version=row[8],
        sender=row[9],
        receiver=row[10],
        detail=_json(row[11]),
        payload_sha256=row[12],
        keys=_json(row[13]),
        redacted=bool(row[16]),
    )


def state_from_row(row: Sequence[Any]) -> MessageState:
    return MessageState(
        message_id=row[0],
        correlation_id=row[1],
        direction=row[2],
        route=row[3],
        standard=row[4],
        code=row[5],
        sender=row[6],
        receiver=row[7],
        status=Status(row[8]),
        verdict=row[9],
        expects_answer=bool(row[10]),
        answered_by=row[11],
        first_seq=row[12],
        last_seq=row[13],
        first_at=row[14],
        last_at=row[15],
    )


def _state_row(s: MessageState) -> tuple[Any, ...]:
    return (
        s.message_id,
        s.correlation_id,
        s.direction,
        s.route,
        s.standard,
        s.code,
        s.sender,
        s.receiver,
        s.status.value,
        s.verdict,
        int(s.expects_answer),
        s.answered_by,
        s.first_seq,
        s.last_seq,
        s.first_at,
        s.last_at,
    )


@dataclass
class _Pending:
    envelope: Envelope
    event: Event
    detail: str
    keys: str
    keys_value: dict[str, list[str]]  # ``keys`` as read back (json.loads of it)
    key_rows: list[tuple[str, str]]
    digest: str | None
    sealed: tuple[str, bytes, int] | None  # (sealing, stored bytes, plain size)
    description: Description | None
    entry: Entry | None = None


@dataclass
class _Group:
    """The entries of one ``append_many`` call: written together or not at all."""

    items: list[_Pending]
    done: bool = False
    error: BaseException | None = None


# A message id is received once: the database refuses a second ``received`` entry for it, so two
# receives of one message at the same moment cannot both record it (the loser answers from the
# winner's history). A ledger recorded before this index existed may hold such pairs; then the
# index cannot be made, which is logged, and that ledger works on without the guarantee.
RECEIVED_ONCE = "entries_received_once"
RECEIVED_ONCE_SQL = (
    f"CREATE UNIQUE INDEX IF NOT EXISTS {RECEIVED_ONCE} ON entries (message_id) "
    "WHERE event = 'received'"
)


class SqlLedger:
    """The :class:`gateway.ledger.Ledger` on a DB-API database; backends fill in the hooks."""

    def __init__(self, bsn_hash_key: str, options: LedgerOptions) -> None:
        self._bsn_key = bsn_hash_key
        self.options = options
        self._local = threading.local()
        self._all: list[Any] = []
        self._lock = threading.Lock()
        self._commit = threading.Lock()
        self._queue: list[_Group] = []
        # The newest checkpoint this process knows of: (size, when the tail after it began).
        self._last_checkpoint: tuple[int, datetime] | None = None
        self._checkpointing = threading.Lock()  # this process's threads make one at a time
        # What this process wrote since: the checkpoint need not hash those rows again.
        self._written = Written(limit=2 * options.checkpoint_every + 10_000)
        self._writer_conn = self._connect()
        self._create_schema(self._writer_conn)
        self._tables: set[Table] = set()  # domain tables known to exist (``domain.py``)

    # -- backend hooks ---------------------------------------------------------------------

    def _connect(self) -> Any:
        raise NotImplementedError

    def _create_schema(self, conn: Any) -> None:
        raise NotImplementedError

    def _transaction(self, conn: Any) -> AbstractContextManager[Any]:
        """A write transaction holding the ledger's append lock; yields a cursor."""
        raise NotImplementedError

    def _q(self, sql: str) -> str:
        """The statement in the driver's parameter style (written with ``?``)."""
        return sql

    def exclusive(self, name: str) -> AbstractContextManager[bool]:
        """See :meth:`gateway.ledger.Ledger.exclusive` (each backend has its own lock)."""
        raise NotImplementedError

    def claim(self, message_ids: Sequence[str]) -> AbstractContextManager[set[str]]:
        """See :meth:`gateway.ledger.Ledger.claim` (each backend has its own)."""
        raise NotImplementedError

    # Whether the backend serves one gateway instance only (SQLite, embedded).
    single_instance: bool = True
    # The names of the domain tables in the database (``domain.py``), one column.
    _DOMAIN_TABLES = ""

    def lease(self, name: str) -> Lease:
        """See :meth:`gateway.ledger.Ledger.lease` (each backend has its own)."""
        raise NotImplementedError

    def _received_twice(self, error: BaseException) -> bool:
        """Whether ``error`` is the database refusing a second ``received`` of a message id
        (the unique index ``entries_received_once``)."""
        return False

    def scan(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Any]]:
        """Stream the rows of a large read without holding them all in memory."""
        yield from self._conn().execute(self._q(sql), params)

    def snapshot(self) -> AbstractContextManager[Reads]:
        """Reads that all see the ledger as it was at one moment, on a connection of their own
        (``reads.py``); each backend has its own."""
        raise NotImplementedError

    # -- connections -----------------------------------------------------------------------

    # A connection the database closed (it restarted, or cut the session) is replaced on next
    # use: the call that found it broken failed (its caller retries), the next one reconnects.
    # (psycopg sets ``closed`` once a call found the connection lost; sqlite3 has no such state.)

    def _conn(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or getattr(conn, "closed", False):
            conn = self._connect()
            with self._lock:
                if getattr(self._local, "conn", None) in self._all:
                    self._all.remove(self._local.conn)
                self._all.append(conn)
            self._local.conn = conn
        return conn

    @property
    def _writer(self) -> Any:
        with self._lock:
            if getattr(self._writer_conn, "closed", False):
                self._writer_conn = self._connect()
            return self._writer_conn

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        return list(self._conn().execute(self._q(sql), params).fetchall())

    def close(self) -> None:
        with self._lock:
            for conn in [*self._all, self._writer_conn]:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- append (group commit) -------------------------------------------------------------

    def append(
        self,
        envelope: Envelope,
        event: Event,
        *,
        detail: Mapping[str, Any] | None = None,
        payload: bytes | None = None,
        description: Description | None = None,
    ) -> Entry:
        return self.append_many([Record(envelope, event, detail, payload, description)])[0]

    def append_event(
        self,
        message_id: str,
        event: Event,
        *,
        detail: Mapping[str, Any] | None = None,
        payload: bytes | None = None,
        description: Description | None = None,
    ) -> Entry:
        """See :meth:`gateway.ledger.Ledger.append_event`."""
        entries = self.history(message_id)
        if not entries:
            raise KeyError(message_id)
        record = read_history(entries).record(
            event, detail=detail, payload=payload, description=description
        )
        return self.append_many([record])[0]

    def append_many(self, records: Sequence[Record]) -> list[Entry]:
        """Record ``records`` in one transaction, in order; durable when this returns.

        Concurrent callers are merged (group commit): the first to get the commit lock writes
        every group queued so far in one transaction. A group is all or nothing: if the merged
        transaction fails, each group is tried alone, so one bad group fails only its caller.
        """
        if not records:
            return []
        group = _Group([self._prepare(r) for r in records])
        with self._lock:
            self._queue.append(group)
        size = 0
        with self._commit:
            if not group.done:
                with self._lock:
                    groups, self._queue = self._queue, []
                size = self._write_groups(groups)
        if size and self._checkpoint_due(size):
            self._checkpoint_quietly()  # after the commit: it never holds up other appends
        if group.error is not None:
            if self._received_twice(group.error):
                raise AlreadyReceived(str(group.error)) from group.error
            raise group.error
        return [p.entry for p in group.items if p.entry is not None]

    def _prepare(self, record: Record) -> _Pending:
        """Everything about an entry that needs no database: hashing, sealing, JSON."""
        keys: dict[str, list[str]] = {}
        description, payload = record.description, record.payload
        if description is not None:
            keys = {k: list(v) for k, v in description.keys.items() if v}
            if description.subjects:
                keys["bsn"] = [keyed_hash(self._bsn_key, s) for s in description.subjects]
        digest = sha256(payload).hexdigest() if payload is not None else None
        sealed = None
        if payload is not None and digest is not None:
            sealing, stored = payloads.seal(payload, digest, self.options.payload_key)
            sealed = (sealing, stored, len(payload))
        detail = dict(record.detail or {})
        if description is not None and (description.sender or description.receiver):
            described: dict[str, Any] = {"expects_answer": description.expects_answer}
            if description.answers:
                described["answers"] = description.answers
            detail[DESCRIBED] = described
        keys_value = {k: sorted(set(v)) for k, v in sorted(keys.items()) if v}
        return _Pending(
            envelope=record.envelope,
            event=record.event,
            detail=_DETAIL(detail),
            keys=canonical(keys_value) if keys_value else "{}",  # most entries name no keys
            keys_value=keys_value,
            key_rows=sorted({(k, v) for k, values in keys.items() for v in values}),
            digest=digest,
            sealed=sealed,
            description=description,
        )

    def _write_groups(self, groups: list[_Group]) -> int:
        """Write the groups; returns the ledger's size after the last one written (0: none)."""
        try:
            size = self._write([p for g in groups for p in g.items])
        except Exception as exc:
            if len(groups) == 1:
                groups[0].error = exc
                groups[0].done = True
                return 0
            # one bad group must not fail the others
            return max(self._write_groups([group]) for group in groups)
        for group in groups:
            group.done = True
        return size

    def _write(self, batch: list[_Pending]) -> int:
        entries: list[Entry] = []
        with self._transaction(self._writer) as cur:
            at = now()  # the entries committed together are recorded at one time
            cur.execute(self._q("SELECT COALESCE(MAX(seq), 0) FROM entries"))
            seq = int(cur.fetchone()[0])
            rows, key_rows, payload_rows = [], [], []
            for p in batch:
                seq += 1
                env, mt, d = p.envelope, p.envelope.message_type, p.description
                sender, receiver = (d.sender, d.receiver) if d else ("", "")
                entry = Entry(
                    seq=seq,
                    message_id=env.message_id,
                    correlation_id=env.correlation_id,
                    event=p.event,
                    at=at,
                    route=env.route,
                    standard=mt.standard if mt else "",
                    code=mt.code if mt else "",
                    version=mt.version if mt else "",
                    sender=sender,
                    receiver=receiver,
                    detail=json.loads(p.detail) if p.detail != "{}" else {},
                    payload_sha256=p.digest,
                    keys=p.keys_value,
                )
                private = private_digest(sender, receiver, p.detail, p.keys)
                leaf = merkle.leaf_hash(
                    leaf_data(
                        seq,
                        entry.message_id,
                        entry.correlation_id,
                        p.event.value,
                        entry.at,
                        entry.route,
                        entry.standard,
                        entry.code,
                        entry.version,
                        p.digest,
                        private,
                    )
                )
                rows.append(
                    (
                        seq,
                        entry.message_id,
                        entry.correlation_id,
                        p.event.value,
                        entry.at,
                        entry.route,
                        entry.standard,
                        entry.code,
                        entry.version,
                        sender,
                        receiver,
                        p.detail,
                        p.digest,
                        p.keys,
                        leaf,
                    )
                )
                key_rows += [(k, v, seq, entry.message_id) for k, v in p.key_rows]
                if p.sealed is not None:
                    sealing, stored, size = p.sealed
                    payload_rows.append((p.digest, size, sealing, stored))
                entries.append(entry)
            if payload_rows:
                cur.executemany(
                    self._q(
                        "INSERT INTO payloads (sha256, size, sealing, content) VALUES (?, ?, ?, ?) "
                        "ON CONFLICT (sha256) DO NOTHING"
                    ),
                    payload_rows,
                )
            cur.executemany(self._q(_INSERT_ENTRY), rows)
            if key_rows:
                cur.executemany(
                    self._q(
                        "INSERT INTO entry_keys (key, value, seq, message_id) VALUES (?, ?, ?, ?)"
                    ),
                    key_rows,
                )
            states = self._update_states(cur, batch, entries)
            made = self._write_domain(cur, batch, entries)
            tally = sorted(counts.tally(entries, states).items())  # in one order: no deadlock
            cur.executemany(self._q(counts.UPSERT), [(*key, n) for key, n in tally])
        self._tables |= made
        for p, entry in zip(batch, entries, strict=True):
            p.entry = entry
        if self.options.signer is not None:
            self._written.add(rows)  # committed
        return seq

    # -- domain tables (``domain.py``) -------------------------------------------------------

    def _write_domain(self, cur: Any, batch: list[_Pending], entries: list[Entry]) -> set[Table]:
        """Insert the rows the verdicts of this transaction carry; returns the tables made."""
        rows: dict[Table, list[Iterator[tuple[Any, ...]]]] = {}
        for p, entry in zip(batch, entries, strict=True):
            d = p.description
            if d is None or not d.rows or not domain.written(entry.event, entry.detail):
                continue
            for table, values in d.rows.items():
                if values:
                    made_rows = domain.prepared(entry, table, values, self.personal)
                    rows.setdefault(table, []).append(made_rows)
        made = set()
        for table in sorted(rows, key=lambda t: t.name):  # in one order: no deadlock
            if table not in self._tables:
                for statement in domain.create(table):
                    cur.execute(statement)
                made.add(table)
            cur.executemany(self._q(domain.insert(table)), chain.from_iterable(rows[table]))
        return made

    def personal(self, value: str) -> str:
        """See :meth:`gateway.adapter.State.personal`."""
        return keyed_hash(self._bsn_key, value)

    def ensure_tables(self, tables: Sequence[Table]) -> list[Table]:
        """Make the domain tables (and their indexes) that are not there yet; returns the tables
        that were not in the database before (made now)."""
        missing = [t for t in tables if t not in self._tables]
        if not missing:
            return []
        with self._commit, self._transaction(self._writer) as cur:
            cur.execute(self._q(self._DOMAIN_TABLES))
            there = {row[0] for row in cur.fetchall()}
            for table in missing:
                for statement in domain.create(table):
                    cur.execute(statement)
        self._tables.update(missing)
        return [t for t in missing if domain.name(t) not in there]

    def domain_rows(self, table: Table, column: str, values: Sequence[str]) -> list[dict[str, Any]]:
        """See :meth:`gateway.adapter.State.domain_rows`."""
        names = domain.columns(table)
        if column not in names:
            raise ValueError(f"table {table.name} has no column {column!r}")
        self.ensure_tables([table])
        wanted = sorted({self.personal(v) if column in table.personal else v for v in values})
        out: list[dict[str, Any]] = []
        select = f"SELECT {', '.join(names)} FROM {domain.name(table)} WHERE {column} IN "
        for chunk in _chunks(wanted):
            rows = self.rows(select + f"({', '.join('?' * len(chunk))})", chunk)
            out += [dict(zip(names, row, strict=True)) for row in rows]
        out.sort(key=lambda r: int(r["seq"]))
        return out

    def domain_accepted(self, table: Table, after: int, upto: int) -> Iterator[dict[str, Any]]:
        """The rows of a domain table written by the verdict entries of accepted (or imported)
        messages after entry ``after`` and up to ``upto``, in ledger order (the monitor's facts,
        ``gateway/ops/facts.py``); found through the table's index on the message id. The table
        must have been made (``domain.prepare``): an empty one made here would hide the
        messages of a ledger from before the tables."""
        names = domain.columns(table)
        earlier = tuple(e.value for e in sorted(EARLIER))
        sql = (
            f"SELECT {', '.join(names)} FROM {domain.name(table)} "
            "WHERE seq > ? AND seq <= ? AND event IN (?, ?) AND message_id IN "
            "(SELECT message_id FROM entries WHERE seq > ? AND seq <= ? AND event IN (?, ?)) "
            "ORDER BY seq"
        )
        for row in self.scan(sql, (after, upto, *earlier, after, upto, *earlier)):
            yield dict(zip(names, row, strict=True))

    def _update_states(
        self, cur: Any, batch: list[_Pending], entries: list[Entry]
    ) -> dict[str, MessageState | None]:
        ids = sorted({entry.message_id for entry in entries})
        states: dict[str, MessageState | None] = dict.fromkeys(ids)
        for chunk in _chunks(ids):
            cur.execute(
                self._q(
                    f"SELECT {_STATE_COLUMNS} FROM messages WHERE message_id IN "
                    f"({', '.join('?' * len(chunk))})"
                ),
                chunk,
            )
            for row in cur.fetchall():
                states[row[0]] = state_from_row(row)

        def load(message_id: str) -> MessageState | None:
            if message_id not in states:
                cur.execute(
                    self._q(f"SELECT {_STATE_COLUMNS} FROM messages WHERE message_id = ?"),
                    (message_id,),
                )
                row = cur.fetchone()
                states[message_id] = state_from_row(row) if row else None
            return states[message_id]

        changed: set[str] = set()

        def flush() -> None:
            cur.executemany(
                self._q(_UPSERT_STATE),
                [_state_row(s) for m in sorted(changed) if (s := states[m]) is not None],
            )
            changed.clear()

        for p, entry in zip(batch, entries, strict=True):
            d = p.description
            # A description without parties only adds keys (e.g. a counterpart's reference on
            # `delivered`): it says nothing about whether the message expects an answer.
            told = d is not None and bool(d.sender or d.receiver)
            states[entry.message_id] = advance(
                load(entry.message_id), entry, d.expects_answer if d and told else None
            )
            changed.add(entry.message_id)
            if d is not None and d.answers:
                flush()  # a heenbericht earlier in this transaction is found as well
                cur.execute(
                    self._q(
                        "SELECT DISTINCT k.message_id FROM entry_keys k JOIN messages m "
                        "ON m.message_id = k.message_id WHERE k.key = ? AND k.value = ? "
                        "AND m.expects_answer = 1 AND m.sender = ? AND m.receiver = ? "
                        "AND m.message_id <> ?"
                    ),
                    (ANSWER_KEY, d.answers, d.receiver, d.sender, entry.message_id),
                )
                for (heen,) in cur.fetchall():
                    heen_state = load(heen)
                    if heen_state is not None:
                        states[heen] = answered(heen_state, entry.message_id)
                        changed.add(heen)
        flush()
        return states

    # -- checkpoints -----------------------------------------------------------------------

    def checkpoint(self, *, force: bool = False) -> Checkpoint | None:
        """Sign the current tree head if a checkpoint is due (or ``force``), and export it.

        Due: ``checkpoint_every`` entries were added since the last one, or the oldest of them
        is ``checkpoint_seconds`` old. One maker at a time across every process using this
        ledger (``exclusive("checkpoint")``: a PostgreSQL advisory lock, a lock file beside the
        SQLite database): while another makes one, this returns None at once. Each new row is
        checked before it is signed: found exactly as this process wrote it (``written``), or
        its leaf recomputed from its columns; a tail changed without its leaf hash is refused
        (:class:`LedgerError`), not signed.
        """
        if self.options.signer is None:
            return None
        if not force and not self._checkpoint_due(self.tree_size()):
            return None  # by what this process knows; asked often (sweeper, appends)
        with self._checkpointing, self.exclusive("checkpoint") as held:
            if not held:
                return None
            checkpoint = self._make_checkpoint(force)
        if checkpoint is not None:
            if self.options.checkpoint_file:
                export(checkpoint, self.options.checkpoint_file)
            if self.options.witness:
                try:
                    to_witness(checkpoint, self.options.witness)
                except Exception as exc:  # the next checkpoint goes there too
                    log.warning(
                        "ledger.witness_failed", size=checkpoint.size, error=type(exc).__name__
                    )
        return checkpoint

    def _checkpoint_due(self, size: int) -> bool:
        """Whether a checkpoint may be due at ``size`` entries, by what this process knows
        (cheap: asked after every append; :meth:`checkpoint` reads the database to be sure)."""
        if self.options.signer is None:
            return False
        last = self._last_checkpoint
        if last is None:
            return True
        grown = size - last[0]
        age = (datetime.now(UTC) - last[1]).total_seconds()
        return grown > 0 and (
            grown >= self.options.checkpoint_every or age >= self.options.checkpoint_seconds
        )

    def _checkpoint_quietly(self) -> None:
        """A checkpoint after an append: its failure must not fail the append (recorded)."""
        try:
            self.checkpoint()
        except Exception:
            log.exception("ledger.checkpoint_failed")

    def _make_checkpoint(self, force: bool) -> Checkpoint | None:
        signer = self.options.signer
        assert signer is not None
        size = self.tree_size()
        rows = self.rows(
            "SELECT size, at, frontier, root, algorithm, key_id, signature, origin "
            "FROM checkpoints ORDER BY size DESC LIMIT 1"
        )
        last = rows[0] if rows else None
        if last is None:
            first = self.rows("SELECT at FROM entries WHERE seq = 1")
            since = datetime.fromisoformat(first[0][0]) if first else datetime.now(UTC)
        else:
            since = datetime.fromisoformat(last[1])
        self._last_checkpoint = (last[0] if last else 0, since)
        self._written.forget(last[0] if last else 0)
        if size == 0 or (last is not None and last[0] >= size):
            return None
        if not force:
            grown = size - (last[0] if last else 0)
            age = (datetime.now(UTC) - since).total_seconds()
            if grown < self.options.checkpoint_every and age < self.options.checkpoint_seconds:
                return None
        frontier = merkle.Frontier()
        if last is not None:
            frontier = merkle.Frontier(last[0], [bytes.fromhex(h) for h in json.loads(last[2])])
            signed = Checkpoint(
                last[0], bytes.fromhex(last[3]), last[1], last[4], last[5], bytes.fromhex(last[6]),
                last[7],
            )  # fmt: skip
            forged = signed.key_id == signer.key_id and not signature_ok(signed, signer)
            if forged or frontier.root() != signed.root:  # (another key_id: a key rotated)
                raise LedgerError(
                    f"checkpoint {last[0]} in the database has no valid signature, or its "
                    "stored right edge does not give its root: no checkpoint signed (run "
                    "ketenpoort ledger verify)"
                )
        for row in self.scan(
            f"SELECT {COLUMNS} FROM entries WHERE seq > ? AND seq <= ? ORDER BY seq",
            (frontier.size, size),
        ):
            stored = bytes(row[14])
            if row[0] != frontier.size + 1 or (
                not self._written.unchanged(row)
                and stored != row_leaf(row)
                and stored != row_leaf(row, LEGACY_FORMAT)
            ):
                raise LedgerError(
                    f"entry {frontier.size + 1} does not match its leaf hash, or is missing: "
                    "no checkpoint signed (run ketenpoort ledger verify)"
                )
            frontier.append(stored)
        checkpoint = sign(signer, size, frontier.root(), now())
        with self._commit:  # between this process's appends: no waiting on its own writer
            self._writer.execute(
                self._q(
                    "INSERT INTO checkpoints (size, root, at, algorithm, key_id, signature, "
                    "origin, frontier) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
                ),
                (
                    checkpoint.size,
                    checkpoint.root.hex(),
                    checkpoint.at,
                    checkpoint.algorithm,
                    checkpoint.key_id,
                    checkpoint.signature.hex(),
                    checkpoint.origin,
                    json.dumps([h.hex() for h in frontier.hashes]),
                ),
            )
        self._last_checkpoint = (size, datetime.fromisoformat(checkpoint.at))
        self._written.forget(size)
        return checkpoint

    def checkpoints(self) -> list[Checkpoint]:
        rows = self.rows(
            "SELECT size, root, at, algorithm, key_id, signature, origin FROM checkpoints "
            "ORDER BY size"
        )
        return [
            Checkpoint(r[0], bytes.fromhex(r[1]), r[2], r[3], r[4], bytes.fromhex(r[5]), r[6])
            for r in rows
        ]

    # -- reads -----------------------------------------------------------------------------

    def tree_size(self) -> int:
        return int(self.rows("SELECT COALESCE(MAX(seq), 0) FROM entries")[0][0])

    def history(self, message_id: str) -> list[Entry]:
        rows = self.rows(
            f"SELECT {COLUMNS} FROM entries WHERE message_id = ? ORDER BY seq", (message_id,)
        )
        return [entry_from_row(r) for r in rows]

    def histories(self, message_ids: Sequence[str]) -> dict[str, list[Entry]]:
        found: dict[str, list[Entry]] = {}
        for chunk in _chunks(sorted(set(message_ids))):
            rows = self.rows(
                f"SELECT {COLUMNS} FROM entries WHERE message_id IN "
                f"({', '.join('?' * len(chunk))}) ORDER BY seq",
                chunk,
            )
            for row in rows:
                found.setdefault(row[1], []).append(entry_from_row(row))
        return found

    def entry(self, seq: int) -> Entry | None:
        rows = self.rows(f"SELECT {COLUMNS} FROM entries WHERE seq = ?", (seq,))
        return entry_from_row(rows[0]) if rows else None

    def leaf_hashes(self, size: int) -> list[bytes]:
        """The first ``size`` leaf hashes, as stored (``audit.verify`` recomputes them)."""
        rows = self.scan("SELECT leaf_hash FROM entries WHERE seq <= ? ORDER BY seq", (size,))
        return [bytes(r[0]) for r in rows]

    def payload(self, sha256: str) -> bytes | None:
        rows = self.rows("SELECT sealing, content FROM payloads WHERE sha256 = ?", (sha256,))
        if not rows or rows[0][1] is None:
            return None
        return payloads.open_sealed(rows[0][0], bytes(rows[0][1]), sha256, self.options.payload_key)

    def find(self, key: str, value: str) -> list[Entry]:
        if key == "bsn":
            value = keyed_hash(self._bsn_key, value)
        rows = self.rows(_FIND, (key, value))
        return [entry_from_row(r) for r in rows]

    def find_many(self, key: str, values: Sequence[str]) -> dict[str, list[Entry]]:
        """:meth:`find` of several values in one query per 500 (every value gets a key)."""
        names = {keyed_hash(self._bsn_key, v) if key == "bsn" else v: v for v in values}
        found: dict[str, list[Entry]] = {v: [] for v in values}
        made: dict[int, Entry] = {}  # one entry indexed under several of the values: made once
        for chunk in _chunks(sorted(names)):
            rows = self.rows(
                f"SELECT k.value, {_FIND_COLUMNS} FROM entry_keys k JOIN entries e "
                f"ON e.seq = k.seq WHERE k.key = ? AND k.value IN "
                f"({', '.join('?' * len(chunk))}) ORDER BY k.seq",
                (key, *chunk),
            )
            for row in rows:
                entry = made.get(row[1])
                if entry is None:
                    entry = made[row[1]] = entry_from_row(row[1:])
                found[names[row[0]]].append(entry)
        return found

    def payloads(self, sha256s: Sequence[str]) -> dict[str, bytes]:
        """:meth:`payload` of several in one query per 500 (unknown or erased: no key)."""
        found: dict[str, bytes] = {}
        for chunk in _chunks(sorted(set(sha256s))):
            rows = self.rows(
                f"SELECT sha256, sealing, content FROM payloads WHERE sha256 IN "
                f"({', '.join('?' * len(chunk))})",
                chunk,
            )
            for sha, sealing, content in rows:
                if content is not None:
                    found[sha] = payloads.open_sealed(
                        sealing, bytes(content), sha, self.options.payload_key
                    )
        return found

    def state(self, message_id: str) -> MessageState | None:
        rows = self.rows(
            f"SELECT {_STATE_COLUMNS} FROM messages WHERE message_id = ?", (message_id,)
        )
        return state_from_row(rows[0]) if rows else None

    def states(self, message_ids: Sequence[str]) -> dict[str, MessageState]:
        """:meth:`state` of several messages in one query per 500 (absent ids: no key)."""
        found: dict[str, MessageState] = {}
        for chunk in _chunks(sorted(set(message_ids))):
            rows = self.rows(
                f"SELECT {_STATE_COLUMNS} FROM messages WHERE message_id IN "
                f"({', '.join('?' * len(chunk))})",
                chunk,
            )
            found.update((row[0], state_from_row(row)) for row in rows)
        return found

    def search(self, query: Query) -> list[MessageState]:
        where: list[str] = []
        params: list[Any] = []
        for column in ("message_id", "correlation_id", "code"):
            value = getattr(query, column)
            if value:
                where.append(f"m.{column} = ?")
                params.append(value)
        if query.status:
            where.append("m.status = ?")
            params.append(Status(query.status).value)
        if query.party:
            where.append("(m.sender = ? OR m.receiver = ?)")
            params += [query.party, query.party]
        if query.since:
            where.append("m.first_at >= ?")
            params.append(query.since)
        if query.until:
            where.append("m.first_at < ?")
            params.append(query.until)
        if query.before_seq is not None:
            where.append("m.first_seq < ?")
            params.append(query.before_seq)
        for key, value in sorted(query.keys.items()):
            if key == "bsn":
                value = keyed_hash(self._bsn_key, value)
            where.append(
                "m.message_id IN (SELECT k.message_id FROM entry_keys k "
                "WHERE k.key = ? AND k.value = ?)"
            )
            params += [key, value]
        columns = ", ".join(f"m.{c.strip()}" for c in _STATE_COLUMNS.split(","))
        sql = f"SELECT {columns} FROM messages m"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY m.first_seq DESC LIMIT ?"
        return [state_from_row(r) for r in self.rows(sql, [*params, query.limit])]

    def awaiting_publication(self, older_than: float = 0.0) -> list[str]:
        sql = "SELECT message_id FROM messages WHERE status = ?"
        params: list[Any] = [Status.AWAITING_PUBLICATION.value]
        if older_than > 0:
            cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
            sql += " AND last_at <= ?"
            params.append(cutoff.isoformat(timespec="microseconds"))
        return [r[0] for r in self.rows(sql + " ORDER BY first_seq", params)]

    # -- retention -------------------------------------------------------------------------

    def erase_payload(self, sha256: str) -> bool:
        """Empty a payload's content, keeping its row and hash. Record an ``erased`` entry
        for each message carrying it first (``retention.py`` does)."""
        with self._commit, self._transaction(self._writer) as cur:
            cur.execute(
                self._q(
                    "UPDATE payloads SET content = NULL, erased_at = ? "
                    "WHERE sha256 = ? AND content IS NOT NULL"
                ),
                (now(), sha256),
            )
            return bool(cur.rowcount)

    def redactable(self, message_id: str) -> dict[int, str]:
        """``{seq: private digest}`` of the message's entries :meth:`redact` would redact now:
        what a signed erasure lists before they are redacted (``erasure.py``)."""
        rows = self.rows(
            "SELECT seq, sender, receiver, detail, keys FROM entries "
            "WHERE message_id = ? AND redacted = 0 AND event <> ? ORDER BY seq",
            (message_id, Event.ERASED.value),
        )
        return {r[0]: private_digest(r[1], r[2], r[3], r[4]) for r in rows}

    def redact(self, message_id: str, seqs: Sequence[int] | None = None) -> int:
        """Erase the personal traffic data of a message's entries (parties, detail, keys),
        keeping what the Merkle leaf needs (``records.private_digest``): all of them, or only
        ``seqs`` (those a signed erasure listed). Returns rows redacted."""
        done = 0
        wanted = None if seqs is None else set(seqs)
        redacted: list[tuple[str, int]] = []
        with self._commit, self._transaction(self._writer) as cur:
            cur.execute(
                self._q(
                    "SELECT seq, sender, receiver, detail, keys FROM entries "
                    "WHERE message_id = ? AND redacted = 0 AND event <> ?"
                ),
                (message_id, Event.ERASED.value),
            )
            for seq, sender, receiver, detail, keys in cur.fetchall():
                if wanted is not None and seq not in wanted:
                    continue
                private = private_digest(sender, receiver, detail, keys)
                for key, values in json.loads(keys).items():
                    for value in values:
                        cur.execute(
                            self._q(
                                "DELETE FROM entry_keys WHERE key = ? AND value = ? AND seq = ?"
                            ),
                            (key, value, seq),
                        )
                cur.execute(
                    self._q(
                        "UPDATE entries SET sender = ?, receiver = ?, detail = ?, keys = ?, "
                        "private_hash = ?, redacted = 1 WHERE seq = ?"
                    ),
                    (*REDACTED, private, seq),
                )
                done += 1
                redacted.append((message_id, seq))
            cur.execute(
                self._q("UPDATE messages SET sender = '', receiver = '' WHERE message_id = ?"),
                (message_id,),
            )
            # the domain rows a redacted verdict carried go with its parties (``domain.py``)
            cur.execute(self._q(self._DOMAIN_TABLES))
            for (table,) in cur.fetchall():
                if redacted and domain.is_name(table):
                    cur.executemany(
                        self._q(f"DELETE FROM {table} WHERE message_id = ? AND seq = ?"), redacted
                    )
        return done
