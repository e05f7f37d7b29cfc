"""The worker: the consuming half of a message's path.

consume -> read the message's history from the ledger -> adapter.outgoing -> transport delivers
-> record ``delivered`` -> for a received heenbericht, adapter.answer makes the retourbericht,
which enters the gateway like any outbound message (receive) -> record ``retour-sent`` -> ack.

Each step first asks the ledger whether it already happened, so a redelivered message (after a
crash or a broker restart) is never delivered or answered twice. A retour's message id is derived
from its heenbericht's id, so even a retour made twice is one message.
"""

from __future__ import annotations

import uuid

import pika

from gateway.adapter import Finding, Registry, Transport
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


def retour_id(heenbericht_id: str) -> str:
    return str(uuid.uuid5(_RETOUR_NAMESPACE, heenbericht_id))


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
            reference = call_outbound(lambda: transport.deliver(envelope, delivery))
            self.ledger.append(
                envelope, Event.DELIVERED, detail={"to": delivery.to, "reference": reference}
            )
            log.info("message.delivered", to=delivery.to)

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
