"""The parking recorder: keeps the ledger the source of truth for parked messages.

Everything dead-lettered to ``<prefix>.parking`` arrives here. A worker that parks a message
records ``parked`` itself before moving it; the broker's own delivery limit (a message that
crashed its worker each time) moves it without anyone recording anything. This consumer records
``parked`` for such a message (once: not when the ledger already has a ``parked`` since the
message's latest replay), with what the broker and the message's failure history say, and then
acknowledges it: the parking queue drains, and replay works from the ledger's copy of the
message (``ops/messages.replay``), not from the queue.

A message that is not one of the ledger's (its id unknown, missing or unreadable, or its bytes
not the ones recorded under its id) is parked as it arrived: what the AMQP ingress or a worker
could not read, and whatever anyone published to a queue of ours. It is recorded as a message
of its own: ``parked``, carrying its bytes as payload, with the reason it failed (from its
failure history or the broker), under its own id when that is free, else under an id derived
from what was sent and its bytes (:func:`stranger_id`; the same message parked twice is
recorded once). Operations see it among the parked messages and can look at its payload.

If the ledger cannot be written, the message goes back to the parking queue after a pause
(the redelivery policy hands back what fails on the parking queue: nothing comes after it).
"""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import pika

from gateway.bus.wire import (
    Unreadable,
    attempt_of,
    direction_of,
    history_of,
    identifier,
    loose_text,
)
from gateway.envelope import BadId, Direction, checked_id, record_envelope
from gateway.ledger import Entry, Event, Ledger
from gateway.ledger.history import read_history
from gateway.logs import get_logger, message_context

log = get_logger(__name__)

_STRANGER_NAMESPACE = uuid.UUID("5e1d7a3c-2b4f-4f8e-9c6a-7d0e1f2a3b4c")


def _text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _broker_reason(properties: pika.BasicProperties) -> dict[str, Any]:
    headers = properties.headers if isinstance(properties.headers, dict) else {}
    deaths = headers.get("x-death") or []
    if not isinstance(deaths, list) or not deaths or not isinstance(deaths[0], dict):
        return {}
    death = deaths[0]
    return {"reason": _text(death.get("reason", "")), "queue": _text(death.get("queue", ""))}


def stranger_id(properties: pika.BasicProperties, body: bytes) -> str:
    """The id a message not of the ledger is recorded under when its own cannot be used: from
    the message id as sent (whatever it was) and the bytes."""
    sent = properties.message_id
    digest = hashlib.sha256(body).hexdigest()
    return str(uuid.uuid5(_STRANGER_NAMESPACE, f"{sent!r}/{digest}"))


def _readable(read: Any, *args: Any) -> Any:
    try:
        return read(*args)
    except Unreadable:
        return None


def _safe(message_id: str) -> bool:
    try:
        checked_id(message_id)
    except BadId:
        return False
    return True


class ParkingRecorder:
    """A bus handler for the parking queue."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        message_id = _readable(identifier, properties.message_id)
        history = self.ledger.history(message_id) if message_id else []
        digest = hashlib.sha256(body).hexdigest()
        if any(e.payload_sha256 == digest for e in history):
            self._record_ours(message_id, history, properties)
        else:
            # Its own id only when that is free and a safe one (an id chosen by whoever
            # published it may be anything printable: ``../..``, a BSN).
            own = message_id if message_id and not history and _safe(message_id) else None
            self._record_stranger(own or stranger_id(properties, body), properties, body)

    def _record_ours(
        self, message_id: str, history: list[Entry], properties: pika.BasicProperties
    ) -> None:
        """A message of the ledger the broker parked (or parked again: recorded once)."""
        recorded = read_history(history)
        with message_context(message_id, recorded.route, recorded.correlation_id):
            if recorded.parked:
                return  # the worker recorded it already (since the latest replay)
            death = _broker_reason(properties)
            detail: dict[str, Any] = {
                "by": "broker",
                "reason": (
                    f"{death.get('reason') or 'dead-lettered'} in {death.get('queue') or 'a queue'}"
                ),
                "attempt": attempt_of(properties),
            }
            failures = history_of(properties)
            if failures:
                detail["failures"] = failures[-5:]
            self.ledger.append_many([recorded.record(Event.PARKED, detail=detail)])
            log.warning("message.parked", by="broker", reason=detail["reason"])

    def _record_stranger(
        self, record_id: str, properties: pika.BasicProperties, body: bytes
    ) -> None:
        """A message the ledger does not have: recorded parked, with its bytes and why."""
        failures = history_of(properties)
        last = failures[-1] if failures else {}
        death = _broker_reason(properties)
        if last.get("reason"):
            reason, queue = str(last["reason"]), str(last.get("queue", ""))
        elif death:
            reason, queue = f"{death['reason'] or 'dead-lettered'}", death["queue"]
        else:
            reason, queue = "published to parking without a failure", ""
        direction = _readable(direction_of, properties)
        content_type = loose_text(properties.content_type)
        detail: dict[str, Any] = {
            "by": "parking-recorder",
            "reason": f"not a message of the ledger: {reason}"[:500],
            "queue": queue,
            "attempt": attempt_of(properties),
            "content_type": content_type,
            "size": len(body),
        }
        if direction is not None:
            detail["direction"] = direction.value
        sent = properties.message_id
        if sent != record_id:
            detail["sent_id"] = None if sent is None else _text(sent)[:300]
        if failures:
            detail["failures"] = failures[-5:]
        envelope = record_envelope(
            record_id,
            direction=direction or Direction.OUTBOUND,
            correlation_id=_readable(identifier, properties.correlation_id) or "",
            content_type=content_type,
        )
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            if any(e.event is Event.PARKED for e in self.ledger.history(record_id)):
                return  # the same bytes under the same id: recorded already
            self.ledger.append(envelope, Event.PARKED, detail=detail, payload=body)
            log.warning("message.parked", by="parking-recorder", error=last.get("error"))
