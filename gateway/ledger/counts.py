"""Counts per hour or day, route, counterpart and outcome, kept as the entries are appended.

The ``counts`` table is derived, like ``messages``: the ledger adds to it in the transaction that
appends the entries (``SqlLedger._write``), so the overview reads a few thousand rows instead of
scanning millions of entries. Each entry counts at most once in each of three spans:

- ``hour`` and ``day``: under its hour (``bucket``: the first 13 characters of ``at``,
  ``2026-12-03T17``, UTC) or its day (``2026-12-03``), route, counterpart and outcome;
- ``total``: under its hour and outcome alone (route and counterpart ""), for the chart;

with
- route and counterpart: its message's (the receiver of an outbound message, the sender of an
  inbound one) as the message's state names them after the transaction that recorded the entry
  (so a ``received`` counts under the route its verdict in the same transaction identified;
  counterpart "" while unknown: a message refused before a party was named);
- nothing for a message imported (``ketenpoort import``, the region demo: exchanged before
  Ketenpoort) nor for the gateway's records of its own operations (a replay job, a monitor
  export): neither flowed through it;
- outcome (:func:`outcome`): received, accepted, rejected (by the rules), refused (before
  them), delivered, retrying, parked, overdue (a deadline passed without its answer), late
  (answered late: the answer came after the due date; counted on the heenbericht when the
  deadline monitor records it, ``answered-late``, at most one check interval after the answer).

:class:`Rebuilt` derives the same rows from the entries alone; ``ledger verify`` compares
(while it rebuilds the messages' states from the same histories), and :func:`rebuild` replaces
the table with them. A message whose entries
were redacted by retention has lost its parties and detail: the days it touched are neither
judged nor rebuilt (their stored rows stay).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from itertools import groupby
from typing import Any

from gateway.ledger import OPERATIONS, Entry, Event, MessageState, Status
from gateway.ledger.state import advance

OUTCOMES = (
    "received",
    "accepted",
    "rejected",
    "refused",
    "delivered",
    "retrying",
    "parked",
    "overdue",
    "late",
)

_BY_EVENT = {
    Event.RECEIVED: "received",
    Event.VALIDATED: "accepted",
    Event.DELIVERED: "delivered",
    Event.RETRIED: "retrying",
    Event.PARKED: "parked",
    Event.OVERDUE: "overdue",
    Event.ANSWERED_LATE: "late",
}

SPANS = ("hour", "day", "total")
Key = tuple[str, str, str, str, str]  # span, bucket, route, counterpart, outcome

UPSERT = (
    "INSERT INTO counts (span, bucket, route, counterpart, outcome, n) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (span, bucket, route, counterpart, outcome) "
    "DO UPDATE SET n = counts.n + excluded.n"
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


def tally(entries: Iterable[Entry], states: Mapping[str, MessageState | None]) -> Counter[Key]:
    """The counts of entries committed together, ``states`` being their messages' states after
    the transaction (``SqlLedger._update_states``)."""
    out: Counter[Key] = Counter()
    for entry in entries:
        what = outcome(entry.event, entry.detail)
        if what is None:
            continue
        state = states.get(entry.message_id)
        if state is not None and (state.status is Status.IMPORTED or state.direction == OPERATIONS):
            continue  # exchanged before Ketenpoort, or the gateway's own record: no flow
        route = state.route if state else entry.route
        party = counterpart(state.route, state.sender, state.receiver) if state else ""
        hour = bucket(entry.at)
        out["hour", hour, route, party, what] += 1
        out["day", hour[:10], route, party, what] += 1
        out["total", hour, "", "", what] += 1
    return out


class Rebuilt:
    """Counts rebuilt from messages' entries, one message at a time (:meth:`add`)."""

    def __init__(self) -> None:
        self.counts: Counter[Key] = Counter()
        self.skipped: set[str] = set()  # days a redacted message touched: not rebuildable

    def add(self, entries: Sequence[Entry]) -> None:
        """One message's entries, oldest first."""
        if any(e.redacted for e in entries):
            self.skipped.update(e.at[:10] for e in entries)
            return
        state: MessageState | None = None
        # Entries committed together share their time: they count with the message's state
        # after that transaction, as the ledger counted them.
        for _, committed in groupby(entries, key=lambda e: e.at):
            group = list(committed)
            for e in group:
                state = advance(state, e)
            self.counts += tally(group, {group[0].message_id: state})

    def problems(self, ledger: Any, max_problems: int = 100) -> list[str]:
        """Where the stored counts differ from these (``ledger verify``)."""
        have = stored(ledger)
        out: list[str] = []
        for key in sorted(set(self.counts) | set(have)):
            if key[1][:10] in self.skipped or self.counts[key] == have[key]:
                continue
            out.append(
                f"count {'/'.join(key)}: stored {have[key]} where the entries give "
                f"{self.counts[key]}"
            )
            if len(out) >= max_problems:
                break
        return out


def rebuilt(ledger: Any, chunk: int = 1000) -> Rebuilt:
    """The counts every message's entries give (``ledger``: a ``SqlLedger``)."""
    out = Rebuilt()
    batch: list[str] = []
    for (message_id,) in ledger.scan("SELECT DISTINCT message_id FROM entries"):
        batch.append(message_id)
        if len(batch) >= chunk:
            for entries in ledger.histories(batch).values():
                out.add(entries)
            batch = []
    for entries in ledger.histories(batch).values() if batch else ():
        out.add(entries)
    return out


def stored(ledger: Any) -> Counter[Key]:
    return Counter(
        {
            (r[0], r[1], r[2], r[3], r[4]): int(r[5])
            for r in ledger.scan("SELECT span, bucket, route, counterpart, outcome, n FROM counts")
            if int(r[5])
        }
    )


def rebuild(ledger: Any) -> int:
    """Replace the counts with what the entries give (the days of redacted messages stay);
    returns the rows written. Run it with nothing appending (``ledger recount``: the gateway
    stopped): what is appended between reading the entries and writing is not counted."""
    found = rebuilt(ledger)
    skipped = found.skipped
    with ledger._commit, ledger._transaction(ledger._writer) as cur:
        for span, at in {k[:2] for k in stored(ledger) if k[1][:10] not in skipped}:
            cur.execute(ledger._q("DELETE FROM counts WHERE span = ? AND bucket = ?"), (span, at))
        rows = [(*k, n) for k, n in sorted(found.counts.items()) if k[1][:10] not in skipped]
        cur.executemany(ledger._q(UPSERT), rows)
    return len(rows)
