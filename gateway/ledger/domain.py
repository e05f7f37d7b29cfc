"""The standards' domain read model: tables an adapter declares (``gateway.description.Table``,
capability ``Tables``), kept by the ledger beside the entries.

The rows come with a message's :class:`gateway.description.Description` and are written in the
transaction that appends its verdict entry (``SqlLedger._write``, as the counts are), with the
columns the ledger fills itself (:data:`CORE`) taken from that entry; a ``personal`` column is
stored as the ledger's keyed hash (``bsn_hash_key``). Rules read them a chunk of keys at a time
(``SqlLedger.domain_rows``) instead of re-reading earlier payloads, so they keep working after
retention erased those payloads.

Derived, like the counts: :func:`rebuilt` gives the rows again from the verdict entries and the
payloads they carried (the adapter's ``table_rows``), ``ledger verify`` compares
(:func:`problems`) and ``ledger rebuild-domain`` replaces the stored rows (:func:`rebuild`). A
message whose payload was erased, or whose entries were redacted, cannot be read again: its
stored rows are neither judged nor replaced.
"""

from __future__ import annotations

import json
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from gateway.description import Rows, Table
from gateway.envelope import MessageType
from gateway.ledger import EARLIER, Entry, Event

_TABLE_NAME = re.compile(r"domain_[a-z][a-z0-9_]{0,40}")
CORE = ("message_id", "seq", "event", "at", "standard", "sender", "receiver")
_CORE_TYPES = ("TEXT NOT NULL", "BIGINT NOT NULL", *("TEXT NOT NULL",) * 5)


class Tabulates(Protocol):
    """What a rebuild needs of a standard adapter (``gateway.adapter.Tables``)."""

    standards: tuple[str, ...]

    def tables(self) -> Sequence[Table]: ...

    def table_rows(self, body: bytes, message_type: MessageType) -> Rows: ...


def name(table: Table) -> str:
    return f"domain_{table.name}"


def is_name(text: str) -> bool:
    """Whether ``text`` is the name of a domain table (as the database lists them)."""
    return bool(_TABLE_NAME.fullmatch(text))


def columns(table: Table) -> tuple[str, ...]:
    return (*CORE, *table.columns)


def create(table: Table) -> list[str]:
    """The statements that make the table and its indexes when missing (both backends)."""
    own = [f"{c} {'BIGINT' if c in table.integers else 'TEXT'}" for c in table.columns]
    core = [f"{c} {t}" for c, t in zip(CORE, _CORE_TYPES, strict=True)]
    out = [
        f"CREATE TABLE IF NOT EXISTS {name(table)} ({', '.join(core + own)})",
        f"CREATE INDEX IF NOT EXISTS {name(table)}__message_id ON {name(table)} (message_id)",
    ]
    for index in table.indexes:
        out.append(
            f"CREATE INDEX IF NOT EXISTS {name(table)}__{'__'.join(index)} "
            f"ON {name(table)} ({', '.join(index)})"
        )
    return out


def insert(table: Table) -> str:
    cols = columns(table)
    return f"INSERT INTO {name(table)} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"


def written(event: Event, detail: Mapping[str, Any]) -> bool:
    """Whether an entry is a verdict whose rows are kept: accepted, imported, or rejected by the
    rules (a rejected declaratie is still answered, and the answer's rules look it up)."""
    return event in EARLIER or (event is Event.REJECTED and detail.get("stage") == "rules")


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


# -- rebuilt from the ledger ---------------------------------------------------------------------

_SCAN = (
    "SELECT seq, message_id, correlation_id, event, at, route, standard, code, version, sender, "
    "receiver, detail, payload_sha256, redacted FROM entries WHERE event IN "
    "('received', 'mapped', 'validated', 'imported', 'rejected') ORDER BY seq"
)


@dataclass
class Rebuilt:
    """Rows the verdict entries and their payloads give, by table name."""

    tables: dict[str, Table] = field(default_factory=dict)
    rows: dict[str, Counter[tuple[Any, ...]]] = field(default_factory=dict)
    # Messages whose rows cannot be made again (payload erased, entries redacted).
    skipped: set[str] = field(default_factory=set)


def _verdicts(ledger: Any) -> Iterator[tuple[Entry, str | None, bool]]:
    """(verdict entry, the payload its message carried then, whether a redaction touched it)."""
    carrying: dict[str, str | None] = {}
    redacted: set[str] = set()
    for row in ledger.scan(_SCAN):
        (seq, message_id, correlation_id, event, at, route, standard, code, version, sender,
         receiver, detail, sha, gone) = row  # fmt: skip
        if gone:
            redacted.add(message_id)
        if event in ("received", "mapped"):
            if sha:
                carrying[message_id] = sha
            continue
        details = json.loads(detail) if detail and detail != "{}" else {}
        entry = Entry(
            seq, message_id, correlation_id, Event(event), at, route, standard, code, version,
            sender, receiver, details,
        )  # fmt: skip
        if written(entry.event, details):
            yield entry, carrying.get(message_id), message_id in redacted or bool(gone)


def rebuilt(ledger: Any, adapters: Mapping[str, Tabulates]) -> Rebuilt:
    """The rows every verdict entry's payload gives (``ledger``: a ``SqlLedger``)."""
    out = Rebuilt()
    for adapter in {id(a): a for a in adapters.values()}.values():
        for table in adapter.tables():
            out.tables[table.name] = table
            out.rows[table.name] = Counter()
    for entry, sha, redacted in _verdicts(ledger):
        source = adapters.get(entry.standard)
        if source is None:
            continue
        body = ledger.payload(sha) if sha and not redacted else None
        if body is None:
            out.skipped.add(entry.message_id)
            continue
        made = source.table_rows(body, MessageType(entry.standard, entry.code, entry.version))
        for table, rows in made.items():
            out.rows[table.name].update(prepared(entry, table, rows, ledger.personal))
    return out


def stored(ledger: Any, table: Table) -> Counter[tuple[Any, ...]]:
    ledger.ensure_tables([table])
    cols = ", ".join(columns(table))
    return Counter(tuple(r) for r in ledger.scan(f"SELECT {cols} FROM {name(table)}"))


def problems(ledger: Any, found: Rebuilt, max_problems: int = 100) -> list[str]:
    """Where the stored tables differ from what the ledger gives (``ledger verify``); names the
    table and the message, never a value."""
    out: list[str] = []
    for table_name, table in sorted(found.tables.items()):
        have = stored(ledger, table)
        want = found.rows[table_name]
        for row in sorted(set(have) | set(want), key=repr):
            if row[0] in found.skipped or have[row] == want[row]:
                continue
            what = "stored" if have[row] > want[row] else "missing"
            out.append(
                f"domain table {table_name}: a row of message {row[0]} (entry {row[1]}) is "
                f"{what}: {have[row]} stored where the ledger gives {want[row]}"
            )
            if len(out) >= max_problems:
                return out
    return out


def rebuild(ledger: Any, adapters: Mapping[str, Tabulates]) -> dict[str, int]:
    """Replace the tables' rows with what the ledger gives (the rows of messages that cannot
    be read again stay); returns the rows written per table. Run it with nothing appending
    (``ledger rebuild-domain``: the gateway stopped)."""
    found = rebuilt(ledger, adapters)
    tables = list(found.tables.values())
    ledger.ensure_tables(tables)
    kept = {
        t.name: [r for r in stored(ledger, t).elements() if r[0] in found.skipped] for t in tables
    }
    written_rows: dict[str, int] = {}
    with ledger._commit, ledger._transaction(ledger._writer) as cur:
        for table in tables:
            cur.execute(f"DELETE FROM {name(table)}")
            rows = kept[table.name] + sorted(found.rows[table.name].elements(), key=lambda r: r[1])
            if rows:
                cur.executemany(ledger._q(insert(table)), rows)
            written_rows[table.name] = len(rows)
    return written_rows


def prepare(
    ledger: Any, adapters: Mapping[str, Tabulates], *, wait: float = 0.5
) -> dict[str, int] | None:
    """Make the adapters' tables as a gateway starts. A table that is new in a ledger already
    holding messages (a ledger made by a version without it: an upgrade) is filled from the
    ledger first (:func:`rebuild`), so that the rules never read an empty table where the
    ledger has the messages; returns the rows written then, else None. Among processes on one
    ledger one makes and fills the tables while the others wait for it (``Ledger.exclusive``):
    the next finds them made and fills nothing."""
    tables = [t for a in {id(a): a for a in adapters.values()}.values() for t in a.tables()]
    while True:
        with ledger.exclusive("domain-tables") as held:
            if held:
                made = ledger.ensure_tables(tables)
                if made and ledger.rows("SELECT 1 FROM entries LIMIT 1"):
                    return rebuild(ledger, adapters)
                return None
        time.sleep(wait)
