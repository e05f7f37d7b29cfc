"""What operations do to one message: read it, look at its payload, replay it, discard it.

The API (``ops/api.py``), the dashboard (``ops/dashboard.py``) and the ``ketenpoort messages``
commands (``commands/messages.py``) all go through these functions, so each action is recorded
in the ledger the same way whichever way it was asked for:

- a payload view appends ``viewed`` (who, which payloads) before the bytes are returned;
- a replay appends ``replayed`` (who, why, job) and then re-publishes the recorded message under
  its own message id; the worker treats everything before the latest ``replayed`` as not done, so
  a replay of a delivered message is delivered again instead of being skipped as a duplicate;
- a discard appends ``discarded`` (who, why): the message is settled and bulk replays skip it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from gateway.adapter import Description
from gateway.bus.publisher import PublishError
from gateway.envelope import Envelope
from gateway.ledger import OPERATIONS, Entry, Event, Ledger, MessageState, Query, Status
from gateway.ledger.history import read_history
from gateway.logs import get_logger, message_context
from gateway.receive import envelope_from_ledger

log = get_logger(__name__)

# Where a replay makes sense: out of attempts, or handed over and to be sent again.
REPLAYABLE = frozenset({Status.PARKED, Status.DELIVERED, Status.AWAITING_ANSWER, Status.ANSWERED})
# Failures first on the dashboard.
FAILURES = (Status.PARKED, Status.FAILED, Status.RETRYING)


class NotAllowed(Exception):
    """The action does not apply to the message as it stands (HTTP 409)."""


class NotFound(KeyError):
    pass


@dataclass(frozen=True)
class Message:
    """A message for operations: its state, its history and, for a heenbericht, its retour."""

    state: MessageState
    history: list[Entry]
    retour: MessageState | None
    retour_history: list[Entry]

    def to_dict(self, subjects: bool = True) -> dict[str, Any]:
        """As JSON; without ``subjects`` the entries' ``bsn`` keys (keyed hashes that link one
        person's messages) are left out: for who may not see payloads."""
        return {
            "message_id": self.state.message_id,
            "state": state_dict(self.state),
            "history": [entry_dict(e, subjects) for e in self.history],
            "retour": state_dict(self.retour) if self.retour else None,
            "retour_history": [entry_dict(e, subjects) for e in self.retour_history],
        }


def state_dict(state: MessageState) -> dict[str, Any]:
    data = asdict(state)
    data["status"] = state.status.value
    return data


def entry_dict(entry: Entry, subjects: bool = True) -> dict[str, Any]:
    data = asdict(entry)
    data["event"] = entry.event.value
    if not subjects:
        data["keys"] = {k: v for k, v in data["keys"].items() if k != "bsn"}
    return data


def get(ledger: Ledger, message_id: str) -> Message:
    state = ledger.state(message_id)
    if state is None:
        raise NotFound(message_id)
    history = ledger.history(message_id)
    # An inbound heenbericht names its retour on retour-sent.
    retour_id = state.answered_by or (read_history(history).answered_by if history else None)
    retour = ledger.state(str(retour_id)) if retour_id else None
    return Message(state, history, retour, ledger.history(retour.message_id) if retour else [])


def search(ledger: Ledger, query: Query) -> list[MessageState]:
    """Messages, not the operations' own records (bulk replay jobs)."""
    return [s for s in ledger.search(query) if s.direction != OPERATIONS]


# type/subtype, then parameters: what may be sent back as the Content-Type of a payload.
_NAME = r"[A-Za-z0-9][A-Za-z0-9!#$&^._+-]*"  # RFC 6838 names, ASCII only
_MEDIA_TYPE = re.compile(rf"{_NAME}/{_NAME}(\s*;[ -~]*)?")


def media_type(recorded: str) -> str:
    """The content type a payload was handed in with, if it is one (the sender chose it)."""
    return recorded if _MEDIA_TYPE.fullmatch(recorded) else "application/octet-stream"


@dataclass(frozen=True)
class Payload:
    body: bytes
    content_type: str
    event: str  # the entry that carries it: received or mapped


def payloads(ledger: Ledger, message_id: str, who: str) -> list[Payload]:
    """The message's recorded payloads (as received; as mapped), recording the view first."""
    history = ledger.history(message_id)
    if not history:
        raise NotFound(message_id)
    carrying = [e for e in history if e.payload_sha256]
    viewed = {"by": who, "payloads": [e.payload_sha256 for e in carrying]}
    ledger.append_many([read_history(history).record(Event.VIEWED, detail=viewed)])
    log.info("ops.payload_viewed", message_id=message_id, by=who)
    out = []
    for entry in carrying:
        body = ledger.payload(entry.payload_sha256 or "")
        if body is None:
            continue  # erased by retention
        content_type = str(entry.detail.get("content_type") or "")
        if entry.event is Event.MAPPED:
            content_type = "application/xml"
        out.append(Payload(body, media_type(content_type), entry.event.value))
    return out


def check_replayable(state: MessageState) -> None:
    if state.direction == OPERATIONS:
        raise NotAllowed("this is a record of an operation, not a message")
    if state.status is Status.DISCARDED:
        raise NotAllowed("the message was discarded; discarded messages are not replayed")
    if state.status is Status.FAILED:
        raise NotAllowed(
            "the message was refused or rejected: replaying would refuse it again; correct it "
            "and send it as a new message"
        )
    if state.status not in REPLAYABLE:
        raise NotAllowed(f"the message is {state.status.value}: it is still on its way")


def replay(
    ledger: Ledger,
    publish: Callable[[Envelope], None],
    message_id: str,
    who: str,
    reason: str = "",
    job: str | None = None,
    keys: Mapping[str, Sequence[str]] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> MessageState:
    """Re-publish a recorded message under its own id; returns its state afterwards.

    ``extra`` is added to the ``replayed`` entry's detail (e.g. an automatic re-send's wait).

    ``replayed`` is recorded before publishing, so that the worker, which may take the message
    the moment it is published, already sees it as to be done again; it leaves the message
    awaiting publication until ``published`` records the broker's confirm. If the broker does not
    confirm, ``parked`` is recorded again (reason: the replay was not published) and the error
    raised. If the process dies in between, the message stays awaiting publication and the
    sweeper (``Receiver.republish_pending``) publishes it: nothing stays marked as on its way
    without being on the bus.
    """
    state = ledger.state(message_id)
    if state is None:
        raise NotFound(message_id)
    check_replayable(state)
    envelope = envelope_from_ledger(ledger, message_id)
    if envelope.message_type is None:
        raise NotAllowed(
            "the message was never taken in (parked as it arrived on the bus): look at its "
            "payload, and send it again, corrected, as a new message"
        )
    if not envelope.body:
        raise NotAllowed("the recorded payload is gone (erased by retention)")
    detail: dict[str, Any] = {"by": who, "previous": state.status.value}
    if reason:
        detail["reason"] = reason[:500]
    if job:
        detail["job"] = job
    detail.update(extra or {})
    with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
        # Keys index the replay (a bulk job's id); expects_answer keeps the message's own.
        description = (
            Description("", "", keys=keys, expects_answer=state.expects_answer) if keys else None
        )
        ledger.append(envelope, Event.REPLAYED, detail=detail, description=description)
        try:
            publish(replace(envelope, source=envelope.source or "replay"))
        except PublishError as exc:
            ledger.append(
                envelope,
                Event.PARKED,
                detail={"reason": f"replay not published: {exc}"[:500], "by": who},
            )
            raise
        ledger.append(envelope, Event.PUBLISHED)
        log.info("ops.replayed", by=who, job=job or "", previous=state.status.value)
    after = ledger.state(message_id)
    assert after is not None
    return after


def discard(ledger: Ledger, message_id: str, who: str, reason: str) -> MessageState:
    """Give up on a message: recorded with who and why; bulk replays skip it from now on."""
    if not reason.strip():
        raise NotAllowed("a discard needs a reason")
    state = ledger.state(message_id)
    if state is None:
        raise NotFound(message_id)
    if state.direction == OPERATIONS:
        raise NotAllowed("this is a record of an operation, not a message")
    if state.status is Status.DISCARDED:
        return state
    history = ledger.history(message_id)
    if not history:
        raise NotFound(message_id)
    recorded = read_history(history)
    with message_context(message_id, recorded.route, recorded.correlation_id):
        detail = {"by": who, "reason": reason.strip()[:500], "previous": state.status.value}
        ledger.append_many([recorded.record(Event.DISCARDED, detail=detail)])
        log.info("ops.discarded", by=who, previous=state.status.value)
    after = ledger.state(message_id)
    assert after is not None
    return after
