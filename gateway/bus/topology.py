"""Topology as code: every exchange and queue the gateway uses, declared from one place.

Names start with a prefix (setting ``bus_prefix``) so that several gateways, or tests, share a
broker without touching each other's queues.

- ``<p>.ingress`` (direct) -> queue ``<p>.ingress``: back-office systems publish here.
- ``<p>.outbound`` / ``<p>.inbound`` (topic, routing key ``<standard>.<code>``) -> work queues
  ``<p>.outbound.work`` / ``<p>.inbound.work``.
- Work queues are quorum queues with a delivery limit; a message past the limit, or rejected as
  permanently failed, is dead-lettered (at-least-once) to ``<p>.parking``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pika.adapters.blocking_connection import BlockingChannel

from gateway.envelope import Direction


@dataclass(frozen=True)
class Topology:
    prefix: str = "ketenpoort"
    delivery_limit: int = 10

    def exchange(self, direction: Direction) -> str:
        return f"{self.prefix}.{direction}"

    def work_queue(self, direction: Direction) -> str:
        return f"{self.prefix}.{direction}.work"

    @property
    def ingress(self) -> str:
        return f"{self.prefix}.ingress"

    @property
    def parking(self) -> str:
        return f"{self.prefix}.parking"

    def _work_arguments(self) -> dict[str, Any]:
        return {
            "x-queue-type": "quorum",
            "x-delivery-limit": self.delivery_limit,
            "x-dead-letter-exchange": self.parking,
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }

    def declare(self, channel: BlockingChannel) -> None:
        """Declare everything (idempotent: same names and arguments each time)."""
        channel.exchange_declare(self.parking, exchange_type="fanout", durable=True)
        channel.queue_declare(self.parking, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(self.parking, self.parking)
        channel.exchange_declare(self.ingress, exchange_type="direct", durable=True)
        channel.queue_declare(self.ingress, durable=True, arguments=self._work_arguments())
        channel.queue_bind(self.ingress, self.ingress, routing_key="message")
        for direction in Direction:
            channel.exchange_declare(self.exchange(direction), exchange_type="topic", durable=True)
            queue = self.work_queue(direction)
            channel.queue_declare(queue, durable=True, arguments=self._work_arguments())
            channel.queue_bind(queue, self.exchange(direction), routing_key="#")

    def delete(self, channel: BlockingChannel) -> None:
        """Remove everything (tests clean up their private prefix with this)."""
        for direction in Direction:
            channel.queue_delete(self.work_queue(direction))
            channel.exchange_delete(self.exchange(direction))
        channel.queue_delete(self.ingress)
        channel.exchange_delete(self.ingress)
        channel.queue_delete(self.parking)
        channel.exchange_delete(self.parking)
