"""The zorgaanbieder's back-office JSON -> its heenberichten (305, 307, 315, 317, 323) for both
standards: valid against our XSD and the public one, clean under the message-alone rules,
accepted end to end through ``POST /v1/messages/outbound/{standard}/{mapping}`` on the real
receive path (the toewijzing they refer to received first), errors that name the JSON field and
never quote its value, and a large declaratie mapped record by record."""

from __future__ import annotations

import copy
import datetime as dt
import json
import tracemalloc
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from adapters.istandaarden import mapping
from adapters.istandaarden.catalogue import Bericht
from adapters.istandaarden.rules import NEEDS_STATE
from adapters.lib.istandaard import codec
from gateway.adapter import MappingError
from gateway.ingress.http import make_app
from mappings import mapping_root
from tests.istd_world import AANBIEDER, BSN, CATEGORIE, GEMEENTE, World, adapter
from tests.oracles import assert_valid, public_schema
from tools.istd_samples import sample_bsns

NOW = dt.datetime(2026, 11, 22, 10, 0, 0)
CLIENT = {
    "bsn": BSN,
    "geboortedatum": "1950-05-05",
    "geslacht": "1",
    "naam": {"achternaam": "Proef", "voorletters": "A"},
}


def _start(standard: str) -> dict[str, Any]:
    c = CATEGORIE[standard]
    return {
        "aanbieder": AANBIEDER,
        "gemeente": GEMEENTE,
        "client": copy.deepcopy(CLIENT),
        "starts": [
            {
                "toewijzingnummer": 5001,
                "productcategorie": c,
                "productcode": f"{c}A01",
                "toewijzingIngangsdatum": "2026-01-01",
                "begindatum": "2026-01-05",
            }
        ],
    }


def _einde(standard: str) -> dict[str, Any]:
    data = _start(standard)
    stop = data.pop("starts")[0]
    data["stops"] = [{**stop, "redenBeeindiging": "31", "einddatum": "2026-03-31"}]
    return data


def _verzoek_toewijzing(standard: str) -> dict[str, Any]:
    c = CATEGORIE[standard]
    data: dict[str, Any] = {
        "aanbieder": AANBIEDER,
        "gemeente": GEMEENTE,
        "client": copy.deepcopy(CLIENT),
        "producten": [
            {
                "referentieAanbieder": f"VOT-{standard}-0001",
                "productcategorie": c,
                "productcode": f"{c}A03",
                "ingangsdatum": "2026-12-01",
                "einddatum": "2027-05-31",
                "omvang": {"volume": 5, "eenheid": "04", "frequentie": "4"},
                "verwijzer": {"type": "02", "zorgverlenerCode": "01234567"},
            }
        ],
    }
    if standard == "ijw":
        data["client"]["gezagsdragerBekend"] = "1"
    return data


def _verzoek_wijziging(standard: str) -> dict[str, Any]:
    return {
        "aanbieder": AANBIEDER,
        "gemeente": GEMEENTE,
        "bsn": BSN,
        "referentieAanbieder": f"VOW-{standard}-0001",
        "redenVerzoek": "1",
        "ongewijzigd": [{"toewijzingnummer": 5002}],
        "teWijzigen": [
            {
                "toewijzingnummer": 5001,
                "gewensteIngangsdatum": "2026-12-01",
                "einddatum": "2026-12-31",
                "omvang": {"volume": 12, "eenheid": "04", "frequentie": "4"},
            }
        ],
    }


def _prestatie(standard: str, number: int, volume: int = 8, credit: bool = False) -> dict:
    c = CATEGORIE[standard]
    return {
        "referentieNummer": f"R2026{number:07d}",
        "toewijzingnummer": 5001,
        "productcategorie": c,
        "productcode": f"{c}A01",
        "begindatum": "2026-02-01",
        "einddatum": "2026-02-28",
        "geleverdVolume": volume,
        "eenheid": "04",
        "productTarief": 1250,
        "bedrag": volume * 1250,
        "debetCredit": "C" if credit else "D",
    }


def _declaratie(standard: str) -> dict[str, Any]:
    return {
        "aanbieder": AANBIEDER,
        "gemeente": GEMEENTE,
        "declaratie": {
            "nummer": "DN202602",
            "periode": {"begindatum": "2026-02-01", "einddatum": "2026-02-28"},
        },
        "clienten": [{"bsn": BSN, "prestaties": [_prestatie(standard, 1)]}],
    }


CASES = {
    "start": (_start, 305),
    "einde": (_einde, 307),
    "verzoek-toewijzing": (_verzoek_toewijzing, 315),
    "verzoek-wijziging": (_verzoek_wijziging, 317),
    "declaratie": (_declaratie, 323),
}
STANDARDS = ("iwmo", "ijw")


def _decoded(standard: str, name: str, data: dict[str, Any]) -> dict[str, Any]:
    xml = mapping.map_in(standard, name, data, NOW)
    return codec.decode_message(etree.fromstring(xml), Bericht(standard, CASES[name][1]))


@pytest.mark.parametrize("standard", STANDARDS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_each_aanbieder_mapping_gives_a_valid_message_clean_under_the_message_rules(
    reference, name: str, standard: str
) -> None:
    make, number = CASES[name]
    bericht = Bericht(standard, number)
    xml = mapping.map_in(standard, name, make(standard), NOW)
    assert_valid(etree.XMLSchema(etree.parse(str(bericht.schema_path))), xml)
    assert_valid(public_schema(reference, bericht), xml)
    assert xml.count(b"\r\n") > 5 and b"\n" not in xml.replace(b"\r\n", b"")
    message = codec.decode_message(etree.fromstring(xml), bericht)
    assert message["Header"]["Afzender"] == AANBIEDER
    assert message["Header"]["Ontvanger"] == GEMEENTE
    findings = adapter().check_data(bericht, message, None)
    assert [f for f in findings if f.rule not in NEEDS_STATE] == []  # the message-alone rules


def test_every_shipped_mapping_is_tested_here_or_for_the_gemeente() -> None:
    gemeente = {"toewijzing", "stop", "verzoek-antwoord", "declaratie-antwoord"}
    assert set(mapping.mapping_names()) == gemeente | set(CASES)


MISSING = [
    ("start", lambda d: d["starts"][0].pop("begindatum"), "starts[0].begindatum: is required"),
    ("start", lambda d: d["client"].pop("bsn"), "client.bsn: is required"),
    ("einde", lambda d: d["stops"][0].pop("redenBeeindiging"), "stops[0].redenBeeindiging:"),
    ("einde", lambda d: d.pop("stops"), "stops: is required (a list)"),
    ("verzoek-toewijzing", lambda d: d["producten"][0].pop("verwijzer"), "producten[0].verwijzer"),
    ("verzoek-wijziging", lambda d: d.pop("redenVerzoek"), "redenVerzoek: is required"),
    (
        "verzoek-wijziging",
        lambda d: d["teWijzigen"][0].pop("gewensteIngangsdatum"),
        "teWijzigen[0].gewensteIngangsdatum: is required",
    ),
    ("declaratie", lambda d: d["declaratie"].pop("periode"), "declaratie.periode.begindatum:"),
    (
        "declaratie",
        lambda d: d["clienten"][0]["prestaties"][0].pop("bedrag"),
        "clienten[0].prestaties[0].bedrag: is required",
    ),
]


@pytest.mark.parametrize(("name", "change", "expected"), MISSING)
def test_a_missing_field_is_named(name: str, change: Any, expected: str) -> None:
    data = CASES[name][0]("ijw")
    change(data)
    with pytest.raises(MappingError) as caught:
        mapping.map_in("ijw", name, data, NOW)
    assert str(caught.value).startswith(expected)


WRONG = [
    ("start", ("starts", 0, "begindatum"), "05-01-2026", "is not a date (YYYY-MM-DD)"),
    ("einde", ("stops", 0, "toewijzingnummer"), "nr-5001", "is not a whole number"),
    ("verzoek-toewijzing", ("producten", 0, "budget"), "12,50", "is not an amount in euro-cents"),
    ("declaratie", ("clienten", 0, "prestaties", 0, "geleverdVolume"), "8.5", "whole number"),
    ("declaratie", ("clienten", 0, "bsn"), {"nr": "999990019"}, "expected a value"),
]


@pytest.mark.parametrize(("name", "where", "value", "expected"), WRONG)
def test_a_wrong_value_is_named_by_field_and_form_and_never_quoted(
    name: str, where: tuple[Any, ...], value: Any, expected: str
) -> None:
    data = CASES[name][0]("iwmo")
    node = data
    for step in where[:-1]:
        node = node[step]
    node[where[-1]] = value
    with pytest.raises(MappingError) as caught:
        mapping.map_in("iwmo", name, data, NOW)
    field = ".".join(str(s) for s in where).replace(".0.", "[0].").replace(".0", "[0]")
    text = f"mapping iwmo/{name}: {caught.value}"
    assert caught.value.field == field and expected in text
    assert str(value) not in text and "999990019" not in text


def test_gezagsdrager_bekend_is_ijw_only_and_the_error_names_the_field() -> None:
    with pytest.raises(MappingError) as caught:
        mapping.map_in("iwmo", "verzoek-toewijzing", _verzoek_toewijzing("ijw"), NOW)
    assert caught.value.field == "client.gezagsdragerBekend"


def test_the_declaratie_total_is_the_signed_sum_of_the_prestaties() -> None:
    """TR358/IV086: debet minus credit; a credit (with its VorigReferentieNummer) lowers it; a
    total below zero is a credit total; zero is D (CS325)."""
    data = _declaratie("iwmo")
    credit = {**_prestatie("iwmo", 2, 4, credit=True), "vorigReferentieNummer": "R20260000009"}
    other = sample_bsns(2)[1]
    data["clienten"].append({"bsn": other, "prestaties": [credit, _prestatie("iwmo", 3, 2)]})
    declaratie = _decoded("iwmo", "declaratie", data)["Declaratie"]
    assert declaratie["TotaalIngediendBedrag"] == {"TotaalBedrag": "7500", "DebetCredit": "D"}
    assert [c["Bsn"] for c in declaratie["Clienten"]["Client"]] == [BSN, other]
    data["clienten"] = [{"bsn": BSN, "prestaties": [credit]}]
    total = _decoded("iwmo", "declaratie", data)["Declaratie"]["TotaalIngediendBedrag"]
    assert total == {"TotaalBedrag": "5000", "DebetCredit": "C"}
    data["clienten"][0]["prestaties"] = [{**credit, "bedrag": 0, "debetCredit": "D"}]
    total = _decoded("iwmo", "declaratie", data)["Declaratie"]["TotaalIngediendBedrag"]
    assert total == {"TotaalBedrag": "0", "DebetCredit": "D"}


def _export(clients: int, prestaties: int) -> dict[str, Any]:
    data = _declaratie("ijw")
    data["clienten"] = [
        {
            "bsn": bsn,
            "prestaties": [_prestatie("ijw", i * prestaties + k) for k in range(prestaties)],
        }
        for i, bsn in enumerate(sample_bsns(clients))
    ]
    return data


def test_a_large_billing_export_is_mapped_record_by_record_in_flat_memory(reference) -> None:
    """An export of 2,000 clients and 10,000 prestaties (an 8 MB 323): the mapping never holds
    the message as one dict or tree, so its peak stays near twice its output (the records'
    bytes and the joined message). Mapped whole (the dict, then the tree) the same export peaks
    above four times its output by this measure, the tree's own memory not even counted."""
    data = _export(2000, 5)
    tracemalloc.start()
    try:
        xml = mapping.map_in("ijw", "declaratie", data, NOW)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert 8_000_000 < len(xml) < 25 * 1024 * 1024
    assert peak < 2.5 * len(xml), (peak, len(xml))  # the output, its chunks, one record
    bericht = Bericht("ijw", 323)
    assert_valid(public_schema(reference, bericht), xml)
    root = etree.fromstring(xml, etree.XMLParser(huge_tree=True))
    total = root.findtext(f".//{{{bericht.basis_namespace}}}TotaalBedrag")
    assert total == str(10_000 * 8 * 1250)


# -- end to end: the aanbieder's gateway ----------------------------------------------------------


def _received_toewijzing(client: TestClient, standard: str) -> None:
    """The gemeente's 301 (toewijzingen 5001 and 5002 of the client) reaches the aanbieder."""
    bericht = Bericht(standard, 301)
    message = World(standard).base[301]
    for product in message["Client"]["ToegewezenProducten"]["ToegewezenProduct"]:
        product["Einddatum"] = LATER.isoformat()  # current whatever the day the test runs
    body = codec.encode_message(bericht, message)
    receipt = client.post("/v1/messages/inbound", content=body).json()
    assert receipt["status"] == "accepted", receipt


LATER = dt.date.today() + dt.timedelta(days=400)
# In the order an aanbieder sends them: start, stop, declaratie, a VOW, a VOT for another client
# (one request of a client at a time, TR374).
ORDER = ("start", "einde", "declaratie", "verzoek-wijziging", "verzoek-toewijzing")


@pytest.mark.integration
@pytest.mark.parametrize("standard", STANDARDS)
def test_each_mapping_is_accepted_through_the_http_route_on_the_real_receive_path(
    gateway, standard: str
) -> None:
    with TestClient(make_app(gateway)) as client:
        _received_toewijzing(client, standard)
        for name in ORDER:
            data = CASES[name][0](standard)
            if name == "verzoek-toewijzing":
                data["client"]["bsn"] = sample_bsns(3)[2]
            if name == "verzoek-wijziging":  # from a day after the request (TR357)
                soon = dt.date.today() + dt.timedelta(days=7)
                data["teWijzigen"][0].update(gewensteIngangsdatum=soon.isoformat())
                data["teWijzigen"][0].update(einddatum=LATER.isoformat())
            response = client.post(f"/v1/messages/outbound/{standard}/{name}", json=data)
            receipt = response.json()
            assert response.status_code == 202, (name, receipt["findings"], receipt["errors"])
            assert receipt["status"] == "accepted" and receipt["published"], (name, receipt)
            number = CASES[name][1]
            assert receipt["message_type"] == f"{standard} 3.2 {Bericht(standard, number).code}"
            kinds = [e.event.value for e in gateway.ledger.history(receipt["message_id"])]
            assert kinds == ["received", "mapped", "validated", "published"]
        # A rule reading the ledger fires on mapped JSON too, and names the JSON item: a
        # declaratie on a toewijzing the gemeente never made (TR338).
        data = _declaratie(standard)
        data["declaratie"]["nummer"] = "DN202603"
        data["clienten"][0]["prestaties"][0].update(toewijzingnummer=9999, referentieNummer="X1")
        receipt = client.post(f"/v1/messages/outbound/{standard}/declaratie", json=data).json()
    assert receipt["status"] == "rejected"
    found = {(f["rule"], f["code"], f["source"]) for f in receipt["findings"]}
    assert ("TR338", "9338", "clienten[0].prestaties[0]") in found


@pytest.mark.integration
def test_a_mapped_declaratie_above_the_message_limit_is_refused_saying_so(settings) -> None:
    from gateway.adapter import Registry
    from gateway.envelope import Direction, Envelope
    from gateway.ledger import open_ledger
    from gateway.receive import REFUSED, Receiver
    from gateway.validate import SchemaCache

    ledger = open_ledger(settings.ledger_dsn, "k")
    limit = 200_000
    receiver = Receiver(
        Registry.load(settings.adapters, settings), SchemaCache(), ledger, [].append, limit
    )
    body = json.dumps(_export(100, 5)).encode()
    assert len(body) < limit  # the JSON fits, the XML made of it does not
    try:
        receipt = receiver.receive_mapped(Envelope(body, Direction.OUTBOUND), "ijw", "declaratie")
    finally:
        ledger.close()
    assert receipt.status == REFUSED
    assert any(str(limit) in error for error in receipt.errors), receipt.errors


def test_the_json_format_documented_is_the_one_tested() -> None:
    readme = (mapping_root() / "README.md").read_text()
    for name in CASES:
        assert f"## {name} (version 1)" in readme, name


@pytest.mark.integration
def test_a_large_mapped_declaratie_is_judged_on_the_streaming_path_naming_json_items(
    settings,
) -> None:
    """A mapped export larger than ``STREAM_ABOVE`` is read record by record on receive (as
    any large 323 is); a rule over earlier messages that fires on its last prestatie names that
    JSON item."""
    from gateway.adapter import Registry
    from gateway.envelope import Direction, Envelope
    from gateway.ledger import open_ledger
    from gateway.receive import REJECTED, STREAM_ABOVE, Receiver
    from gateway.validate import SchemaCache

    data = _export(1500, 2)
    assert len(mapping.map_in("ijw", "declaratie", data, NOW)) > STREAM_ABOVE
    ledger = open_ledger(settings.ledger_dsn, "k")
    receiver = Receiver(
        Registry.load(settings.adapters, settings), SchemaCache(), ledger, [].append, 10**8
    )
    try:
        envelope = Envelope(json.dumps(data).encode(), Direction.OUTBOUND)
        receipt = receiver.receive_mapped(envelope, "ijw", "declaratie")
    finally:
        ledger.close()
    assert receipt.status == REJECTED  # no toewijzing 5001 was received (TR338)
    found = {(f.rule, f.source) for f in receipt.findings}
    assert ("TR338", "clienten[1499].prestaties[1]") in found
    assert len([f for f in receipt.findings if f.rule == "TR338"]) == 3000


def test_the_readme_s_first_aanbieder_message_maps_to_a_valid_wmo305(reference) -> None:
    readme = (mapping_root().parent / "README.md").read_text()
    section = readme.split("## For zorgaanbieders", 1)[1].split("\n## ", 1)[0]
    command = section.split("```sh", 1)[1].split("```", 1)[0]
    assert "/v1/messages/outbound/iwmo/start" in command
    data = json.loads(command.split("-d '", 1)[1].rsplit("'", 1)[0])
    xml = mapping.map_in("iwmo", "start", data, NOW)
    assert_valid(public_schema(reference, Bericht("iwmo", 305)), xml)
    assert data == _start("iwmo")  # the message the end-to-end test sends


def test_a_value_the_xsd_refuses_is_named_by_its_json_field_and_not_quoted(settings) -> None:
    """A product code too long for the XSD in the second start, a gemeente code of letters:
    refused on the real receive path, each error naming the element and the JSON field, and
    neither value."""
    from gateway.adapter import Registry
    from gateway.envelope import Direction, Envelope
    from gateway.ledger import open_ledger
    from gateway.receive import REFUSED, Receiver
    from gateway.validate import SchemaCache

    data = _start("iwmo")
    data["gemeente"] = "abcd"
    data["starts"].append({**data["starts"][0], "productcode": "02A01XYZ"})
    ledger = open_ledger(settings.ledger_dsn, "k")
    receiver = Receiver(
        Registry.load(settings.adapters, settings), SchemaCache(), ledger, [].append, 10**7
    )
    try:
        envelope = Envelope(json.dumps(data).encode(), Direction.OUTBOUND)
        receipt = receiver.receive_mapped(envelope, "iwmo", "start")
    finally:
        ledger.close()
    assert receipt.status == REFUSED
    text = "\n".join(receipt.errors)
    assert "/Bericht/Header/Ontvanger (JSON gemeente): " in text
    assert "StartProduct[2]/Product/Code (JSON starts[1].productcode): " in text
    assert "abcd" not in text and "02A01XYZ" not in text
