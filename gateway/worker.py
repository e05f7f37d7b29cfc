"""The worker: the consuming half of a message's path.

consume -> read the message's history from the ledger -> adapter.outgoing -> transport delivers
-> record ``delivered`` -> derivers (adapters with ``derive``) make follow-up messages, which enter
``receive`` as outbound messages -> for a received heenbericht, adapter.answer makes the
retourbericht, which enters the gateway like any outbound message (receive) -> record
``retour-sent`` -> ack.

Each step first asks the ledger whether it already happened, so a redelivered message (after a
crash or a broker restart) is never delivered or answered twice. Retours and follow-ups get
message ids derived from their parent's id, so even one made twice is one message.
"""

from __future__ import annotations

import uuid
from typing import Any

import pika

from gateway.adapter import Description, Finding, Handover, Registry, Transport
from gateway.bus.failures import Permanent, call_outbound
from gateway.bus.wire import from_amqp
from gateway.envelope import Direction, Envelope
from gateway.ledger import Event, Ledger
from gateway.logs import get_logger, message_context
from gateway.receive import ACCEPTED, STREAM_ABOVE, Receiver
from gateway.xmlsafe import XmlRejected, parse, parse_skeleton

log = get_logger(__name__)

BACKOFFICE = "backoffice"
_RETOUR_NAMESPACE = uuid.UUID("6f1c2b52-3f7e-4c55-9a0e-4b6e7a1d2c10")
_FOLLOW_UP_NAMESPACE = uuid.UUID("0b8e3c4e-6d0a-4f55-8d1c-2f4b9a6e7c31")


def retour_id(heenbericht_id: str) -> str:
    return str(uuid.uuid5(_RETOUR_NAMESPACE, heenbericht_id))


def follow_up_id(parent_id: str, name: str) -> str:
    """The message id of a derived message: the same follow-up derived twice is one message."""
    return str(uuid.uuid5(_FOLLOW_UP_NAMESPACE, f"{parent_id}/{name}"))


class Worker:
    def __init__(
        self,
        registry: Registry,
        ledger: Ledger,
        receiver: Receiver,
        backoffice: Transport,
        max_bytes: int,
        stream_above: int = STREAM_ABOVE,
    ) -> None:
        self.registry = registry
        self.ledger = ledger
        self.receiver = receiver
        self.backoffice = backoffice
        self.max_bytes = max_bytes
        self.stream_above = stream_above

    # bus Handler --------------------------------------------------------------------------

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        envelope = from_amqp(properties, body)
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            self.process(envelope)

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
        envelope = from_amqp(properties, body)
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            event = Event.PARKED if final else Event.RETRIED
            detail: dict[str, object] = {
                "attempt": attempt,
                "error": type(error).__name__,
                "reason": str(error)[:500],
            }
            if wait is not None:
                detail["retry_in"] = wait
            self.ledger.append(envelope, event, detail=detail)
            log.warning(f"message.{event.value}", error=type(error).__name__, attempt=attempt)

    # the steps ----------------------------------------------------------------------------

    def process(self, envelope: Envelope) -> None:
        history = self.ledger.history(envelope.message_id)
        # What happened since an operator last replayed it (a replay means: do it again).
        replays = [i for i, e in enumerate(history) if e.event is Event.REPLAYED]
        done = {entry.event for entry in history[replays[-1] + 1 if replays else 0 :]}
        verdicts = [e for e in history if e.event in (Event.VALIDATED, Event.REJECTED)]
        if not verdicts or envelope.message_type is None:
            raise Permanent("message is not in the ledger with a verdict; refusing to process")
        verdict = verdicts[-1]
        findings = [Finding(**f) for f in verdict.detail.get("findings", [])]
        adapter = self.registry.for_standard(envelope.message_type.standard)
        tag = adapter.record_tag(envelope.message_type)
        try:
            if tag is not None and len(envelope.body) > self.stream_above:
                # A large declaratie: delivery and answer need its header only, not one tree.
                doc = parse_skeleton(envelope.body, self.max_bytes, tag)
            else:
                doc = parse(envelope.body, self.max_bytes)
        except XmlRejected as exc:
            raise Permanent(f"body on the bus is not the recorded XML: {exc}") from exc

        if verdict.event is Event.VALIDATED and Event.DELIVERED not in done:
            delivery = adapter.outgoing(envelope, doc)
            transport = (
                self.backoffice if delivery.to == BACKOFFICE else adapter.transport(delivery.to)
            )
            handed = call_outbound(lambda: transport.deliver(envelope, delivery))
            handover = handed if isinstance(handed, Handover) else Handover(handed)
            self.ledger.append(
                envelope,
                Event.DELIVERED,
                detail={**handover.detail, "to": delivery.to, "reference": handover.reference},
                # keys only: an empty sender/receiver leaves the message's parties as they are
                description=Description("", "", handover.keys) if handover.keys else None,
            )
            log.info("message.delivered", to=delivery.to)

        if verdict.event is Event.VALIDATED:
            self._follow_ups(envelope, doc)

        if envelope.direction is Direction.INBOUND and Event.RETOUR_SENT not in done:
            answer = adapter.answer(envelope, doc, findings)
            if answer is not None:
                retour = Envelope(
                    body=answer,
                    direction=Direction.OUTBOUND,
                    message_id=retour_id(envelope.message_id),
                    correlation_id=envelope.correlation_id,
                    parent_id=envelope.message_id,
                    source="gateway",
                )
                receipt = self.receiver.receive(retour)
                if receipt.status != ACCEPTED:
                    raise Permanent(f"the retour we made is not valid: {receipt.errors}")
                self.ledger.append(
                    envelope,
                    Event.RETOUR_SENT,
                    detail={
                        "retour_id": retour.message_id,
                        "codes": sorted({f.code for f in findings}) or ["0200"],
                    },
                )
                log.info("message.retour_sent", retour_id=retour.message_id)

    def _follow_ups(self, envelope: Envelope, doc: Any) -> None:
        """Messages the derivers make from this one, each received as an outbound message.

        Follow-up ids come from the parent id and the follow-up's name, so a redelivered parent
        derives the same messages again and ``receive`` finds them already recorded. A follow-up
        that is refused or rejected is recorded as such on itself; the parent stays delivered.
        """
        for deriver in self.registry.derivers():
            for follow_up in deriver.derive(envelope, doc, self.ledger):
                derived = Envelope(
                    body=follow_up.body,
                    direction=Direction.OUTBOUND,
                    message_id=follow_up.message_id
                    or follow_up_id(envelope.message_id, follow_up.name),
                    correlation_id=envelope.correlation_id,
                    parent_id=envelope.message_id,
                    source="gateway",
                )
                receipt = self.receiver.receive(derived)
                log.info(
                    "message.follow_up",
                    follow_up=derived.message_id,
                    status=receipt.status,
                    route=receipt.route,
                )
