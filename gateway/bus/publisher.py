"""Publish envelopes with publisher confirms and mandatory routing.

``publish`` returns only when the broker has confirmed the message (it is then on a durable
queue); an unroutable message raises :class:`Unroutable` and a negative confirm raises
:class:`NotConfirmed`: never silent. A publisher is used by one thread at a time.
"""

from __future__ import annotations

import threading

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel, BlockingConnection
from tenacity import retry, retry_if_exception_type, stop_after_delay, wait_exponential

from gateway.bus.topology import Topology
from gateway.bus.wire import routing_key, to_amqp
from gateway.envelope import Envelope
from gateway.logs import get_logger

log = get_logger(__name__)


class PublishError(RuntimeError):
    pass


class Unroutable(PublishError):
    """No queue is bound for the message's route: a topology error, never ignored."""


class NotConfirmed(PublishError):
    """The broker refused the message (nack), e.g. a queue at its length limit."""


CONNECTION_ERRORS = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError)


@retry(
    retry=retry_if_exception_type(pika.exceptions.AMQPConnectionError),
    wait=wait_exponential(multiplier=0.2, max=5),
    stop=stop_after_delay(30),
    reraise=True,
)
def connect(url: str) -> BlockingConnection:
    """Connect with exponential backoff for up to 30 s (the broker may be restarting)."""
    params = pika.URLParameters(url)
    params.heartbeat = 30
    params.blocked_connection_timeout = 60
    params.client_properties = {"connection_name": f"ketenpoort:{threading.current_thread().name}"}
    return BlockingConnection(params)


def probe(url: str, timeout: float = 2.0) -> None:
    """One quick connection attempt (health checks); raises if the broker is not there."""
    params = pika.URLParameters(url)
    params.socket_timeout = timeout
    params.connection_attempts = 1
    BlockingConnection(params).close()


class Publisher:
    def __init__(self, url: str, topology: Topology) -> None:
        self.url = url
        self.topology = topology
        self._connection: BlockingConnection | None = None
        self._channel: BlockingChannel | None = None

    def _ensure(self) -> BlockingChannel:
        if self._channel is None or not self._channel.is_open:
            if self._connection is None or not self._connection.is_open:
                self._connection = connect(self.url)
            self._channel = self._connection.channel()
            self._channel.confirm_delivery()
        return self._channel

    def publish(self, envelope: Envelope) -> None:
        """Publish to the envelope's direction exchange; one reconnect on a dropped connection."""
        properties, body = to_amqp(envelope)
        exchange = self.topology.exchange(envelope.direction)
        key = routing_key(envelope)
        for attempt in (1, 2):
            try:
                self._ensure().basic_publish(exchange, key, body, properties, mandatory=True)
                return
            except pika.exceptions.UnroutableError:
                raise Unroutable(f"no queue bound for {exchange} {key}") from None
            except pika.exceptions.NackError:
                raise NotConfirmed(f"broker refused message on {exchange} {key}") from None
            except CONNECTION_ERRORS as exc:
                self._drop()
                if attempt == 2:
                    raise PublishError(f"broker unavailable: {exc!r}") from exc
                log.warning("bus.reconnect", reason=type(exc).__name__)

    def publish_raw(
        self, exchange: str, key: str, body: bytes, properties: pika.BasicProperties
    ) -> None:
        """Publish prepared bytes (ingress replies, tests) with the same guarantees."""
        try:
            self._ensure().basic_publish(exchange, key, body, properties, mandatory=True)
        except pika.exceptions.UnroutableError:
            raise Unroutable(f"no queue bound for {exchange} {key}") from None
        except pika.exceptions.NackError:
            raise NotConfirmed(f"broker refused message on {exchange} {key}") from None

    def _drop(self) -> None:
        try:
            if self._connection is not None and self._connection.is_open:
                self._connection.close()
        except CONNECTION_ERRORS:
            pass
        self._connection = None
        self._channel = None

    def close(self) -> None:
        self._drop()
