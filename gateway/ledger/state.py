"""A message's state, derived from its ledger entries: one pure function, :func:`advance`.

The ``messages`` table holds the result per message so that search and the sweeper need no
scan of the entries; it can be rebuilt by replaying the entries through :func:`advance` (with
what each entry's description said, ``detail.described``) and applying :func:`answered` for each
retour; ``ledger verify`` does exactly that and compares (``audit._check_states``).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from gateway.ledger import Entry, Event, MessageState, Status

# In the detail of an entry recorded with a description naming parties: what the message's state
# takes from that description (``expects_answer``, and ``answers`` for a retour), so that the
# state can be rebuilt from the entries alone and ``verify`` can compare it with ``messages``.
DESCRIBED = "described"

# States in which nothing more will happen to a message without an operator.
SETTLED = frozenset(
    {Status.FAILED, Status.DELIVERED, Status.ANSWERED, Status.DISCARDED, Status.IMPORTED}
)


# Retention erasing, someone viewing the payload, a deadline passing (or its late answer seen by
# the deadline monitor): not the message's activity.
_NOT_ACTIVITY = frozenset({Event.ERASED, Event.VIEWED, Event.OVERDUE, Event.ANSWERED_LATE})


def advance(
    current: MessageState | None, entry: Entry, expects_answer: bool | None = None
) -> MessageState:
    """The state after ``entry``; ``expects_answer`` comes from the adapter's description."""
    if current is None:
        current = MessageState(
            message_id=entry.message_id,
            correlation_id=entry.correlation_id,
            direction=str(entry.detail.get("direction", "")),
            route=entry.route,
            standard=entry.standard,
            code=entry.code,
            sender=entry.sender,
            receiver=entry.receiver,
            status=Status.RECEIVED,
            verdict="",
            expects_answer=False,
            answered_by=None,
            first_seq=entry.seq,
            last_seq=entry.seq,
            first_at=entry.at,
            last_at=entry.at,
        )
    if entry.event in _NOT_ACTIVITY:  # the message's age and route stay as they were
        return current
    expects = current.expects_answer if expects_answer is None else expects_answer
    step = _step(current.status, expects, entry)
    # Built directly: dataclasses.replace costs twice as much, and this runs for every entry.
    return MessageState(
        message_id=current.message_id,
        correlation_id=current.correlation_id,
        direction=current.direction,
        route=entry.route,
        standard=entry.standard or current.standard,
        code=entry.code or current.code,
        sender=entry.sender or current.sender,
        receiver=entry.receiver or current.receiver,
        status=step.get("status", current.status),
        verdict=step.get("verdict", current.verdict),
        expects_answer=expects,
        answered_by=step.get("answered_by", current.answered_by),
        first_seq=current.first_seq,
        last_seq=entry.seq,
        first_at=current.first_at,
        last_at=entry.at,
    )


def _step(status: Status, expects_answer: bool, entry: Entry) -> dict[str, Any]:
    event, answered = entry.event, status is Status.ANSWERED
    if event in (Event.VALIDATED, Event.REJECTED):
        publish = bool(entry.detail.get("publish"))
        after = Status.AWAITING_PUBLICATION if publish else Status.FAILED
        return {"status": after, "verdict": event.value}
    if event is Event.IMPORTED:
        return {"status": Status.IMPORTED, "verdict": event.value}
    if event is Event.PUBLISHED and status in (Status.RECEIVED, Status.AWAITING_PUBLICATION):
        # Only forward: the worker may take a message before receive records the broker's
        # confirm, so `published` can land after `delivered`, `retried` or `parked`.
        return {"status": Status.PUBLISHED}
    if event is Event.REPLAYED and not answered:
        # On its way again only once the broker confirms (``published``); a replay whose
        # publication was never confirmed (a crash in between) is the sweeper's, like any other.
        return {"status": Status.AWAITING_PUBLICATION}
    if event is Event.DELIVERED and not answered:
        return {"status": Status.AWAITING_ANSWER if expects_answer else Status.DELIVERED}
    if event is Event.RETOUR_SENT:
        return {"status": Status.ANSWERED, "answered_by": entry.detail.get("retour_id")}
    if event is Event.RETRIED and not answered:
        return {"status": Status.RETRYING}
    if event is Event.PARKED:
        return {"status": Status.PARKED}
    if event is Event.DISCARDED:
        return {"status": Status.DISCARDED}
    return {}


def answered(state: MessageState, by: str) -> MessageState:
    """A heenbericht whose retour came in (inbound heenberichten get ``retour-sent``)."""
    return replace(state, status=Status.ANSWERED, answered_by=by)
