"""A message id is received once, even when two receives of it run at the same moment (two
gateways polling one file drop, a back-office retrying a POST that is still being handled).
Both backends, two ledger connections as two processes would have."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from gateway.adapter import Registry
from gateway.config import Settings
from gateway.envelope import Direction, Envelope
from gateway.ledger import AlreadyReceived, Event, Record
from gateway.ledger.audit import verify
from gateway.receive import ACCEPTED, Receiver
from gateway.validate import SchemaCache
from tests.busstub import StubBus
from tests.conftest import EXAMPLES
from tests.ledger.conftest import Backend


class _Meet:
    """The ledger of one gateway process, whose first history read waits for the other's: both
    have looked, found nothing, and now both record (the race, made certain)."""

    def __init__(self, ledger: Any, barrier: threading.Barrier) -> None:
        self._ledger, self._barrier = ledger, barrier

    def histories(self, message_ids: Any) -> Any:
        found = self._ledger.histories(message_ids)
        self._barrier.wait(timeout=10)
        return found

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ledger, name)


def test_the_database_refuses_a_second_received(backend: Backend) -> None:
    ledger = backend.open()
    envelope = Envelope(body=b"<a/>", direction=Direction.OUTBOUND)
    ledger.append(envelope, Event.RECEIVED, payload=envelope.body)
    with pytest.raises(AlreadyReceived):
        ledger.append_many(
            [
                Record(envelope, Event.RECEIVED, payload=envelope.body),
                Record(envelope, Event.MAPPED),
            ]
        )
    assert [e.event for e in ledger.history(envelope.message_id)] == [Event.RECEIVED]
    ledger.append(envelope, Event.MAPPED)  # other events of the message still go in
    assert verify(ledger).ok  # the refused append left no trace in the tree


def test_two_receives_of_one_message_at_once_record_it_once(
    backend: Backend, settings: Settings
) -> None:
    registry = Registry.load(settings.adapters, settings)
    barrier = threading.Barrier(2)
    bus = StubBus()
    receivers = [
        Receiver(registry, SchemaCache(), _Meet(backend.open(), barrier), bus, 10**7)  # type: ignore[arg-type]
        for _ in range(2)
    ]
    envelope = Envelope(
        body=(EXAMPLES / "WMO301-ontvangen.xml").read_bytes(), direction=Direction.INBOUND
    )
    receipts: list[Any] = [None, None]

    def receive(index: int) -> None:
        receipts[index] = receivers[index].receive(envelope)

    threads = [threading.Thread(target=receive, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert all(r is not None and r.status == ACCEPTED for r in receipts), receipts
    assert sorted(r.duplicate for r in receipts) == [False, True]
    history = backend.open().history(envelope.message_id)
    events = [e.event for e in history]
    assert events.count(Event.RECEIVED) == 1 and events.count(Event.VALIDATED) == 1
    # published once, by the one that recorded it
    assert [e.message_id for e in bus.published] == [envelope.message_id]
