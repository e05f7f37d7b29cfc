"""AMQP ingress: back-office systems publish to the ``<prefix>.ingress`` exchange.

Properties: ``message_id`` (optional; makes a resend idempotent), ``correlation_id``,
``reply_to`` (optional: the receipt is published there as JSON). Headers: ``x-kp-direction``
(``outbound``, the default, or ``inbound``) and, for back-office JSON, ``x-kp-mapping``
(e.g. ``iwmo/toewijzing``). The message is acked once it is recorded in the ledger, whatever the
verdict (a refused message does not get better by being redelivered). A message whose properties
cannot be read (an id or header of ours that is not text, an id that is not a UUID or of the
safe charset of ``envelope.checked_id``, an unknown direction: ``bus/wire.Unreadable``) is parked
alone, as it is.

What the broker has already sent is taken as a batch (``Receiver.receive_many``: recorded in one
transaction, published together) and acked with one ``multiple`` ack after it is recorded; the
receipts for ``reply_to`` are published with their confirms in flight together.

A broker user is no identity of ours: the ingress queue speaks for the identity named by the
setting ``amqp_ingress_identity`` (``ops.auth.door_for``), and receive refuses a message whose
sender is not one of its parties (recorded rejected at stage ``sender``, the receipt on
``reply_to``). Unset while identities are configured, it speaks for nobody and every message is
refused; on a gateway without identities (local-only) it takes any sender, as the open HTTP API.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future

import pika

from gateway.app import Gateway
from gateway.bus.consumer import Consumer
from gateway.bus.publisher import PublishError, Unroutable
from gateway.bus.wire import Unreadable, direction_of, header, identifier, loose_text
from gateway.door import ANYONE, Given, Speaker, envelope_for
from gateway.envelope import BadId
from gateway.logs import get_logger
from gateway.ops.auth import door_for
from gateway.receive import Incoming

log = get_logger(__name__)


def _incoming(properties: pika.BasicProperties, body: bytes, who: Speaker = ANYONE) -> Incoming:
    """The message as receive takes it; :class:`Unreadable` when a property or header cannot
    be read (then it is parked alone, and the parking recorder records it)."""
    given = Given(
        identifier(properties.message_id) or None,
        identifier(properties.correlation_id, "correlation id"),
    )
    direction = direction_of(properties)
    try:  # an id that is not of the safe charset (gateway.envelope.checked_id) is unreadable
        envelope = envelope_for(
            "amqp",
            body,
            direction,
            who=who,
            given=given,
            content_type=loose_text(properties.content_type),
        )
    except BadId as exc:
        raise Unreadable(str(exc)) from None
    return Incoming(envelope, mapping=header(properties, "mapping") or None)


class IngressHandler:
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.who = door_for(gateway.settings, gateway.settings.amqp_ingress_identity)

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        error = self.handle_many([(properties, body)])[0]
        if error is not None:
            raise error

    def handle_many(
        self, deliveries: Sequence[tuple[pika.BasicProperties, bytes]]
    ) -> list[Exception | None]:
        items: list[Incoming | Exception] = []
        for properties, body in deliveries:
            try:
                items.append(_incoming(properties, body, self.who))
            except Unreadable as exc:  # e.g. an unknown direction: this one is parked alone
                items.append(exc)
        received = iter(
            self.gateway.receiver.receive_many([i for i in items if isinstance(i, Incoming)])
        )
        results = [i if isinstance(i, Exception) else next(received) for i in items]
        outcomes: list[Exception | None] = []
        replies: list[tuple[int, str, Future[None]]] = []
        publisher = self.gateway.publisher()
        for (properties, _), item, result in zip(deliveries, items, results, strict=True):
            outcomes.append(result if isinstance(result, Exception) else None)
            if isinstance(result, Exception) or not properties.reply_to:
                continue
            assert isinstance(item, Incoming)
            message_id = item.envelope.message_id
            try:
                future = publisher.submit(
                    "",
                    properties.reply_to,
                    json.dumps(result.to_dict()).encode(),
                    pika.BasicProperties(
                        content_type="application/json",
                        correlation_id=properties.correlation_id or message_id,
                        message_id=message_id,
                    ),
                )
            except PublishError as exc:
                outcomes[-1] = exc
                continue
            replies.append((len(outcomes) - 1, message_id, future))
        for index, message_id, future in replies:
            try:
                publisher.wait(future)
            except Unroutable:
                # The sender's reply queue is gone; the receipt stays in the ledger.
                log.warning("ingress.reply_unroutable", message_id=message_id)
            except PublishError as exc:
                outcomes[index] = exc  # redelivered: the same receipt is sent again
        return outcomes


def ingress_consumer(gateway: Gateway) -> Consumer:
    return gateway.consumer([gateway.topology.ingress], IngressHandler(gateway), "ingress")
