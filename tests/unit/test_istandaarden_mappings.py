"""Back-office JSON -> messages for every mapping and both standards: valid against our XSD and
the public one, errors that name the JSON field, and the 325 semantics of the finish step."""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import json

import pytest
from lxml import etree

from adapters.istandaarden import mapping
from adapters.istandaarden.catalogue import Bericht
from adapters.istandaarden.retour import build_declaratie_antwoord
from adapters.lib.istandaard import codec
from gateway.adapter import MappingError
from tests.busstub import StubBus
from tests.conftest import EXAMPLES
from tests.oracles import assert_valid, public_schema
from tools.istd_samples import declaratie

NOW = dt.datetime(2026, 11, 22, 10, 0, 0)
CATEGORIE = {"iwmo": "02", "ijw": "45"}


def _toewijzing(standard: str) -> dict:
    data = json.loads((EXAMPLES / "toewijzing.json").read_text())
    product = data["toewijzingen"][0]
    product["productcategorie"] = CATEGORIE[standard]
    product["productcode"] = f"{CATEGORIE[standard]}A01"
    return data


def _stop(standard: str) -> dict:
    data = _toewijzing(standard)
    data["toewijzingen"][0].update(einddatum="2027-01-31", redenWijziging="05")
    return data


def _verzoek_antwoord(standard: str) -> dict:
    data = {
        "gemeente": "0363",
        "aanbieder": "12345678",
        "referentieAanbieder": "VOT-2026-1",
        "verzoekAntwoord": "1",
        "redenAfwijzing": "5",
    }
    if standard == "ijw":
        data.update(redenAfwijzing="8", woonplaatsbeginsel="0344")
    return data


def _prestatie(number: int, standard: str) -> dict:
    categorie = CATEGORIE[standard]
    return {
        "referentieNummer": f"R{number:09d}",
        "toewijzingnummer": 500_000 + number - 1,
        "productcategorie": categorie,
        "productcode": f"{categorie}A{(number - 1) % 2 + 1:02d}",
        "begindatum": "2026-10-01",
        "einddatum": "2026-10-31",
        "geleverdVolume": 4,
        "eenheid": "04",
        "productTarief": 1250,
        "bedrag": 5000,
        "debetCredit": "D",
    }


def _declaratie_antwoord(standard: str) -> dict:
    return {
        "gemeente": "0363",
        "aanbieder": "12345678",
        "declaratie": {
            "identificatie": "DECL0001",
            "dagtekening": "2026-10-31",
            "xsdVersie": {"basisschema": "1.0.0", "bericht": "1.0.0"},
            "nummer": "DN0001",
            "totaalIngediendBedrag": 20000,
        },
        "afgewezen": [
            {
                "bsn": "999900006",
                "prestaties": [{**_prestatie(2, standard), "retourcodes": ["9338"]}],
            }
        ],
    }


CASES = {
    "toewijzing": (_toewijzing, 301),
    "stop": (_stop, 301),
    "verzoek-antwoord": (_verzoek_antwoord, 319),
    "declaratie-antwoord": (_declaratie_antwoord, 325),
}


@pytest.mark.parametrize("standard", ["iwmo", "ijw"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_every_mapping_gives_a_message_valid_against_ours_and_the_public_xsd(
    reference, name: str, standard: str
) -> None:
    make, number = CASES[name]
    xml = mapping.map_in(standard, name, make(standard), NOW)
    bericht = Bericht(standard, number)
    assert_valid(etree.XMLSchema(etree.parse(str(bericht.schema_path))), xml)
    assert_valid(public_schema(reference, bericht), xml)
    assert xml.count(b"\r\n") > 5 and not xml.startswith(b"\xef\xbb\xbf")


def test_mapping_names_are_the_files() -> None:
    # the gemeente's here, the aanbieder's in test_aanbieder_mappings.py
    assert set(CASES) <= set(mapping.mapping_names())


def test_stop_requires_einddatum_and_reden_and_names_the_field() -> None:
    data = _toewijzing("iwmo")  # a toewijzing without einddatum is no stop
    del data["toewijzingen"][0]["einddatum"]
    with pytest.raises(MappingError, match=r"toewijzingen\[0\]\.einddatum: is required"):
        mapping.map_in("iwmo", "stop", data, NOW)
    data = _stop("iwmo")
    del data["toewijzingen"][0]["redenWijziging"]
    with pytest.raises(MappingError, match=r"toewijzingen\[0\]\.redenWijziging: is required"):
        mapping.map_in("iwmo", "stop", data, NOW)
    xml = mapping.map_in("iwmo", "stop", _stop("iwmo"), NOW)
    product = codec.decode_message(etree.fromstring(xml), Bericht("iwmo", 301))["Client"][
        "ToegewezenProducten"
    ]["ToegewezenProduct"][0]
    assert (product["Einddatum"], product["RedenWijziging"]) == ("2027-01-31", "05")


def test_woonplaatsbeginsel_is_ijw_only_and_the_error_names_the_field() -> None:
    data = _verzoek_antwoord("ijw")
    with pytest.raises(MappingError) as caught:
        mapping.map_in("iwmo", "verzoek-antwoord", data, NOW)
    assert caught.value.field == "woonplaatsbeginsel"
    xml = mapping.map_in("ijw", "verzoek-antwoord", data, NOW)
    antwoord = codec.decode_message(etree.fromstring(xml), Bericht("ijw", 319))["Antwoord"]
    assert antwoord == {
        "ReferentieAanbieder": "VOT-2026-1",
        "VerzoekAntwoord": "1",
        "RedenAfwijzingVerzoek": "8",
        "Woonplaatsbeginsel": {"Gemeente": "0344"},
    }


def _325(data: dict, standard: str = "ijw") -> dict:
    xml = mapping.map_in(standard, "declaratie-antwoord", data, NOW)
    return codec.decode_message(etree.fromstring(xml), Bericht(standard, 325))


def test_declaratie_antwoord_lists_rejected_prestaties_and_computes_the_total() -> None:
    message = _325(_declaratie_antwoord("ijw"))
    assert message["Header"]["RetourCodes"] == {"RetourCode": ["0200"]}
    antwoord = message["DeclaratieAntwoord"]
    assert antwoord["TotaalToegekendBedrag"] == {"TotaalBedrag": "15000", "DebetCredit": "D"}
    assert antwoord["RetourCodes"] == {"RetourCode": ["0200"]}
    client = antwoord["Clienten"]["Client"][0]
    assert client["RetourCodes"] == {"RetourCode": ["0200"]}
    assert [p["RetourCodes"] for p in client["Prestaties"]["Prestatie"]] == [
        {"RetourCode": ["9338"]}
    ]


def test_declaratie_antwoord_fully_granted_is_8001_and_lists_nothing() -> None:
    data = _declaratie_antwoord("iwmo")
    del data["afgewezen"]
    antwoord = _325(data, "iwmo")["DeclaratieAntwoord"]
    assert antwoord["RetourCodes"] == {"RetourCode": ["8001"]}
    assert "Clienten" not in antwoord
    assert antwoord["TotaalToegekendBedrag"] == antwoord["TotaalIngediendBedrag"]


def test_client_rejected_as_a_whole_gives_0233_on_its_prestaties() -> None:
    data = _declaratie_antwoord("ijw")
    client = data["afgewezen"][0]
    client["retourcodes"] = ["8187"]
    client["prestaties"] = [_prestatie(1, "ijw"), _prestatie(2, "ijw")]
    antwoord = _325(data)["DeclaratieAntwoord"]
    listed = antwoord["Clienten"]["Client"][0]
    assert listed["RetourCodes"] == {"RetourCode": ["8187"]}
    assert [p["RetourCodes"]["RetourCode"] for p in listed["Prestaties"]["Prestatie"]] == [
        ["0233"],
        ["0233"],
    ]
    assert antwoord["TotaalToegekendBedrag"] == {"TotaalBedrag": "10000", "DebetCredit": "D"}


def test_declaratie_rejected_as_a_whole_grants_nothing_and_lists_nothing() -> None:
    data = _declaratie_antwoord("ijw")
    data["retourcodes"] = ["9333"]
    antwoord = _325(data)["DeclaratieAntwoord"]
    assert antwoord["RetourCodes"] == {"RetourCode": ["9333"]}
    assert antwoord["TotaalToegekendBedrag"] == {"TotaalBedrag": "0", "DebetCredit": "D"}
    assert "Clienten" not in antwoord


def test_mapping_and_builder_from_the_323_make_the_same_325(reference) -> None:
    source = declaratie("ijw", clients=2, prestaties=2, identificatie="DECL0001")
    heen = codec.decode_message(etree.fromstring(source), Bericht("ijw", 323))
    built = build_declaratie_antwoord(
        heen, {"R000000004": ["9338"]}, identificatie="ANTW1", today="2026-11-22"
    )
    data = _declaratie_antwoord("ijw")
    data["berichtIdentificatie"] = "ANTW1"
    data["declaratie"].update(totaalIngediendBedrag=20000)
    rejected = heen["Declaratie"]["Clienten"]["Client"][1]["Prestaties"]["Prestatie"][1]
    data["afgewezen"] = [
        {
            "bsn": heen["Declaratie"]["Clienten"]["Client"][1]["Bsn"],
            "prestaties": [
                {
                    **_prestatie(2, "ijw"),
                    "referentieNummer": "R000000004",
                    "toewijzingnummer": int(rejected["ToewijzingNummer"]),
                    "retourcodes": ["9338"],
                }
            ],
        }
    ]
    mapped = _325(data)
    assert mapped == built
    xml = codec.encode_message(Bericht("ijw", 325), built)
    assert_valid(public_schema(reference, Bericht("ijw", 325)), xml)


def test_value_lists_and_extends_in_the_mapping_engine(tmp_path) -> None:
    from gateway.mapping import apply_mapping, load_mapping

    (tmp_path / "base.toml").write_text(
        '[mapping]\nname = "b"\nmessage = "x"\nversion = 1\n'
        '[fields]\n"A/B" = { from = "b", optional = true }\n"A/C" = { from = "c" }\n'
    )
    (tmp_path / "own.toml").write_text(
        '[mapping]\nname = "o"\nextends = "base.toml"\n'
        '[fields]\n"A/B" = { optional = false }\n'
        '[lists."A/Codes/Code"]\nfrom = "codes"\nvalue = { format = "int" }\n'
    )
    spec = load_mapping(tmp_path / "own.toml")
    assert (spec.name, spec.message, spec.version) == ("o", "x", 1)
    out = apply_mapping(spec, {"b": "1", "c": "2", "codes": [1, "02"]}, {})
    assert out == {"A": {"B": "1", "C": "2", "Codes": {"Code": ["1", "2"]}}}
    with pytest.raises(MappingError, match=r"^b: is required"):
        apply_mapping(spec, {"c": "2", "codes": [1]}, {})
    with pytest.raises(MappingError, match=r"codes\[0\]: is not a whole number"):
        apply_mapping(spec, copy.deepcopy({"b": "1", "c": "2", "codes": ["x"]}), {})


def test_schema_errors_of_back_office_json_name_the_json_field(settings) -> None:
    """A value the mapping takes but the XSD refuses (a gemeente code of letters, a product
    code too long in the second toewijzing, a PGB contactadres without plaatsnaam): the
    refusal names the element and the JSON field it came from, through the real receiver."""
    from gateway.adapter import Registry
    from gateway.envelope import Direction, Envelope
    from gateway.ledger import open_ledger
    from gateway.receive import REFUSED, Receiver
    from gateway.validate import SchemaCache

    config = dataclasses.replace(settings, adapters=("adapters.istandaarden", "adapters.svb"))
    ledger = open_ledger(config.ledger_dsn, "k")
    receiver = Receiver(
        Registry.load(config.adapters, config), SchemaCache(), ledger, StubBus(), 10**7
    )
    data = _toewijzing("iwmo")
    data["gemeente"] = "abcd"
    data["toewijzingen"].append(copy.deepcopy(data["toewijzingen"][0]))
    data["toewijzingen"][1]["productcode"] = "01A01XYZ"
    pgb = json.loads((EXAMPLES / "pgb-toekenning.json").read_text())
    del pgb["budgethouder"]["contactadres"]["plaatsnaam"]
    try:
        errors = []
        for body, standard, name in [(data, "iwmo", "toewijzing"), (pgb, "ipgb", "toekenning")]:
            envelope = Envelope(json.dumps(body).encode(), Direction.OUTBOUND)
            receipt = receiver.receive_mapped(envelope, standard, name)
            assert receipt.status == REFUSED
            errors += receipt.errors
    finally:
        ledger.close()
    text = "\n".join(errors)
    assert "/Bericht/Header/Afzender (JSON gemeente): " in text
    assert "ToegewezenProduct[2]/Product/Code (JSON toewijzingen[1].productcode): " in text
    plaatsnaam = "budgethouder.contactadres.plaatsnaam"
    assert f"/Bericht/Budgethouder/Contactadres (JSON {plaatsnaam}): " in text


def test_findings_on_back_office_json_name_the_list_item(settings) -> None:
    """A rule that fires on the second toewijzing (CS003: Einddatum before Ingangsdatum) names
    the JSON item it came from beside the class path; a finding on the client as a whole
    names none (no one JSON field made it)."""
    from gateway.adapter import Registry
    from gateway.envelope import Direction, Envelope
    from gateway.ledger import open_ledger
    from gateway.receive import REJECTED, Receiver
    from gateway.validate import SchemaCache

    ledger = open_ledger(settings.ledger_dsn, "k")
    receiver = Receiver(
        Registry.load(settings.adapters, settings), SchemaCache(), ledger, StubBus(), 10**7
    )
    data = _toewijzing("iwmo")
    data["client"]["bsn"] = "123456789"  # fails the 11-proef (CS002, on Client)
    second = copy.deepcopy(data["toewijzingen"][0])
    second.update(toewijzingnummer=int(second["toewijzingnummer"]) + 1, productcode="01A02")
    second.update(ingangsdatum="2027-02-01", einddatum="2027-01-01")
    data["toewijzingen"].append(second)
    try:
        envelope = Envelope(json.dumps(data).encode(), Direction.OUTBOUND)
        receipt = receiver.receive_mapped(envelope, "iwmo", "toewijzing")
        recorded = ledger.history(envelope.message_id)[-1].detail["findings"]
    finally:
        ledger.close()
    assert receipt.status == REJECTED
    found = {(f.rule, f.path, f.source) for f in receipt.findings}
    assert ("CS003", "Client/ToegewezenProducten/ToegewezenProduct[2]", "toewijzingen[1]") in found
    assert ("CS002", "Client", None) in found
    assert {f["source"] for f in recorded} == {"toewijzingen[1]", None}  # recorded with it
