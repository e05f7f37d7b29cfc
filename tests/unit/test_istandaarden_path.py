"""The walking skeleton's iWmo/iJw part: identify, codec, mapping, rules, retour."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path

import pytest
from lxml import etree

from adapters.istandaarden import mapping
from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.catalogue import Bericht
from adapters.istandaarden.retour import build_retour
from adapters.lib.istandaard import codec
from gateway.adapter import Finding, Unidentified
from gateway.delivery import OutboxTransport
from gateway.envelope import Direction, Envelope, MessageType
from tests.conftest import EXAMPLES
from tests.oracles import assert_valid, public_schema

WMO301 = Bericht("iwmo", 301)
NOW = dt.datetime(2026, 11, 22, 10, 15, 0)


@pytest.fixture
def adapter(tmp_path: Path) -> IStandaardenAdapter:
    return IStandaardenAdapter(OutboxTransport(tmp_path), today=lambda: dt.date(2026, 11, 22))


def _doc(xml: bytes) -> etree._ElementTree:
    return etree.fromstring(xml).getroottree()


def test_identify_by_namespace_and_refuse_other_versions(adapter) -> None:
    doc = etree.parse(str(EXAMPLES / "WMO301-ontvangen.xml"))
    assert adapter.identify(doc.getroot()) == MessageType("iwmo", "WMO301", "3.2")
    old = etree.fromstring(
        b'<b:Bericht xmlns:b="http://www.istandaarden.nl/ijw/3_0/jw301/schema"/>'
    )
    with pytest.raises(Unidentified, match=r"ijw 3\.0 is not supported; supported: 3\.2"):
        adapter.identify(old)
    nope = etree.fromstring(
        b'<b:Bericht xmlns:b="http://www.istandaarden.nl/iwmo/3_2/wmo399/schema"/>'
    )
    with pytest.raises(Unidentified, match="no message 399"):
        adapter.identify(nope)


def test_codec_round_trip_on_the_public_example(reference: Path) -> None:
    source = reference / "jaapjunior-iwmo-3.2" / "voorbeeldberichten" / "WMO301.xml"
    root = etree.parse(str(source)).getroot()
    data = codec.decode_message(root, WMO301)
    again = codec.encode_message(WMO301, data)
    assert codec.decode_message(etree.fromstring(again), WMO301) == data
    assert b"\r\n" in again and not again.startswith(b"\xef\xbb\xbf")  # CRLF, no BOM (OP192)
    assert_valid(public_schema(reference, WMO301), again)


# ProductCategorie code lists differ: WMO020 (01-18) for iWmo, JZ020 (31-55) for iJw.
@pytest.mark.parametrize(("standard", "categorie"), [("iwmo", "02"), ("ijw", "45")])
def test_toewijzing_json_maps_to_a_301_valid_against_ours_and_the_public_xsd(
    reference: Path, standard: str, categorie: str
) -> None:
    data = json.loads((EXAMPLES / "toewijzing.json").read_text())
    data["toewijzingen"][0]["productcategorie"] = categorie
    data["toewijzingen"][0]["productcode"] = f"{categorie}A01"
    xml = mapping.map_in(standard, "toewijzing", data, NOW)
    bericht = Bericht(standard, 301)
    ours = etree.XMLSchema(etree.parse(str(bericht.schema_path)))
    assert_valid(ours, xml)
    assert_valid(public_schema(reference, bericht), xml)
    message = codec.decode_message(etree.fromstring(xml), bericht)
    header = message["Header"]
    assert header["BerichtCode"] == bericht.berichtcode
    assert header["BerichtIdentificatie"]["Dagtekening"] == "2026-11-22"
    assert len(header["BerichtIdentificatie"]["Identificatie"]) == 12
    product = message["Client"]["ToegewezenProducten"]["ToegewezenProduct"][0]
    assert product["Toewijzingstijd"] == "10:15:00"  # generated: the back-office left it out
    assert product["Omvang"] == {"Volume": "4", "Eenheid": "04", "Frequentie": "2"}


def test_mapping_error_names_the_field() -> None:
    data = json.loads((EXAMPLES / "toewijzing.json").read_text())
    del data["toewijzingen"][0]["ingangsdatum"]
    with pytest.raises(ValueError, match=r"toewijzingen\[0\]\.ingangsdatum: is required"):
        mapping.map_in("iwmo", "toewijzing", data, NOW)


def test_bsn_11_proef_fires_with_0001_and_is_silent_on_a_good_message(adapter) -> None:
    good = codec.decode_message(
        etree.parse(str(EXAMPLES / "WMO301-ontvangen.xml")).getroot(), WMO301
    )
    assert adapter.check_data(WMO301, good, None) == []
    bad = codec.decode_message(etree.parse(str(EXAMPLES / "WMO301-bsn-fout.xml")).getroot(), WMO301)
    assert adapter.check_data(WMO301, bad, None) == [
        Finding("CS002", "0001", "Client", "Bsn does not pass the 11-proef")
    ]


def test_tr056_fires_only_for_same_sender_and_berichtsoort(adapter) -> None:
    message = codec.decode_message(
        etree.parse(str(EXAMPLES / "WMO301-ontvangen.xml")).getroot(), WMO301
    )

    @dataclasses.dataclass
    class Earlier:
        code: str
        sender: str
        event: str = "validated"
        message_id: str = "m-1"
        seq: int = 1
        standard: str = "iwmo"
        receiver: str = "87654321"

    class State:
        def __init__(self, entries: list[Earlier]) -> None:
            self.entries = entries

        def find(self, key: str, value: str) -> list[Earlier]:
            return self.entries if (key, value) == ("BerichtIdentificatie", "RTD2026-0001") else []

        def domain_rows(self, table: object, column: str, values: list[str]) -> list[dict]:
            return []  # no earlier toewijzingen, starts, verzoeken ...

        def personal(self, value: str) -> str:
            return f"hashed-{len(value)}"

    other = [
        Earlier("WMO305", "0599"),
        Earlier("WMO301", "0600"),
        Earlier("WMO301", "0599", "rejected"),
    ]
    assert adapter.check_data(WMO301, message, State(other)) == []
    fired = adapter.check_data(WMO301, message, State([Earlier("WMO301", "0599")]))
    assert [(f.rule, f.code, f.path) for f in fired] == [("TR056", "9056", "Header")]


def _retour(adapter, example: str, findings: list[Finding]) -> bytes:
    body = (EXAMPLES / example).read_bytes()
    envelope = Envelope(
        body=body,
        direction=Direction.INBOUND,
        message_type=MessageType("iwmo", "WMO301", "3.2"),
    )
    answer = adapter.answer(envelope, _doc(body), findings)
    assert answer is not None
    return answer.body


def test_approved_301_gets_a_header_only_302_copied_unswapped(adapter, reference) -> None:
    xml = _retour(adapter, "WMO301-ontvangen.xml", [])
    retour = Bericht("iwmo", 302)
    assert_valid(etree.XMLSchema(etree.parse(str(retour.schema_path))), xml)
    assert_valid(public_schema(reference, retour), xml)
    data = codec.decode_message(etree.fromstring(xml), retour)
    heen = codec.decode_message(
        etree.parse(str(EXAMPLES / "WMO301-ontvangen.xml")).getroot(), WMO301
    )
    header = data["Header"]
    assert header["BerichtCode"] == "415"
    assert header["Afzender"] == heen["Header"]["Afzender"] == "0599"  # not swapped
    assert header["Ontvanger"] == heen["Header"]["Ontvanger"]
    assert header["BerichtIdentificatie"] == heen["Header"]["BerichtIdentificatie"]
    assert header["XsdVersie"] == heen["Header"]["XsdVersie"]
    assert header["DagtekeningRetour"] == "2026-11-22"
    assert header["XsdVersieRetour"] == codec.xsd_versions(retour)
    assert "RetourCodes" not in header and set(data) == {"Header"}


def test_xslt_level_rejection_is_header_only_with_0001(adapter, reference) -> None:
    finding = Finding("CS002", "0001", "Client", "Bsn does not pass the 11-proef")
    xml = _retour(adapter, "WMO301-bsn-fout.xml", [finding])
    retour = Bericht("iwmo", 302)
    assert_valid(public_schema(reference, retour), xml)
    data = codec.decode_message(etree.fromstring(xml), retour)
    assert data["Header"]["RetourCodes"] == {"RetourCode": ["0001"]}
    assert set(data) == {"Header"}


def test_class_level_code_returns_the_client_with_codes_on_every_class(reference) -> None:
    heen = codec.decode_message(
        etree.parse(str(EXAMPLES / "WMO301-ontvangen.xml")).getroot(), WMO301
    )
    finding = Finding("TR332", "9332", "Client/ToegewezenProducten/ToegewezenProduct[1]", "x")
    data = build_retour(WMO301, heen, [finding], "2026-11-22", "ABC")
    assert data is not None
    assert data["Header"]["RetourCodes"] == {"RetourCode": ["0200"]}
    client = data["Client"]
    assert client["RetourCodes"] == {"RetourCode": ["0200"]}
    assert client["Contactgegevens"]["Contact"][0]["RetourCodes"] == {"RetourCode": ["0200"]}
    product = client["ToegewezenProducten"]["ToegewezenProduct"][0]
    assert product["RetourCodes"] == {"RetourCode": ["9332"]}
    xml = codec.encode_message(Bericht("iwmo", 302), data)
    assert_valid(public_schema(reference, Bericht("iwmo", 302)), xml)


def test_outgoing_goes_to_the_counterpart_or_the_back_office(adapter) -> None:
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    mt = MessageType("iwmo", "WMO301", "3.2")
    inbound = Envelope(body=body, direction=Direction.INBOUND, message_type=mt)
    assert adapter.outgoing(inbound, _doc(body)).to == "backoffice"
    outbound = Envelope(body=body, direction=Direction.OUTBOUND, message_type=mt)
    assert adapter.outgoing(outbound, _doc(body)).to == "87654321"  # Ontvanger (AGB)
    retour = _retour(adapter, "WMO301-ontvangen.xml", [])
    env = Envelope(
        body=retour, direction=Direction.OUTBOUND, message_type=MessageType("iwmo", "WMO302", "3.2")
    )
    assert adapter.outgoing(env, _doc(retour)).to == "0599"  # back to the heenbericht's Afzender


def test_describe_indexes_business_keys_and_subjects(adapter) -> None:
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    description = adapter.describe(_doc(body), MessageType("iwmo", "WMO301", "3.2"))
    assert description.sender == "0599" and description.receiver == "87654321"
    assert description.keys["BerichtIdentificatie"] == ["RTD2026-0001"]
    assert description.keys["ToewijzingNummer"] == ["770001"]
    assert description.subjects == ["999990032"]
    assert description.expects_answer and description.answers is None
