"""Retourberichten as the standard says (IV028, IV032, IV088), checked on real findings of the
rules and against our XSD and the public one; and what happens when the XSD fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from adapters.istandaarden.retour import build_retour
from adapters.lib.istandaard import codec
from gateway.adapter import Registry
from gateway.config import Settings
from gateway.envelope import Direction, Envelope
from gateway.ledger import open_ledger
from gateway.receive import REFUSED, Receiver
from gateway.validate import SchemaCache
from tests.busstub import StubBus
from tests.istd_world import MemoryState, World, adapter
from tests.oracles import assert_valid, public_schema
from tools.istd_samples import declaratie


def _retour(world: World, number: int, data: dict, state: MemoryState, reference: Path) -> dict:
    bericht = world.bericht(number)
    findings = adapter().check_data(bericht, data, state)
    message = build_retour(bericht, data, findings, "2026-11-22", "RET1")
    assert message is not None and bericht.retour is not None
    xml = codec.encode_message(bericht.retour, message)
    assert_valid(etree.XMLSchema(etree.parse(str(bericht.retour.schema_path))), xml)
    assert_valid(public_schema(reference, bericht.retour), xml)
    return codec.decode_message(etree.fromstring(xml), bericht.retour)


def _codes(node: dict) -> list[str]:
    return node["RetourCodes"]["RetourCode"]


@pytest.mark.parametrize("standard", ["iwmo", "ijw"])
def test_iv028_example_delete_of_an_unknown_start(reference: Path, standard: str) -> None:
    """IV028's worked example: a 305 with StatusAanlevering 3 for a start never delivered:
    Header 0200, Client 0200, StartProduct 9063 (TR063)."""
    world = World(standard)
    data = world.msg(305)
    data["Client"]["StartProducten"]["StartProduct"][0]["StatusAanlevering"] = "3"
    state = MemoryState(world).add(301, world.msg(301))
    retour = _retour(world, 305, data, state, reference)
    assert _codes(retour["Header"]) == ["0200"]
    assert _codes(retour["Client"]) == ["0200"]
    assert _codes(retour["Client"]["StartProducten"]["StartProduct"][0]) == ["9063"]
    assert retour["Header"]["Afzender"] == data["Header"]["Afzender"]  # not swapped
    assert retour["Header"]["IdentificatieRetour"] == "RET1"


def test_error_on_a_class_leaves_the_classes_below_it_not_assessed(reference: Path) -> None:
    """TR304 (8187) on the Client of a 317: the classes below it get 0233."""
    world = World("iwmo")
    earlier = world.msg(301)
    earlier["Client"]["Bsn"] = "999990032"  # the toewijzingen belong to another client
    state = MemoryState(world).add(301, earlier)
    retour = _retour(world, 317, world.msg(317), state, reference)
    client = retour["Client"]
    assert "8187" in _codes(client)
    verzoek = client["Verzoek"]
    assert _codes(verzoek) == ["0233"]
    assert _codes(verzoek["TeWijzigenProducten"]["TeWijzigenProduct"][0]) == ["0233"]
    assert _codes(verzoek["OngewijzigdeProducten"]["OngewijzigdProduct"][0]) == ["0233"]


def test_a_class_below_an_error_keeps_a_code_of_its_own(reference: Path) -> None:
    world = World("iwmo")
    earlier = world.msg(301)
    earlier["Client"]["Bsn"] = "999990032"
    state = MemoryState(world).add(301, earlier)
    data = world.msg(317)
    data["Client"]["Verzoek"]["TeWijzigenProducten"]["TeWijzigenProduct"][0]["Omvang"] = None
    del data["Client"]["Verzoek"]["TeWijzigenProducten"]["TeWijzigenProduct"][0]["Omvang"]
    retour = _retour(world, 317, data, state, reference)
    assert "8187" in _codes(retour["Client"])
    changed = retour["Client"]["Verzoek"]["TeWijzigenProducten"]["TeWijzigenProduct"][0]
    assert _codes(changed) == ["9411"]  # TR411: its own code, not 0233


def test_header_code_returns_the_header_only(reference: Path) -> None:
    world = World("iwmo")
    state = MemoryState(world).add(301, world.msg(301))
    retour = _retour(world, 301, world.msg(301), state, reference)  # the same 301 again
    assert _codes(retour["Header"]) == ["9056"]
    assert set(retour) == {"Header"}


def test_xslt_level_findings_make_a_header_only_0001(reference: Path) -> None:
    world = World("ijw")
    data = world.msg(307)
    data["Client"]["StopProducten"]["StopProduct"][0]["Einddatum"] = "2026-01-01"  # TR018
    state = MemoryState(world).add(301, world.msg(301)).add(305, world.msg(305))
    retour = _retour(world, 307, data, state, reference)
    assert _codes(retour["Header"]) == ["0001"] and set(retour) == {"Header"}


def test_schema_failure_no_retour_but_a_transport_error_recorded(settings: Settings) -> None:
    registry = Registry.load(settings.adapters, settings)
    ledger = open_ledger(settings.ledger_dsn, "k")
    bus = StubBus()
    receiver = Receiver(registry, SchemaCache(), ledger, bus, 10**7)
    body = declaratie("ijw").replace(b"<jw323:Eenheid>04<", b"<jw323:Eenheid>99<", 1)
    envelope = Envelope(body=body, direction=Direction.INBOUND)
    receipt = receiver.receive(envelope)
    assert receipt.status == REFUSED and not receipt.published and bus.published == []
    rejected = ledger.history(envelope.message_id)[-1]
    assert rejected.detail["stage"] == "schema"
    assert rejected.detail["answer"] == "transport-error"
    assert registry.by_name("istandaarden").schema_error_code == "StUF055"  # type: ignore[attr-defined]
    ledger.close()
