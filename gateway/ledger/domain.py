"""The standards' domain read model: tables an adapter declares (``gateway.description.Table``,
capability ``Tables``), kept by the ledger beside the entries.

The rows come with a message's :class:`gateway.description.Description` and are written in the
transaction that appends its verdict entry (``SqlLedger._write``, as the counts are), with the
columns the ledger fills itself (:data:`CORE`) taken from that entry; a ``personal`` column is
stored as the ledger's keyed hash (``bsn_hash_key``). Rules read them a chunk of keys at a time
(``SqlLedger.domain_rows``) instead of re-reading earlier payloads, so they keep working after
retention erased those payloads.

Derived, like the counts: :func:`rows_of` gives a verdict's rows again from the payload its
message carried (the adapter's ``table_rows``; the verdicts in ledger order: ``verdicts.py``),
``ledger verify`` compares (``domain_check.py``) and ``ledger rebuild-domain`` replaces the
stored rows (:func:`rebuild`), both a batch at a time: what they hold does not grow with the
ledger. A message whose payload was erased, or whose entries were redacted, cannot be read
again: its stored rows are neither judged nor replaced.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from gateway.description import Table
from gateway.envelope import MessageType
from gateway.ledger import Entry
from gateway.ledger.reads import Reads
from gateway.ledger.verdicts import Tabulates, Verdict, tables_of, upto, verdicts
from gateway.ledger.verdicts import written as written  # (the ledger's writer asks it here)

_TABLE_NAME = re.compile(r"domain_[a-z][a-z0-9_]{0,40}")
CORE = ("message_id", "seq", "event", "at", "standard", "sender", "receiver")
_CORE_TYPES = ("TEXT NOT NULL", "BIGINT NOT NULL", *("TEXT NOT NULL",) * 5)


def name(table: Table) -> str:
    return f"domain_{table.name}"


def is_name(text: str) -> bool:
    """Whether ``text`` is the name of a domain table (as the database lists them)."""
    return bool(_TABLE_NAME.fullmatch(text))


def columns(table: Table) -> tuple[str, ...]:
    return (*CORE, *table.columns)


def _definition(table: Table) -> str:
    own = [f"{c} {'BIGINT' if c in table.integers else 'TEXT'}" for c in table.columns]
    core = [f"{c} {t}" for c, t in zip(CORE, _CORE_TYPES, strict=True)]
    return f"({', '.join(core + own)})"


def create(table: Table) -> list[str]:
    """The statements that make the table and its indexes when missing (both backends)."""
    out = [
        f"CREATE TABLE IF NOT EXISTS {name(table)} {_definition(table)}",
        f"CREATE INDEX IF NOT EXISTS {name(table)}__message_id ON {name(table)} (message_id)",
    ]
    for index in table.indexes:
        out.append(
            f"CREATE INDEX IF NOT EXISTS {name(table)}__{'__'.join(index)} "
            f"ON {name(table)} ({', '.join(index)})"
        )
    return out


def insert(table: Table, into: str | None = None) -> str:
    """The insert of a row (into ``into``: a table being rebuilt, else the table itself)."""
    cols = columns(table)
    return (
        f"INSERT INTO {into or name(table)} ({', '.join(cols)}) "
        f"VALUES ({', '.join('?' * len(cols))})"
    )


def prepared(
    entry: Entry, table: Table, rows: Iterable[Sequence[Any]], hashed: Callable[[str], str]
) -> Iterator[tuple[Any, ...]]:
    """The rows as stored: the entry's columns first, personal values hashed (one at a time:
    a large declaratie's rows are not copied whole)."""
    core = (
        entry.message_id,
        entry.seq,
        entry.event.value,
        entry.at,
        entry.standard,
        entry.sender,
        entry.receiver,
    )
    personal = [i for i, c in enumerate(table.columns) if c in table.personal]
    for row in rows:
        if len(row) != len(table.columns):
            raise ValueError(f"a row of table {table.name} has {len(row)} values")
        if not personal:
            yield (*core, *row)
            continue
        values = list(row)
        for i in personal:
            if values[i] is not None:
                values[i] = hashed(str(values[i]))
        yield (*core, *values)


# -- made again from the ledger ------------------------------------------------------------------


def rows_of(
    verdict: Verdict, adapters: Mapping[str, Tabulates], ledger: Any
) -> dict[str, list[tuple[Any, ...]]] | None:
    """The rows the verdict's payload gives, as stored, by table name; None when they cannot be
    made again (payload erased, entries redacted). A verdict of a standard that no adapter
    here keeps tables for gives none (``ledger``: a ``SqlLedger``)."""
    entry = verdict.entry
    source = adapters.get(entry.standard)
    if source is None:
        return {}
    body = ledger.payload(verdict.payload) if verdict.payload and not verdict.redacted else None
    if body is None:
        return None
    made = source.table_rows(body, MessageType(entry.standard, entry.code, entry.version))
    return {t.name: list(prepared(entry, t, rows, ledger.personal)) for t, rows in made.items()}


# Rows a rebuild writes in one transaction (a message's rows are never split).
WRITE_BATCH = 10_000


def _rebuilding(table: Table) -> str:
    """The table a rebuild fills before it takes the place of the domain table (not a domain
    table's name: the ledger never takes it for one)."""
    return f"rebuilding_{table.name}"


def rebuild(
    ledger: Any, adapters: Mapping[str, Tabulates], *, batch: int | None = None
) -> dict[str, int]:
    """Replace the tables' rows with what the ledger gives (the rows of messages that cannot
    be read again stay); returns the rows each table holds then. The rows are written a batch
    (``batch``, default :data:`WRITE_BATCH` rows) per transaction into a table of their own,
    which takes the domain table's place at the end, in one transaction with every table (an
    interrupted rebuild leaves the tables as they were). Meant for a stopped gateway
    (``ledger rebuild-domain``); rows a gateway appended meanwhile are kept as written."""
    tables = list(tables_of(adapters).values())
    ledger.ensure_tables(tables)
    with ledger._commit, ledger._transaction(ledger._writer) as cur:
        for table in tables:
            cur.execute(f"DROP TABLE IF EXISTS {_rebuilding(table)}")
            cur.execute(f"CREATE TABLE {_rebuilding(table)} {_definition(table)}")
    with ledger.snapshot() as reads:
        last = upto(reads)
        _refill(ledger, reads, last, adapters, tables, batch or WRITE_BATCH)
    return _swap(ledger, tables, last)


def _refill(
    ledger: Any,
    reads: Reads,
    last: int,
    adapters: Mapping[str, Tabulates],
    tables: list[Table],
    batch: int,
) -> None:
    """Fill the rebuilding tables from the verdicts up to entry ``last``."""
    pending: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in tables}
    kept: list[tuple[str, int]] = []  # verdicts whose stored rows stay: (message id, seq)
    held = 0
    for verdict in verdicts(reads, last):
        made = rows_of(verdict, adapters, ledger)
        if made is None:
            kept.append((verdict.entry.message_id, verdict.entry.seq))
            held += 1
        else:
            for table_name, rows in made.items():
                pending[table_name] += rows
                held += len(rows)
        if held >= batch:
            _write(ledger, tables, pending, kept)
            held = 0
    _write(ledger, tables, pending, kept)


def _write(
    ledger: Any,
    tables: list[Table],
    pending: dict[str, list[tuple[Any, ...]]],
    kept: list[tuple[str, int]],
) -> None:
    """One transaction: the rows made so far, and the stored rows of the verdicts kept."""
    with ledger._commit, ledger._transaction(ledger._writer) as cur:
        for table in tables:
            rows = pending[table.name]
            if rows:
                cur.executemany(ledger._q(insert(table, _rebuilding(table))), rows)
                rows.clear()
            if kept:
                cols = ", ".join(columns(table))
                cur.executemany(
                    ledger._q(
                        f"INSERT INTO {_rebuilding(table)} ({cols}) SELECT {cols} "
                        f"FROM {name(table)} WHERE message_id = ? AND seq = ?"
                    ),
                    kept,
                )
    kept.clear()


def _swap(ledger: Any, tables: list[Table], last: int) -> dict[str, int]:
    """The rebuilt tables take the domain tables' places, with their indexes (made once, on the
    full table); rows of entries appended after entry ``last`` come along (the append lock is
    held: none is added meanwhile). Returns the rows each holds."""
    out: dict[str, int] = {}
    with ledger._commit, ledger._transaction(ledger._writer) as cur:
        for table in tables:
            cols = ", ".join(columns(table))
            cur.execute(
                ledger._q(
                    f"INSERT INTO {_rebuilding(table)} ({cols}) SELECT {cols} FROM {name(table)} t "
                    "WHERE seq > ? AND EXISTS (SELECT 1 FROM entries e "
                    "WHERE e.seq = t.seq AND e.message_id = t.message_id)"
                ),
                (last,),
            )
            cur.execute(f"DROP TABLE {name(table)}")
            cur.execute(f"ALTER TABLE {_rebuilding(table)} RENAME TO {name(table)}")
            for statement in create(table):
                cur.execute(statement)
            cur.execute(f"SELECT COUNT(*) FROM {name(table)}")
            out[table.name] = int(cur.fetchone()[0])
    return out


def prepare(
    ledger: Any, adapters: Mapping[str, Tabulates], *, wait: float = 0.5
) -> dict[str, int] | None:
    """Make the adapters' tables as a gateway starts. A table that is new in a ledger already
    holding messages (a ledger made by a version without it: an upgrade) is filled from the
    ledger first (:func:`rebuild`), so that the rules never read an empty table where the
    ledger has the messages; returns the rows written then, else None. Among processes on one
    ledger one makes and fills the tables while the others wait for it (``Ledger.exclusive``):
    the next finds them made and fills nothing."""
    tables = list(tables_of(adapters).values())
    while True:
        with ledger.exclusive("domain-tables") as held:
            if held:
                made = ledger.ensure_tables(tables)
                if made and ledger.rows("SELECT 1 FROM entries LIMIT 1"):
                    return rebuild(ledger, adapters)
                return None
        time.sleep(wait)
