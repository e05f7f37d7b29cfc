"""Batches through receive and the worker on the real SQLite ledger, the bus step replaced by a
list (tests/integration runs the batch consumer on RabbitMQ): the same steps per message as one
by one, entries recorded together, and a message that fails fails alone."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from gateway.adapter import Delivery, Registry
from gateway.bus.failures import Permanent
from gateway.config import Settings
from gateway.delivery import OutboxTransport
from gateway.envelope import Direction, Envelope
from gateway.ledger import Event, open_ledger
from gateway.receive import ACCEPTED, REFUSED, REJECTED, Incoming, Receipt, Receiver
from gateway.validate import SchemaCache
from gateway.worker import Worker, retour_id
from tests.busstub import StubBus
from tests.conftest import EXAMPLES
from tests.messages import wmo301
from tests.unit.test_receive_and_worker import events


@pytest.fixture
def parts(settings: Settings):
    registry = Registry.load(settings.adapters, settings)
    ledger = open_ledger(settings.ledger_dsn, "k")
    bus = StubBus()
    receiver = Receiver(registry, SchemaCache(), ledger, bus, settings.max_message_bytes)
    worker = Worker(registry, ledger, receiver, OutboxTransport(settings.outbox_dir), 10**7)
    yield receiver, worker, ledger, bus, settings
    ledger.close()


def _out(number: int) -> Envelope:
    return Envelope(body=wmo301(number), direction=Direction.OUTBOUND, source="t")


def _seqs(ledger, message_id: str, event: Event) -> list[int]:
    return [e.seq for e in ledger.history(message_id) if e.event is event]


def test_a_batch_takes_the_same_steps_and_records_verdicts_before_publishing(parts) -> None:
    receiver, _, ledger, bus, _ = parts
    good = [_out(1), _out(2), _out(3)]
    broken = Envelope(body=b"not xml", direction=Direction.OUTBOUND)
    invalid = Envelope(
        body=(EXAMPLES / "WMO301-zonder-producten.xml").read_bytes(), direction=Direction.OUTBOUND
    )
    results = receiver.receive_many([good[0], broken, good[1], invalid, good[2]])
    assert all(isinstance(r, Receipt) for r in results)
    statuses = [(r.status, r.published) for r in results if isinstance(r, Receipt)]
    assert statuses == [
        (ACCEPTED, True),
        (REFUSED, False),
        (ACCEPTED, True),
        (REFUSED, False),
        (ACCEPTED, True),
    ]
    for envelope in good:
        assert events(ledger, envelope.message_id) == ["received", "validated", "published"]
    assert events(ledger, broken.message_id) == ["received", "rejected"]
    assert [e.message_id for e in bus.published] == [e.message_id for e in good]
    # every verdict of the batch was recorded before the first message was published
    last_verdict = max(_seqs(ledger, e.message_id, Event.VALIDATED)[0] for e in good)
    first_published = min(_seqs(ledger, e.message_id, Event.PUBLISHED)[0] for e in good)
    assert last_verdict < first_published
    # the same message again, alone or in a batch: answered as before, nothing done twice
    again = receiver.receive_many([good[1], broken])
    assert [(r.status, r.duplicate) for r in again if isinstance(r, Receipt)] == [
        (ACCEPTED, True),
        (REFUSED, True),
    ]
    assert len(bus.published) == 3


def test_a_message_id_twice_in_one_batch_is_taken_once(parts) -> None:
    receiver, _, ledger, bus, _ = parts
    envelope = _out(7)
    first, second = receiver.receive_many([envelope, envelope])
    assert isinstance(first, Receipt) and isinstance(second, Receipt)
    assert (first.status, first.duplicate, second.status, second.duplicate) == (
        ACCEPTED,
        False,
        ACCEPTED,
        True,
    )
    assert events(ledger, envelope.message_id) == ["received", "validated", "published"]
    assert len(bus.published) == 1


def test_each_message_is_judged_as_if_the_ones_before_it_came_alone(parts) -> None:
    """Two messages with the same BerichtIdentificatie and ToewijzingNummers: one by one the
    second is rejected; in one batch it must be rejected the same way."""
    receiver, _, _, _, _ = parts
    alone_first = receiver.receive(_out(10))
    alone_second = receiver.receive(_out(10))  # another message id, the same content
    assert alone_first.status == ACCEPTED and alone_second.status == REJECTED
    batch = receiver.receive_many([_out(11), _out(11)])
    assert all(isinstance(r, Receipt) for r in batch)
    first, second = (r for r in batch if isinstance(r, Receipt))
    assert first.status == ACCEPTED
    assert second.status == REJECTED and not second.duplicate
    assert [(f.rule, f.code) for f in second.findings] == [
        (f.rule, f.code) for f in alone_second.findings
    ]


def test_a_batch_of_unrelated_messages_is_recorded_in_one_transaction(parts) -> None:
    """A rule reading the domain tables records what is waiting first only when a waiting row
    holds a value it asks for: unrelated toewijzingen are judged and recorded together (the
    entries of one transaction share their time)."""
    receiver, _, ledger, _, _ = parts
    batch = [_out(31), _out(32), _out(33)]
    results = receiver.receive_many(batch)
    assert [r.status for r in results if isinstance(r, Receipt)] == [ACCEPTED] * 3
    verdicts = [
        e for m in batch for e in ledger.history(m.message_id) if e.event is Event.VALIDATED
    ]
    assert len({e.at for e in verdicts}) == 1


def test_a_toewijzing_repeated_in_a_batch_is_judged_as_if_alone(parts) -> None:
    """Another BerichtIdentificatie, the same ToewijzingNummers: only the domain tables link
    the two, and the second is rejected in a batch as it is one by one."""
    receiver, _, _, _, _ = parts

    def other(number: int, identificatie: str) -> Envelope:
        """Its ToewijzingNummers, another BerichtIdentificatie, the products swapped."""
        body = (
            wmo301(number)
            .replace(f"KP{number:010d}".encode(), identificatie.encode())
            .replace(b"01A01", b"@")
            .replace(b"01A02", b"01A01")
            .replace(b"@", b"01A02")
        )
        return Envelope(body=body, direction=Direction.OUTBOUND, source="t")

    assert receiver.receive(_out(40)).status == ACCEPTED
    alone = receiver.receive(other(40, "KP0000000041"))
    assert alone.status == REJECTED
    batch = receiver.receive_many([_out(42), other(42, "KP0000000043")])
    first, second = (r for r in batch if isinstance(r, Receipt))
    assert first.status == ACCEPTED and second.status == REJECTED
    assert [(f.rule, f.code) for f in second.findings] == [(f.rule, f.code) for f in alone.findings]


def test_a_message_that_fails_fails_alone(parts, monkeypatch) -> None:
    receiver, _, ledger, bus, _ = parts
    adapter = receiver.registry.for_standard("iwmo")

    def broken(*args: object) -> bytes:
        raise RuntimeError("mapping engine crashed")

    monkeypatch.setattr(adapter, "map_in", broken)
    json_body = (EXAMPLES / "toewijzing.json").read_bytes()
    mapped = Envelope(body=json_body, direction=Direction.OUTBOUND)
    one, two = _out(20), _out(21)
    results = receiver.receive_many([one, Incoming(mapped, mapping="iwmo/toewijzing"), two])
    assert [r.status for r in results if isinstance(r, Receipt)] == [ACCEPTED, REFUSED, ACCEPTED]
    refused = results[1]
    assert isinstance(refused, Receipt)
    assert "internal error RuntimeError" in refused.errors[0]
    assert refused.internal and not refused.forbidden  # our fault: answered so (HTTP 500)
    assert "crashed" not in refused.errors[0]  # the exception's own text is not told
    assert [e.message_id for e in bus.published] == [one.message_id, two.message_id]
    # as one by one: recorded as received, then refused (stage internal); nothing published
    assert events(ledger, mapped.message_id) == ["received", "rejected"]
    alone = receiver.receive_mapped(
        dataclasses.replace(mapped, message_id="m-2"), "iwmo", "toewijzing"
    )
    assert alone.status == REFUSED and alone.errors == refused.errors and alone.internal
    again = receiver.receive_mapped(
        dataclasses.replace(mapped, message_id="m-2"), "iwmo", "toewijzing"
    )
    assert again.duplicate and again.internal  # a resend is answered from the recorded verdict


def test_broker_down_during_a_batch_then_the_sweeper_publishes_it(parts) -> None:
    receiver, _, ledger, bus, _ = parts
    bus.down = True
    envelopes = [_out(30), _out(31), _out(32)]
    results = receiver.receive_many(envelopes)
    assert [(r.status, r.published) for r in results if isinstance(r, Receipt)] == [
        (ACCEPTED, False)
    ] * 3
    assert ledger.awaiting_publication() == [e.message_id for e in envelopes]
    bus.down = False
    assert receiver.republish_pending() == 3
    assert [e.message_id for e in bus.published] == [e.message_id for e in envelopes]
    assert ledger.awaiting_publication() == []


def test_the_worker_records_a_batch_together_and_a_failure_alone(parts) -> None:
    receiver, worker, ledger, bus, settings = parts
    envelopes = [_out(40), _out(41), _out(42)]
    receiver.receive_many(envelopes)
    published = list(bus.published)
    stranger = dataclasses.replace(published[0], message_id="never-received")
    batch = [published[0], stranger, published[1], published[0], published[2]]
    outcomes = worker.process_many(batch)
    assert outcomes[0] is None and outcomes[2] is None and outcomes[3] is None
    assert outcomes[4] is None and isinstance(outcomes[1], Permanent)
    delivered = sorted(_seqs(ledger, e.message_id, Event.DELIVERED)[0] for e in envelopes)
    assert delivered == list(range(delivered[0], delivered[0] + 3))  # one transaction
    for envelope in envelopes:  # the copy in the same batch was not delivered again
        assert events(ledger, envelope.message_id) == [
            "received",
            "validated",
            "published",
            "delivered",
        ]
    files = sorted(p.name for p in (settings.outbox_dir / "87654321").iterdir())
    assert files == sorted(f"{e.message_id}.WMO301.xml" for e in envelopes)
    assert worker.process_many(published) == [None] * 3  # redelivered: nothing twice
    assert len(list((settings.outbox_dir / "87654321").iterdir())) == 3


def test_the_worker_answers_a_batch_of_heenberichten(parts) -> None:
    receiver, worker, ledger, bus, settings = parts
    envelopes = [
        Envelope(body=wmo301(n), direction=Direction.INBOUND, source="t") for n in (50, 51)
    ]
    receiver.receive_many(envelopes)
    assert worker.process_many(list(bus.published)) == [None, None]
    for envelope in envelopes:
        assert events(ledger, envelope.message_id)[-2:] == ["delivered", "retour-sent"]
        retour = retour_id(envelope.message_id)
        assert events(ledger, retour) == ["received", "validated", "published"]
    assert {e.parent_id for e in bus.published[2:]} == {e.message_id for e in envelopes}
    assert len(list((settings.outbox_dir / "backoffice").iterdir())) == 2


def test_outbox_batch_writes_complete_files_and_fails_one_alone(tmp_path: Path) -> None:
    outbox = OutboxTransport(tmp_path)
    (tmp_path / "blocked").write_text("a file where a folder should be")
    items = [
        (_out(60), Delivery("87654321", b"<one/>", "application/xml", "WMO301.xml")),
        (_out(61), Delivery("blocked", b"<two/>", "application/xml", "WMO301.xml")),
        (_out(62), Delivery("87654321", b"<three/>", "application/xml", "WMO301.xml")),
    ]
    results = outbox.deliver_many(items)
    assert isinstance(results[1], OSError)
    first, third = Path(str(results[0])), Path(str(results[2]))
    assert (first.read_bytes(), third.read_bytes()) == (b"<one/>", b"<three/>")
    assert [p.name for p in (tmp_path / "87654321").iterdir() if p.name.startswith(".")] == []
    # delivered again (a crash before recording): the file is there and is not written again
    first.write_bytes(b"<as delivered/>")
    assert outbox.deliver_many(items[:1]) == [str(first)]
    assert first.read_bytes() == b"<as delivered/>"


def test_outbox_syncs_every_file_before_any_is_renamed_or_closed(tmp_path, monkeypatch) -> None:
    """The syncs of a batch run side by side (one journal commit for them all); every file is
    synced, none is closed while a sync of it may still run, and when one sync fails no file of
    the batch is put under its final name."""
    import os
    import threading
    import time

    from gateway import delivery

    synced: list[int] = []
    open_while_syncing: list[bool] = []
    lock = threading.Lock()

    def slow_sync(fd: int) -> None:
        time.sleep(0.02)
        try:
            os.fstat(fd)  # still open: closing it under a running sync would be EBADF here
            open_while_syncing.append(True)
        except OSError:
            open_while_syncing.append(False)
        with lock:
            synced.append(fd)
        if fail and fd == fail[0]:
            raise OSError(5, "Input/output error")

    monkeypatch.setattr(delivery, "_SYNC", slow_sync)
    outbox = OutboxTransport(tmp_path)
    items = [
        (_out(70 + n), Delivery("87654321", b"<m/>", "application/xml", "WMO301.xml"))
        for n in range(12)
    ]
    fail: list[int] = []
    assert all(not isinstance(r, Exception) for r in outbox.deliver_many(items))
    assert len(synced) == 12 and all(open_while_syncing)
    assert len(list((tmp_path / "87654321").glob("*.xml"))) == 12

    more = [
        (_out(90 + n), Delivery("87654321", b"<m/>", "application/xml", "WMO301.xml"))
        for n in range(12)
    ]
    synced.clear()
    fail.append(-1)

    real_open = os.open

    def remember(path, flags, mode=0o777):  # the fifth file's descriptor fails its sync
        fd = real_open(path, flags, mode)
        if str(path).endswith(".part") and fail[0] == -1 and len(opened) == 4:
            fail[0] = fd
        opened.append(fd)
        return fd

    opened: list[int] = []
    monkeypatch.setattr(delivery.os, "open", remember)
    results = outbox.deliver_many(more)
    assert all(isinstance(r, OSError) for r in results)
    assert len(synced) == 12 and all(open_while_syncing)  # the others ran to their end
    assert len(list((tmp_path / "87654321").glob("*.xml"))) == 12  # only the first batch


def test_file_drop_takes_a_batch_and_leaves_what_could_not_be_recorded(parts, tmp_path) -> None:
    from gateway.ingress.filedrop import FileDrop

    receiver, _, ledger, bus, _ = parts
    drop = FileDrop(tmp_path / "drop", receiver)
    outbound = tmp_path / "drop" / "outbound"
    for n in range(3):
        (outbound / f"m{n}.xml").write_bytes(wmo301(70 + n))
    (outbound / "bad.xml").write_bytes(b"not xml")
    assert drop.poll_once() == 4
    assert len(bus.published) == 3
    done = outbound / "done"
    receipts = [json.loads(p.read_text()) for p in done.glob("*.receipt.json")]
    assert [r["status"] for r in receipts] == [REFUSED]
    assert len(list(done.glob("*.xml"))) == 4
