"""Topology as code: every exchange, queue and binding the gateway uses, from one description.

The same description is declared on a channel (:meth:`Topology.declare`, idempotent) and exported
as RabbitMQ definitions JSON (:meth:`Topology.definitions`, ``ketenpoort topology export``;
``deploy/rabbitmq-definitions.json`` is the export for the default settings). Names start with a
prefix (setting ``bus_prefix``) so that several gateways, or tests, share a broker.

With prefix ``p``::

    p.outbound (topic, key <standard>.<code>)
      -> p.outbound.<standard> (topic, exchange-to-exchange, key <standard>.*)
           -> queue p.outbound.<standard>            (work queue, one per direction and standard)
    p.inbound  ... the same per standard
    p.ingress (direct, key "message") -> queue p.ingress   (back-office AMQP ingress)

    p.retry (topic, key <tier>.<work queue>)
      -> queue p.wait.<tier>  (no consumers; x-message-ttl = the tier's delay)
           -- expired: dead-lettered to -->
    p.return (topic) -> back to <work queue> (bound with key *.<work queue>)

    p.parking (fanout) -> queue p.parking  (exhausted or permanently failed messages)

Every queue is a quorum queue (durable, replicated in a cluster). Work queues carry an explicit
``x-delivery-limit`` (the broker parks a message that keeps coming back unacknowledged, e.g. one
that crashes its worker every time) and dead-letter to parking; work and wait queues dead-letter
``at-least-once`` with ``overflow=reject-publish``, so dead-lettering never silently drops a
message. One wait queue per delay: TTL expiry happens only at a queue's head, so mixed delays in
one queue would hold each other up. All of this works on RabbitMQ 3.10 and newer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from gateway.envelope import Direction

_DURATION = re.compile(r"^(\d+)(ms|s|m|h)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """``"10s"``, ``"1m"``, ``"10m"``, ``"1h"``, ``"500ms"`` -> seconds."""
    match = _DURATION.match(text.strip())
    if not match:
        raise ValueError(f"not a duration like 10s, 1m, 1h: {text!r}")
    return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]


_PRECONDITION_FAILED = 406


class TopologyMismatch(RuntimeError):
    """The broker has a queue of ours declared with other arguments (e.g. an older limit)."""


@dataclass(frozen=True)
class Exchange:
    name: str
    type: str


@dataclass(frozen=True)
class Queue:
    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Binding:
    source: str
    destination: str
    routing_key: str
    destination_type: str = "queue"  # or "exchange"


@dataclass(frozen=True)
class RetryTier:
    name: str  # "10s"
    seconds: float


@dataclass(frozen=True)
class Topology:
    prefix: str = "ketenpoort"
    standards: tuple[str, ...] = ()
    delivery_limit: int = 10
    retry_tiers: tuple[str, ...] = ("10s", "1m", "10m", "1h")

    def __post_init__(self) -> None:
        if not self.retry_tiers:
            raise ValueError("at least one retry tier is needed")
        for tier in self.retry_tiers:
            duration_seconds(tier)
        if self.delivery_limit < 1:
            raise ValueError("delivery_limit must be at least 1")

    # -- names -------------------------------------------------------------------------------

    def exchange(self, direction: Direction) -> str:
        """Where messages of a direction are published (routing key ``<standard>.<code>``)."""
        return f"{self.prefix}.{direction}"

    def work_queue(self, direction: Direction, standard: str) -> str:
        return f"{self.prefix}.{direction}.{standard}"

    def work_queues(self) -> list[str]:
        return [self.work_queue(d, s) for d in Direction for s in self.standards]

    @property
    def ingress(self) -> str:
        return f"{self.prefix}.ingress"

    @property
    def parking(self) -> str:
        return f"{self.prefix}.parking"

    @property
    def retry_exchange(self) -> str:
        return f"{self.prefix}.retry"

    @property
    def return_exchange(self) -> str:
        return f"{self.prefix}.return"

    def wait_queue(self, tier: str) -> str:
        return f"{self.prefix}.wait.{tier}"

    @property
    def tiers(self) -> tuple[RetryTier, ...]:
        return tuple(RetryTier(t, duration_seconds(t)) for t in self.retry_tiers)

    def tier_after(self, attempt: int) -> RetryTier:
        """The wait after failed attempt ``attempt`` (1-based); the last tier repeats."""
        tiers = self.tiers
        return tiers[min(max(attempt, 1), len(tiers)) - 1]

    def retry_key(self, tier: RetryTier, queue: str) -> str:
        """Routing key on the retry exchange: the tier, then the queue to come back to."""
        return f"{tier.name}.{queue}"

    # -- the description ---------------------------------------------------------------------

    def _work_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": self.parking,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def _wait_arguments(self, tier: RetryTier) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-message-ttl": int(tier.seconds * 1000),
            "x-dead-letter-exchange": self.return_exchange,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def exchanges(self) -> list[Exchange]:
        out = [
            Exchange(self.parking, "fanout"),
            Exchange(self.retry_exchange, "topic"),
            Exchange(self.return_exchange, "topic"),
            Exchange(self.ingress, "direct"),
        ]
        for direction in Direction:
            out.append(Exchange(self.exchange(direction), "topic"))
            out += [Exchange(self.work_queue(direction, s), "topic") for s in self.standards]
        return out

    def queues(self) -> list[Queue]:
        out = [Queue(self.parking, {"x-queue-type": "quorum"})]
        out += [Queue(self.wait_queue(t.name), self._wait_arguments(t)) for t in self.tiers]
        out += [Queue(q, self._work_arguments()) for q in [self.ingress, *self.work_queues()]]
        return out

    def bindings(self) -> list[Binding]:
        out = [Binding(self.parking, self.parking, "")]
        out += [
            Binding(self.retry_exchange, self.wait_queue(t.name), f"{t.name}.#") for t in self.tiers
        ]
        out.append(Binding(self.ingress, self.ingress, "message"))
        for direction in Direction:
            for standard in self.standards:
                per_standard = self.work_queue(direction, standard)
                out.append(
                    Binding(self.exchange(direction), per_standard, f"{standard}.*", "exchange")
                )
                out.append(Binding(per_standard, per_standard, "#"))
        for queue in [self.ingress, *self.work_queues()]:
            out.append(Binding(self.return_exchange, queue, f"*.{queue}"))
        return out

    # -- on a broker -------------------------------------------------------------------------

    def declare(self, channel: BlockingChannel) -> None:
        """Declare everything (idempotent: same names and arguments each time)."""
        for exchange in self.exchanges():
            channel.exchange_declare(exchange.name, exchange_type=exchange.type, durable=True)
        for queue in self.queues():
            try:
                channel.queue_declare(queue.name, durable=True, arguments=dict(queue.arguments))
            except pika.exceptions.ChannelClosedByBroker as exc:
                if exc.reply_code != _PRECONDITION_FAILED:
                    raise
                raise TopologyMismatch(
                    f"queue {queue.name} exists with other arguments ({exc.reply_text}); queue "
                    "arguments cannot change: drain and delete it, or use another bus_prefix"
                ) from exc
        for b in self.bindings():
            if b.destination_type == "exchange":
                channel.exchange_bind(b.destination, b.source, routing_key=b.routing_key)
            else:
                channel.queue_bind(b.destination, b.source, routing_key=b.routing_key)

    def delete(self, channel: BlockingChannel) -> None:
        """Remove everything (tests clean up their private prefix with this)."""
        for queue in self.queues():
            channel.queue_delete(queue.name)
        for exchange in self.exchanges():
            channel.exchange_delete(exchange.name)

    def definitions(self, vhost: str = "/") -> dict[str, Any]:
        """RabbitMQ definitions JSON (import with ``rabbitmqctl import_definitions``)."""
        return {
            "exchanges": [
                {
                    "name": e.name,
                    "vhost": vhost,
                    "type": e.type,
                    "durable": True,
                    "auto_delete": False,
                    "internal": False,
                    "arguments": {},
                }
                for e in self.exchanges()
            ],
            "queues": [
                {
                    "name": q.name,
                    "vhost": vhost,
                    "durable": True,
                    "auto_delete": False,
                    "arguments": dict(q.arguments),
                }
                for q in self.queues()
            ],
            "bindings": [
                {
                    "source": b.source,
                    "vhost": vhost,
                    "destination": b.destination,
                    "destination_type": b.destination_type,
                    "routing_key": b.routing_key,
                    "arguments": {},
                }
                for b in self.bindings()
            ],
        }
