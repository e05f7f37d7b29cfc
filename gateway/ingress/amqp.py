"""AMQP ingress: back-office systems publish to the ``<prefix>.ingress`` exchange.

Properties: ``message_id`` (optional; makes a resend idempotent), ``correlation_id``,
``reply_to`` (optional: the receipt is published there as JSON). Headers: ``x-kp-direction``
(``outbound``, the default, or ``inbound``) and, for back-office JSON, ``x-kp-mapping``
(e.g. ``iwmo/toewijzing``). The message is acked once it is recorded in the ledger, whatever the
verdict (a refused message does not get better by being redelivered).
"""

from __future__ import annotations

import json

import pika

from gateway.app import Gateway
from gateway.bus.consumer import Consumer
from gateway.bus.publisher import Unroutable
from gateway.envelope import Direction, Envelope, new_id
from gateway.logs import get_logger

log = get_logger(__name__)


def _header(properties: pika.BasicProperties, name: str) -> str | None:
    value = (properties.headers or {}).get(name)
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


class IngressHandler:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        envelope = Envelope(
            body=body,
            direction=Direction(_header(properties, "x-kp-direction") or "outbound"),
            message_id=properties.message_id or new_id(),
            correlation_id=properties.correlation_id or "",
            content_type=properties.content_type or "",
            source="amqp",
        )
        mapping = _header(properties, "x-kp-mapping")
        if mapping:
            standard, _, name = mapping.partition("/")
            receipt = self.gateway.receiver.receive_mapped(envelope, standard, name)
        else:
            receipt = self.gateway.receiver.receive(envelope)
        if properties.reply_to:
            try:
                self.gateway.publisher().publish_raw(
                    "",
                    properties.reply_to,
                    json.dumps(receipt.to_dict()).encode(),
                    pika.BasicProperties(
                        content_type="application/json",
                        correlation_id=properties.correlation_id or envelope.message_id,
                        message_id=envelope.message_id,
                    ),
                )
            except Unroutable:
                # The sender's reply queue is gone; the receipt stays in the ledger.
                log.warning("ingress.reply_unroutable", message_id=envelope.message_id)

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
        """Nothing to record: the message could not be recorded (that is what failed)."""


def ingress_consumer(gateway: Gateway) -> Consumer:
    return gateway.consumer([gateway.topology.ingress], IngressHandler(gateway), "ingress")
