"""A message as its ledger entries tell it: one read model, :class:`History`, made by one pure
function, :func:`read_history`.

Everything that asks "which message is this and what happened to it?" asks it here: receive
(a duplicate's receipt, the envelope the sweeper republishes), the worker (is the message on the
bus the one recorded, what is still to do), operations (replay, discard, payload views), the
deadline monitor, retention and the parking recorder. So the envelope republished or replayed
and the one the worker checks against are made by the same rules:

- **direction**: what the message's first entry (its ``received`` entry; for a message parked
  as it arrived on the bus, that ``parked`` entry) recorded: its detail's ``direction``, else the
  first part of its route (the same value, kept when retention redacts the detail), else
  outbound. Records of operations (direction ``operations``) read as outbound; their
  ``MessageState.direction`` still says ``operations``.
- **message type**: the type of the latest entry that names one (the verdict's, from identify
  on).
- **body**: the latest payload recorded by ``received`` or ``mapped`` (the mapped XML of
  back-office JSON); its SHA-256 is :attr:`History.body_sha256`.
- **since the latest replay**: a replay means "do it again": what was done before the latest
  ``replayed`` entry does not count as done (:attr:`History.done`).
- **status** and **answered by**: the entries folded through ``state.advance`` (what the
  ``messages`` table holds), from this message's own entries: an outbound heenbericht answered
  by an inbound retour is answered in :meth:`Ledger.state` (the retour's entry marks it), not
  here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from hashlib import sha256
from typing import Any

from gateway.description import Description
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import Entry, Event, MessageState, Record, Status
from gateway.ledger.state import DESCRIBED, advance

# Events that carry the message's body as payload.
_CARRYING = (Event.RECEIVED, Event.MAPPED)
_VERDICTS = (Event.VALIDATED, Event.REJECTED)
# A delivery attempt that failed (``retried``) or the last one (``parked``).
_FAILED_ATTEMPTS = (Event.RETRIED, Event.PARKED)


@dataclass(frozen=True)
class RecordedVerdict:
    """The latest ``validated`` or ``rejected`` entry of a message, as receive recorded it."""

    event: Event  # VALIDATED or REJECTED
    # "rules" (judged by the standard's rules), "schema", "intake", "sender" or "internal"
    # (refused; "internal": judging it failed on our side),
    # "import", or "" when not recorded.
    stage: str
    findings: tuple[Mapping[str, Any], ...]  # ``Finding`` fields, as recorded
    errors: tuple[str, ...]  # why it was refused
    publish: bool  # on its way to a worker (accepted, or rejected with an answer to send)
    message_type: MessageType | None

    @property
    def accepted(self) -> bool:
        return self.event is Event.VALIDATED

    @property
    def refused(self) -> bool:
        """Rejected before the rules could judge it (not XML, unidentified, schema, sender)."""
        return not self.accepted and self.stage != "rules"

    @property
    def forbidden(self) -> bool:
        """Refused because the sender it names is not who handed it in."""
        return self.stage == "sender"

    @property
    def internal(self) -> bool:
        """Refused because judging it failed on the gateway's side."""
        return self.stage == "internal"


@dataclass(frozen=True)
class History:
    """One message as the ledger tells it (see the module text for the rules)."""

    message_id: str
    correlation_id: str
    direction: Direction
    message_type: MessageType | None
    body_sha256: str | None  # of the latest received or mapped payload
    verdict: RecordedVerdict | None  # None: never judged (still being received, or a stranger)
    attempts: int  # failed delivery attempts recorded since the latest replay
    since_replay: tuple[Entry, ...]  # the entries after the latest ``replayed`` (or all)
    published: bool  # the broker confirmed a publication of it at least once
    source: str
    parent_id: str | None
    content_type: str
    entries: tuple[Entry, ...]

    @cached_property
    def _folded(self) -> MessageState:
        # Folded only when asked: the worker reads a batch's histories and asks neither.
        return _state(self.entries)

    @property
    def status(self) -> Status:
        return self._folded.status

    @property
    def answered_by(self) -> str | None:
        """The retour's message id (``retour-sent``)."""
        return self._folded.answered_by

    @property
    def route(self) -> str:
        return self.envelope().route

    @property
    def done(self) -> frozenset[Event]:
        """The events recorded since the latest replay."""
        return frozenset(e.event for e in self.since_replay)

    @property
    def delivered(self) -> bool:
        """Handed over since the latest replay (the worker does not deliver it again)."""
        return Event.DELIVERED in self.done

    @property
    def retour_sent(self) -> bool:
        """Its retour was sent since the latest replay (the worker does not answer it again)."""
        return Event.RETOUR_SENT in self.done

    @property
    def parked(self) -> bool:
        """Parked since the latest replay."""
        return Event.PARKED in self.done

    @property
    def awaiting_publication(self) -> bool:
        return self.status is Status.AWAITING_PUBLICATION

    def envelope(self, body: bytes = b"") -> Envelope:
        """The message's envelope with ``body`` (the payload of :attr:`body_sha256`, read from
        the ledger, to publish it again); without one, an envelope naming the message."""
        return Envelope(
            body=body,
            direction=self.direction,
            message_id=self.message_id,
            correlation_id=self.correlation_id,
            content_type=self.content_type,
            message_type=self.message_type,
            source=self.source,
            parent_id=self.parent_id,
        )

    def holds(self, envelope: Envelope) -> bool:
        """Whether ``envelope`` is this message as recorded: its id, direction, type and body
        those of :meth:`envelope` (what receive, replay and the sweeper publish)."""
        body = sha256(envelope.body).hexdigest()
        return (
            envelope.message_id,
            envelope.direction,
            envelope.message_type,
            body,
        ) == (self.message_id, self.direction, self.message_type, self.body_sha256)

    def record(
        self,
        event: Event,
        *,
        detail: Mapping[str, Any] | None = None,
        payload: bytes | None = None,
        description: Description | None = None,
    ) -> Record:
        """One more entry for this message (:meth:`Ledger.append_many`)."""
        return Record(self.envelope(), event, detail, payload, description)


def read_history(entries: Sequence[Entry]) -> History:
    """The :class:`History` of one message from its entries, oldest first (not empty)."""
    if not entries:
        raise ValueError("a message's history has at least one entry")
    first = next((e for e in entries if e.event is Event.RECEIVED), entries[0])
    typed = next((e for e in reversed(entries) if e.standard), None)
    carrying = next(
        (e for e in reversed(entries) if e.payload_sha256 and e.event in _CARRYING), None
    )
    verdict = next((e for e in reversed(entries) if e.event in _VERDICTS), None)
    replays = [i for i, e in enumerate(entries) if e.event is Event.REPLAYED]
    since = tuple(entries[replays[-1] + 1 if replays else 0 :])
    message_type = _type(typed)
    return History(
        message_id=first.message_id,
        correlation_id=first.correlation_id,
        direction=_direction(first),
        message_type=message_type,
        body_sha256=carrying.payload_sha256 if carrying else None,
        verdict=_verdict(verdict) if verdict else None,
        attempts=sum(e.event in _FAILED_ATTEMPTS for e in since),
        since_replay=since,
        published=any(e.event is Event.PUBLISHED for e in entries),
        source=str(first.detail.get("source") or ""),
        parent_id=first.detail.get("parent_id"),
        content_type=(
            "application/xml" if message_type else str(first.detail.get("content_type") or "")
        ),
        entries=tuple(entries),
    )


def _direction(first: Entry) -> Direction:
    recorded = first.detail.get("direction") or first.route.split(".", 1)[0]
    return Direction(recorded) if recorded in set(Direction) else Direction.OUTBOUND


def _type(entry: Entry | None) -> MessageType | None:
    if entry is None or not entry.standard:
        return None
    return MessageType(entry.standard, entry.code, entry.version)


def _verdict(entry: Entry) -> RecordedVerdict:
    detail = entry.detail
    return RecordedVerdict(
        event=entry.event,
        stage=str(detail.get("stage") or ""),
        findings=tuple(detail.get("findings") or ()),
        errors=tuple(str(e) for e in detail.get("errors") or ()),
        publish=detail.get("publish", True) is not False,
        message_type=_type(entry),
    )


def _state(entries: Sequence[Entry]) -> MessageState:
    """The entries through ``state.advance``, with what each description said."""
    state: MessageState | None = None
    for entry in entries:
        described = entry.detail.get(DESCRIBED)
        expects = described.get("expects_answer") if isinstance(described, Mapping) else None
        state = advance(state, entry, None if expects is None else bool(expects))
    assert state is not None
    return state
