"""The monitor's fact table: one row per granted provision, derived from the ledger's accepted
messages by the standards that know what their messages grant (capability ``Reports`` in
``gateway/adapter.py``).

The core knows no standard: it hands each reporting adapter the accepted messages of its
standards in ledger order (``gateway.provisions.Accepted``), and the adapter's ``Folder``
folds them into ``Provision`` rows (a grant, its start and stop, what was billed against it).
Personal data never reaches the table: the client is a keyed hash of its identifier, the
household a keyed hash of its address (the ledger's ``bsn_hash_key``).

The table is a read model kept in memory per process and brought up to date incrementally: each
:meth:`FactTable.refresh` reads only the entries recorded since the last one (a range on the
entries' primary key), so a restart rebuilds it from the ledger once and later calls cost what
was added since. Nothing is stored beside the ledger.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from gateway.adapter import Reports
from gateway.ledger import EARLIER, keyed_hash
from gateway.ledger.sql import SqlLedger
from gateway.provisions import Accepted, Provision


class Scanner(Protocol):
    """What the fact table reads from the ledger (``SqlLedger``: a ``Ledger`` that also scans)."""

    def scan(self, sql: str, params: Sequence[Any] = ()) -> Iterator[Sequence[Any]]: ...

    def payload(self, sha256: str) -> bytes | None: ...


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
    "WHERE e.seq > ? AND e.event IN (?, ?) ORDER BY e.seq, r.seq"
)


def accepted_since(ledger: Scanner, after: int) -> Iterator[tuple[int, Accepted]]:
    """(seq, message) of every message accepted (or imported) in an entry after ``after``, in
    ledger order; the body is the latest recorded XML (a mapped message's, not its JSON)."""
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

    for row in ledger.scan(_SCAN, (after, *_EARLIER)):
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

        self._folders = [
            (frozenset(getattr(a, "standards", ())), a.monitor_folder(client, address))
            for a in adapters
            if isinstance(a, Reports)
        ]
        self._through = 0
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._cached: list[Provision] | None = None

    def refresh(self) -> int:
        """Fold what was accepted since the last refresh; returns how many messages."""
        added = 0
        with self._lock:
            for seq, message in accepted_since(self.ledger, self._through):
                self._through = max(self._through, seq)
                if message.message_id in self._seen:
                    continue
                self._seen.add(message.message_id)
                for standards, folder in self._folders:
                    if message.standard in standards:
                        folder.add(message)
                        added += 1
            if added or self._cached is None:
                self._cached = [p for _, f in self._folders for p in f.provisions()]
        return added

    def provisions(self) -> list[Provision]:
        self.refresh()
        assert self._cached is not None
        return list(self._cached)
