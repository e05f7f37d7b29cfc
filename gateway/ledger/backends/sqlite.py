"""SQLite ledger: the embedded default. WAL journal, synchronous=FULL, one connection per thread.

Rows are append-only: triggers refuse UPDATE and DELETE on entries. Payloads are stored once
per SHA-256, zlib-compressed. Business keys go into an index table; BSNs only as keyed hashes.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from hashlib import sha256
from pathlib import Path
from typing import Any

from gateway.adapter import Description
from gateway.envelope import Envelope
from gateway.ledger import Entry, Event, keyed_hash

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    message_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at TEXT NOT NULL,
    route TEXT NOT NULL,
    standard TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL DEFAULT '',
    version TEXT NOT NULL DEFAULT '',
    sender TEXT NOT NULL DEFAULT '',
    receiver TEXT NOT NULL DEFAULT '',
    detail TEXT NOT NULL DEFAULT '{}',
    payload_sha256 TEXT
);
CREATE INDEX IF NOT EXISTS entries_message ON entries (message_id, seq);
CREATE INDEX IF NOT EXISTS entries_correlation ON entries (correlation_id);
CREATE INDEX IF NOT EXISTS entries_event ON entries (event, seq);
CREATE TABLE IF NOT EXISTS payloads (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    content BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS keys (
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    seq INTEGER NOT NULL REFERENCES entries (seq)
);
CREATE INDEX IF NOT EXISTS keys_lookup ON keys (key, value);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
"""

_HISTORY = (
    "SELECT seq, message_id, correlation_id, event, at, route, standard, code, version, sender, "
    "receiver, detail, payload_sha256 FROM entries WHERE message_id = ? ORDER BY seq"
)
_FIND = (
    "SELECT e.seq, e.message_id, e.correlation_id, e.event, e.at, e.route, e.standard, e.code, "
    "e.version, e.sender, e.receiver, e.detail, e.payload_sha256 "
    "FROM keys k JOIN entries e ON e.seq = k.seq WHERE k.key = ? AND k.value = ? ORDER BY e.seq"
)


def _entry(row: tuple[Any, ...]) -> Entry:
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
        detail=json.loads(row[11]),
        payload_sha256=row[12],
    )


class SqliteLedger:
    def __init__(self, path: str, bsn_hash_key: str) -> None:
        self.path = path
        self._bsn_key = bsn_hash_key
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._conn().executescript(SCHEMA)

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=30.0, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._all.append(conn)
        return conn

    def append(
        self,
        envelope: Envelope,
        event: Event,
        *,
        detail: Mapping[str, Any] | None = None,
        payload: bytes | None = None,
        description: Description | None = None,
    ) -> Entry:
        mt = envelope.message_type
        digest = sha256(payload).hexdigest() if payload is not None else None
        at = datetime.now(UTC).isoformat(timespec="microseconds")
        row = (
            envelope.message_id,
            envelope.correlation_id,
            event.value,
            at,
            envelope.route,
            mt.standard if mt else "",
            mt.code if mt else "",
            mt.version if mt else "",
            description.sender if description else "",
            description.receiver if description else "",
            json.dumps(dict(detail or {}), sort_keys=True, default=str),
            digest,
        )
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            if payload is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO payloads (sha256, size, content) VALUES (?, ?, ?)",
                    (digest, len(payload), zlib.compress(payload)),
                )
            cur = conn.execute(
                "INSERT INTO entries (message_id, correlation_id, event, at, route, standard, "
                "code, version, sender, receiver, detail, payload_sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )
            seq = cur.lastrowid
            if description is not None:
                keys = [(k, v, seq) for k, values in description.keys.items() for v in values]
                keys += [("bsn", keyed_hash(self._bsn_key, s), seq) for s in description.subjects]
                conn.executemany("INSERT INTO keys (key, value, seq) VALUES (?, ?, ?)", keys)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        assert seq is not None
        return _entry((seq, *row))

    def history(self, message_id: str) -> list[Entry]:
        rows = self._conn().execute(_HISTORY, (message_id,))
        return [_entry(r) for r in rows]

    def payload(self, sha256_hex: str) -> bytes | None:
        row = (
            self._conn()
            .execute("SELECT content FROM payloads WHERE sha256 = ?", (sha256_hex,))
            .fetchone()
        )
        return zlib.decompress(row[0]) if row else None

    def find(self, key: str, value: str) -> list[Entry]:
        if key == "bsn":
            value = keyed_hash(self._bsn_key, value)
        rows = self._conn().execute(_FIND, (key, value))
        return [_entry(r) for r in rows]

    def awaiting_publication(self) -> list[str]:
        rows = self._conn().execute(
            "SELECT DISTINCT e.message_id FROM entries e "
            "WHERE e.event IN ('validated', 'rejected') "
            "AND json_extract(e.detail, '$.publish') = 1 "
            "AND NOT EXISTS (SELECT 1 FROM entries p WHERE p.message_id = e.message_id "
            "AND p.event = 'published') ORDER BY e.seq"
        )
        return [r[0] for r in rows]

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()
