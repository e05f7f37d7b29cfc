"""Consume work queues with manual acks: a message is acked only after its outcome is recorded.

For each message the handler either succeeds (its outcome is in the ledger; then the ack) or
raises. A failure is settled by the redelivery policy (``bus/redelivery.py``): it records
``retried`` and publishes a copy, confirmed, to a retry tier, or records ``parked`` and publishes
the copy to parking; then the original is acked. Handlers only raise.

Whatever happens between two of these steps (a crash, ``kill -9``, a broker restart), the
original stays unacknowledged and comes back: at least once, never lost. The broker's own
``x-delivery-limit`` bounds how often that can happen to one message (a message that crashes its
worker every time is dead-lettered to parking by the broker).

Batches: what the broker has already sent (up to ``batch``, at most the prefetch) is handed over
at once, without waiting for more. A handler with ``handle_many`` gets the batch and records the
outcomes of all of it together; the successes are then acked with one ``multiple`` ack, each
failure is settled on its own as above. A handler with only ``handle`` gets them one by one; its
successes are acked together after the batch (one ``multiple`` ack), each after its own outcome
is recorded.

The loop reconnects with exponential backoff when the broker goes away. :meth:`Consumer.stop`
(on SIGTERM) finishes the batch in hand, acks it, and hands everything else back unprocessed.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from typing import Protocol

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from pika.spec import Basic

from gateway.bus.failures import Permanent
from gateway.bus.publisher import CONNECTION_ERRORS, connect
from gateway.bus.redelivery import Redelivery
from gateway.logs import get_logger

log = get_logger(__name__)

__all__ = ["BatchHandler", "Consumer", "Delivery", "Handler", "Permanent"]


class Handler(Protocol):
    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        """Do the work and record its outcome; raise on failure (the consumer settles it)."""
        ...


# A batch stops growing at this many bytes of bodies: large messages (a 25 MB declaratie) are
# handled one at a time, so the connection is serviced (heartbeats) between them as before.
BATCH_BYTES = 1024 * 1024


class BatchHandler(Handler, Protocol):
    def handle_many(self, deliveries: Sequence[Delivery]) -> list[Exception | None]:
        """Handle several and record their outcomes; per delivery None or its failure. One
        message's failure must not fail the others."""
        ...


# One delivery as a handler sees it.
Delivery = tuple[pika.BasicProperties, bytes]


class Consumer:
    def __init__(
        self,
        url: str,
        queues: Sequence[str],
        handler: Handler,
        redelivery: Redelivery,
        *,
        prefetch: int = 50,
        name: str = "consumer",
        batch: int | None = None,
        linger: float = 0.0,
    ) -> None:
        self.url = url
        self.queues = tuple(queues)
        self.handler = handler
        self.redelivery = redelivery
        self.prefetch = prefetch
        self.name = name
        # Half the prefetch: while one batch is handled, the broker already sends the next.
        self.batch = max(1, batch if batch is not None else prefetch // 2)
        # Seconds to wait for more when fewer than ``batch`` have arrived (0: hand over at once).
        self.linger = linger
        self._inbox: list[tuple[Basic.Deliver, pika.BasicProperties, bytes]] = []
        self._stopping = threading.Event()
        self._queue_of: dict[str, str] = {}  # consumer tag -> queue
        self.ready = threading.Event()

    def stop(self) -> None:
        """Finish the message in hand, then stop; the rest goes back to the queue unprocessed."""
        self._stopping.set()

    # -- deliveries --------------------------------------------------------------------------

    def _on_message(
        self,
        channel: BlockingChannel,
        method: Basic.Deliver,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        self._inbox.append((method, properties, body))

    def _handle_inbox(self, channel: BlockingChannel) -> None:
        """Hand over what has arrived, a batch at a time, until nothing is waiting."""
        while self._inbox and not self._stopping.is_set():
            take, size = 0, 0
            while take < min(self.batch, len(self._inbox)) and (take == 0 or size < BATCH_BYTES):
                size += len(self._inbox[take][2])
                take += 1
            batch, self._inbox = self._inbox[:take], self._inbox[take:]
            log.debug(
                "consumer.batch", size=len(batch), waiting=len(self._inbox), consumer=self.name
            )
            handle_many = getattr(self.handler, "handle_many", None)
            if callable(handle_many):
                self._handle_batch(channel, batch, handle_many)
            else:
                self._handle_each(channel, batch)

    def _handle_each(
        self,
        channel: BlockingChannel,
        batch: list[tuple[Basic.Deliver, pika.BasicProperties, bytes]],
    ) -> None:
        """One by one, each after the one before it. The successes are acked together, with
        one ``multiple`` ack, once the batch is done, before a failure is settled, or when
        stopping: every delivery up to that tag is then settled (tags grow; the inbox is in
        order), so nothing is acked before its outcome is recorded."""
        done: int | None = None  # the last success not yet acked
        try:
            for method, properties, body in batch:
                if self._stopping.is_set():
                    return  # not started: stays unacked, requeued when the channel closes
                queue = self._queue_of.get(method.consumer_tag, "")
                try:
                    self.handler.handle(properties, body)
                except CONNECTION_ERRORS:
                    done = None  # the channel is gone: nothing can be acked on it any more
                    raise
                except Exception as exc:
                    if done is not None:
                        channel.basic_ack(done, multiple=True)
                        done = None
                    self._settle_failure(channel, method.delivery_tag, queue, properties, body, exc)
                    continue
                done = method.delivery_tag
        finally:
            if done is not None:
                channel.basic_ack(done, multiple=True)

    def _handle_batch(
        self,
        channel: BlockingChannel,
        batch: list[tuple[Basic.Deliver, pika.BasicProperties, bytes]],
        handle_many: Callable[[Sequence[Delivery]], list[Exception | None]],
    ) -> None:
        try:
            outcomes = handle_many([(properties, body) for _, properties, body in batch])
        except CONNECTION_ERRORS:
            raise
        except Exception as exc:  # the handler itself failed: each is settled as failed
            outcomes = [exc for _ in batch]
        acked: list[int] = []
        for (method, properties, body), outcome in zip(batch, outcomes, strict=True):
            if outcome is None:
                acked.append(method.delivery_tag)
            else:
                queue = self._queue_of.get(method.consumer_tag, "")
                self._settle_failure(channel, method.delivery_tag, queue, properties, body, outcome)
        if len(acked) == len(batch):
            # Every delivery up to this tag is in the batch (tags grow; the inbox is in order).
            channel.basic_ack(acked[-1], multiple=True)
        else:
            for tag in acked:
                channel.basic_ack(tag)

    def _settle_failure(
        self,
        channel: BlockingChannel,
        tag: int,
        queue: str,
        properties: pika.BasicProperties,
        body: bytes,
        error: Exception,
    ) -> None:
        try:
            self.redelivery.settle(queue, properties, body, error)
        except Exception as exc:
            # Not settled (ledger or broker trouble; nothing comes after parking): back it goes.
            log.error(
                "consumer.failure_not_settled",
                error=type(exc).__name__,
                cause=type(error).__name__,
                message_id=properties.message_id,
            )
            time.sleep(1.0)
            channel.basic_nack(tag, requeue=True)
            return
        channel.basic_ack(tag)

    def _consume(self, connection: BlockingConnection) -> None:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=self.prefetch)
        self._queue_of = {
            channel.basic_consume(queue, self._on_message): queue for queue in self.queues
        }
        self._inbox = []  # what a lost connection had sent comes again
        self.ready.set()
        log.info("consumer.started", queues=list(self.queues), consumer=self.name)
        while not self._stopping.is_set():
            # Returns as soon as deliveries arrived (all that were read are in the inbox).
            connection.process_data_events(time_limit=0.5)
            if 0 < len(self._inbox) < self.batch and self.linger > 0:
                deadline = time.monotonic() + self.linger
                while len(self._inbox) < self.batch:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        break
                    connection.process_data_events(time_limit=left)
            self._handle_inbox(channel)
        for tag in self._queue_of:
            channel.basic_cancel(tag)
        channel.close()  # unacked, unprocessed deliveries go back to their queue

    # -- the loop ----------------------------------------------------------------------------

    def run(self) -> None:
        """Consume until :meth:`stop`; reconnect with backoff when the connection drops."""
        backoff = 0.5
        while not self._stopping.is_set():
            try:
                connection = connect(self.url)
            except CONNECTION_ERRORS as exc:
                log.warning("consumer.connect_failed", error=type(exc).__name__, retry_in=backoff)
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 15.0)
                continue
            try:
                self._consume(connection)
            except CONNECTION_ERRORS as exc:
                if self.ready.is_set():
                    backoff = 0.5  # it was consuming: try again soon
                self.ready.clear()
                log.warning(
                    "consumer.connection_lost", error=type(exc).__name__, consumer=self.name
                )
                self._stopping.wait(backoff)
                backoff = min(backoff * 2, 15.0)
            finally:
                if connection.is_open:
                    with contextlib.suppress(*CONNECTION_ERRORS):
                        connection.close()
        log.info("consumer.stopped", queues=list(self.queues), consumer=self.name)
