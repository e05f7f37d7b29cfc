"""Every public example (jaapjunior iWmo/iJw 3.2) classified with our XSD and our rules, and the
retour we make for each heenbericht valid against our XSD and the public one.

The examples are hand-made by the chatbot's authors, not official. Where our verdict says an
example is invalid, the comment says which rule and why the example (not the rule) is wrong.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.catalogue import Bericht, by_code
from adapters.istandaarden.engine import RULES
from adapters.lib.istandaard import codec
from gateway.envelope import Direction, Envelope, MessageType
from tests.istd_world import TODAY, MemoryState, World
from tests.oracles import assert_valid, public_schema

# (file, XSD error fragment or None, rules fired on the message alone)
EXPECTED: dict[str, tuple[str | None, set[tuple[str, str]]]] = {
    **{f"WMO{n}": (None, set()) for n in (301, 305, 307, 315, 317, 319, 323)},
    **{f"JW{n}": (None, set()) for n in (301, 302, 305, 306, 307, 308, 316, 319, 320, 325)},
    # ToewijzingEinddatum 2027-06-31 is not a date (June has 30 days): the XSD refuses it.
    "JW315": ("ToewijzingEinddatum", set()),
    # A RetourCode directly under StartProduct, not inside RetourCodes: the XSD refuses it.
    "JW318": ("RetourCode", set()),
    # NieuwProduct: Einddatum 2024-02-28 lies before GewensteIngangsdatum 2026-11-01 (CS003) and
    # before the Dagtekening 2026-01-02 (TR380, our reading: a requested end lies in the future).
    # The example is wrong: a period cannot end before it begins.
    "JW317": (
        None,
        {
            ("CS003", "Client/Verzoek/NieuweProducten/NieuwProduct[1]"),
            ("TR380", "Client/Verzoek/NieuweProducten/NieuwProduct[1]"),
        },
    ),
    # ReferentieNummer RN004 is used twice (TR314, 8021), and toewijzing 10073 is declared as a
    # debet twice for April 2026 with the same product (TR416): once under each client. The
    # example is wrong on both counts (a reference must be unique; a second debet for the same
    # period, product and toewijzing is not allowed).
    "JW323": (
        None,
        {
            ("TR416", "Declaratie/Clienten/Client[2]/Prestaties/Prestatie[2]"),
            ("TR314", "Declaratie/Clienten/Client[2]/Prestaties/Prestatie[3]"),
        },
    ),
}

MESSAGE_ALONE = [r for r in RULES if not r.needs_state]


def adapter() -> IStandaardenAdapter:
    """No external sources configured: TR378/TR381/TR418 are off (our lists are not theirs)."""
    return IStandaardenAdapter(None, today=lambda: TODAY)  # type: ignore[arg-type]


def _examples(reference: Path) -> list[Path]:
    return sorted(
        path
        for standard in ("iwmo", "ijw")
        for path in (reference / f"jaapjunior-{standard}-3.2" / "voorbeeldberichten").glob("*.xml")
    )


def test_every_example_is_in_the_table(reference: Path) -> None:
    assert sorted(p.stem for p in _examples(reference)) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_classified_by_our_xsd_and_rules(reference: Path, name: str) -> None:
    bericht = by_code(name)
    folder = reference / f"jaapjunior-{bericht.standard}-3.2" / "voorbeeldberichten"
    doc = etree.parse(str(folder / f"{name}.xml"))
    xsd_error, fired = EXPECTED[name]
    ours = etree.XMLSchema(etree.parse(str(bericht.schema_path)))
    valid = ours.validate(doc)
    assert valid is (xsd_error is None), ours.error_log
    assert public_schema(reference, bericht).validate(doc) is valid  # the public XSD agrees
    if not valid:
        assert xsd_error in str(ours.error_log.last_error)
        return
    data = codec.decode_message(doc.getroot(), bericht)
    findings = adapter().check_data(bericht, data, None)
    alone = {(f.rule, f.path) for f in findings if f.rule in {r.id for r in MESSAGE_ALONE}}
    assert alone == fired


# Heenberichten with a retour, each answered as received (empty ledger: the rules that need a
# toewijzing or verzoek fire with their class-level codes, which the retour must carry).
HEEN = ["WMO301", "WMO305", "WMO307", "WMO315", "WMO317", "WMO319"] + [
    f"JW{n}" for n in (301, 305, 307, 319)
]


@pytest.mark.parametrize("name", HEEN)
def test_the_retour_for_every_example_is_valid_against_ours_and_the_public_xsd(
    reference: Path, name: str
) -> None:
    bericht = by_code(name)
    folder = reference / f"jaapjunior-{bericht.standard}-3.2" / "voorbeeldberichten"
    body = (folder / f"{name}.xml").read_bytes()
    doc = etree.fromstring(body).getroottree()
    the_adapter = adapter()
    findings = the_adapter.check_data(
        bericht, codec.decode_message(doc.getroot(), bericht), MemoryState(World(bericht.standard))
    )
    envelope = Envelope(
        body=body,
        direction=Direction.INBOUND,
        message_type=MessageType(bericht.standard, bericht.code, "3.2"),
    )
    assert bericht.retour is not None
    ours = etree.XMLSchema(etree.parse(str(bericht.retour.schema_path)))
    for given in ([], findings):
        made = the_adapter.answer(envelope, doc, given)
        assert made is not None
        answer = made.body
        assert_valid(ours, answer)
        assert_valid(public_schema(reference, bericht.retour), answer)
        retour = codec.decode_message(etree.fromstring(answer), bericht.retour)
        header = retour["Header"]
        heen = codec.decode_message(doc.getroot(), bericht)["Header"]
        assert header["BerichtCode"] == bericht.retour.berichtcode
        assert (header["Afzender"], header["Ontvanger"]) == (heen["Afzender"], heen["Ontvanger"])
        codes = {c for c in etree.fromstring(answer).xpath("//*[local-name()='RetourCode']/text()")}
        assert set(made.codes) == codes  # what the ledger records is what is sent
        if not given:
            assert codes == set() and set(retour) == {"Header"}
        elif any(f.code == "0001" for f in given):
            assert codes == {"0001"} and set(retour) == {"Header"}
        else:
            assert {f.code for f in given} <= codes and "0200" in codes


def test_a_325_we_build_for_each_example_declaratie_is_valid(reference: Path) -> None:
    from adapters.istandaarden.retour import build_declaratie_antwoord

    for standard, name in (("iwmo", "WMO323"), ("ijw", "JW323")):
        path = reference / f"jaapjunior-{standard}-3.2" / "voorbeeldberichten" / f"{name}.xml"
        heen = codec.decode_message(etree.parse(str(path)).getroot(), Bericht(standard, 323))
        first = heen["Declaratie"]["Clienten"]["Client"][0]["Prestaties"]["Prestatie"][0]
        for rejected in ({}, {first["ProductReferentie"]["ReferentieNummer"]: ["9338"]}):
            message = build_declaratie_antwoord(heen, rejected, "ANTW1", "2026-11-22")
            xml = codec.encode_message(Bericht(standard, 325), message)
            assert_valid(etree.XMLSchema(etree.parse(str(Bericht(standard, 325).schema_path))), xml)
            assert_valid(public_schema(reference, Bericht(standard, 325)), xml)
