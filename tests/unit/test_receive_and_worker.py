"""receive.py and worker.py on the real SQLite ledger, with the bus step replaced by a list
(these tests are about the steps around the bus; tests/integration runs them on RabbitMQ)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from lxml import etree

from gateway.adapter import Delivery, Registry
from gateway.config import Settings
from gateway.delivery import OutboxTransport
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import Status, open_ledger
from gateway.receive import ACCEPTED, REFUSED, REJECTED, Receiver
from gateway.validate import SchemaCache
from gateway.worker import NotRecorded, Worker, retour_id
from tests.busstub import StubBus
from tests.conftest import EXAMPLES

WMO301_TYPE = MessageType("iwmo", "WMO301", "3.2")


@pytest.fixture
def parts(settings: Settings):
    registry = Registry.load(settings.adapters, settings)
    ledger = open_ledger(settings.ledger_dsn, "k")
    bus = StubBus()
    receiver = Receiver(registry, SchemaCache(), ledger, bus, settings.max_message_bytes)
    worker = Worker(registry, ledger, receiver, OutboxTransport(settings.outbox_dir), 10**7)
    yield receiver, worker, ledger, bus, settings
    ledger.close()


def _inbound(name: str) -> Envelope:
    return Envelope(body=(EXAMPLES / name).read_bytes(), direction=Direction.INBOUND, source="t")


def events(ledger, message_id: str) -> list[str]:
    return [e.event.value for e in ledger.history(message_id)]


def test_recorded_before_published_and_published_once(parts) -> None:
    receiver, _, ledger, bus, _ = parts
    envelope = _inbound("WMO301-ontvangen.xml")
    receipt = receiver.receive(envelope)
    assert receipt.status == ACCEPTED and receipt.published
    assert events(ledger, envelope.message_id) == ["received", "validated", "published"]
    received = ledger.history(envelope.message_id)[0]
    assert ledger.payload(received.payload_sha256) == envelope.body  # raw bytes kept
    assert [e.message_id for e in bus.published] == [envelope.message_id]
    again = receiver.receive(envelope)  # same message id: nothing happens twice
    assert again.duplicate and again.status == ACCEPTED
    assert len(bus.published) == 1
    assert events(ledger, envelope.message_id) == ["received", "validated", "published"]


def test_business_keys_are_searchable_and_bsn_only_hashed(parts, settings) -> None:
    receiver, _, ledger, _, _ = parts
    envelope = _inbound("WMO301-ontvangen.xml")
    receiver.receive(envelope)
    assert [e.message_id for e in ledger.find("ToewijzingNummer", "770001")] == [
        envelope.message_id
    ]
    assert [e.message_id for e in ledger.find("bsn", "999990032")] == [envelope.message_id]
    raw = Path(settings.ledger_dsn.removeprefix("sqlite:///")).read_bytes()
    assert b"999990032" not in raw.replace(b"\x00", b"")  # the index holds no plain BSN


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"not xml", "not well-formed"),
        (b'<!DOCTYPE a [<!ENTITY x "y">]><a/>', "DOCTYPE"),
        (b'<a xmlns="urn:other"/>', "no adapter knows documents in namespace urn:other"),
    ],
)
def test_refused_at_intake_but_recorded(parts, body: bytes, error: str) -> None:
    receiver, _, ledger, bus, _ = parts
    envelope = Envelope(body=body, direction=Direction.INBOUND)
    receipt = receiver.receive(envelope)
    assert receipt.status == REFUSED and not receipt.published
    assert error in receipt.errors[0]
    assert events(ledger, envelope.message_id) == ["received", "rejected"]
    assert bus.published == []


def test_schema_invalid_is_refused_with_a_readable_error_and_no_retour(parts) -> None:
    receiver, _, ledger, bus, _ = parts
    receipt = receiver.receive(_inbound("WMO301-zonder-producten.xml"))
    assert receipt.status == REFUSED
    assert "Expected is ( ToegewezenProducten )" in receipt.errors[0]
    assert receipt.message_type == "iwmo 3.2 WMO301"
    assert bus.published == []


def test_schema_errors_do_not_quote_values(parts) -> None:
    receiver, _, _, _, _ = parts
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes().replace(b"999990032", b"99999003X")
    receipt = receiver.receive(Envelope(body=body, direction=Direction.INBOUND))
    assert receipt.status == REFUSED
    assert "Bsn" in receipt.errors[0] and "99999003X" not in receipt.errors[0]


def test_rules_rejection_inbound_is_published_for_its_retour(parts) -> None:
    receiver, worker, ledger, bus, settings = parts
    envelope = _inbound("WMO301-bsn-fout.xml")
    receipt = receiver.receive(envelope)
    assert receipt.status == REJECTED and receipt.published
    assert [(f.rule, f.code) for f in receipt.findings] == [("CS002", "0001")]
    worker.process(bus.published[0])
    assert "delivered" not in events(ledger, envelope.message_id)  # not to the back-office
    assert events(ledger, envelope.message_id)[-1] == "retour-sent"
    retour = bus.published[-1]
    assert retour.message_id == retour_id(envelope.message_id)
    assert retour.direction is Direction.OUTBOUND and retour.parent_id == envelope.message_id
    codes = etree.fromstring(retour.body).xpath("//*[local-name()='RetourCode']/text()")
    assert codes == ["0001"]


def test_rules_rejection_outbound_is_not_sent(parts) -> None:
    receiver, _, ledger, bus, _ = parts
    body = (EXAMPLES / "WMO301-bsn-fout.xml").read_bytes()
    receipt = receiver.receive(Envelope(body=body, direction=Direction.OUTBOUND))
    assert receipt.status == REJECTED and not receipt.published and bus.published == []


def test_worker_delivers_and_answers_exactly_once(parts) -> None:
    receiver, worker, ledger, bus, settings = parts
    envelope = _inbound("WMO301-ontvangen.xml")
    receiver.receive(envelope)
    published = bus.published[0]
    worker.process(published)
    worker.process(published)  # redelivered after a crash: nothing twice
    assert events(ledger, envelope.message_id) == [
        "received",
        "validated",
        "published",
        "delivered",
        "retour-sent",
    ]
    backoffice = list((settings.outbox_dir / "backoffice").iterdir())
    assert len(backoffice) == 1 and backoffice[0].read_bytes() == envelope.body
    retours = [e for e in bus.published if e.parent_id == envelope.message_id]
    assert len(retours) == 1
    worker.process(retours[0])
    worker.process(retours[0])
    to_gemeente = list((settings.outbox_dir / "0599").iterdir())
    assert len(to_gemeente) == 1
    assert etree.fromstring(to_gemeente[0].read_bytes()).xpath(
        "//*[local-name()='BerichtCode']/text()"
    ) == ["415"]


def test_broker_down_keeps_the_message_and_the_sweeper_publishes_it(parts) -> None:
    receiver, _, ledger, bus, _ = parts
    bus.down = True
    envelope = _inbound("WMO301-ontvangen.xml")
    receipt = receiver.receive(envelope)
    assert receipt.status == ACCEPTED and not receipt.published
    assert ledger.awaiting_publication() == [envelope.message_id]
    assert receiver.republish_pending() == 0  # still down: nothing lost, nothing done
    bus.down = False
    assert receiver.republish_pending() == 1
    assert bus.published[0].body == envelope.body
    assert bus.published[0].message_type == MessageType("iwmo", "WMO301", "3.2")
    assert bus.published[0].direction is Direction.INBOUND
    assert ledger.awaiting_publication() == []
    assert events(ledger, envelope.message_id)[-1] == "published"


def test_mapped_json_keeps_both_payloads(parts) -> None:
    receiver, _, ledger, bus, _ = parts
    body = (EXAMPLES / "toewijzing.json").read_bytes()
    envelope = Envelope(body=body, direction=Direction.OUTBOUND, content_type="application/json")
    receipt = receiver.receive_mapped(envelope, "iwmo", "toewijzing")
    assert receipt.status == ACCEPTED, receipt.errors
    history = ledger.history(envelope.message_id)
    assert [e.event.value for e in history][:2] == ["received", "mapped"]
    assert ledger.payload(history[0].payload_sha256) == body
    assert ledger.payload(history[1].payload_sha256) == bus.published[0].body


def test_mapping_error_is_refused_and_names_the_field(parts) -> None:
    receiver, _, ledger, bus, _ = parts
    data = json.loads((EXAMPLES / "toewijzing.json").read_text())
    del data["client"]["bsn"]
    envelope = Envelope(body=json.dumps(data).encode(), direction=Direction.OUTBOUND)
    receipt = receiver.receive_mapped(envelope, "iwmo", "toewijzing")
    assert receipt.status == REFUSED
    assert receipt.errors == ("mapping iwmo/toewijzing: client.bsn: is required",)
    unknown = receiver.receive_mapped(
        dataclasses.replace(envelope, message_id="m-2"), "iwmo", "nonexistent"
    )
    assert "unknown mapping 'nonexistent'" in unknown.errors[0]


def test_outbound_heenbericht_is_answered_when_its_retour_comes_in(parts) -> None:
    """The aanbieder's WMO302 copies the WMO301 header unswapped (Afzender = gemeente); it is
    still the aanbieder's message and answers the gemeente's WMO301 (IV028, OP090)."""
    receiver, worker, ledger, bus, settings = parts
    heen_body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    heen = Envelope(body=heen_body, direction=Direction.OUTBOUND)
    assert receiver.receive(heen).status == ACCEPTED
    worker.process(bus.published[-1])
    state = ledger.state(heen.message_id)
    assert state is not None and state.status is Status.AWAITING_ANSWER
    assert (state.sender, state.receiver) == ("0599", "87654321")

    # The aanbieder's side makes the retour the standard prescribes for this 301.
    adapter = receiver.registry.for_standard("iwmo")
    answer = adapter.answer(
        dataclasses.replace(heen, direction=Direction.INBOUND, message_type=WMO301_TYPE),
        etree.fromstring(heen_body).getroottree(),
        [],
    )
    assert answer is not None
    retour = Envelope(body=answer.body, direction=Direction.INBOUND)
    assert receiver.receive(retour).status == ACCEPTED
    retour_state = ledger.state(retour.message_id)
    assert retour_state is not None
    assert (retour_state.sender, retour_state.receiver) == ("87654321", "0599")
    state = ledger.state(heen.message_id)
    assert state is not None
    assert (state.status, state.answered_by) == (Status.ANSWERED, retour.message_id)


def test_the_worker_acts_only_on_the_message_recorded_under_its_id(parts) -> None:
    """Anyone with broker rights can put bytes on a work queue under a recorded message's id:
    other bytes, another direction or type are not that message (not delivered, not answered,
    nothing recorded on it: the parking recorder records them as a message of their own)."""
    receiver, worker, ledger, bus, settings = parts
    envelope = _inbound("WMO301-ontvangen.xml")
    receiver.receive(envelope)
    published = bus.published[0]
    strays = [
        dataclasses.replace(published, body=b"<x/>"),
        dataclasses.replace(published, body=(EXAMPLES / "WMO301-bsn-fout.xml").read_bytes()),
        dataclasses.replace(published, direction=Direction.OUTBOUND),
        dataclasses.replace(published, message_type=MessageType("ijw", "JW301", "3.2")),
        dataclasses.replace(published, message_id="never-received"),
    ]
    for stray in strays:
        with pytest.raises(NotRecorded):
            worker.process(stray)
    assert events(ledger, envelope.message_id) == ["received", "validated", "published"]
    assert not settings.outbox_dir.exists() and len(bus.published) == 1
    worker.process(published)  # the message itself is delivered and answered
    assert events(ledger, envelope.message_id)[-2:] == ["delivered", "retour-sent"]


def test_a_refused_message_on_the_bus_is_not_answered(parts) -> None:
    """A schema-invalid heenbericht is recorded refused and never published; a copy put on the
    bus is left as recorded (before, the worker made it a retour saying 0200: accepted)."""
    receiver, worker, ledger, bus, _ = parts
    envelope = _inbound("WMO301-zonder-producten.xml")
    assert receiver.receive(envelope).status == REFUSED
    worker.process(dataclasses.replace(envelope, message_type=WMO301_TYPE))
    assert events(ledger, envelope.message_id) == ["received", "rejected"]
    assert bus.published == []


def test_every_message_id_has_an_outbox_file_of_its_own(settings: Settings) -> None:
    """The message id is the outbox's idempotency key: two ids the file name made one (not
    ASCII, too long) were one message, and the second was recorded delivered, never written."""
    outbox = OutboxTransport(settings.outbox_dir)
    ids = ["bericht-é-1", "bericht-ü-1", "x" * 130, "x" * 130 + "y", "plain-id"]
    paths = [
        outbox.deliver(
            Envelope(body=b"", direction=Direction.INBOUND, message_id=message_id),
            Delivery("0599", message_id.encode(), "application/xml", "WMO301.xml"),
        )
        for message_id in ids
    ]
    assert len(set(paths)) == len(ids)
    assert paths[-1].endswith("/0599/plain-id.WMO301.xml")  # a plain id names its file as before
    assert all(p.endswith(".WMO301.xml") and len(Path(p).name) < 255 for p in paths)


def test_a_value_error_of_ours_while_judging_is_an_internal_refusal(
    parts, monkeypatch: pytest.MonkeyPatch
) -> None:
    receiver = parts[0]
    (adapter,) = [a for a in receiver.registry.standards() if "iwmo" in a.standards]

    def check(*_: object) -> list[object]:
        raise ValueError("invalid literal for int() with base 10: 'a ledger value'")  # ours

    monkeypatch.setattr(adapter, "check", check)
    receipt = receiver.receive(_inbound("WMO301-ontvangen.xml"))
    assert receipt.status == REFUSED
    assert receipt.internal  # ours: not "the message could not be read (ValueError)"
