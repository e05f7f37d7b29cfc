"""The parking recorder: keeps the ledger the source of truth for parked messages.

Everything dead-lettered to ``<prefix>.parking`` arrives here. A worker that parks a message
records ``parked`` itself before moving it; the broker's own delivery limit (a message that
crashed its worker each time) moves it without anyone recording anything. This consumer records
``parked`` for such a message (once: not when the ledger already has a ``parked`` since the
message's latest replay), with what the broker and the message's failure history say, and then
acknowledges it: the parking queue drains, and replay works from the ledger's copy of the
message (``ops/messages.replay``), not from the queue.

If the ledger cannot be written, the message goes back to the parking queue after a pause
(the consumer nacks with requeue when ``failed`` raises).
"""

from __future__ import annotations

from typing import Any

import pika

from gateway.bus.wire import attempt_of, from_amqp, history_of
from gateway.ledger import Event, Ledger
from gateway.logs import get_logger, message_context
from gateway.ops.messages import since_replay

log = get_logger(__name__)


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _broker_reason(properties: pika.BasicProperties) -> dict[str, Any]:
    deaths = (properties.headers or {}).get("x-death") or []
    if not isinstance(deaths, list) or not deaths or not isinstance(deaths[0], dict):
        return {}
    death = deaths[0]
    return {"reason": _text(death.get("reason", "")), "queue": _text(death.get("queue", ""))}


class ParkingRecorder:
    """A bus handler for the parking queue."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        envelope = from_amqp(properties, body)
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            history = self.ledger.history(envelope.message_id)
            if not history:
                log.error("parking.unknown_message")
                return  # not ours to record; acknowledged so it does not circle
            if any(e.event is Event.PARKED for e in since_replay(history)):
                return  # the worker recorded it already
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
            self.ledger.append(envelope, Event.PARKED, detail=detail)
            log.warning("message.parked", by="broker", reason=detail["reason"])

    def failed(
        self,
        properties: pika.BasicProperties,
        body: bytes,
        error: BaseException,
        *,
        attempt: int,
        final: bool,
        wait: float | None,
    ) -> None:
        # Not recorded: the consumer puts the message back on the parking queue after a pause.
        raise RuntimeError(f"parking not recorded: {type(error).__name__}") from error
