"""Every declaratie gets its declaratie-antwoord (IV087/IV088, OP090x4): the gateway answers a
323 its rules reject with a 325 of its own; an accepted one goes to the back-office, whose
verdict becomes the 325 (``declaratie-antwoord`` mapping, tests/unit/test_istandaarden_mappings).

Each case is built from the rules' own texts, judged by the real rules, answered by the real
adapter and held to our 325 XSD and the public one."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from adapters.istandaarden.catalogue import Bericht
from adapters.lib.istandaard import codec
from gateway.adapter import Answer, Finding, Registry
from gateway.config import Settings
from gateway.delivery import OutboxTransport
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ledger import open_ledger
from gateway.receive import ACCEPTED, REJECTED, Receiver
from gateway.validate import SchemaCache
from gateway.worker import Worker
from tests.busstub import StubBus
from tests.istd_world import MemoryState, World, adapter
from tests.oracles import assert_valid, public_schema
from tools.istd_samples import declaratie


def _prestatie(data: dict[str, Any], client: int = 0, k: int = 0) -> dict[str, Any]:
    return data["Declaratie"]["Clienten"]["Client"][client]["Prestaties"]["Prestatie"][k]


def _unknown_toewijzing(data: dict[str, Any]) -> None:  # TR338 -> 9338 on the prestatie
    _prestatie(data)["ToewijzingNummer"] = "999"


def _wrong_total(data: dict[str, Any]) -> None:  # TR358 (in-message) -> 0001
    data["Declaratie"]["TotaalIngediendBedrag"]["TotaalBedrag"] = "1"


def _no_tarief(data: dict[str, Any]) -> None:  # CD087: ProductTarief required (Eenheid 04)
    del _prestatie(data)["ProductTarief"]


def _across_months(data: dict[str, Any]) -> None:  # CS340: one calendar month
    data["Declaratie"]["DeclaratiePeriode"]["Einddatum"] = "2026-03-31"


def _both(data: dict[str, Any]) -> None:  # a business (9338) and a technical (0001) error
    _unknown_toewijzing(data)
    _wrong_total(data)


def _answer(world: World, data: dict[str, Any], state: MemoryState) -> tuple[Answer, list]:
    bericht = world.bericht(323)
    findings = adapter().check_data(bericht, data, state)
    body = codec.encode_message(bericht, data)
    envelope = Envelope(
        body=body,
        direction=Direction.INBOUND,
        message_type=MessageType(bericht.standard, bericht.code, "3.2"),
    )
    made = adapter().answer(envelope, etree.fromstring(body).getroottree(), findings)
    assert made is not None, "a rejected declaratie must be answered"
    return made, findings


def _check(made: Answer, standard: str, reference: Path) -> dict[str, Any]:
    antwoord = Bericht(standard, 325)
    assert_valid(etree.XMLSchema(etree.parse(str(antwoord.schema_path))), made.body)
    assert_valid(public_schema(reference, antwoord), made.body)
    sent = etree.fromstring(made.body).xpath("//*[local-name()='RetourCode']/text()")
    assert set(made.codes) == set(sent)  # what the ledger will record is what is sent
    return codec.decode_message(etree.fromstring(made.body), antwoord)


def _codes(node: dict[str, Any]) -> list[str]:
    return node["RetourCodes"]["RetourCode"]


@pytest.mark.parametrize("standard", ["iwmo", "ijw"])
def test_a_prestatie_on_an_unknown_toewijzing_rejects_the_declaratie_with_9338(
    standard: str, reference: Path
) -> None:
    world = World(standard)
    state = MemoryState(world).add(301, world.msg(301))
    data = world.msg(323)
    _unknown_toewijzing(data)
    made, findings = _answer(world, data, state)
    assert [f.rule for f in findings] == ["TR338"]
    antwoord = _check(made, standard, reference)
    header, body = antwoord["Header"], antwoord["DeclaratieAntwoord"]
    assert _codes(header) == ["0200"]
    assert header["DeclaratieIdentificatie"] == data["Header"]["BerichtIdentificatie"]
    assert (header["Afzender"], header["Ontvanger"]) == (
        data["Header"]["Ontvanger"],
        data["Header"]["Afzender"],
    )
    assert body["DeclaratieNummer"] == data["Declaratie"]["DeclaratieNummer"]
    client = body["Clienten"]["Client"][0]
    listed = client["Prestaties"]["Prestatie"]
    # every prestatie is rejected (any error rejects the declaratie): the rule's own code where
    # it fired, 0233 (not assessed) on the others, 0200 on the Client and the DeclaratieAntwoord
    assert [_codes(p) for p in listed] == [["9338"], ["0233"]]
    assert _codes(client) == ["0200"] and _codes(body) == ["0200"]
    assert body["TotaalToegekendBedrag"]["TotaalBedrag"] == "0"
    assert sorted(made.codes) == ["0200", "0233", "9338"]


def test_a_prestatie_before_its_toewijzing_rejects_with_9307(reference: Path) -> None:
    world = World("ijw")
    toewijzing = world.msg(301)
    product = toewijzing["Client"]["ToegewezenProducten"]["ToegewezenProduct"][0]
    product["Ingangsdatum"] = "2026-02-15"  # the prestatie's period starts on 2026-02-01
    state = MemoryState(world).add(301, toewijzing)
    made, findings = _answer(world, world.msg(323), state)
    first = "Declaratie/Clienten/Client[1]/Prestaties/Prestatie[1]"
    assert ("TR307", first) in {(f.rule, f.path) for f in findings}
    assert {f.path for f in findings} == {first}  # TR387 fires there too (begins mid-month)
    listed = _check(made, "ijw", reference)["DeclaratieAntwoord"]["Clienten"]["Client"][0]
    codes = [_codes(p) for p in listed["Prestaties"]["Prestatie"]]
    assert "9307" in codes[0] and codes[1] == ["0233"]


@pytest.mark.parametrize(
    ("change", "rule"),
    [(_wrong_total, "TR358"), (_no_tarief, "CD087"), (_across_months, "CS340"), (_both, "TR358")],
)
@pytest.mark.parametrize("standard", ["iwmo", "ijw"])
def test_an_in_message_error_gets_a_header_only_325_with_0001(
    standard: str, change: Callable[[dict[str, Any]], None], rule: str, reference: Path
) -> None:
    """XSLT-level rules (TR358, CD087, CS340) and a mix of these with a business error: the
    header alone with 0001 (IV032: level 2 wins; nothing of the declaratie is answered)."""
    world = World(standard)
    state = MemoryState(world).add(301, world.msg(301))
    data = world.msg(323)
    change(data)
    made, findings = _answer(world, data, state)
    assert rule in {f.rule for f in findings}
    antwoord = _check(made, standard, reference)
    assert set(antwoord) == {"Header"} and _codes(antwoord["Header"]) == ["0001"]
    assert made.codes == ("0001",)


def test_an_error_on_the_declaratie_class_grants_nothing_and_lists_nothing() -> None:
    from adapters.istandaarden.retour import reject_declaratie

    world = World("iwmo")
    data = world.msg(323)
    finding = Finding("TR336", "9336", "Declaratie", "DeclaratieNummer was used before")
    antwoord = reject_declaratie(data, [finding], "ANTW1", "2026-03-10")
    body = antwoord["DeclaratieAntwoord"]
    assert _codes(body) == ["9336"] and "Clienten" not in body
    assert body["TotaalToegekendBedrag"]["TotaalBedrag"] == "0"


def test_an_accepted_declaratie_is_not_answered_by_the_gateway() -> None:
    """Its 325 comes from the back-office's verdict."""
    world = World("iwmo")
    state = MemoryState(world).add(301, world.msg(301))
    data = world.msg(323)
    bericht = world.bericht(323)
    assert adapter().check_data(bericht, data, state) == []
    body = codec.encode_message(bericht, data)
    envelope = Envelope(body, Direction.INBOUND, message_type=MessageType("iwmo", "WMO323", "3.2"))
    assert adapter().answer(envelope, etree.fromstring(body).getroottree(), []) is None


def _chain(settings: Settings, stream_above: int) -> tuple[Receiver, Worker, list[Envelope], Any]:
    registry = Registry.load(settings.adapters, settings)
    ledger = open_ledger(settings.ledger_dsn, "k")
    bus = StubBus()
    receiver = Receiver(registry, SchemaCache(), ledger, bus, 10**8, stream_above=stream_above)
    worker = Worker(
        registry,
        ledger,
        receiver,
        OutboxTransport(settings.outbox_dir),
        10**8,
        stream_above=stream_above,
    )
    return receiver, worker, bus.published, ledger


@pytest.mark.parametrize("stream_above", [10**8, 0], ids=["whole", "streamed"])
def test_a_rejected_declaratie_is_answered_through_the_worker(
    settings: Settings, reference: Path, stream_above: int
) -> None:
    """Received (whole, or streamed record by record and reaching the worker as a skeleton),
    rejected (no toewijzingen: TR338 on every prestatie), published, taken by the worker: not
    delivered to the back-office, answered by a 325 that is received as an outbound message,
    and ``retour-sent`` records the 325's codes."""
    receiver, worker, published, ledger = _chain(settings, stream_above)
    body = declaratie("ijw", clients=3, prestaties=2)
    envelope = Envelope(body=body, direction=Direction.INBOUND)
    receipt = receiver.receive(envelope)
    assert receipt.status == REJECTED and receipt.published
    assert worker.process(published[0]) is None
    events = [e.event.value for e in ledger.history(envelope.message_id)]
    assert "delivered" not in events and events[-1] == "retour-sent"
    sent = ledger.history(envelope.message_id)[-1]
    antwoord = published[-1]
    assert antwoord.message_id == sent.detail["retour_id"] and antwoord.parent_id == (
        envelope.message_id
    )
    assert antwoord.message_type is not None and antwoord.message_type.code == "JW325"
    assert_valid(public_schema(reference, Bericht("ijw", 325)), antwoord.body)
    codes = etree.fromstring(antwoord.body).xpath("//*[local-name()='RetourCode']/text()")
    assert sorted(sent.detail["codes"]) == sorted(set(codes)) == ["0200", "9338"]
    assert len(etree.fromstring(antwoord.body).xpath("//*[local-name()='Prestatie']")) == 6
    # the 325 itself was judged and recorded like any outbound message
    assert ledger.history(antwoord.message_id)[-1].event.value == "published"
    # a redelivered copy is not answered twice
    before = len(published)
    assert worker.process(published[0]) is None
    assert len(published) == before
    ledger.close()


def test_a_fully_approved_heenbericht_records_no_retourcodes(settings: Settings) -> None:
    """Its retour is a header without RetourCodes; the ledger says so (it said 0200)."""
    from tests.conftest import EXAMPLES

    receiver, worker, published, ledger = _chain(settings, 10**8)
    envelope = Envelope(
        body=(EXAMPLES / "WMO301-ontvangen.xml").read_bytes(), direction=Direction.INBOUND
    )
    assert receiver.receive(envelope).status == ACCEPTED
    worker.process(published[0])
    sent = ledger.history(envelope.message_id)[-1]
    assert sent.event.value == "retour-sent" and sent.detail["codes"] == []
    ledger.close()


def _every_message() -> list[Bericht]:
    from adapters.istandaarden.catalogue import NUMBERS, STANDARDS

    return [Bericht(s, n) for s in STANDARDS for n in NUMBERS]


def test_the_table_names_all_28_messages() -> None:
    from tools.rules_table import render_answers

    rows = [line for line in render_answers().splitlines() if line.startswith("| W")]
    rows += [line for line in render_answers().splitlines() if line.startswith("| JW")]
    assert len(_every_message()) == len(rows) == 28


@pytest.mark.parametrize("bericht", _every_message(), ids=lambda b: b.code)
def test_every_message_is_answered_as_the_table_says(bericht: Bericht) -> None:
    """Approved, level 2 (0001) and level 3 (a header code): what the gateway sends back."""
    world = World(bericht.standard)
    message_type = MessageType(bericht.standard, bericht.code, "3.2")
    if bericht.number in world.base:
        body = codec.encode_message(bericht, world.msg(bericht.number))
    else:  # a retour: none of it is read, it is never answered
        body = b"<retour/>"
    envelope = Envelope(body, Direction.INBOUND, message_type=message_type)
    doc = etree.fromstring(body).getroottree()
    xslt = [Finding("CS001", "0001", "Header", "an in-message rule")]
    over = [Finding("TR056", "9056", "Header", "BerichtIdentificatie used before")]
    answers = {
        name: adapter().answer(envelope, doc, given)
        for name, given in (("approved", []), ("xslt", xslt), ("over", over))
    }
    retour = bericht.retour
    if retour is None:  # retours and the 325 are not answered
        assert set(answers.values()) == {None}
        return
    if not retour.is_retour:  # the 323: the back-office answers what the gateway accepts
        assert answers["approved"] is None
    else:
        approved = answers["approved"]
        assert approved is not None and approved.codes == ()
        assert set(codec.decode_message(etree.fromstring(approved.body), retour)) == {"Header"}
    for name, codes in (("xslt", ("0001",)), ("over", ("9056",))):
        made = answers[name]
        assert made is not None and made.codes == codes
        decoded = codec.decode_message(etree.fromstring(made.body), retour)
        assert set(decoded) == {"Header"} and _codes(decoded["Header"]) == list(codes)
        root = etree.fromstring(made.body)
        assert root.findtext(".//{*}BerichtCode") == retour.berichtcode
