"""SQLite ledger: the embedded default. WAL journal, ``synchronous=FULL`` (an entry is on disk
when ``append`` returns), group commit (``sql.py``), one reading connection per thread.

Triggers keep ``entries`` append-only (the one UPDATE allowed is retention's redaction, which
keeps every column the Merkle leaf commits to) and ``payloads`` erasable but not changeable.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tenacity import retry, retry_if_exception, stop_after_delay, wait_random

from gateway.ledger import LedgerError, LedgerOptions, LedgerUnavailable, no_sqlite_ledger
from gateway.ledger.reads import Reads
from gateway.ledger.sql import RECEIVED_ONCE, RECEIVED_ONCE_SQL, SqlLedger
from gateway.logs import get_logger

log = get_logger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq INTEGER PRIMARY KEY,
    message_id TEXT NOT NULL,
    correlation_id TEXT NOT NULL,
    event TEXT NOT NULL,
    at TEXT NOT NULL,
    route TEXT NOT NULL,
    standard TEXT NOT NULL,
    code TEXT NOT NULL,
    version TEXT NOT NULL,
    sender TEXT NOT NULL,
    receiver TEXT NOT NULL,
    detail TEXT NOT NULL,
    payload_sha256 TEXT,
    keys TEXT NOT NULL,
    leaf_hash BLOB NOT NULL,
    private_hash TEXT,
    redacted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_message ON entries (message_id, seq);
CREATE TABLE IF NOT EXISTS payloads (
    sha256 TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    sealing TEXT NOT NULL,
    content BLOB,
    erased_at TEXT
);
CREATE TABLE IF NOT EXISTS entry_keys (
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    seq INTEGER NOT NULL,
    message_id TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS entry_keys_lookup ON entry_keys (key, value, seq);
CREATE TABLE IF NOT EXISTS messages (
    message_id TEXT PRIMARY KEY,
    correlation_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    route TEXT NOT NULL,
    standard TEXT NOT NULL,
    code TEXT NOT NULL,
    sender TEXT NOT NULL,
    receiver TEXT NOT NULL,
    status TEXT NOT NULL,
    verdict TEXT NOT NULL,
    expects_answer INTEGER NOT NULL,
    answered_by TEXT,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    first_at TEXT NOT NULL,
    last_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS messages_correlation ON messages (correlation_id);
CREATE INDEX IF NOT EXISTS messages_status ON messages (status, first_seq);
CREATE INDEX IF NOT EXISTS messages_code ON messages (code, first_seq);
CREATE INDEX IF NOT EXISTS messages_sender ON messages (sender, first_seq);
CREATE INDEX IF NOT EXISTS messages_receiver ON messages (receiver, first_seq);
CREATE INDEX IF NOT EXISTS messages_first_at ON messages (first_at);
CREATE INDEX IF NOT EXISTS messages_retention ON messages (standard, last_at);
CREATE TABLE IF NOT EXISTS claims (
    message_id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    pid INTEGER NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS counts (
    span TEXT NOT NULL,
    bucket TEXT NOT NULL,
    route TEXT NOT NULL,
    counterpart TEXT NOT NULL,
    outcome TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (span, bucket, route, counterpart, outcome)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoints (
    size INTEGER PRIMARY KEY,
    root TEXT NOT NULL,
    at TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    origin TEXT NOT NULL,
    frontier TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS entries_no_update BEFORE UPDATE ON entries
WHEN NOT (OLD.redacted = 0 AND NEW.redacted = 1 AND NEW.seq = OLD.seq
          AND NEW.message_id = OLD.message_id AND NEW.correlation_id = OLD.correlation_id
          AND NEW.event = OLD.event AND NEW.at = OLD.at AND NEW.route = OLD.route
          AND NEW.standard = OLD.standard AND NEW.code = OLD.code AND NEW.version = OLD.version
          AND NEW.payload_sha256 IS OLD.payload_sha256 AND NEW.leaf_hash = OLD.leaf_hash)
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS entries_no_delete BEFORE DELETE ON entries
BEGIN SELECT RAISE(ABORT, 'the ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS payloads_no_change BEFORE UPDATE ON payloads
WHEN NOT (NEW.sha256 = OLD.sha256 AND NEW.size = OLD.size AND NEW.content IS NULL)
BEGIN SELECT RAISE(ABORT, 'a payload can be erased, not changed'); END;
CREATE TRIGGER IF NOT EXISTS payloads_no_delete BEFORE DELETE ON payloads
BEGIN SELECT RAISE(ABORT, 'a payload can be erased, not removed'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_change BEFORE UPDATE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
CREATE TRIGGER IF NOT EXISTS checkpoints_no_delete BEFORE DELETE ON checkpoints
BEGIN SELECT RAISE(ABORT, 'checkpoints are append-only'); END;
"""

TRIGGERS = (
    "entries_no_update",
    "entries_no_delete",
    "payloads_no_change",
    "payloads_no_delete",
    "checkpoints_no_change",
    "checkpoints_no_delete",
)


@retry(
    retry=retry_if_exception(lambda e: "locked" in str(e)),
    wait=wait_random(0.01, 0.1),
    stop=stop_after_delay(60),
    reraise=True,
)
def _switch_to_wal(conn: sqlite3.Connection) -> None:
    """WAL is set once, on a new database; it needs the database to itself, and SQLite answers
    "locked" at once (not after the busy timeout) while another process or thread opening the
    same new ledger holds it: try again shortly."""
    conn.execute("PRAGMA journal_mode=WAL")


class SqliteLedger(SqlLedger):
    def __init__(
        self, path: str, bsn_hash_key: str, options: LedgerOptions, *, create: bool = True
    ) -> None:
        self.path = path
        missing = None if create else no_sqlite_ledger(f"sqlite:///{path}")
        if missing is not None:
            raise missing
        try:
            if path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            super().__init__(bsn_hash_key, options)
        except (sqlite3.DatabaseError, OSError, LedgerError) as exc:
            writer = getattr(self, "_writer_conn", None)
            if writer is not None:
                writer.close()
            if isinstance(exc, LedgerError):
                raise
            reason = exc.strerror if isinstance(exc, OSError) else exc  # not a database, ...
            raise LedgerUnavailable(
                f"cannot open the SQLite ledger {path} (settings var_dir, ledger_url): {reason}"
            ) from None

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(
            self.path, timeout=60.0, isolation_level=None, check_same_thread=False
        )
        if conn.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            _switch_to_wal(conn)
        conn.execute("PRAGMA synchronous=FULL")
        return conn

    _DOMAIN_TABLES = (
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'domain~_%' ESCAPE '~'"
    )

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        tables = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        if tables and "entries" not in tables:
            raise LedgerUnavailable(
                f"{self.path} is a SQLite database but not a Ketenpoort ledger (it has no "
                "entries); check the settings var_dir and ledger_url"
            )
        columns = {row[1] for row in conn.execute("PRAGMA table_info(entries)")}
        if columns and "leaf_hash" not in columns:
            raise LedgerError(
                f"{self.path} is a ledger of an earlier, unverifiable format; "
                "move it aside (it stays readable with sqlite3) and start a new one"
            )
        conn.executescript(SCHEMA)
        try:
            conn.execute(RECEIVED_ONCE_SQL)
        except sqlite3.IntegrityError:
            log.warning("ledger.received_twice_present", unique_index=RECEIVED_ONCE)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """A lock file beside the database (``<db>.<name>.lock``), taken without waiting."""
        if self.path == ":memory:":
            yield True
            return
        with open(f"{self.path}.{name}.lock", "a") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    # A claim is a row naming its process and thread; one whose process is gone (or older than
    # this, in case its pid was reused) is free.
    CLAIM_STALE = 3600.0

    @contextmanager
    def claim(self, message_ids: Sequence[str]) -> Iterator[set[str]]:
        owner = f"{os.getpid()}:{id(self)}:{threading.get_ident()}"
        mine: set[str] = set()
        wanted = sorted(set(message_ids))
        if wanted:
            now = time.time()
            marks = ",".join("?" * len(wanted))
            with self._commit, self._transaction(self._writer, durable=False) as cur:
                query = (
                    f"SELECT message_id, owner, pid, at FROM claims WHERE message_id IN ({marks})"
                )
                held = {row[0]: row[1:] for row in cur.execute(query, wanted)}
                for message_id in wanted:
                    other = held.get(message_id)
                    if other is None or other[0] == owner or _gone(other[1], other[2], now):
                        mine.add(message_id)
                cur.executemany(
                    "INSERT OR REPLACE INTO claims (message_id, owner, pid, at) "
                    "VALUES (?, ?, ?, ?)",
                    [(m, owner, os.getpid(), now) for m in sorted(mine)],
                )
        try:
            yield mine
        finally:
            if mine:
                marks = ",".join("?" * len(mine))
                with self._commit, self._transaction(self._writer, durable=False) as cur:
                    cur.execute(
                        f"DELETE FROM claims WHERE owner = ? AND message_id IN ({marks})",
                        [owner, *sorted(mine)],
                    )

    # one gateway instance per SQLite ledger: its duties are leased from a lock file
    single_instance = True

    def lease(self, name: str) -> FileLease:
        return FileLease(None if self.path == ":memory:" else f"{self.path}.{name}.lease")

    def _received_twice(self, error: BaseException) -> bool:
        return isinstance(error, sqlite3.IntegrityError) and "entries.message_id" in str(error)

    @contextmanager
    def _transaction(
        self, conn: sqlite3.Connection, durable: bool = True
    ) -> Iterator[sqlite3.Cursor]:
        """One write transaction. ``durable=False``: committed without syncing the journal (a
        claim: a row that only matters while its process lives, so a crash may lose it; the
        next durable commit syncs it with its own). Its atomicity stays: WAL frames past the
        last synced commit are checked and dropped on recovery, never half applied."""
        cur = conn.cursor()
        if not durable:
            cur.execute("PRAGMA synchronous=OFF")
        try:
            cur.execute("BEGIN IMMEDIATE")  # the append lock, across processes too
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")
        finally:
            if not durable:
                cur.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def snapshot(self) -> Iterator[Reads]:
        """One read transaction (WAL): the first read fixes what every later read sees."""
        conn = self._connect()
        try:
            conn.execute("BEGIN")
            reads = Reads(conn, self._q, conn.cursor)
            try:
                yield reads
            finally:
                reads.close()
        finally:
            conn.close()  # (rolls the read transaction back)


class FileLease:
    """A lease held as an exclusive ``flock`` on a file beside the database: the kernel frees it
    when the holding process dies. The file is opened once and kept while held."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self._handle: Any = None

    def acquire(self) -> bool:
        if self._handle is not None or self.path is None:
            return True
        handle = open(self.path, "a")  # noqa: SIM115  (kept open while the lease is held)
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            return False
        self._handle = handle
        return True

    def held(self) -> bool:
        return self._handle is not None or self.path is None

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _gone(pid: int, at: float, now: float) -> bool:
    """Whether the process that made a claim is gone (or the claim is stale)."""
    if now - at > SqliteLedger.CLAIM_STALE:
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False
