"""PostgreSQL ledger (psycopg 3): for several gateway processes on several hosts.

``postgresql://user@host/db?schema=name`` puts the tables in their own schema (default
``public``). Appends take ``LOCK TABLE entries IN SHARE ROW EXCLUSIVE MODE`` for the length of
one group-commit transaction: sequence numbers stay gap-free and in commit order, which the
Merkle tree needs, while readers never wait. Triggers keep the tables append-only as in SQLite.
"""

from __future__ import annotations

import contextlib
import itertools
import re
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import psycopg
import psycopg.conninfo

from gateway.ledger import LedgerError, LedgerOptions, LedgerUnavailable
from gateway.ledger.reads import Reads
from gateway.ledger.sql import RECEIVED_ONCE, RECEIVED_ONCE_SQL, SqlLedger
from gateway.logs import get_logger

log = get_logger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (
    seq BIGINT PRIMARY KEY,
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
    leaf_hash BYTEA NOT NULL,
    private_hash TEXT,
    redacted SMALLINT NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS entries_message ON entries (message_id, seq);
CREATE TABLE IF NOT EXISTS payloads (
    sha256 TEXT PRIMARY KEY,
    size BIGINT NOT NULL,
    sealing TEXT NOT NULL,
    content BYTEA,
    erased_at TEXT
);
CREATE TABLE IF NOT EXISTS entry_keys (
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    seq BIGINT NOT NULL,
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
    expects_answer SMALLINT NOT NULL,
    answered_by TEXT,
    first_seq BIGINT NOT NULL,
    last_seq BIGINT NOT NULL,
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
CREATE TABLE IF NOT EXISTS counts (
    span TEXT NOT NULL,
    bucket TEXT NOT NULL,
    route TEXT NOT NULL,
    counterpart TEXT NOT NULL,
    outcome TEXT NOT NULL,
    n BIGINT NOT NULL,
    PRIMARY KEY (span, bucket, route, counterpart, outcome)
);
CREATE TABLE IF NOT EXISTS checkpoints (
    size BIGINT PRIMARY KEY,
    root TEXT NOT NULL,
    at TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    key_id TEXT NOT NULL,
    signature TEXT NOT NULL,
    origin TEXT NOT NULL,
    frontier TEXT NOT NULL
);
CREATE OR REPLACE FUNCTION ledger_entries_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.redacted = 0 AND NEW.redacted = 1
       AND (NEW.seq, NEW.message_id, NEW.correlation_id, NEW.event, NEW.at, NEW.route,
            NEW.standard, NEW.code, NEW.version, NEW.leaf_hash)
           = (OLD.seq, OLD.message_id, OLD.correlation_id, OLD.event, OLD.at, OLD.route,
              OLD.standard, OLD.code, OLD.version, OLD.leaf_hash)
       AND NEW.payload_sha256 IS NOT DISTINCT FROM OLD.payload_sha256 THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the ledger is append-only';
END $$;
CREATE OR REPLACE FUNCTION ledger_payloads_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.sha256 = OLD.sha256 AND NEW.size = OLD.size
       AND NEW.content IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'a payload can be erased, not changed or removed';
END $$;
CREATE OR REPLACE FUNCTION ledger_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the ledger is append-only';
END $$;
CREATE OR REPLACE TRIGGER entries_guard BEFORE UPDATE OR DELETE ON entries
    FOR EACH ROW EXECUTE FUNCTION ledger_entries_guard();
CREATE OR REPLACE TRIGGER entries_no_truncate BEFORE TRUNCATE ON entries
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse();
CREATE OR REPLACE TRIGGER payloads_guard BEFORE UPDATE OR DELETE ON payloads
    FOR EACH ROW EXECUTE FUNCTION ledger_payloads_guard();
CREATE OR REPLACE TRIGGER checkpoints_guard BEFORE UPDATE OR DELETE ON checkpoints
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse();
"""

TRIGGERS = {
    "entries": ("entries_guard", "entries_no_truncate"),
    "payloads": ("payloads_guard",),
    "checkpoints": ("checkpoints_guard",),
}

_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def split_schema(dsn: str) -> tuple[str, str]:
    """``(dsn without the schema parameter, schema)``."""
    parts = urlsplit(dsn)
    query = parse_qsl(parts.query, keep_blank_values=True)
    schema = next((v for k, v in query if k == "schema"), "public")
    if not _NAME.match(schema):
        raise LedgerError(f"ledger schema name {schema!r} is not a plain lower-case identifier")
    rest = urlencode([(k, v) for k, v in query if k != "schema"])
    return urlunsplit(parts._replace(query=rest)), schema


def database_address(dsn: str) -> str:
    """``host:port/database`` of a PostgreSQL URL, without user and password (for messages)."""
    info = psycopg.conninfo.conninfo_to_dict(dsn)
    return f"{info.get('host') or 'localhost'}:{info.get('port') or 5432}/{info.get('dbname', '')}"


_CLAIM = "SELECT k, pg_try_advisory_lock(hashtextextended(k, 0)) FROM unnest(%s::text[]) AS k"
_UNCLAIM = "SELECT pg_advisory_unlock(hashtextextended(k, 0)) FROM unnest(%s::text[]) AS k"


class PostgresLedger(SqlLedger):
    # a database that does not answer is an error at start, not a wait of minutes
    CONNECT_TIMEOUT = 10

    def __init__(
        self, dsn: str, bsn_hash_key: str, options: LedgerOptions, *, create: bool = True
    ) -> None:
        self.dsn, self.schema = split_schema(dsn)
        self.create = create
        self._claims = threading.local()  # each worker thread claims on a connection of its own
        try:
            super().__init__(bsn_hash_key, options)
        except psycopg.OperationalError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            password = psycopg.conninfo.conninfo_to_dict(self.dsn).get("password")
            if password:
                reason = reason.replace(str(password), "***")
            raise LedgerUnavailable(
                f"the PostgreSQL ledger at {database_address(self.dsn)} cannot be reached "
                f"(setting ledger_url): {reason}"
            ) from None

    def _connect(self) -> psycopg.Connection[Any]:
        options: dict[str, Any] = {"autocommit": True}
        if "connect_timeout" not in self.dsn:
            options["connect_timeout"] = self.CONNECT_TIMEOUT
        conn = psycopg.connect(self.dsn, **options)
        conn.execute(f'SET search_path TO "{self.schema}"')
        return conn

    _DOMAIN_TABLES = (
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() "
        "AND table_name LIKE 'domain~_%' ESCAPE '~'"
    )

    def _create_schema(self, conn: psycopg.Connection[Any]) -> None:
        if not self.create:
            found = conn.execute("SELECT to_regclass(%s)", (f'"{self.schema}".entries',))
            if found.fetchone() == (None,):
                conn.close()
                raise LedgerUnavailable(
                    f"no ledger in schema {self.schema} of the PostgreSQL database at "
                    f"{database_address(self.dsn)} (setting ledger_url)"
                )
        with conn.transaction():
            # several processes may start at once: one creates, the others wait and find it
            conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"ledger {self.schema}",))
            conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.schema}"')
            conn.execute(SCHEMA)
            try:
                with conn.transaction():  # a savepoint: its failure leaves the schema made
                    conn.execute(RECEIVED_ONCE_SQL)
            except psycopg.errors.UniqueViolation:
                log.warning("ledger.received_twice_present", unique_index=RECEIVED_ONCE)

    @contextmanager
    def exclusive(self, name: str) -> Iterator[bool]:
        """A session advisory lock, on a connection of its own, taken without waiting."""
        conn = self._connect()
        try:
            key = f"ketenpoort {self.schema} {name}"
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (key,)).fetchone()
            held = bool(row and row[0])
            try:
                yield held
            finally:
                if held:
                    conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (key,))
        finally:
            conn.close()

    single_instance = False

    @contextmanager
    def claim(self, message_ids: Sequence[str]) -> Iterator[set[str]]:
        """Session advisory locks on the calling thread's own connection: PostgreSQL frees them
        when the session ends, so a dead worker's claims are free at once."""
        wanted = sorted(set(message_ids))
        if not wanted:
            yield set()
            return
        keys = {f"ketenpoort {self.schema} claim {m}": m for m in wanted}
        conn = self._claim_connection()
        try:
            rows = conn.execute(_CLAIM, (list(keys),)).fetchall()
        except psycopg.Error:
            self._drop_claim_connection()
            raise
        held = [key for key, taken in rows if taken]
        try:
            yield {keys[key] for key in held}
        finally:
            if held:
                try:
                    conn.execute(_UNCLAIM, (held,))
                except psycopg.Error:
                    self._drop_claim_connection()  # the session's locks went with it

    def _claim_connection(self) -> psycopg.Connection[Any]:
        conn: psycopg.Connection[Any] | None = getattr(self._claims, "conn", None)
        if conn is None or conn.closed:
            conn = self._connect()
            self._claims.conn = conn
        return conn

    def _drop_claim_connection(self) -> None:
        conn = getattr(self._claims, "conn", None)
        self._claims.conn = None
        if conn is not None:
            with contextlib.suppress(psycopg.Error):
                conn.close()

    def lease(self, name: str) -> AdvisoryLease:
        return AdvisoryLease(self._connect, f"ketenpoort {self.schema} lease {name}")

    def _received_twice(self, error: BaseException) -> bool:
        return (
            isinstance(error, psycopg.errors.UniqueViolation)
            and error.diag.constraint_name == RECEIVED_ONCE
        )

    def _q(self, sql: str) -> str:
        return sql.replace("?", "%s")

    @contextmanager
    def _transaction(self, conn: psycopg.Connection[Any]) -> Iterator[psycopg.Cursor[Any]]:
        with conn.transaction(), conn.cursor() as cur:
            cur.execute("LOCK TABLE entries IN SHARE ROW EXCLUSIVE MODE")
            yield cur

    def scan(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Any]]:
        conn = self._connect()  # its own connection: a server-side cursor needs a transaction
        try:
            with conn.transaction(), conn.cursor(name="ledger_scan") as cur:
                cur.itersize = 20_000
                cur.execute(self._q(sql), params)
                yield from cur
        finally:
            conn.close()

    @contextmanager
    def snapshot(self) -> Iterator[Reads]:
        """One read-only REPEATABLE READ transaction: every query sees the same moment; each
        scan a server-side cursor of its own."""
        conn = self._connect()
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        conn.read_only = True
        names = itertools.count(1)
        try:
            with conn.transaction():
                reads = Reads(conn, self._q, lambda: conn.cursor(name=f"reads_{next(names)}"))
                try:
                    yield reads
                finally:
                    reads.close()
        finally:
            conn.close()


class AdvisoryLease:
    """A lease held as a session advisory lock on a connection of its own: PostgreSQL frees it
    when the holder's session ends (the process died, the connection was cut, the database
    restarted), and another process's :meth:`acquire` then takes it."""

    def __init__(self, connect: Callable[[], psycopg.Connection[Any]], key: str) -> None:
        self._connect = connect
        self.key = key
        self._conn: psycopg.Connection[Any] | None = None

    def acquire(self) -> bool:
        if self.held():
            return True
        self._drop()
        try:
            conn = self._connect()
            row = conn.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.key,)).fetchone()
        except psycopg.Error:
            return False  # the database is away: nobody holds it from here
        if row and row[0]:
            self._conn = conn
            return True
        conn.close()
        return False

    def held(self) -> bool:
        if self._conn is None:
            return False
        try:
            self._conn.execute("SELECT 1")
        except psycopg.Error:
            self._drop()
            return False
        return True

    def release(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.execute("SELECT pg_advisory_unlock(hashtext(%s))", (self.key,))
        self._drop()

    def _drop(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(psycopg.Error):
                self._conn.close()
            self._conn = None
