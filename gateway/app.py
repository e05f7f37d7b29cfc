"""Wiring: one :class:`Gateway` holds the parts a process needs, built from :class:`Settings`.

Threads each get their own broker connection (pika connections are not thread-safe); the
ledger keeps one database connection per thread; compiled schemas are per thread as well.
"""

from __future__ import annotations

import threading
from typing import Any

from gateway.adapter import Registry
from gateway.bus.consumer import Consumer
from gateway.bus.publisher import Publisher, connect
from gateway.bus.topology import Topology
from gateway.config import Settings
from gateway.delivery import OutboxTransport
from gateway.envelope import Direction, Envelope
from gateway.ledger import Ledger, ledger_from_settings
from gateway.receive import Receiver
from gateway.validate import SchemaCache
from gateway.worker import Worker


class Gateway:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.topology = Topology(settings.bus_prefix, settings.delivery_limit)
        self.registry = Registry.load(settings.adapters, settings)
        self.schemas = SchemaCache()
        self.ledger: Ledger = ledger_from_settings(settings)
        self._local = threading.local()
        self._publishers: list[Publisher] = []
        self._lock = threading.Lock()
        self.receiver = Receiver(
            self.registry, self.schemas, self.ledger, self.publish, settings.max_message_bytes
        )

    def publisher(self) -> Publisher:
        publisher: Publisher | None = getattr(self._local, "publisher", None)
        if publisher is None:
            publisher = Publisher(self.settings.amqp_url, self.topology)
            self._local.publisher = publisher
            with self._lock:
                self._publishers.append(publisher)
        return publisher

    def publish(self, envelope: Envelope) -> None:
        self.publisher().publish(envelope)

    def declare_topology(self) -> None:
        connection = connect(self.settings.amqp_url)
        try:
            self.topology.declare(connection.channel())
        finally:
            connection.close()

    def worker(self) -> Worker:
        return Worker(
            self.registry,
            self.ledger,
            self.receiver,
            OutboxTransport(self.settings.outbox_dir),
            self.settings.max_message_bytes,
        )

    def work_consumer(self, **options: Any) -> Consumer:
        """A consumer of both work queues handing messages to a new :class:`Worker`."""
        return Consumer(
            self.settings.amqp_url,
            [self.topology.work_queue(d) for d in Direction],
            self.worker(),
            prefetch=self.settings.prefetch,
            delivery_limit=self.settings.delivery_limit,
            **options,
        )

    def close(self) -> None:
        with self._lock:
            for publisher in self._publishers:
                publisher.close()
            self._publishers.clear()
        self.ledger.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
