"""The RabbitMQ bus against the real broker: routing, confirms, retries, parking, crashes.

Every test runs under its own bus prefix (``settings`` fixture). Retry tiers are 1 s and 2 s and
three attempts are allowed (see ``tests/conftest.py``), so a poison message parks in seconds.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pika
import pytest
import requests
from messages import wmo301

from gateway.adapter import Delivery
from gateway.app import Gateway
from gateway.bus.consumer import Consumer
from gateway.bus.failures import Retryable
from gateway.bus.publisher import Publisher, PublishError, Unroutable, connect
from gateway.bus.topology import Topology, TopologyMismatch
from gateway.bus.wire import ATTEMPT, history_of
from gateway.config import Settings
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import Event
from gateway.receive import ACCEPTED
from gateway.service import Services
from gateway.worker import Worker

from .busutil import PrivateBroker, consumers, depth, start_worker, stop_process, wait_for

pytestmark = pytest.mark.integration

WMO301 = MessageType("iwmo", "WMO301", "3.2")


def _run(consumer: Consumer) -> threading.Thread:
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    assert consumer.ready.wait(30), "consumer did not connect"
    return thread


def _stop(consumer: Consumer, thread: threading.Thread) -> None:
    consumer.stop()
    thread.join(30)


def _get(url: str, queue: str) -> tuple[pika.BasicProperties, bytes]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        method, properties, body = connection.channel().basic_get(queue, auto_ack=True)
        assert method is not None, f"{queue} is empty"
        return properties, body
    finally:
        connection.close()


def _delivered(gateway: Gateway, message_id: str) -> int:
    return sum(e.event is Event.DELIVERED for e in gateway.ledger.history(message_id))


def _outbox_files(settings: Settings) -> list[Path]:
    return [p for p in settings.outbox_dir.rglob("*") if p.is_file() and not p.name.startswith(".")]


# -- publishing ------------------------------------------------------------------------------


def test_unroutable_publish_is_reported_never_silent(gateway: Any) -> None:
    publisher = gateway.publisher()
    stray = Envelope(b"<x/>", Direction.OUTBOUND, message_type=MessageType("nosuch", "X1", "1"))
    with pytest.raises(Unroutable, match="no queue bound"):
        publisher.publish(stray)
    # The publisher is still healthy afterwards, and a routable message goes through.
    publisher.publish(Envelope(wmo301(1), Direction.OUTBOUND, message_type=WMO301))
    queue = gateway.topology.work_queue(Direction.OUTBOUND, "iwmo")
    assert wait_for(lambda: depth(gateway.settings.amqp_url, queue) == 1, 5)


def test_publish_to_a_missing_exchange_is_an_error(gateway: Any) -> None:
    with pytest.raises(PublishError):
        gateway.publisher().publish_raw(
            f"{gateway.settings.bus_prefix}.nowhere", "k", b"x", pika.BasicProperties()
        )
    gateway.publisher().publish(Envelope(wmo301(2), Direction.INBOUND, message_type=WMO301))


def test_confirms_are_kept_in_flight_as_a_window(gateway: Any) -> None:
    publisher = gateway.publisher()
    exchange = gateway.topology.exchange(Direction.OUTBOUND)
    body = wmo301(3)
    futures = [
        publisher.submit(
            exchange,
            "iwmo.WMO301",
            body,
            pika.BasicProperties(message_id=str(i), delivery_mode=pika.DeliveryMode.Persistent),
        )
        for i in range(2000)
    ]
    peak = 0
    while not all(f.done() for f in futures):
        peak = max(peak, publisher.in_flight)
        time.sleep(0.001)
    assert all(f.exception() is None for f in futures)
    assert 1 < peak <= gateway.settings.publish_window
    queue = gateway.topology.work_queue(Direction.OUTBOUND, "iwmo")
    assert wait_for(lambda: depth(gateway.settings.amqp_url, queue) == 2000, 10)


def test_messages_are_persistent_with_message_and_correlation_id(gateway: Any) -> None:
    envelope = Envelope(wmo301(4), Direction.OUTBOUND, correlation_id="corr-1", message_type=WMO301)
    gateway.publisher().publish(envelope)
    properties, body = _get(
        gateway.settings.amqp_url, gateway.topology.work_queue(Direction.OUTBOUND, "iwmo")
    )
    assert body == envelope.body
    assert properties.delivery_mode == 2
    assert properties.message_id == envelope.message_id
    assert properties.correlation_id == "corr-1"


# -- failures: retry tiers, parking ----------------------------------------------------------


class FailingTransport:
    """A downstream that fails: ``error`` every time, or only the first ``times`` calls."""

    def __init__(self, error: Exception, times: int | None = None) -> None:
        self.error = error
        self.times = times
        self.calls: list[float] = []
        self.delivered: list[str] = []

    def deliver(self, envelope: Envelope, delivery: Delivery) -> str:
        self.calls.append(time.monotonic())
        if self.times is None or len(self.calls) <= self.times:
            raise self.error
        self.delivered.append(envelope.message_id)
        return "stand-in"


def _park_one(
    gateway: Any, transport: FailingTransport, number: int, timeout: float
) -> tuple[str, pika.BasicProperties]:
    """Send one inbound WMO301 to a worker whose back-office ``transport`` fails; wait until it
    is in parking and take it from there."""
    worker: Worker = gateway.worker()
    worker.backoffice = transport
    consumer = gateway.consumer(gateway.topology.work_queues(), worker, f"park-{number}")
    thread = _run(consumer)
    url, parking = gateway.settings.amqp_url, gateway.topology.parking
    try:
        receipt = gateway.receiver.receive(
            Envelope(wmo301(number), Direction.INBOUND, source="test")
        )
        assert receipt.status == ACCEPTED and receipt.published
        assert wait_for(lambda: depth(url, parking) == 1, timeout), "not parked"
    finally:
        _stop(consumer, thread)
    properties, _ = _get(url, parking)
    assert properties.message_id == receipt.message_id
    return str(receipt.message_id), properties


def test_poison_message_is_parked_after_n_attempts_with_its_history(gateway: Any) -> None:
    transport = FailingTransport(ConnectionError("back-office is down"))
    message_id, properties = _park_one(gateway, transport, 10, timeout=30)
    history = history_of(properties)
    assert [h["attempt"] for h in history] == [1, 2, 3]
    assert [h["outcome"] for h in history] == ["retry", "retry", "parked"]
    assert {h["error"] for h in history} == {"ConnectionError"}
    assert properties.headers[ATTEMPT] == 3
    # Each broker attempt made three quick in-process tries of the outbound call (tenacity).
    assert len(transport.calls) == 3 * 3
    events = [e.event for e in gateway.ledger.history(message_id)]
    assert events[-3:] == [Event.RETRIED, Event.RETRIED, Event.PARKED]
    assert Event.DELIVERED not in events
    url = gateway.settings.amqp_url
    for queue in gateway.topology.work_queues():
        assert depth(url, queue) == 0
    for tier in gateway.topology.tiers:
        assert depth(url, gateway.topology.wait_queue(tier.name)) == 0


def test_permanent_failure_is_parked_at_once(gateway: Any) -> None:
    response = requests.Response()
    response.status_code = 422
    transport = FailingTransport(requests.HTTPError("422 Unprocessable", response=response))
    message_id, properties = _park_one(gateway, transport, 11, timeout=15)
    assert [h["outcome"] for h in history_of(properties)] == ["parked"]
    assert len(transport.calls) == 1
    parked = [e for e in gateway.ledger.history(message_id) if e.event is Event.PARKED]
    assert parked and parked[0].detail["error"] == "HTTPError"


class Recorder:
    """A bus handler failing retryably ``failures`` times; records when each attempt came."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: list[tuple[float, int]] = []
        self.done = threading.Event()

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        self.attempts.append((time.monotonic(), int((properties.headers or {}).get(ATTEMPT, 1))))
        if len(self.attempts) <= self.failures:
            raise Retryable("not yet")
        self.done.set()


def test_retries_wait_the_configured_tiers(gateway: Any) -> None:
    recorder = Recorder(failures=2)
    consumer = gateway.consumer(gateway.topology.work_queues(), recorder, "tiers")
    thread = _run(consumer)
    envelope = Envelope(wmo301(12), Direction.OUTBOUND, message_type=WMO301)
    try:
        gateway.publisher().publish(envelope)
        assert recorder.done.wait(20), "the third attempt did not come"
    finally:
        _stop(consumer, thread)
    (t1, a1), (t2, a2), (t3, a3) = recorder.attempts
    assert (a1, a2, a3) == (1, 2, 3)
    # Tiers are 1 s then 2 s (tests/conftest.py); the broker expires on time, give or take.
    assert 0.95 <= t2 - t1 < 2.0
    assert 1.95 <= t3 - t2 < 3.0
    # Each failure recorded as retried, with the wait its tier makes it wait.
    failures = gateway.ledger.history(envelope.message_id)
    assert [(e.event, e.detail["retry_in"]) for e in failures] == [
        (Event.RETRIED, 1.0),
        (Event.RETRIED, 2.0),
    ]


def test_broker_delivery_limit_parks_a_message_that_never_gets_acked(gateway: Any) -> None:
    """The broker enforces the limit too: a message that is returned unacknowledged every time
    (as when it crashes its worker) is dead-lettered to parking by the broker itself."""
    url = gateway.settings.amqp_url
    queue = gateway.topology.work_queue(Direction.OUTBOUND, "iwmo")
    gateway.publisher().publish(Envelope(wmo301(13), Direction.OUTBOUND, message_type=WMO301))
    connection = connect(url)
    channel = connection.channel()
    for _ in range(gateway.settings.delivery_limit + 1):
        method, _, _ = channel.basic_get(queue)
        if method is None:
            break
        channel.basic_nack(method.delivery_tag, requeue=True)
    connection.close()
    assert wait_for(lambda: depth(url, gateway.topology.parking) == 1, 10)
    properties, _ = _get(url, gateway.topology.parking)
    death = (properties.headers or {}).get("x-death") or []
    assert death and death[0]["reason"] in ("delivery_limit", b"delivery_limit")


# -- crashes: kill -9, SIGTERM, broker restart -----------------------------------------------

N_MESSAGES = 1500


def _send_outbound(
    gateway: Any, count: int, start: int = 0, into: list[str] | None = None
) -> list[str]:
    ids = [] if into is None else into
    for number in range(start, start + count):
        receipt = gateway.receiver.receive(Envelope(wmo301(number), Direction.OUTBOUND, source="t"))
        assert receipt.status == ACCEPTED, receipt
        ids.append(str(receipt.message_id))
    return ids


@pytest.mark.slow
def test_kill_9_of_a_worker_loses_nothing_and_delivers_nothing_twice(
    gateway: Any, settings: Settings, tmp_path: Path
) -> None:
    ids = _send_outbound(gateway, N_MESSAGES)
    log = tmp_path / "workers.log"
    victim, other = start_worker(settings, log), start_worker(settings, log)
    replacement = None
    try:
        # Let both work, then kill one while it holds a prefetch window of messages.
        assert wait_for(lambda: len(_outbox_files(settings)) >= N_MESSAGES // 4, 120), (
            log.read_text()[-3000:]
        )
        # Messages still waiting, so the victim's prefetch window is full when it dies.
        queue = gateway.topology.work_queue(Direction.OUTBOUND, "iwmo")
        assert depth(settings.amqp_url, queue) > 2 * settings.prefetch
        both = consumers(settings.amqp_url, queue)
        os.kill(victim.pid, signal.SIGKILL)
        victim.wait(10)
        assert wait_for(lambda: consumers(settings.amqp_url, queue) < both, 30)
        consuming = consumers(settings.amqp_url, queue)
        replacement = start_worker(settings, log)
        # The replacement is consuming (its SIGTERM handler set) before the end is awaited: the
        # other worker may finish the rest first, and a SIGTERM to a process still importing
        # its modules ends it with -15, not the clean stop asserted below.
        assert wait_for(lambda: consumers(settings.amqp_url, queue) > consuming, 60), (
            log.read_text()[-3000:]
        )
        assert wait_for(lambda: len(_outbox_files(settings)) >= N_MESSAGES, 180), log.read_text()[
            -3000:
        ]
        assert wait_for(lambda: depth(settings.amqp_url, queue) == 0, 30)
    finally:
        for process in (other, replacement):
            if process is not None:
                assert stop_process(process) == 0
    # Downstream: one file per message; ledger: each message delivered exactly once.
    assert len(_outbox_files(settings)) == N_MESSAGES
    assert [mid for mid in ids if _delivered(gateway, mid) != 1] == []
    assert depth(settings.amqp_url, gateway.topology.parking) == 0


@pytest.mark.slow
def test_sigterm_finishes_the_message_in_hand_and_hands_back_the_rest(
    gateway: Any, settings: Settings, tmp_path: Path
) -> None:
    ids = _send_outbound(gateway, 600, start=5000)
    log = tmp_path / "worker.log"
    worker = start_worker(settings, log)
    assert wait_for(lambda: len(_outbox_files(settings)) >= 100, 120), log.read_text()[-3000:]
    assert stop_process(worker) == 0, log.read_text()[-3000:]
    delivered = [mid for mid in ids if _delivered(gateway, mid) == 1]
    files = _outbox_files(settings)
    # No half-done work: every file downstream is recorded, and the rest is back in the queue.
    assert len(files) == len(delivered) < len(ids)
    queue = gateway.topology.work_queue(Direction.OUTBOUND, "iwmo")
    assert wait_for(lambda: depth(settings.amqp_url, queue) == len(ids) - len(delivered), 10)
    worker = start_worker(settings, log)
    try:
        assert wait_for(lambda: len(_outbox_files(settings)) == len(ids), 120)
    finally:
        assert stop_process(worker) == 0
    assert [mid for mid in ids if _delivered(gateway, mid) != 1] == []


@pytest.fixture
def restartable(settings: Settings, private_broker: PrivateBroker) -> Iterator[Gateway]:
    """A gateway on the private broker node (which the test may restart)."""
    with Gateway(dataclasses.replace(settings, amqp_url=private_broker.url)) as gateway:
        gateway.declare_topology()
        yield gateway


@pytest.mark.slow
def test_broker_restart_during_a_run_loses_nothing(
    restartable: Gateway, private_broker: PrivateBroker
) -> None:
    gateway = restartable
    count = 900
    ids: list[str] = []
    sender = threading.Thread(target=_send_outbound, args=(gateway, count), kwargs={"into": ids})
    with Services(gateway, workers=1, ingress=False, filedrop=False, sweeper=True):
        sender.start()
        assert wait_for(lambda: len(_outbox_files(gateway.settings)) >= count // 4, 60)
        assert len(ids) < count, "the restart should come while messages are still coming in"
        private_broker.restart()
        sender.join(180)
        assert len(ids) == count
        assert wait_for(lambda: len(_outbox_files(gateway.settings)) >= count, 180)
    assert [mid for mid in ids if _delivered(gateway, mid) != 1] == []
    assert len(_outbox_files(gateway.settings)) == count
    assert depth(private_broker.url, gateway.topology.parking) == 0


def test_exported_definitions_import_and_match_what_the_code_declares(
    restartable: Gateway, private_broker: PrivateBroker, tmp_path: Path
) -> None:
    """The definitions JSON loads into RabbitMQ, and declaring from code afterwards agrees
    with it (a queue declared with other arguments would be refused)."""
    topology = dataclasses.replace(restartable.topology, prefix=f"{restartable.topology.prefix}-d")
    path = Path(tempfile.mkdtemp(prefix="ketenpoort-defs-")) / "definitions.json"
    try:
        path.write_text(json.dumps(topology.definitions()))
        path.chmod(0o644)
        path.parent.chmod(0o755)
        done = subprocess.run(
            ["rabbitmqctl", "-n", private_broker.node, "import_definitions", str(path)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
    connection = connect(private_broker.url)
    try:
        channel = connection.channel()
        for queue in topology.queues():
            channel.queue_declare(queue.name, passive=True)
        topology.declare(channel)
        topology.delete(channel)
    finally:
        connection.close()


def test_publishers_wait_while_the_broker_blocks_them(
    restartable: Gateway, private_broker: PrivateBroker
) -> None:
    """Back-pressure: under a broker memory alarm publishing waits (nothing is sent, nothing
    piles up on the wire), and goes on when the alarm clears."""
    gateway = restartable
    publisher = gateway.publisher()
    publisher.publish(Envelope(wmo301(20), Direction.OUTBOUND, message_type=WMO301))
    alarm = ["rabbitmqctl", "-n", private_broker.node, "set_vm_memory_high_watermark"]
    subprocess.run([*alarm, "0.0000001"], capture_output=True, timeout=60, check=True)
    exchange = gateway.topology.exchange(Direction.OUTBOUND)

    def submit(number: int) -> Future[None]:
        properties = pika.BasicProperties(message_id=f"blocked-{number}", delivery_mode=2)
        return publisher.submit(exchange, "iwmo.WMO301", wmo301(number), properties)

    try:
        # The broker tells a connection it is blocked when it next publishes.
        first = submit(21)
        assert wait_for(lambda: publisher.blocked, 15), "the broker did not block us"
        later = [submit(n) for n in range(22, 32)]
        time.sleep(2.0)
        assert not first.done() and not any(f.done() for f in later)
        assert publisher.in_flight <= 1  # the rest held back, not sent into a blocked connection
    finally:
        subprocess.run([*alarm, "0.4"], capture_output=True, timeout=60, check=True)
    for future in [first, *later]:
        future.result(timeout=30)
    assert not publisher.blocked
    queue = gateway.topology.work_queue(Direction.OUTBOUND, "iwmo")
    assert wait_for(lambda: depth(private_broker.url, queue) == 12, 10)


def test_amqp_ingress_records_publishes_delivers_and_replies(gateway: Any) -> None:
    url = gateway.settings.amqp_url
    connection = connect(url)
    channel = connection.channel()
    reply_queue = channel.queue_declare("", exclusive=True).method.queue
    with Services(gateway, workers=1, ingress=True, filedrop=False, sweeper=False):
        channel.basic_publish(
            gateway.topology.ingress,
            "message",
            wmo301(30),
            pika.BasicProperties(
                message_id="5b0c5d0e-8a8c-4c39-9e11-3b6f7f0a0030",
                correlation_id="corr-30",
                reply_to=reply_queue,
                delivery_mode=2,
            ),
        )
        replies: list[bytes] = []

        def replied() -> bool:
            method, _, body = channel.basic_get(reply_queue, auto_ack=True)
            if method is not None:
                replies.append(body)
            return bool(replies)

        assert wait_for(replied, 20)
        assert wait_for(lambda: _delivered(gateway, "5b0c5d0e-8a8c-4c39-9e11-3b6f7f0a0030"), 20)
    connection.close()
    receipt = json.loads(replies[0])
    assert receipt["status"] == "accepted" and receipt["published"] is True
    assert receipt["correlation_id"] == "corr-30"


def test_amqp_ingress_takes_a_batch_and_parks_a_bad_message_alone(gateway: Any) -> None:
    """What the back-office sent while the ingress was not consuming arrives as batches; one
    message with an unknown direction is parked alone, the others are recorded, published and
    delivered, and the ingress queue is left empty (acked after recording)."""
    url = gateway.settings.amqp_url
    connection = connect(url)
    channel = connection.channel()
    channel.confirm_delivery()
    ids = [f"5b0c5d0e-8a8c-4c39-9e11-3b6f7f0a01{n:02d}" for n in range(12)]
    for n, message_id in enumerate(ids):
        channel.basic_publish(
            gateway.topology.ingress,
            "message",
            wmo301(100 + n),
            pika.BasicProperties(
                message_id=message_id,
                delivery_mode=2,
                headers={"x-kp-direction": "sideways" if n == 5 else "outbound"},
            ),
        )
    connection.close()
    with Services(gateway, workers=1, ingress=True, filedrop=False, sweeper=False):
        good = [m for n, m in enumerate(ids) if n != 5]
        assert wait_for(lambda: all(_delivered(gateway, m) for m in good), 30)
        assert wait_for(lambda: depth(url, gateway.topology.parking) == 1, 20)
    assert gateway.ledger.history(ids[5]) == []  # it could not be taken: nothing recorded
    assert depth(url, gateway.topology.ingress) == 0
    for message_id in good:
        kinds = [e.event for e in gateway.ledger.history(message_id)]
        assert kinds[:2] == [Event.RECEIVED, Event.VALIDATED]
        # the worker may record `delivered` before receive records the broker's confirm
        assert Event.PUBLISHED in kinds and kinds.count(Event.DELIVERED) == 1


@pytest.mark.slow
def test_publishing_while_the_broker_is_away_fails_in_time_and_resumes(
    restartable: Gateway, private_broker: PrivateBroker
) -> None:
    publisher = Publisher(private_broker.url, restartable.topology, send_timeout=1.0)
    queue = restartable.topology.work_queue(Direction.OUTBOUND, "iwmo")
    try:
        publisher.publish(Envelope(wmo301(40), Direction.OUTBOUND, message_type=WMO301))
        private_broker.stop()
        started = time.monotonic()
        with pytest.raises(PublishError):
            publisher.publish(Envelope(wmo301(41), Direction.OUTBOUND, message_type=WMO301))
        assert time.monotonic() - started < 5
        private_broker.start()
        # Not sent in time means never sent: the caller keeps it (ledger, sweeper).
        assert wait_for(lambda: _try_publish(publisher, 42), 30)
        assert wait_for(lambda: depth(private_broker.url, queue) == 2, 10)
    finally:
        publisher.close()


def _try_publish(publisher: Publisher, number: int) -> bool:
    try:
        publisher.publish(Envelope(wmo301(number), Direction.OUTBOUND, message_type=WMO301))
    except PublishError:
        return False
    return True


def test_a_queue_declared_with_other_arguments_is_named_clearly(settings: Settings) -> None:
    """An older topology (e.g. another delivery limit) is refused with the queue's name."""
    old = Topology(settings.bus_prefix, ("iwmo",), delivery_limit=10)
    new = dataclasses.replace(old, delivery_limit=20)
    connection = connect(settings.amqp_url)
    try:
        old.declare(connection.channel())
        with pytest.raises(TopologyMismatch, match=f"queue {settings.bus_prefix}.ingress"):
            new.declare(connection.channel())
    finally:
        old.delete(connection.channel())
        connection.close()
