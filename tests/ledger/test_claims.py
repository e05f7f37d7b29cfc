"""A message is handed over once, whatever copies the bus carries: a worker claims a message in
the ledger before it reads its history and delivers, so two workers (threads, processes or
gateways) holding copies of one message at the same moment never both deliver it; a claim of a
dead worker is free. On the real PostgreSQL (advisory locks) and SQLite (a claims table)."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

from gateway.adapter import Delivery, Registry
from gateway.config import Settings
from gateway.delivery import OutboxTransport
from gateway.envelope import Direction, Envelope
from gateway.receive import Receiver
from gateway.validate import SchemaCache
from gateway.worker import HandledElsewhere, Worker
from tests.busstub import StubBus
from tests.conftest import EXAMPLES
from tests.ledger.conftest import Backend


class SlowOutbox(OutboxTransport):
    """The outbox, holding a delivery until told to go on (a counterpart taking its time)."""

    def __init__(self, folder: Path) -> None:
        super().__init__(folder)
        self.entered = threading.Event()
        self.go = threading.Event()
        self.calls = 0

    def deliver(self, envelope: Envelope, delivery: Delivery) -> object:
        self.calls += 1
        self.entered.set()
        self.go.wait(30)
        return super().deliver(envelope, delivery)


def test_two_workers_with_one_message_at_once_deliver_it_once(
    backend: Backend, settings: Settings, tmp_path: Path
) -> None:
    registry = Registry.load(settings.adapters, settings)
    bus = StubBus()
    first, second = backend.open(), backend.open()  # two gateways: two connections
    receiver = Receiver(registry, SchemaCache(), first, bus, 10**7)
    outbox = SlowOutbox(tmp_path / "outbox")
    workers = [
        Worker(
            registry, ledger, Receiver(registry, SchemaCache(), ledger, bus, 10**7), outbox, 10**7
        )
        for ledger in (first, second)
    ]
    envelope = Envelope(
        body=(EXAMPLES / "WMO301-ontvangen.xml").read_bytes(), direction=Direction.INBOUND
    )
    receiver.receive(envelope)
    copy = bus.published[0]  # the same message twice on the bus (a republish, a redelivery)

    outcome: list[Exception | None] = []
    holder = threading.Thread(target=lambda: outcome.extend(workers[0].process_many([copy])))
    holder.start()
    assert outbox.entered.wait(30)  # the first is handing it over now
    [elsewhere] = workers[1].process_many([copy])
    assert isinstance(elsewhere, HandledElsewhere)  # the second does not deliver it
    outbox.go.set()
    holder.join(30)
    assert outcome == [None] and outbox.calls == 1
    # the copy comes back after its retry tier: done, nothing more
    assert workers[1].process_many([copy]) == [None]
    assert outbox.calls == 1
    events = [e.event.value for e in first.history(envelope.message_id)]
    assert events.count("delivered") == 1 and events.count("retour-sent") == 1


def test_a_claim_of_a_dead_worker_is_free(backend: Backend, tmp_path: Path) -> None:
    """A worker process killed while it holds a claim: the claim is not left behind."""
    dsn = backend.dsn
    script = (
        "import os, sys\n"
        "from gateway.ledger import open_ledger\n"
        f"ledger = open_ledger({dsn!r}, 'k')\n"
        "with ledger.claim(['m-1']) as mine:\n"
        "    assert mine == {'m-1'}\n"
        "    print('held', flush=True)\n"
        "    sys.stdin.readline()\n"
    )
    child = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ},
    )
    assert child.stdout is not None and child.stdout.readline().strip() == b"held"
    ledger = backend.open()
    with ledger.claim(["m-1", "m-2"]) as mine:
        assert mine == {"m-2"}  # held by the living worker
    child.kill()  # kill -9: no release
    child.wait(30)
    with ledger.claim(["m-1"]) as mine:
        assert mine == {"m-1"}
    with ledger.claim(["m-1"]) as mine, backend.open().claim(["m-1"]) as theirs:
        assert mine == {"m-1"} and theirs == set()  # one holder at a time


def test_sqlite_claims_are_not_synced_and_appends_stay_durable(tmp_path: Path) -> None:
    """A claim only matters while its process lives: its transaction skips the journal sync
    (one fewer fsync per worker batch, twice); the writer is back to ``synchronous=FULL`` for
    the entries, while the claim is held and after."""
    import sqlite3

    from gateway.ledger import open_ledger

    path = tmp_path / "ledger.sqlite3"
    ledger = open_ledger(f"sqlite:///{path}", "claims")
    full = 2  # PRAGMA synchronous: 0 OFF, 1 NORMAL, 2 FULL
    try:
        with ledger.claim(["m-1"]) as mine:
            assert mine == {"m-1"}
            other = sqlite3.connect(path)  # committed: another connection sees the claim
            assert other.execute("SELECT message_id FROM claims").fetchall() == [("m-1",)]
            assert ledger._writer.execute("PRAGMA synchronous").fetchone()[0] == full  # type: ignore[attr-defined]
        assert other.execute("SELECT message_id FROM claims").fetchall() == []
        assert ledger._writer.execute("PRAGMA synchronous").fetchone()[0] == full  # type: ignore[attr-defined]
        other.close()
    finally:
        ledger.close()
