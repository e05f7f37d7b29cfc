"""Publish with publisher confirms kept in flight, mandatory routing and back-pressure.

One :class:`Publisher` per process, shared by all its threads. It owns one connection, driven by
its own I/O thread (pika's ``SelectConnection``). Callers hand it messages and wait for their
own confirm; meanwhile up to ``window`` messages of all callers are on the wire unconfirmed, so
a busy gateway pays one round trip per window instead of one per message.

- :meth:`Publisher.publish` returns only when the broker has confirmed the message (it is then on
  a durable queue). Unroutable (no queue bound for the route, returned under ``mandatory``)
  raises :class:`Unroutable`; a negative confirm raises :class:`NotConfirmed`; a connection lost
  before the confirm, or no broker within ``send_timeout``, raises :class:`PublishError`.
  Never silent. A message whose confirm was lost may have arrived: consumers are idempotent by
  message id.
- Messages are persistent and carry message id and correlation id (``bus/wire.py``).
- When the broker blocks publishers (memory or disk alarm) nothing more is sent and callers wait:
  back-pressure reaches the ingress instead of piling up in memory. A window that is full makes
  callers wait too.
- A lost connection is re-opened with exponential backoff (0.2 s doubling up to 10 s).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections import deque
from collections.abc import Iterable
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingConnection
from pika.adapters.select_connection import SelectConnection
from pika.channel import Channel
from pika.frame import Method
from pika.spec import Basic

from gateway.bus.topology import Topology
from gateway.bus.wire import routing_key, to_amqp
from gateway.envelope import Envelope
from gateway.logs import get_logger

log = get_logger(__name__)


class PublishError(RuntimeError):
    """The message was not confirmed: the caller keeps it (ledger) and publishes again later."""


class Unroutable(PublishError):
    """No queue is bound for the message's route: a topology error, never ignored."""


class NotConfirmed(PublishError):
    """The broker refused the message (nack), e.g. a queue at its length limit."""


CONNECTION_ERRORS = (pika.exceptions.AMQPConnectionError, pika.exceptions.AMQPChannelError)


def broker_urls(url: str) -> list[str]:
    """The broker nodes of setting ``amqp_url``: one AMQP URL, or several separated by commas
    (the nodes of one RabbitMQ cluster, tried in turn: a connection fails over to the next)."""
    return [part.strip() for part in url.split(",") if part.strip()]


def _parameters(url: str, name: str) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.heartbeat = 30
    params.blocked_connection_timeout = 300
    params.client_properties = {"connection_name": f"ketenpoort:{name}"}
    return params


class BrokerUnavailable(pika.exceptions.AMQPConnectionError):
    """RabbitMQ could not be reached, or refused us; the text says which broker and why."""


def broker_address(url: str) -> str:
    """``host:port/vhost`` of an AMQP URL (or of each node of a list), without its user and
    password (for messages)."""
    if "," in url:
        return ", ".join(broker_address(one) for one in broker_urls(url))
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    port = port or (5671 if parts.scheme == "amqps" else 5672)
    vhost = unquote(parts.path[1:]) if len(parts.path) > 1 else "/"
    return f"{parts.hostname or 'localhost'}:{port} (virtual host {vhost})"


def _reason(exc: BaseException) -> str:
    """A short, readable cause of a failed connection (never the URL: it holds the password)."""
    if isinstance(exc, socket.gaierror):
        return "the host name is not known"
    text = str(exc) or (repr(exc.args[0]) if exc.args else "")  # pika: the cause in args
    for known in ("Connection refused", "timed out", "No route to host", "Connection reset"):
        if known.lower() in text.lower():
            return known.lower()
    return text[:200] or type(exc).__name__


def connect(url: str, wait: float = 30.0) -> BlockingConnection:
    """A blocking connection (consumers, declaring). While the broker cannot be reached it tries
    again with backoff for up to ``wait`` seconds (setting ``amqp_connect_wait``), logging what it
    waits for, then raises :class:`BrokerUnavailable`; a broker refusing our login or virtual
    host, or a failed TLS handshake, raises it at once."""
    deadline = time.monotonic() + wait
    delay = 0.2
    while True:
        try:
            name = threading.current_thread().name
            return BlockingConnection([_parameters(one, name) for one in broker_urls(url)])
        except (pika.exceptions.ProbableAuthenticationError, ssl.SSLError) as exc:
            user = urlsplit(url).username or "guest"
            what = "TLS handshake failed" if isinstance(exc, ssl.SSLError) else f"{user!r} refused"
            raise BrokerUnavailable(
                f"RabbitMQ at {broker_address(url)}: {what} (setting amqp_url): {_reason(exc)}"
            ) from None
        except pika.exceptions.ProbableAccessDeniedError as exc:
            raise BrokerUnavailable(
                f"RabbitMQ at {broker_address(url)} refused access (setting amqp_url): "
                f"{_reason(exc)}"
            ) from None
        except (pika.exceptions.AMQPConnectionError, OSError) as exc:
            left = deadline - time.monotonic()
            if left <= 0:
                raise BrokerUnavailable(
                    f"RabbitMQ at {broker_address(url)} cannot be reached ({_reason(exc)}); gave "
                    f"up after {wait:g} s (settings amqp_url, amqp_connect_wait)"
                ) from None
            log.warning(
                "bus.waiting_for_broker",
                broker=broker_address(url),
                error=_reason(exc),
                retry_in=round(min(delay, left), 1),
                gives_up_in=round(left, 1),
            )
            time.sleep(min(delay, left))
            delay = min(delay * 2, 5.0)


def probe(url: str, timeout: float = 2.0) -> None:
    """One quick connection attempt per node (health checks); raises if no node is there."""
    nodes = []
    for one in broker_urls(url):
        params = pika.URLParameters(one)
        params.socket_timeout = timeout
        params.connection_attempts = 1
        nodes.append(params)
    BlockingConnection(nodes).close()


@dataclass
class _Pending:
    exchange: str
    key: str
    body: bytes
    properties: pika.BasicProperties
    future: Future[None] = field(default_factory=Future)
    returned: str | None = None  # reply text of a basic.return


def coalesce(connection: SelectConnection | None) -> None:
    """Join the frames pika has buffered for the socket into one write.

    pika buffers every frame on its own (a message is three: method, header, body) and its
    transport sends them one ``send`` each when the socket is writable: three system calls per
    message. Joined, a drained window goes out in two (the first buffer stays as it is: a TLS
    write that must be retried is retried with the same bytes). Nothing changes on the wire
    (the same bytes in the same order); with a pika whose transport keeps its buffer otherwise,
    this does nothing."""
    transport = getattr(connection, "_transport", None)
    buffers = getattr(transport, "_tx_buffers", None)
    if isinstance(buffers, deque) and len(buffers) > 2:
        first = buffers.popleft()
        joined = b"".join(buffers)
        buffers.clear()
        buffers.extend((first, joined))


class Publisher:
    def __init__(
        self,
        url: str,
        topology: Topology,
        *,
        window: int = 256,
        send_timeout: float = 10.0,
        confirm_timeout: float = 60.0,
    ) -> None:
        self.url = url
        self.nodes = broker_urls(url)
        self._node = 0  # the node the I/O thread connects to; the next one after a failure
        self.topology = topology
        self.window = window
        self.send_timeout = send_timeout
        self.confirm_timeout = confirm_timeout
        self._lock = threading.Lock()
        self._waiting: deque[_Pending] = deque()  # not yet sent
        self._unconfirmed: dict[int, _Pending] = {}  # delivery tag -> sent, awaiting confirm
        self._next_tag = 1
        self._connection: SelectConnection | None = None
        self._channel: Channel | None = None
        self._blocked = False
        self._closing = False
        self._thread: threading.Thread | None = None
        self._opened = False  # the current connection attempt got through
        self._wake = threading.Event()

    # -- API (any thread) --------------------------------------------------------------------

    def publish(self, envelope: Envelope) -> None:
        """Publish to the envelope's direction exchange and wait for the broker's confirm."""
        properties, body = to_amqp(envelope)
        self.wait(
            self.submit(
                self.topology.exchange(envelope.direction), routing_key(envelope), body, properties
            )
        )

    def publish_raw(
        self, exchange: str, key: str, body: bytes, properties: pika.BasicProperties
    ) -> None:
        """Publish prepared bytes (retries, parking, ingress replies) with the same guarantees."""
        self.wait(self.submit(exchange, key, body, properties))

    def publish_many(self, envelopes: Iterable[Envelope]) -> list[PublishError | None]:
        """Publish several, all in flight together; per envelope None or its error."""
        pending = []
        for envelope in envelopes:
            properties, body = to_amqp(envelope)
            pending.append(
                _Pending(
                    self.topology.exchange(envelope.direction),
                    routing_key(envelope),
                    body,
                    properties,
                )
            )
        self._enqueue(pending)
        futures = [p.future for p in pending]
        results: list[PublishError | None] = []
        unsent: PublishError | None = None
        for future in futures:
            if unsent is not None and future.cancel():
                results.append(unsent)  # the broker is away: the rest would wait in vain
                continue
            try:
                self.wait(future)
                results.append(None)
            except PublishError as exc:
                results.append(exc)
                if future.cancelled():
                    unsent = exc
        return results

    def submit(
        self, exchange: str, key: str, body: bytes, properties: pika.BasicProperties
    ) -> Future[None]:
        """Queue one message for publishing; the future resolves on its confirm."""
        pending = _Pending(exchange, key, body, properties)
        self._enqueue([pending])
        return pending.future

    def _enqueue(self, pending: list[_Pending]) -> None:
        """Queue messages and wake the I/O thread once for all of them."""
        with self._lock:
            if self._closing:
                raise PublishError("publisher is closed")
            self._waiting.extend(pending)
            self._start()
            connection = self._connection
        if connection is not None and pending:
            # If this connection is going away, the next one drains.
            with contextlib.suppress(Exception):
                connection.ioloop.add_callback_threadsafe(self._drain)

    def wait(self, future: Future[None]) -> None:
        """Wait for a submitted message: sent within ``send_timeout``, confirmed after that."""
        try:
            future.result(self.send_timeout)
            return
        except FutureTimeout:
            if future.cancel():  # never sent: it stays with the caller
                raise PublishError("broker unavailable: not sent in time") from None
        try:
            future.result(self.confirm_timeout)
        except FutureTimeout:
            raise PublishError("no confirm from the broker in time") from None

    def close(self) -> None:
        with self._lock:
            self._closing = True
            connection, thread = self._connection, self._thread
        self._wake.set()
        if connection is not None:
            with contextlib.suppress(Exception):  # already closed
                connection.ioloop.add_callback_threadsafe(self._close_connection)
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)
        self._fail_all(PublishError("publisher closed"))

    @property
    def in_flight(self) -> int:
        """Messages sent and not yet confirmed."""
        return len(self._unconfirmed)

    @property
    def blocked(self) -> bool:
        """Whether the broker is blocking this publisher (memory or disk alarm)."""
        return self._blocked

    # -- I/O thread --------------------------------------------------------------------------

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="publisher-io", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        backoff = 0.2
        while not self._closing:
            self._opened = False
            try:
                connection = SelectConnection(
                    _parameters(self.nodes[self._node], "publisher"),
                    on_open_callback=self._on_connection_open,
                    on_open_error_callback=self._on_connection_error,
                    on_close_callback=self._on_connection_closed,
                )
                with self._lock:
                    self._connection = connection
                connection.ioloop.start()  # until the connection ends
            except Exception:
                log.exception("publisher.io_failed")
            with self._lock:
                self._connection = None
                self._channel = None
            self._fail_unconfirmed(PublishError("connection lost before the confirm"))
            if self._closing:
                break
            self._node = (self._node + 1) % len(self.nodes)  # fail over to the next node
            backoff = 0.2 if self._opened else min(backoff * 2, 10.0)
            if self._node and not self._opened:
                backoff = 0.2  # the other nodes first, then wait longer
            self._wake.wait(backoff)
            self._wake.clear()
        self._fail_all(PublishError("publisher closed"))

    def _on_connection_open(self, connection: SelectConnection) -> None:
        log.info("publisher.connected")
        self._opened = True
        self._blocked = False  # a new connection starts unblocked; the broker says otherwise
        connection.add_on_connection_blocked_callback(self._on_blocked)
        connection.add_on_connection_unblocked_callback(self._on_unblocked)
        self._open_channel(connection)

    def _on_connection_error(self, connection: SelectConnection, error: BaseException) -> None:
        log.warning("publisher.connect_failed", error=type(error).__name__)
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: SelectConnection, error: BaseException) -> None:
        if not self._closing:
            log.warning("publisher.connection_lost", error=type(error).__name__)
        connection.ioloop.stop()

    def _close_connection(self) -> None:
        connection = self._connection
        if connection is not None and connection.is_open:
            connection.close()
        elif connection is not None:
            connection.ioloop.stop()

    def _open_channel(self, connection: SelectConnection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_channel_open(self, channel: Channel) -> None:
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        self._next_tag = 1
        channel.confirm_delivery(self._on_confirm, callback=lambda _: self._channel_ready(channel))

    def _channel_ready(self, channel: Channel) -> None:
        self._channel = channel
        self._drain()

    def _on_channel_closed(self, channel: Channel, error: BaseException) -> None:
        """A channel error (e.g. an exchange that does not exist) fails what was on it."""
        self._channel = None
        self._fail_unconfirmed(PublishError(f"channel closed: {error}"))
        connection = self._connection
        if connection is not None and connection.is_open and not self._closing:
            log.warning("publisher.channel_closed", error=str(error))
            self._open_channel(connection)

    def _on_blocked(self, connection: SelectConnection, frame: Method) -> None:
        log.warning("publisher.blocked_by_broker")
        self._blocked = True

    def _on_unblocked(self, connection: SelectConnection, frame: Method) -> None:
        log.info("publisher.unblocked")
        self._blocked = False
        self._drain()

    def _drain(self) -> None:
        """Send waiting messages while the window has room, in as few socket writes as pika
        allows (:func:`coalesce`)."""
        try:
            self._send_waiting()
        finally:
            coalesce(self._connection)

    def _send_waiting(self) -> None:
        channel = self._channel
        while (
            channel is not None
            and channel.is_open
            and not self._blocked
            and len(self._unconfirmed) < self.window
        ):
            with self._lock:
                if not self._waiting:
                    return
                pending = self._waiting.popleft()
            if not pending.future.set_running_or_notify_cancel():
                continue  # the caller gave up before it was sent
            tag = self._next_tag
            self._next_tag += 1
            self._unconfirmed[tag] = pending
            channel.basic_publish(
                pending.exchange,
                pending.key,
                pending.body,
                pending.properties,
                mandatory=True,
            )

    def _on_return(
        self,
        channel: Channel,
        method: Basic.Return,
        properties: pika.BasicProperties,
        body: bytes,
    ) -> None:
        """Unroutable under ``mandatory``: the broker returns it before confirming it."""
        for pending in self._unconfirmed.values():
            if (
                pending.returned is None
                and pending.exchange == method.exchange
                and pending.key == method.routing_key
                and pending.properties.message_id == properties.message_id
            ):
                pending.returned = method.reply_text or "unroutable"
                return

    def _on_confirm(self, frame: Method) -> None:
        method = frame.method
        tag = method.delivery_tag
        if method.multiple:
            tags = [t for t in self._unconfirmed if t <= tag]
        else:
            tags = [tag] if tag in self._unconfirmed else []
        negative = isinstance(method, Basic.Nack)
        for t in tags:
            pending = self._unconfirmed.pop(t)
            where = f"{pending.exchange} {pending.key}"
            if pending.returned is not None:
                pending.future.set_exception(
                    Unroutable(f"no queue bound for {where} ({pending.returned})")
                )
            elif negative:
                pending.future.set_exception(NotConfirmed(f"broker refused message on {where}"))
            else:
                pending.future.set_result(None)
        channel = self._channel
        if negative and tags and channel is not None and channel.is_open:
            # After a quorum queue's leader failed over, RabbitMQ 3.10 can go on refusing every
            # publish of the channel that saw it (tried here: minutes, all nacked, while a new
            # channel's are taken): start afresh on a new channel; the sweeper publishes again.
            log.warning("publisher.nacked", reopening="channel")
            channel.close()
            return
        self._drain()

    def _fail_unconfirmed(self, error: PublishError) -> None:
        unconfirmed, self._unconfirmed = self._unconfirmed, {}
        for pending in unconfirmed.values():
            if not pending.future.done():
                pending.future.set_exception(error)

    def _fail_all(self, error: PublishError) -> None:
        self._fail_unconfirmed(error)
        with self._lock:
            waiting, self._waiting = self._waiting, deque()
        for pending in waiting:
            if pending.future.set_running_or_notify_cancel():
                pending.future.set_exception(error)
