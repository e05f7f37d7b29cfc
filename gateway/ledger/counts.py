"""Counts per hour, route, counterpart and outcome, kept as the entries are appended.

The ``counts`` table is derived, like ``messages``: the ledger adds to it in the transaction that
appends the entries (``SqlLedger._write``), so the overview reads a few hundred rows instead of
scanning millions of entries. Each entry counts at most once, under:

- its hour (``bucket``: the first 13 characters of ``at``, ``2026-12-03T17``, UTC);
- its route (the entry's own);
- the counterpart: the receiver of an outbound message, the sender of an inbound one, as the
  message's state names it after the transaction that recorded the entry ("" while unknown: a
  message refused before it was identified);
- its outcome (:func:`outcome`): received, accepted, rejected (by the rules), refused (before
  them), delivered, retrying, parked, overdue (a deadline passed without its answer).

:func:`rebuild_rows` derives the same rows from the entries alone; ``ledger verify`` compares
(:func:`problems`), and :func:`rebuild` replaces the table with them. A message whose entries
were redacted by retention has lost its parties and detail: the hours it touched are neither
judged nor rebuilt (their stored rows stay).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import groupby
from typing import TYPE_CHECKING, Any

from gateway.ledger import Entry, Event, MessageState

if TYPE_CHECKING:
    from gateway.ledger.sql import SqlLedger

OUTCOMES = (
    "received",
    "accepted",
    "rejected",
    "refused",
    "delivered",
    "retrying",
    "parked",
    "overdue",
)

_BY_EVENT = {
    Event.RECEIVED: "received",
    Event.VALIDATED: "accepted",
    Event.DELIVERED: "delivered",
    Event.RETRIED: "retrying",
    Event.PARKED: "parked",
    Event.OVERDUE: "overdue",
}

Key = tuple[str, str, str, str]  # bucket, route, counterpart, outcome

UPSERT = (
    "INSERT INTO counts (bucket, route, counterpart, outcome, n) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (bucket, route, counterpart, outcome) DO UPDATE SET n = counts.n + excluded.n"
)


def bucket(at: str) -> str:
    """The hour of an ISO 8601 UTC time, as the table keeps it: ``2026-12-03T17``."""
    return at[:13]


def outcome(event: Event, detail: Any) -> str | None:
    """What an entry counts as, or None (an entry that is no outcome: published, viewed ...)."""
    if event is Event.REJECTED:
        return "rejected" if detail.get("stage") == "rules" else "refused"
    return _BY_EVENT.get(event)


def counterpart(route: str, sender: str, receiver: str) -> str:
    return receiver if route.startswith("outbound") else sender


def tally(entries: Iterable[Entry], states: dict[str, MessageState | None]) -> Counter[Key]:
    """The counts of entries committed together, ``states`` being their messages' states after
    the transaction (``SqlLedger._update_states``)."""
    out: Counter[Key] = Counter()
    for entry in entries:
        what = outcome(entry.event, entry.detail)
        if what is None:
            continue
        state = states.get(entry.message_id)
        party = counterpart(entry.route, state.sender, state.receiver) if state else ""
        out[bucket(entry.at), entry.route, party, what] += 1
    return out


def rebuild_rows(ledger: SqlLedger) -> tuple[Counter[Key], set[str]]:
    """The counts the entries give, and the hours not rebuildable (a redacted message's)."""
    out: Counter[Key] = Counter()
    skipped: set[str] = set()
    for _, rows in _by_message(
        ledger.scan(
            "SELECT message_id, event, at, route, sender, receiver, detail, redacted "
            "FROM entries ORDER BY message_id, seq"
        )
    ):
        if any(r[7] for r in rows):
            skipped.update(bucket(r[2]) for r in rows)
            continue
        sender = receiver = ""
        # Entries committed together share their time: they count with the parties the message
        # had after that transaction.
        for at, together in groupby(rows, key=lambda r: r[2]):
            group = list(together)
            for r in group:
                sender, receiver = r[4] or sender, r[5] or receiver
            for r in group:
                what = outcome(Event(r[1]), json.loads(r[6]))
                if what is not None:
                    out[bucket(at), r[3], counterpart(r[3], sender, receiver), what] += 1
    return out, skipped


def _by_message(rows: Iterable[Sequence[Any]]) -> Iterator[tuple[str, list[Sequence[Any]]]]:
    current: str | None = None
    group: list[Sequence[Any]] = []
    for row in rows:
        if row[0] != current:
            if group:
                yield current or "", group
            current, group = row[0], []
        group.append(row)
    if group:
        yield current or "", group


def stored(ledger: SqlLedger) -> Counter[Key]:
    return Counter(
        {
            (r[0], r[1], r[2], r[3]): int(r[4])
            for r in ledger.scan("SELECT bucket, route, counterpart, outcome, n FROM counts")
            if int(r[4])
        }
    )


def problems(ledger: SqlLedger, max_problems: int = 100) -> list[str]:
    """Where the stored counts differ from what the entries give (``ledger verify``)."""
    rebuilt, skipped = rebuild_rows(ledger)
    have = stored(ledger)
    out: list[str] = []
    for key in sorted(set(rebuilt) | set(have)):
        if key[0] in skipped or rebuilt[key] == have[key]:
            continue
        out.append(
            f"count {'/'.join(key) or '-'}: stored {have[key]} where the entries give "
            f"{rebuilt[key]}"
        )
        if len(out) >= max_problems:
            break
    return out


def rebuild(ledger: SqlLedger) -> int:
    """Replace the counts with what the entries give (the hours of redacted messages stay);
    returns the rows written."""
    rebuilt, skipped = rebuild_rows(ledger)
    with ledger._commit, ledger._transaction(ledger._writer) as cur:
        for hour in {k[0] for k in stored(ledger)} - skipped:
            cur.execute(ledger._q("DELETE FROM counts WHERE bucket = ?"), (hour,))
        rows = [(*k, n) for k, n in sorted(rebuilt.items()) if k[0] not in skipped]
        cur.executemany(ledger._q(UPSERT), rows)
    return len(rows)
