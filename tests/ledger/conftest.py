"""Ledger fixtures: every ledger test runs against SQLite and the real PostgreSQL.

Each PostgreSQL test gets its own schema (``kp_ledger_<random>``), dropped afterwards, so tests
of other engineers on the same server never see it.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
import pytest

from gateway.ledger import LedgerOptions, open_ledger
from gateway.ledger.checkpoint import parse_key
from gateway.ledger.sql import SqlLedger
from tests.conftest import PG_URL

BSN_KEY = "test-bsn-key"
SIGNING_KEY = "ed25519:bm90LWEtcmVhbC1rZXktanVzdC1mb3ItdGVzdHMtMzI="  # 32 bytes, tests only


@dataclass
class Backend:
    """Opens ledgers on one database and edits its raw tables (for tamper tests)."""

    name: str
    dsn: str
    tmp: Path
    raw_connect: Callable[[], Any]
    opened: list[SqlLedger] = field(default_factory=list)

    def open(self, **options: Any) -> SqlLedger:
        options.setdefault("signer", parse_key(SIGNING_KEY))
        options.setdefault("checkpoint_file", str(self.tmp / "checkpoints.jsonl"))
        ledger = open_ledger(self.dsn, BSN_KEY, LedgerOptions(**options))
        self.opened.append(ledger)
        return ledger

    def raw(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """Run SQL straight on the database, as an intruder with database access would."""
        conn = self.raw_connect()
        try:
            if self.name == "postgres":
                sql = sql.replace("?", "%s")
            cur = conn.execute(sql, params)
            rows = cur.fetchall() if cur.description else []
            conn.commit()
            return rows
        finally:
            conn.close()

    def drop_guards(self) -> None:
        """Remove the append-only triggers first, as an intruder would."""
        if self.name == "sqlite":
            from gateway.ledger.backends.sqlite import TRIGGERS

            for name in TRIGGERS:
                self.raw(f"DROP TRIGGER IF EXISTS {name}")
        else:
            from gateway.ledger.backends.postgres import TRIGGERS as PG_TRIGGERS

            for table, names in PG_TRIGGERS.items():
                for name in names:
                    self.raw(f"DROP TRIGGER IF EXISTS {name} ON {table}")


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "ledger.sqlite3"
        b = Backend("sqlite", f"sqlite:///{path}", tmp_path, lambda: sqlite3.connect(path))
        yield b
        for ledger in b.opened:
            ledger.close()
        return
    schema = f"kp_ledger_{uuid.uuid4().hex[:12]}"

    def connect() -> psycopg.Connection[Any]:
        conn = psycopg.connect(PG_URL)
        conn.execute(f"SET search_path TO {schema}")
        return conn

    b = Backend("postgres", f"{PG_URL}?schema={schema}", tmp_path, connect)
    try:
        yield b
    finally:
        for ledger in b.opened:
            ledger.close()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def ledger(backend: Backend) -> SqlLedger:
    return backend.open()
