"""Wiring: one :class:`Gateway` holds the parts a process needs, built from :class:`Settings`.

Threads each get their own broker connection (pika connections are not thread-safe); the
ledger keeps one database connection per thread; compiled schemas are per thread as well.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from gateway.adapter import Registry
from gateway.bus.consumer import Consumer, Handler
from gateway.bus.publisher import Publisher, PublishError, connect
from gateway.bus.redelivery import Redelivery
from gateway.bus.topology import Topology
from gateway.config import Settings
from gateway.delivery import OutboxTransport
from gateway.envelope import Envelope
from gateway.ledger import Ledger, domain, ledger_from_settings
from gateway.logs import get_logger
from gateway.receive import Receiver
from gateway.validate import SchemaCache
from gateway.worker import Worker

log = get_logger(__name__)


def topology_for(settings: Settings, registry: Registry) -> Topology:
    """The bus layout for these settings: a work queue per direction and loaded standard."""
    standards = sorted({s for adapter in registry.standards() for s in adapter.standards})
    return Topology(
        settings.bus_prefix, tuple(standards), settings.delivery_limit, settings.retry_tiers
    )


class Gateway:
    # The longest a publish waits for its broker confirm: a message recorded for publication
    # longer ago than this, and not failed here, is truly unconfirmed (the sweeper's).
    publisher_confirm_timeout = 60.0

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.registry = Registry.load(settings.adapters, settings)
        self.topology = topology_for(settings, self.registry)
        self.schemas = SchemaCache()
        ledger = ledger_from_settings(settings)
        # the standards' domain tables (``ledger/domain.py``) exist before anything reads them,
        # filled from the ledger when they are new to a ledger that holds messages (an upgrade)
        filled = domain.prepare(ledger, self.registry.tabulating())
        if filled is not None:
            log.info("ledger.domain_filled", rows=sum(filled.values()), tables=len(filled))
        self.ledger: Ledger = ledger
        self._publisher: Publisher | None = None
        self._lock = threading.Lock()
        self.receiver = Receiver(
            self.registry,
            self.schemas,
            self.ledger,
            self.publish,
            settings.max_message_bytes,
            publish_many=self.publish_many,
        )

    def publisher(self) -> Publisher:
        """The process's one publisher (shared by all threads; confirms kept in flight)."""
        with self._lock:
            if self._publisher is None:
                self._publisher = Publisher(
                    self.settings.amqp_url,
                    self.topology,
                    window=self.settings.publish_window,
                    confirm_timeout=self.publisher_confirm_timeout,
                )
            return self._publisher

    def publish(self, envelope: Envelope) -> None:
        self.publisher().publish(envelope)

    def publish_many(self, envelopes: Sequence[Envelope]) -> list[PublishError | None]:
        """Publish several with their confirms in flight together; per envelope its error."""
        return self.publisher().publish_many(envelopes)

    def redelivery(self) -> Redelivery:
        """What becomes of a message whose handling failed (``bus/redelivery.py``)."""
        return Redelivery(
            self.publisher(), self.topology, self.ledger, max_attempts=self.settings.max_attempts
        )

    def declare_topology(self) -> None:
        connection = connect(self.settings.amqp_url, self.settings.amqp_connect_wait)
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

    def consumer(self, queues: Sequence[str], handler: Handler, name: str) -> Consumer:
        return Consumer(
            self.settings.amqp_url,
            queues,
            handler,
            self.redelivery(),
            prefetch=self.settings.prefetch,
            name=name,
        )

    def work_consumer(self, name: str = "worker") -> Consumer:
        """A consumer of every work queue handing messages to a new :class:`Worker`."""
        return self.consumer(self.topology.work_queues(), self.worker(), name)

    def close(self) -> None:
        with self._lock:
            publisher, self._publisher = self._publisher, None
        if publisher is not None:
            publisher.close()
        self.ledger.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
