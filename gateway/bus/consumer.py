"""Consume queues with manual acks: ack only after the handler has recorded the outcome.

A handler raising :class:`Permanent` has its message rejected without requeue (dead-lettered to
parking at once); any other exception is a retryable failure: the message is requeued and the
quorum queue's delivery limit parks it when attempts run out. The loop reconnects with backoff
when the broker goes away and stops cleanly between messages when :meth:`Consumer.stop` is called.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Protocol

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic

from gateway.bus.publisher import CONNECTION_ERRORS, connect
from gateway.logs import get_logger

log = get_logger(__name__)


class Permanent(Exception):
    """A failure that retrying cannot fix (e.g. a validation error): park the message now."""


class Handler(Protocol):
    def handle(self, properties: pika.BasicProperties, body: bytes) -> None: ...

    def failed(
        self, properties: pika.BasicProperties, body: bytes, error: BaseException, final: bool
    ) -> None:
        """Record a failure; ``final`` means the message goes to parking."""
        ...


def delivery_count(properties: pika.BasicProperties) -> int:
    """Earlier failed deliveries of this message, as counted by the quorum queue."""
    return int((properties.headers or {}).get("x-delivery-count", 0))


class Consumer:
    def __init__(
        self,
        url: str,
        queues: Sequence[str],
        handler: Handler,
        *,
        prefetch: int = 50,
        delivery_limit: int = 10,
        retry_pause: float = 1.0,
    ) -> None:
        self.url = url
        self.queues = tuple(queues)
        self.handler = handler
        self.prefetch = prefetch
        self.delivery_limit = delivery_limit
        self.retry_pause = retry_pause
        self._stopping = threading.Event()
        self.ready = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def _on_message(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        tag = method.delivery_tag
        try:
            self.handler.handle(properties, body)
        except Permanent as exc:
            self.handler.failed(properties, body, exc, final=True)
            channel.basic_nack(tag, requeue=False)
            return
        except CONNECTION_ERRORS:
            raise
        except Exception as exc:
            final = delivery_count(properties) + 1 >= self.delivery_limit
            self.handler.failed(properties, body, exc, final=final)
            if not final:
                time.sleep(self.retry_pause)
            channel.basic_nack(tag, requeue=not final)
            return
        channel.basic_ack(tag)

    def run(self) -> None:
        """Consume until :meth:`stop`; reconnect with backoff when the connection drops."""
        while not self._stopping.is_set():
            try:
                connection = connect(self.url)
            except CONNECTION_ERRORS as exc:
                log.warning("consumer.connect_failed", error=type(exc).__name__)
                time.sleep(1.0)
                continue
            try:
                channel = connection.channel()
                channel.basic_qos(prefetch_count=self.prefetch)
                for queue in self.queues:
                    channel.basic_consume(queue, self._on_message)
                self.ready.set()
                log.info("consumer.started", queues=list(self.queues))
                while not self._stopping.is_set():
                    connection.process_data_events(time_limit=0.5)
                channel.cancel()
                connection.close()
            except CONNECTION_ERRORS as exc:
                self.ready.clear()
                log.warning("consumer.connection_lost", error=type(exc).__name__)
                time.sleep(0.5)
        log.info("consumer.stopped", queues=list(self.queues))
