"""``ledger verify`` of the domain tables (``domain.py``): the stored rows against the rows the
verdict entries' payloads give again, message by message, in ledger order.

Both sides are walked once, side by side, at one moment of the ledger (``reads.py``): the
verdicts in order of their entry (``verdicts.py``), each table's rows ordered by the verdict
entry that wrote them (``seq``, sorted by the database), a batch fetched at a time. What is
held is one message's rows, never a table: the size of the ledger does not matter. Every
stored row is looked at: a changed, missing or extra row is reported by table, message and
entry, never by a value. The rows of a message that cannot be made again (payload erased,
entries redacted) are not judged.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from itertools import groupby
from typing import Any

from gateway.description import Table
from gateway.ledger import domain
from gateway.ledger.reads import Reads
from gateway.ledger.verdicts import Tabulates, Verdict, tables_of, upto, verdicts

Row = tuple[Any, ...]


class _Stored:
    """One table's stored rows, a group per verdict entry (``seq``), in entry order."""

    def __init__(self, reads: Reads, table: Table) -> None:
        cols = ", ".join(domain.columns(table))
        rows = reads.scan(f"SELECT {cols} FROM {domain.name(table)} ORDER BY seq")
        self._groups = ((seq, [tuple(r) for r in group]) for seq, group in groupby(rows, _seq))
        self._next: tuple[int, list[Row]] | None = next(self._groups, None)

    def before(self, seq: int) -> Iterator[list[Row]]:
        """The groups of entries before ``seq`` (no verdict of the walk wrote them)."""
        while self._next is not None and self._next[0] < seq:
            yield self._next[1]
            self._next = next(self._groups, None)

    def take(self, seq: int) -> list[Row]:
        """The rows of entry ``seq`` (after :meth:`before` it)."""
        if self._next is None or self._next[0] != seq:
            return []
        rows = self._next[1]
        self._next = next(self._groups, None)
        return rows

    def rest(self) -> Iterator[list[Row]]:
        return self.before(2**63)


def _seq(row: Sequence[Any]) -> int:
    return int(row[1])


class _Problems:
    def __init__(self, max_problems: int) -> None:
        self.found: list[str] = []
        self.max = max_problems

    @property
    def full(self) -> bool:
        return len(self.found) >= self.max

    def compare(self, table: str, have: list[Row], want: list[Row]) -> None:
        """One entry's stored rows against the ones the ledger gives; a line per message that
        differs, naming its message and entry and how many rows, never a value."""
        if Counter(have) == Counter(want):
            return
        extra, missing = Counter(have), Counter(want)
        extra, missing = extra - missing, missing - extra
        by_message: dict[tuple[str, int], list[int]] = {}
        for rows, index in ((extra, 0), (missing, 1)):
            for row, n in rows.items():
                by_message.setdefault((str(row[0]), int(row[1])), [0, 0])[index] += n
        for (message_id, seq), (stored, gone) in sorted(by_message.items()):
            if self.full:
                return
            self.found.append(
                f"domain table {table}: the rows of message {message_id} (entry {seq}) differ "
                f"from what the ledger gives: {stored} stored that it does not give, "
                f"{gone} missing"
            )


def problems(ledger: Any, adapters: Mapping[str, Tabulates], max_problems: int = 100) -> list[str]:
    """Where the stored domain tables differ from what the ledger gives (``ledger``: a
    ``SqlLedger``; ``adapters``: those keeping tables, by standard)."""
    tables = tables_of(adapters)
    ledger.ensure_tables(list(tables.values()))
    out = _Problems(max_problems)
    with ledger.snapshot() as reads:
        stored = {n: _Stored(reads, t) for n, t in tables.items()}
        for verdict in verdicts(reads, upto(reads)):
            _judge(verdict, domain.rows_of(verdict, adapters, ledger), stored, out)
            if out.full:
                return out.found
        for n, table_rows in stored.items():
            for rows in table_rows.rest():
                out.compare(n, rows, [])
                if out.full:
                    return out.found
    return out.found


def _judge(
    verdict: Verdict,
    made: dict[str, list[Row]] | None,
    stored: dict[str, _Stored],
    out: _Problems,
) -> None:
    """The stored rows up to the verdict's entry: those of earlier entries are extra (no verdict
    wrote them), the verdict's own against ``made`` (None: not judged, except rows of another
    message that claim its entry)."""
    seq, message_id = verdict.entry.seq, verdict.entry.message_id
    for n, table_rows in stored.items():
        for rows in table_rows.before(seq):
            out.compare(n, rows, [])
        have = table_rows.take(seq)
        if made is None:
            out.compare(n, [r for r in have if r[0] != message_id], [])
        else:
            out.compare(n, have, made.get(n, []))
