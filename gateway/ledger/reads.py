"""Reads that all see the ledger as it was at one moment (``SqlLedger.snapshot``).

A check or rebuild that walks several large tables side by side (the domain tables beside the
entries that made them: ``domain_check.py``, ``domain.rebuild``) reads them in one read-only
transaction of a connection of its own, so that a gateway appending meanwhile cannot put a row
in one table and not yet in the other. Each scan fetches ``batch`` rows at a time (a
server-side cursor on PostgreSQL, a stepped statement on SQLite): what a scan holds is one
batch, however large the ledger.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator, Sequence
from typing import Any

# Rows fetched from the database at a time by a scan.
BATCH = 5_000


class Reads:
    """Queries on one connection inside one read-only transaction (made by the backend)."""

    def __init__(self, conn: Any, q: Callable[[str], str], cursor: Callable[[], Any]) -> None:
        self._conn = conn
        self._q = q  # the statement in the driver's parameter style
        self._cursor = cursor  # a new cursor (server-side on PostgreSQL)
        self._scans: list[Generator[Sequence[Any], None, None]] = []

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        """A small read, whole."""
        return list(self._conn.execute(self._q(sql), params).fetchall())

    def scan(
        self, sql: str, params: Sequence[Any] = (), batch: int | None = None
    ) -> Iterator[Sequence[Any]]:
        """The rows of a large read, ``batch`` (default :data:`BATCH`) fetched at a time."""
        scan = self._scan(sql, params, batch or BATCH)
        self._scans.append(scan)
        return scan

    def close(self) -> None:
        """Close the scans not read to their end (while their connection is still open)."""
        for scan in self._scans:
            scan.close()
        self._scans.clear()

    def _scan(
        self, sql: str, params: Sequence[Any], size: int
    ) -> Generator[Sequence[Any], None, None]:
        cur = self._cursor()
        try:
            cur.execute(self._q(sql), params)
            while rows := cur.fetchmany(size):
                yield from rows
        finally:
            cur.close()
