"""Publisher and consumer on the real RabbitMQ: confirms, unroutable, retry, parking.

The failures the consumer settled are read where the redelivery policy records them: the ledger.
"""

from __future__ import annotations

import threading

import pika
import pytest

from gateway.bus.consumer import Consumer, Permanent
from gateway.bus.publisher import Publisher, Unroutable, connect
from gateway.bus.redelivery import Redelivery
from gateway.bus.topology import Topology
from gateway.bus.wire import to_amqp
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import Event, Ledger, ledger_from_settings
from tests.integration.helpers import wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def topology(settings):
    topology = Topology(settings.bus_prefix, ("iwmo",), delivery_limit=3, retry_tiers=("1s",))
    connection = connect(settings.amqp_url)
    topology.declare(connection.channel())
    yield topology
    topology.delete(connection.channel())
    connection.close()


def _envelope() -> Envelope:
    return Envelope(
        body=b"<x/>",
        direction=Direction.OUTBOUND,
        message_type=MessageType("iwmo", "WMO301", "3.2"),
    )


class Recorder:
    def __init__(self, fail_with: BaseException | None = None) -> None:
        self.fail_with = fail_with
        self.handled: list[str] = []

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        self.handled.append(properties.message_id)
        if self.fail_with is not None:
            raise self.fail_with


def _failures(ledger: Ledger, message_ids: list[str]) -> list[tuple[str, bool]]:
    """The failures recorded on these messages: (error, parked)."""
    return [
        (str(e.detail["error"]), e.event is Event.PARKED)
        for message_id in dict.fromkeys(message_ids)
        for e in ledger.history(message_id)
        if e.event in (Event.RETRIED, Event.PARKED)
    ]


def _queue_depth(settings, queue: str) -> int:
    connection = connect(settings.amqp_url)
    depth = connection.channel().queue_declare(queue, passive=True).method.message_count
    connection.close()
    return depth


def test_unroutable_publish_is_an_error_not_silence(settings, topology) -> None:
    publisher = Publisher(settings.amqp_url, topology)
    try:
        properties, body = to_amqp(_envelope())
        with pytest.raises(Unroutable):
            publisher.publish_raw(topology.ingress, "no-such-key", body, properties)
    finally:
        publisher.close()


def _consume(settings, topology, handler: Recorder, until) -> list[tuple[str, bool]]:
    """Consume until ``until``; the failures recorded on the messages handled."""
    publisher = Publisher(settings.amqp_url, topology)
    ledger = ledger_from_settings(settings)
    consumer = Consumer(
        settings.amqp_url,
        [topology.work_queue(Direction.OUTBOUND, "iwmo")],
        handler,
        Redelivery(publisher, topology, ledger, max_attempts=3),
    )
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        wait_for(until, timeout=20)
        return _failures(ledger, handler.handled)
    finally:
        consumer.stop()
        thread.join(10)
        publisher.close()
        ledger.close()


def test_confirmed_message_is_consumed_and_acked(settings, topology) -> None:
    publisher = Publisher(settings.amqp_url, topology)
    envelope = _envelope()
    publisher.publish(envelope)
    publisher.close()
    handler = Recorder()
    _consume(settings, topology, handler, lambda: handler.handled == [envelope.message_id])
    assert _queue_depth(settings, topology.work_queue(Direction.OUTBOUND, "iwmo")) == 0


def test_permanent_failure_parks_at_once(settings, topology) -> None:
    publisher = Publisher(settings.amqp_url, topology)
    publisher.publish(_envelope())
    publisher.close()
    handler = Recorder(Permanent("bad"))
    failures = _consume(
        settings, topology, handler, lambda: _queue_depth(settings, topology.parking) == 1
    )
    assert failures == [("Permanent", True)]
    assert len(handler.handled) == 1


def test_retryable_failure_is_retried_up_to_max_attempts_then_parked(settings, topology) -> None:
    publisher = Publisher(settings.amqp_url, topology)
    publisher.publish(_envelope())
    publisher.close()
    handler = Recorder(TimeoutError("counterpart slow"))
    failures = _consume(
        settings, topology, handler, lambda: _queue_depth(settings, topology.parking) == 1
    )
    assert failures == [("TimeoutError", False)] * 2 + [("TimeoutError", True)]
    assert len(handler.handled) == 3


class BatchRecorder(Recorder):
    """A handler taking batches: one message id in ``fail`` fails, the others succeed."""

    def __init__(self, fail: set[str]) -> None:
        super().__init__()
        self.fail = fail
        self.batches: list[list[str]] = []

    def handle_many(self, deliveries) -> list[Exception | None]:
        ids = [properties.message_id for properties, _ in deliveries]
        self.batches.append(ids)
        self.handled += ids
        return [Permanent("bad") if i in self.fail else None for i in ids]


def test_what_is_waiting_is_handed_over_as_a_batch_and_a_failure_stays_alone(
    settings, topology
) -> None:
    publisher = Publisher(settings.amqp_url, topology)
    envelopes = [_envelope() for _ in range(30)]
    assert publisher.publish_many(envelopes) == [None] * 30
    publisher.close()
    bad = envelopes[3].message_id
    handler = BatchRecorder({bad})
    queue = topology.work_queue(Direction.OUTBOUND, "iwmo")
    failures = _consume(
        settings,
        topology,
        handler,
        lambda: len(handler.handled) == 30 and _queue_depth(settings, topology.parking) == 1,
    )
    # prefetch 50, batches of at most 25: the waiting messages came in more than one at a time
    assert max(len(b) for b in handler.batches) > 1
    assert all(len(b) <= 25 for b in handler.batches)
    assert sorted(handler.handled) == sorted(e.message_id for e in envelopes)  # each once
    assert failures == [("Permanent", True)]  # the failure parked, alone
    wait_for(lambda: _queue_depth(settings, queue) == 0, timeout=10)  # the rest acked
