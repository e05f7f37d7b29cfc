"""The verdict entries that keep domain rows, in ledger order, each with the payload its
message carried then: what ``ledger verify`` and ``ledger rebuild-domain`` make the domain
tables again from (``domain_check.py``, ``domain.rebuild``).

Read from a :class:`gateway.ledger.reads.Reads` (one moment of the ledger) a batch of verdicts
at a time: the payloads their messages carried are looked up for that batch only (through the
entries' index on the message id), so nothing held grows with the ledger. The rows of one
message are made at once (as the adapter's ``table_rows`` gives them); that is the largest
thing held, and a message's size is capped by ``max_message_bytes``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from typing import Any, Protocol

from gateway.description import Rows, Table
from gateway.envelope import MessageType
from gateway.ledger import EARLIER, Entry, Event
from gateway.ledger.reads import Reads

# Verdicts whose payloads are looked up in one query.
BATCH = 500

_VERDICTS = (
    "SELECT seq, message_id, correlation_id, event, at, route, standard, code, version, sender, "
    "receiver, detail, redacted FROM entries "
    "WHERE event IN ('validated', 'imported', 'rejected') AND seq <= ? ORDER BY seq"
)
# The entries of a batch's messages that carry a payload or may be redacted before a verdict.
_CARRIED = (
    "SELECT message_id, seq, event, payload_sha256, redacted FROM entries "
    "WHERE event IN ('received', 'mapped', 'validated', 'imported', 'rejected') AND seq <= ? "
    "AND message_id IN "
)


class Tabulates(Protocol):
    """What a rebuild needs of a standard adapter (``gateway.adapter.Tables``)."""

    standards: tuple[str, ...]

    def tables(self) -> Sequence[Table]: ...

    def table_rows(self, body: bytes, message_type: MessageType) -> Rows: ...


def written(event: Event, detail: Mapping[str, Any]) -> bool:
    """Whether an entry is a verdict whose rows are kept: accepted, imported, or rejected by the
    rules (a rejected declaratie is still answered, and the answer's rules look it up)."""
    return event in EARLIER or (event is Event.REJECTED and detail.get("stage") == "rules")


@dataclass(frozen=True)
class Verdict:
    entry: Entry
    payload: str | None  # SHA-256 of the payload the message carried then (received or mapped)
    redacted: bool  # a redaction touched the message: its rows cannot be made again


def upto(reads: Reads) -> int:
    """The ledger's size at the reads' moment: the last entry a walk takes."""
    return int(reads.rows("SELECT COALESCE(MAX(seq), 0) FROM entries")[0][0])


def verdicts(reads: Reads, last: int, batch: int | None = None) -> Iterator[Verdict]:
    """Every verdict entry up to entry ``last`` whose rows are kept (:func:`written`), in
    order; ``batch`` verdicts (default :data:`BATCH`) at a time."""
    rows = reads.scan(_VERDICTS, (last,))
    size = batch or BATCH
    while chunk := list(islice(rows, size)):
        carried = _carried(reads, chunk)
        for row in chunk:
            (seq, message_id, correlation_id, event, at, route, standard, code, version, sender,
             receiver, detail, gone) = row  # fmt: skip
            details = json.loads(detail) if detail and detail != "{}" else {}
            entry = Entry(
                seq, message_id, correlation_id, Event(event), at, route, standard, code, version,
                sender, receiver, details,
            )  # fmt: skip
            if not written(entry.event, details):
                continue
            sha, touched = None, bool(gone)
            for before_seq, before_event, before_sha, before_gone in carried.get(message_id, ()):
                if before_seq > seq:
                    break
                touched = touched or bool(before_gone)
                if before_event in ("received", "mapped") and before_sha and before_seq < seq:
                    sha = before_sha
            yield Verdict(entry, sha, touched)


def _carried(reads: Reads, chunk: list[Sequence[Any]]) -> dict[str, list[tuple[Any, ...]]]:
    """The payload-carrying (and verdict) entries of the chunk's messages up to its last
    verdict, by message, in order."""
    ids = sorted({row[1] for row in chunk})
    last = chunk[-1][0]
    found: dict[str, list[tuple[Any, ...]]] = {}
    for start in range(0, len(ids), BATCH):
        part = ids[start : start + BATCH]
        sql = _CARRIED + f"({', '.join('?' * len(part))})"
        for message_id, seq, event, sha, gone in reads.rows(sql, (last, *part)):
            found.setdefault(message_id, []).append((seq, event, sha, gone))
    for entries in found.values():
        entries.sort()
    return found


def tables_of(adapters: Mapping[str, Tabulates]) -> dict[str, Table]:
    """The tables the adapters keep, by name, in name order."""
    found = {t.name: t for a in {id(a): a for a in adapters.values()}.values() for t in a.tables()}
    return dict(sorted(found.items()))
