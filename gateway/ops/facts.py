"""The monitor's fact table: one row per granted provision, derived from the ledger's accepted
messages by the standards that know what their messages grant.

The core knows no standard, it only asks. A standard that keeps domain tables (capability
``TableReports`` in ``gateway/adapter.py``: iWmo/iJw) gets the rows its tables hold for the
accepted (and imported) messages (``gateway.provisions.Row``), table by table in ledger order, and
its ``RowFolder`` folds them into ``Provision`` rows (a grant, its start and stop, what was billed
against it); no payload is read, so its figures survive retention's erasure of the payloads. A
standard without tables (capability ``Reports``: iPgb) gets the accepted messages of its
standards with their recorded bodies (``gateway.provisions.Accepted``) and its ``Folder`` reads
them. Personal data never reaches the table: the client is a keyed hash of its identifier, the
household a keyed hash of its address (the ledger's ``bsn_hash_key``, as the domain tables
store them).

The table is a read model kept in memory per process and brought up to date incrementally: each
:meth:`FactTable.refresh` reads only what was recorded since the last one (a range on the
entries' primary key), so a restart rebuilds it from the ledger once and later calls cost what
was added since. Nothing is stored beside the ledger.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from gateway.adapter import Reports, TableReports, Tables
from gateway.description import Table
from gateway.ledger import EARLIER, domain, keyed_hash
from gateway.ledger.sql import SqlLedger
from gateway.provisions import Accepted, Folder, Provision, Row, RowFolder


class Scanner(Protocol):
    """What the fact table reads from the ledger (``SqlLedger``: a ``Ledger`` that also scans)."""

    def scan(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Any]]: ...

    def payload(self, sha256: str) -> bytes | None: ...

    def tree_size(self) -> int: ...

    def domain_accepted(self, table: Table, after: int, upto: int) -> Iterator[Row]: ...


def scanner(ledger: object) -> Scanner:
    """``ledger`` as the fact table reads it (every ledger of ``open_ledger`` is one)."""
    if not isinstance(ledger, SqlLedger):
        raise TypeError(f"the monitor reads a SQL ledger, not {type(ledger).__name__}")
    return ledger


_EARLIER = tuple(e.value for e in sorted(EARLIER))
assert len(_EARLIER) == 2
_SCAN = (
    "SELECT e.seq, e.message_id, e.event, e.standard, e.code, e.sender, e.receiver, "
    "r.event, r.at, r.payload_sha256 FROM entries e JOIN entries r "
    "ON r.message_id = e.message_id AND r.event IN ('received', 'mapped') "
    "AND r.payload_sha256 IS NOT NULL "
    "WHERE e.seq > ? AND e.seq <= ? AND e.event IN (?, ?) AND e.standard IN ({}) "
    "ORDER BY e.seq, r.seq"
)


def accepted_since(
    ledger: Scanner, after: int, upto: int, standards: Sequence[str]
) -> Iterator[tuple[int, Accepted]]:
    """(seq, message) of every message of ``standards`` accepted (or imported) in an entry
    after ``after`` and up to ``upto``, in ledger order; the body is the latest recorded XML (a
    mapped message's, not its JSON)."""
    pending: list[Sequence[Any]] = []

    def done() -> tuple[int, Accepted] | None:
        if not pending:
            return None
        first, last = pending[0], pending[-1]
        imported = str(first[2]) == "imported"
        body = ledger.payload(str(last[9]))
        pending.clear()
        if body is None:  # erased by retention: nothing to read
            return None
        arrived = None if imported else dt.datetime.fromisoformat(str(first[8])).date()
        message = Accepted(
            str(first[1]), str(first[3]), str(first[4]), str(first[5]), str(first[6]),
            arrived, body,
        )  # fmt: skip
        return int(first[0]), message

    sql = _SCAN.format(", ".join("?" * len(standards)))
    for row in ledger.scan(sql, (after, upto, *_EARLIER, *standards)):
        if pending and pending[0][0] != row[0]:
            found = done()
            if found is not None:
                yield found
        pending.append(row)
    found = done()
    if found is not None:
        yield found


class FactTable:
    """The fact table of one ledger, brought up to date on :meth:`refresh`."""

    def __init__(self, ledger: Scanner, adapters: Iterable[Any], hash_key: str) -> None:
        self.ledger = ledger

        def client(value: str) -> str:
            return keyed_hash(hash_key, value)

        def address(value: str) -> str:
            return keyed_hash(hash_key, "address:" + value)

        adapters = list(adapters)
        # The domain tables are read as the gateway's start leaves them (``domain.prepare``:
        # made, and filled on a ledger from before them), also where no gateway started yet.
        self._tabulating = {s: a for a in adapters if isinstance(a, Tables) for s in a.standards}
        self._prepared = False
        self._row_folders: list[RowFolder] = []
        self._folders: list[tuple[tuple[str, ...], Folder]] = []
        self._all: list[RowFolder | Folder] = []  # in the adapters' order
        for a in adapters:
            if isinstance(a, TableReports):
                self._row_folders.append(a.monitor_rows())
                self._all.append(self._row_folders[-1])
            elif isinstance(a, Reports):
                standards = tuple(getattr(a, "standards", ()))
                self._folders.append((standards, a.monitor_folder(client, address)))
                self._all.append(self._folders[-1][1])
        self._standards = sorted({s for standards, _ in self._folders for s in standards})
        self._through = 0
        # The verdict entry each message's facts were taken from (a message is folded once).
        self._seen: dict[str, int] = {}
        self._lock = threading.Lock()
        self._cached: list[Provision] | None = None

    def refresh(self) -> int:
        """Fold what was accepted since the last refresh; returns how many messages."""
        added: set[str] = set()
        with self._lock:
            if not self._prepared:
                domain.prepare(self.ledger, self._tabulating)
                self._prepared = True
            upto = self.ledger.tree_size()
            if upto > self._through:
                self._fold_rows(self._through, upto, added)
                self._fold_messages(self._through, upto, added)
                self._through = upto
            if added or self._cached is None:
                self._cached = [p for f in self._all for p in f.provisions()]
        return len(added)

    def _fold_rows(self, after: int, upto: int, added: set[str]) -> None:
        for folder in self._row_folders:
            for table in folder.tables():
                for row in self.ledger.domain_accepted(table, after, upto):
                    message_id, seq = str(row["message_id"]), int(row["seq"])
                    if self._seen.setdefault(message_id, seq) != seq:
                        continue
                    folder.add(table, row)
                    added.add(message_id)

    def _fold_messages(self, after: int, upto: int, added: set[str]) -> None:
        if not self._standards:
            return
        for seq, message in accepted_since(self.ledger, after, upto, self._standards):
            if self._seen.setdefault(message.message_id, seq) != seq:
                continue
            added.add(message.message_id)
            for standards, folder in self._folders:
                if message.standard in standards:
                    folder.add(message)

    def provisions(self) -> list[Provision]:
        self.refresh()
        assert self._cached is not None
        return list(self._cached)
