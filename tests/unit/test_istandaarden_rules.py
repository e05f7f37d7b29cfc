# ruff: noqa: E501  (the case table is easier to read one case a line)
"""One test per rule that shows it firing with its exact retourcode on the class it concerns, and
one that shows it silent on a good message (every base message of tests/istd_world.py is clean,
and for each rule the base message of its case gives no finding of that rule).

A case is (rule, message number, what earlier accepted messages the state holds, how the message
is changed, the class path the finding must name). Cases run for iWmo; the iJw-only rules
(TR377) and a sample of the others also for iJw.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.istandaarden.engine import RULES
from adapters.istandaarden.rules import NEEDS_STATE
from tests.conftest import REFERENCE
from tests.istd_world import BSN, OTHER_BSN, MemoryState, World, adapter

TP = "Client/ToegewezenProducten/ToegewezenProduct"
AP = "Client/AangevraagdeProducten/AangevraagdProduct"
START = "Client/StartProducten/StartProduct"
STOP = "Client/StopProducten/StopProduct"
TW = "Client/Verzoek/TeWijzigenProducten/TeWijzigenProduct"
NW = "Client/Verzoek/NieuweProducten/NieuwProduct"
PR = "Declaratie/Clienten/Client[1]/Prestaties/Prestatie"
APR = "DeclaratieAntwoord/Clienten/Client[1]/Prestaties/Prestatie"

# The earlier (accepted) messages each base message expects.
BASE_STATE: dict[int, tuple[int, ...]] = {
    301: (),
    305: (301,),
    307: (301, 305),
    315: (),
    317: (301,),
    319: (315,),
    323: (301,),
    325: (301, 323),
}


def at(data: Any, path: str) -> Any:
    for part in path.split("/"):
        data = data[int(part)] if part.isdigit() else data[part]
    return data


def put(data: dict, path: str, value: Any) -> None:
    *head, last = path.split("/")
    parent = at(data, "/".join(head)) if head else data
    if last.isdigit():
        parent[int(last)] = value
    else:
        parent[last] = value


def drop(data: dict, path: str) -> None:
    *head, last = path.split("/")
    parent = at(data, "/".join(head)) if head else data
    del parent[int(last) if last.isdigit() else last]


def edits(*changes: tuple[str, Any]) -> Callable[[World, dict], None]:
    """Set (or, with value None, remove) the given paths."""

    def apply(world: World, data: dict) -> None:
        for path, value in changes:
            if value is None:
                drop(data, path)
            else:
                put(data, path, value)

    return apply


# State builders: (number, how the earlier message differs from its base) -------------------


def earlier(number: int, change: Callable[[World, dict], None] | None = None):
    def make(world: World) -> tuple[int, dict]:
        data = world.msg(number)
        if change is not None:
            change(world, data)
        return number, data

    return make


def granted_323(change: Callable[[World, dict], None]):
    """An earlier 323 (changed) and a 325 granting it in full."""

    def make(world: World) -> list[tuple[int, dict]]:
        data = world.msg(323)
        change(world, data)
        return [(323, data), (325, world.granted(data))]

    return make


@dataclass
class Case:
    rule: str
    number: int
    change: Callable[[World, dict], None]
    path: str
    state: list[Any] | None = None  # None: the base state; else builders of earlier messages
    standards: tuple[str, ...] = ("iwmo",)
    extra: list[Any] = field(default_factory=list)  # added to the base state


def _p(world: World, *args: Any, **kw: Any) -> dict:
    return world.prestatie(*args, **kw)


def _add_prestatie(*args: Any, total: str, dc: str = "D", **kw: Any):
    def apply(world: World, data: dict) -> None:
        at(data, "Declaratie/Clienten/Client/0/Prestaties/Prestatie").append(_p(world, *args, **kw))
        put(data, "Declaratie/TotaalIngediendBedrag", {"TotaalBedrag": total, "DebetCredit": dc})

    return apply


def _jan_debet(world: World, data: dict) -> None:
    """The earlier declaratie: January on 5001 (R7), other numbers."""
    put(data, "Header/BerichtIdentificatie/Identificatie", "D0")
    put(data, "Declaratie/DeclaratieNummer", "DN0")
    put(
        data,
        "Declaratie/DeclaratiePeriode",
        {"Begindatum": "2026-01-01", "Einddatum": "2026-01-31"},
    )
    put(
        data,
        "Declaratie/Clienten/Client/0/Prestaties/Prestatie",
        [_p(world, "R7", "5001", 1, "8", "04", "1250", "10000", month="2026-01", last=31)],
    )
    put(data, "Declaratie/TotaalIngediendBedrag", {"TotaalBedrag": "10000", "DebetCredit": "D"})


def _feb_debet_again(world: World, data: dict) -> None:
    _jan_debet(world, data)
    at(data, "Declaratie/Clienten/Client/0/Prestaties/Prestatie/0")["ProductPeriode"] = {
        "Begindatum": "2026-02-01",
        "Einddatum": "2026-02-28",
    }
    put(
        data,
        "Declaratie/DeclaratiePeriode",
        {"Begindatum": "2026-02-01", "Einddatum": "2026-02-28"},
    )


def _credit_message(world: World, data: dict) -> None:
    at(data, "Declaratie/Clienten/Client/0/Prestaties/Prestatie").append(
        _p(
            world,
            "R10",
            "5001",
            1,
            "8",
            "04",
            "1250",
            "10000",
            month="2026-01",
            last=31,
            credit_of="R7",
        )
    )
    put(data, "Declaratie/TotaalIngediendBedrag", {"TotaalBedrag": "5000", "DebetCredit": "D"})


def _earlier_credit(world: World, data: dict) -> None:
    put(data, "Header/BerichtIdentificatie/Identificatie", "D9")
    put(data, "Declaratie/DeclaratieNummer", "DN9")
    put(
        data,
        "Declaratie/Clienten/Client/0/Prestaties/Prestatie",
        [_p(world, "R8", "5001", 1, "8", "04", "1250", "10000", month="2026-01", last=31,
            credit_of="R7")],
    )  # fmt: skip
    put(data, "Declaratie/TotaalIngediendBedrag", {"TotaalBedrag": "10000", "DebetCredit": "C"})


def _other_client_301(world: World, data: dict) -> None:
    put(data, "Client/Bsn", OTHER_BSN)


def _toewijzing(change: Callable[[dict], None]):
    def apply(world: World, data: dict) -> None:
        change(at(data, "Client/ToegewezenProducten/ToegewezenProduct"))

    return apply


def _extra_toewijzing(world: World, data: dict) -> None:
    products = at(data, "Client/ToegewezenProducten/ToegewezenProduct")
    extra = dict(
        products[0],
        ToewijzingNummer="5003",
        Product={"Categorie": world.c, "Code": f"{world.c}A03"},
    )
    products.append(extra)


def _swap_ongewijzigd_for(te_wijzigen: dict):
    def apply(world: World, data: dict) -> None:
        drop(data, "Client/Verzoek/OngewijzigdeProducten")
        at(data, "Client/Verzoek/TeWijzigenProducten/TeWijzigenProduct").append(dict(te_wijzigen))

    return apply


def _nieuw(code: int, begin: str = "2026-07-01", end: str = "2026-12-31", **extra: Any):
    def apply(world: World, data: dict) -> None:
        verzoek = at(data, "Client/Verzoek")
        product = (
            {"Categorie": world.c, "Code": f"{world.c}A0{code}"} if code else {"Categorie": world.c}
        )
        item = {"Product": product, "GewensteIngangsdatum": begin, "Einddatum": end,
                "Omvang": {"Volume": "2", "Eenheid": "04", "Frequentie": "4"}, **extra}  # fmt: skip
        verzoek.setdefault("NieuweProducten", {"NieuwProduct": []})["NieuwProduct"].append(item)

    return apply


def _both(*changes: Callable[[World, dict], None]):
    def apply(world: World, data: dict) -> None:
        for change in changes:
            change(world, data)

    return apply


def _dup_among_many(path: str, field_: str, values: list[str]):
    """Lines differing in ``field_``, then a copy of the first (more than 8 siblings: TR101
    fingerprints them instead of comparing each pair)."""

    def apply(world: World, data: dict) -> None:
        items = at(data, path)
        first = dict(items[0])
        items += [{**first, field_: value} for value in values]
        items.append(dict(first))

    return apply


def _dup(path: str, **override: Any):
    def apply(world: World, data: dict) -> None:
        items = at(data, path)
        copy_ = dict(items[0])
        copy_.update(override)
        items.append(copy_)

    return apply


CASES: list[Case] = [
    # header
    Case("CS025", 301, edits(("Header/BerichtVersie", "4")), "Header"),
    Case("CS015", 301, edits(("Header/BerichtSubversie", "3")), "Header"),
    Case("IV034", 301, edits(("Header/XsdVersie/BerichtXsdVersie", "9.9.9")), "Header"),
    Case("TR135", 301, edits(("Header/BerichtIdentificatie/Dagtekening", "2027-01-04")), "Header"),
    Case("TR378", 301, edits(("Header/Afzender", "0999")), "Header"),
    # client
    Case("CS002", 301, edits(("Client/Bsn", "123456789")), "Client", standards=("iwmo", "ijw")),
    Case("TR002", 305, edits(("Client/Geboortedatum/Datum", "1900-01-01")), "Client"),
    Case("CS139", 301, edits(("Client/Geboortedatum/DatumGebruik", "1")), "Client"),
    Case("CS050", 301, edits(("Client/Naam/NaamGebruik", "5")), "Client"),
    Case("CS318", 301, edits(("Client/Naam/NaamGebruik", "6")), "Client"),
    Case("TR006", 301, edits(("Client/Contactgegevens/Contact/0/Adres/Huis", None)),
         "Client/Contactgegevens/Contact[1]"),
    Case("TR061", 301, edits(("Client/Contactgegevens/Contact/0/Soort", "04")), "Client"),
    Case("CS089", 301, edits(("Client/Contactgegevens/Contact/0/Adres/Postcode", "0011AA")),
         "Client/Contactgegevens/Contact[1]"),
    # conditions
    Case("CD005", 301, edits(("Client/Contactgegevens/Contact/0/Adres/LandCode", None)),
         "Client/Contactgegevens/Contact[1]/Adres"),
    Case("CD007", 301, edits(("Client/Communicatie", {"Vorm": "1"})), "Client/Communicatie"),
    Case("CD009", 301, edits(("Client/Contactgegevens/Contact/0/Periode", {"Begindatum": "2026-01-01"})),
         "Client/Contactgegevens/Contact[1]"),
    Case("CD025", 301, edits(("Client/Contactgegevens/Contact/0/Adres/Huis", None)),
         "Client/Contactgegevens/Contact[1]/Adres"),
    Case("CD034", 301, edits(("Client/Contactgegevens/Contact/0/Adres/Postcode", None)),
         "Client/Contactgegevens/Contact[1]"),
    Case("CD041", 301, edits((f"{TP}/0/Omvang", None)), f"{TP}[1]"),
    Case("CD043", 315, edits((f"{AP}/0/BeschikkingNummer", "77")), f"{AP}[1]"),
    Case("CD060", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductReferentie/VorigReferentieNummer", "R0")),
         f"{PR}[1]"),
    Case("CD066", 315, edits((f"{AP}/0/Verwijzer/Naam", "Dokter")), f"{AP}[1]/Verwijzer"),
    Case("CD067", 315, edits((f"{AP}/0/Verwijzer/ZorgverlenerCode", None)), f"{AP}[1]/Verwijzer"),
    Case("CD068", 315, edits((f"{AP}/0/Verwijzer/Type", "01")), f"{AP}[1]/Verwijzer"),
    Case("CD075", 301, edits((f"{TP}/1/Einddatum", None)), f"{TP}[2]"),
    Case("CD076", 301, edits((f"{TP}/0/Omvang/Frequentie", "2"), (f"{TP}/0/Einddatum", None)), f"{TP}[1]"),
    Case("CD077", 301, edits((f"{TP}/1/Omvang", {"Volume": "1", "Eenheid": "83", "Frequentie": "6"})), f"{TP}[2]"),
    Case("CD078", 301, edits((f"{TP}/0/Budget", "100")), f"{TP}[1]"),
    Case("CD079", 301, edits((f"{TP}/0/Product", None)), f"{TP}[1]"),
    Case("CD080", 301, edits((f"{TP}/0/Product/Code", None)), f"{TP}[1]"),
    Case("CD085", 319, edits(("Antwoord/RedenAfwijzingVerzoek", None)), "Antwoord"),
    Case("CD086", 319, edits(("Antwoord/VerzoekAntwoord", "2")), "Antwoord"),
    Case("CD087", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductTarief", None)),
         f"{PR}[1]"),
    Case("CD095", 315, edits((f"{AP}/0/Product/Code", None)), f"{AP}[1]"),
    Case("CD096", 317, _nieuw(0), f"{NW}[1]"),
    # dates and periods
    Case("CS003", 301, edits((f"{TP}/0/Einddatum", "2025-12-31")), f"{TP}[1]"),
    Case("TR018", 307, edits((f"{STOP}/0/Einddatum", "2026-01-01")), f"{STOP}[1]"),
    Case("TR134", 305, edits((f"{START}/0/Begindatum", "2026-02-01")), f"{START}[1]"),
    Case("TR380", 317, edits((f"{TW}/0/Einddatum", "2026-05-01")), f"{TW}[1]"),
    Case("CS058", 305, edits((f"{START}/0/StatusAanlevering", "2")), f"{START}[1]"),
    Case("CS335", 301, edits((f"{TP}/0/RedenWijziging", "13")), f"{TP}[1]"),
    Case("CS336", 301, edits((f"{TP}/0/RedenWijziging", "01")), f"{TP}[1]"),
    Case("CS338", 301, edits((f"{TP}/0/Omvang/Eenheid", "14"), (f"{TP}/0/Omvang/Frequentie", "1")), f"{TP}[1]"),
    Case("CS343", 315, edits((f"{AP}/0/Omvang/Eenheid", "16"), (f"{AP}/0/Omvang/Frequentie", "1")), f"{AP}[1]"),
    Case("TR302", 301, _dup("Client/ToegewezenProducten/ToegewezenProduct", ToewijzingNummer="5009"), f"{TP}[3]"),
    Case("TR386", 315, _dup("Client/AangevraagdeProducten/AangevraagdProduct", ReferentieAanbieder="VOT-2"), f"{AP}[2]"),
    Case("TR410", 317, _both(_nieuw(3), _nieuw(3, begin="2026-08-01")), f"{NW}[2]"),
    Case("TR383", 315, _dup("Client/AangevraagdeProducten/AangevraagdProduct",
                            Product={"Categorie": "02", "Code": "02A02"}), f"{AP}[2]"),
    Case("TR101", 305, _dup("Client/StartProducten/StartProduct"), f"{START}[2]"),
    Case("TR101", 305, _dup_among_many("Client/StartProducten/StartProduct", "Begindatum",
                                       [f"2026-01-{d:02d}" for d in range(6, 16)]), f"{START}[12]"),
    Case("TR101", 323, _dup("Declaratie/Clienten/Client"), "Declaratie/Clienten/Client[2]"),
    Case("TR074", 305, _dup("Client/StartProducten/StartProduct", ToewijzingIngangsdatum="2026-01-02"), f"{START}[2]"),
    # verzoeken, antwoord
    Case("TR352", 317, _both(edits(("Client/Verzoek/OngewijzigdeProducten", None),
                                   ("Client/Verzoek/TeWijzigenProducten", None)), _nieuw(3)), "Client/Verzoek"),
    Case("TR353", 317, edits(("Client/Verzoek/TeWijzigenProducten", None)), "Client/Verzoek"),
    Case("TR377", 319, edits(("Antwoord/RedenAfwijzingVerzoek", "8")), "Antwoord", standards=("ijw",)),
    Case("TR409", 319, edits(("Antwoord/Woonplaatsbeginsel", {"Gemeente": "0344"})), "Antwoord",
         standards=("iwmo", "ijw")),
    # declaratie
    Case("CS319", 323, edits(("Declaratie/DeclaratieNummer", "DN-1")), "Declaratie"),
    Case("CS340", 323, edits(("Declaratie/DeclaratiePeriode/Einddatum", "2026-02-27")), "Declaratie"),
    Case("CS100", 323, edits(("Declaratie/DeclaratiePeriode", {"Begindatum": "2020-12-01", "Einddatum": "2020-12-31"})),
         "Declaratie"),
    Case("CS325", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/IngediendBedrag",
                              {"Bedrag": "0", "DebetCredit": "C"})), f"{PR}[1]"),
    Case("CS337", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductPeriode/Einddatum",
                              "2026-03-01")), f"{PR}[1]"),
    Case("CS339", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/1/IngediendBedrag/Bedrag", "4000")),
         f"{PR}[2]"),
    Case("TR137", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductPeriode",
                              {"Begindatum": "2026-02-01", "Einddatum": "2026-01-31"})), f"{PR}[1]"),
    Case("TR335", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductPeriode",
                              {"Begindatum": "2021-02-01", "Einddatum": "2021-02-28"})), f"{PR}[1]"),
    Case("TR319", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductPeriode",
                              {"Begindatum": "2026-03-01", "Einddatum": "2026-03-31"})), f"{PR}[1]"),
    Case("TR346", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/IngediendBedrag/Bedrag", "9999")),
         f"{PR}[1]"),
    Case("TR342", 325, _dup("DeclaratieAntwoord/Clienten/Client/0/Prestaties/Prestatie",
                            RetourCodes={"RetourCode": ["0200"]}), f"{APR}[2]"),
    Case("TR381", 301, edits((f"{TP}/0/Product/Code", "02A09")), f"{TP}[1]"),
    Case("TR418", 323, _both(
        edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductTarief", "1300"),
              ("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/IngediendBedrag/Bedrag", "10400"),
              ("Declaratie/TotaalIngediendBedrag/TotaalBedrag", "15400"))), f"{PR}[1]"),
    Case("TR358", 323, edits(("Declaratie/TotaalIngediendBedrag/TotaalBedrag", "15001")), "Declaratie",
         standards=("iwmo", "ijw")),
    Case("TR314", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/1/ProductReferentie/ReferentieNummer",
                              "R1")), f"{PR}[2]"),
    Case("TR315", 323, _both(
        _add_prestatie("R3", "5001", 1, "1", "04", "1250", "1250", month="2026-01", last=31,
                       credit_of="R0", total="12500"),
        _add_prestatie("R4", "5001", 1, "1", "04", "1250", "1250", month="2026-01", last=31,
                       credit_of="R0", total="12500")), f"{PR}[4]"),
    Case("TR316", 323, _add_prestatie("R3", "5001", 1, "8", "04", "1250", "10000", credit_of="R1",
                                      total="5000"), f"{PR}[3]"),
    Case("TR416", 323, _add_prestatie("R3", "5001", 1, "8", "04", "1250", "10000", total="25000"), f"{PR}[3]"),
    # state: toewijzing
    Case("TR056", 301, lambda w, d: None, "Header", state=[earlier(301)], standards=("iwmo", "ijw")),
    Case("TR332", 301, lambda w, d: None, f"{TP}[1]", state=[earlier(301, _other_client_301)]),
    Case("TR379", 301, edits((f"{TP}/0/ReferentieAanbieder", "VOT-X")), f"{TP}[1]"),
    Case("TR385", 301, edits((f"{TP}/0/RedenWijziging", "13"), (f"{TP}/0/Einddatum", "2026-01-01"),
                             ("Header/BerichtIdentificatie/Identificatie", "T2")), f"{TP}[1]",
         state=[earlier(301), granted_323(lambda w, d: None)]),
    # state: regie
    Case("TR019", 305, lambda w, d: None, f"{START}[1]", state=[]),
    Case("TR063", 305, edits((f"{START}/0/StatusAanlevering", "3")), f"{START}[1]"),
    Case("TR074", 305, edits(("Header/BerichtIdentificatie/Identificatie", "S2")), f"{START}[1]",
         extra=[earlier(305)]),
    Case("TR071", 305, edits((f"{START}/0/StatusAanlevering", "3"), ("Header/BerichtIdentificatie/Identificatie", "S2")),
         f"{START}[1]", extra=[earlier(305), earlier(307)]),
    Case("TR326", 305, edits((f"{START}/0/Begindatum", "2026-01-08"), ("Header/BerichtIdentificatie/Identificatie", "S2")),
         f"{START}[1]", extra=[earlier(305)]),
    Case("TR382", 307, lambda w, d: None, f"{STOP}[1]", state=[earlier(301)]),
    Case("TR413", 307, edits((f"{STOP}/0/Einddatum", "2026-04-30"), ("Header/BerichtIdentificatie/Identificatie", "P2"),
                             ("Header/BerichtIdentificatie/Dagtekening", "2026-05-02")),
         f"{STOP}[1]", extra=[earlier(307)]),
    Case("TR414", 307, edits((f"{STOP}/0/Einddatum", "2026-03-15"), (f"{STOP}/0/RedenBeeindiging", "19"),
                             ("Header/BerichtIdentificatie/Identificatie", "P2")),
         f"{STOP}[1]", extra=[earlier(307)]),
    Case("TR415", 307, edits((f"{STOP}/0/Einddatum", "2026-04-30"), (f"{STOP}/0/RedenBeeindiging", "19"),
                             ("Header/BerichtIdentificatie/Identificatie", "P2"),
                             ("Header/BerichtIdentificatie/Dagtekening", "2026-05-02")),
         f"{STOP}[1]", extra=[earlier(307, edits((f"{STOP}/0/RedenBeeindiging", "19")))]),
    # state: verzoeken
    Case("TR347", 315, edits(("Header/BerichtIdentificatie/Identificatie", "V2")), f"{AP}[1]",
         extra=[earlier(315)]),
    Case("TR374", 315, edits(("Header/BerichtIdentificatie/Identificatie", "V2")), "Client",
         extra=[earlier(315, edits((f"{AP}/0/ReferentieAanbieder", "VOT-0")))]),
    Case("TR349", 317, lambda w, d: None, "Client/Verzoek", state=[earlier(301, _extra_toewijzing)]),
    Case("TR350", 317, edits(("Client/Verzoek/OngewijzigdeProducten/OngewijzigdProduct/0/ToewijzingNummer", "5009")),
         "Client/Verzoek/OngewijzigdeProducten/OngewijzigdProduct[1]"),
    Case("TR351", 317, edits((f"{TW}/0/ToewijzingNummer", "5009")), f"{TW}[1]"),
    Case("TR357", 317, edits((f"{TW}/0/GewensteIngangsdatum", "2026-05-15")), f"{TW}[1]"),
    Case("TR373", 317, _swap_ongewijzigd_for({"ToewijzingNummer": "5002", "GewensteIngangsdatum": "2026-07-01",
                                              "Einddatum": "2027-06-30", "Budget": "200000"}), f"{TW}[2]"),
    Case("TR375", 317, _swap_ongewijzigd_for({"ToewijzingNummer": "5002", "GewensteIngangsdatum": "2026-07-01",
                                              "Einddatum": "2027-06-30",
                                              "Omvang": {"Volume": "1", "Eenheid": "04", "Frequentie": "4"}}),
         f"{TW}[2]", state=[earlier(301, _toewijzing(lambda ps: ps[1].pop("Product")))]),
    Case("TR412", 317, _swap_ongewijzigd_for({"ToewijzingNummer": "5002", "GewensteIngangsdatum": "2026-07-01",
                                              "Einddatum": "2027-06-30",
                                              "Omvang": {"Volume": "1", "Eenheid": "04", "Frequentie": "4"}}),
         f"{TW}[2]", state=[earlier(301, _toewijzing(lambda ps: ps[1]["Product"].pop("Code")))]),
    Case("TR411", 317, edits((f"{TW}/0/Omvang", None)), f"{TW}[1]"),
    Case("TR361", 317, _nieuw(2), f"{NW}[1]"),
    Case("TR304", 317, lambda w, d: None, "Client", state=[earlier(301, _other_client_301)]),
    Case("TR304", 323, lambda w, d: None, "Declaratie/Clienten/Client[1]",
         state=[earlier(301, _other_client_301)]),
    Case("TR355", 319, lambda w, d: None, "Antwoord", state=[]),
    Case("TR359", 319, lambda w, d: None, "Antwoord",
         extra=[earlier(301, edits((f"{TP}/0/ReferentieAanbieder", "VOT-1")))]),
    Case("TR360", 319, edits(("Antwoord/VerzoekAntwoord", "2"), ("Antwoord/RedenAfwijzingVerzoek", None),
                             ("Header/BerichtIdentificatie/Identificatie", "N2")), "Antwoord",
         extra=[earlier(319, edits(("Antwoord/VerzoekAntwoord", "2"), ("Antwoord/RedenAfwijzingVerzoek", None)))]),
    Case("TR365", 319, edits(("Header/BerichtIdentificatie/Identificatie", "N2")), "Antwoord",
         extra=[earlier(319)]),
    # state: declaratie
    Case("TR333", 323, lambda w, d: None, "Declaratie",
         extra=[earlier(323, edits(("Header/BerichtIdentificatie/Identificatie", "D0"),
                                   ("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductReferentie/ReferentieNummer", "R8"),
                                   ("Declaratie/Clienten/Client/0/Prestaties/Prestatie/1/ProductReferentie/ReferentieNummer", "R9")))]),
    Case("TR314", 323, lambda w, d: None, f"{PR}[1]",
         extra=[earlier(323, edits(("Header/BerichtIdentificatie/Identificatie", "D0"),
                                   ("Declaratie/DeclaratieNummer", "DN0")))]),
    Case("TR338", 323, lambda w, d: None, f"{PR}[1]", state=[], standards=("iwmo", "ijw")),
    Case("TR339", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductCategorie", "03")), f"{PR}[1]"),
    Case("TR340", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductCode", "02A02")), f"{PR}[1]"),
    Case("TR341", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/Eenheid", "01")), f"{PR}[1]"),
    Case("TR384", 323, lambda w, d: None, f"{PR}[1]",
         state=[earlier(301, _toewijzing(lambda ps: ps[0].update(RedenWijziging="13")))]),
    Case("TR307", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductPeriode",
                              {"Begindatum": "2025-12-01", "Einddatum": "2025-12-31"})), f"{PR}[1]"),
    Case("TR308", 323, lambda w, d: None, f"{PR}[1]",
         state=[earlier(301, _toewijzing(lambda ps: ps[0].update(Einddatum="2026-02-15")))]),
    Case("TR387", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductPeriode/Begindatum",
                              "2026-02-02")), f"{PR}[1]"),
    Case("TR388", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/ProductPeriode/Einddatum",
                              "2026-02-27")), f"{PR}[1]"),
    Case("TR321", 323, edits(("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/GeleverdVolume", "11"),
                             ("Declaratie/Clienten/Client/0/Prestaties/Prestatie/0/IngediendBedrag/Bedrag", "13750"),
                             ("Declaratie/TotaalIngediendBedrag/TotaalBedrag", "18750")), f"{PR}[1]"),
    Case("TR322", 323, lambda w, d: None, f"{PR}[1]",
         state=[earlier(301, _toewijzing(lambda ps: ps[0]["Omvang"].update(Frequentie="6"))),
                granted_323(_jan_debet)]),
    Case("TR369", 323, lambda w, d: None, f"{PR}[2]",
         extra=[granted_323(lambda w, d: (
             _jan_debet(w, d),
             put(d, "Declaratie/Clienten/Client/0/Prestaties/Prestatie",
                 [w.prestatie("R7", "5002", 2, "99000", "83", None, "99000", month="2026-01", last=31)]),
             put(d, "Declaratie/TotaalIngediendBedrag", {"TotaalBedrag": "99000", "DebetCredit": "D"})))]),
    Case("TR323", 323, _credit_message, f"{PR}[3]"),
    Case("TR390", 323, _credit_message, f"{PR}[3]",
         extra=[granted_323(_jan_debet), earlier(323, _earlier_credit)]),
    Case("TR389", 323, lambda w, d: None, f"{PR}[1]", extra=[granted_323(_feb_debet_again)]),
    # state: declaratie-antwoord
    Case("TR337", 325, lambda w, d: None, "Header", state=[earlier(301)]),
    Case("TR371", 325, edits(("Header/XsdVersieDeclaratie/BerichtXsdVersie", "1.0.1")), "Header"),
    Case("TR376", 325, edits(("DeclaratieAntwoord/DeclaratieNummer", "DN2")), "DeclaratieAntwoord"),
    Case("TR366", 325, edits(("DeclaratieAntwoord/Clienten/Client/0/Prestaties/Prestatie/0/ProductReferentie/ReferentieNummer",
                              "R9")), f"{APR}[1]"),
    Case("TR367", 325, edits(("DeclaratieAntwoord/Clienten/Client/0/Prestaties/Prestatie/0/GeleverdVolume", "9")),
         f"{APR}[1]"),
]  # fmt: skip


def expected_code(rule: str) -> str:
    """The retourcode the standard ties to the rule: the TR table, else 0001 (CD/CS, IV034)."""
    table = REFERENCE / "derived-iwmo-ijw-3.2" / "technische-regels-3.2.csv"
    with open(table, newline="", encoding="utf-8") as fh:
        codes = {row["regel"]: row["retourcode"] for row in csv.DictReader(fh)}
    return codes.get(rule, "0001")


def _state(world: World, number: int, case: Case | None = None) -> MemoryState:
    state = MemoryState(world)
    builders = (
        [earlier(n) for n in BASE_STATE[number]]
        if case is None or case.state is None
        else case.state
    )
    for build in builders + (case.extra if case else []):
        made = build(world)
        for n, data in made if isinstance(made, list) else [made]:
            state.add(n, data)
    return state


def _check(world: World, number: int, data: dict, state: MemoryState) -> list:
    return adapter().check_data(world.bericht(number), data, state)


@pytest.mark.parametrize("standard", ["iwmo", "ijw"])
@pytest.mark.parametrize("number", sorted(BASE_STATE))
def test_every_base_message_is_clean(standard: str, number: int) -> None:
    world = World(standard)
    assert _check(world, number, world.msg(number), _state(world, number)) == []


def _id(case: Case) -> str:
    return f"{case.rule}-{case.number}"


PARAMS = [
    pytest.param(case, standard, id=f"{_id(case)}-{standard}")
    for case in CASES
    for standard in case.standards
]


@pytest.mark.parametrize(("case", "standard"), PARAMS)
def test_rule_fires_with_its_code_and_is_silent_on_the_good_message(
    case: Case, standard: str
) -> None:
    world = World(standard)
    code = expected_code(case.rule)
    # silent: the good message, with the state of this case, gives no finding of this rule
    state = _state(world, case.number, case)
    good = _check(world, case.number, world.msg(case.number), _state(world, case.number))
    assert [f for f in good if f.rule == case.rule] == []
    # fires: one change, and the rule names the class with its retourcode
    data = world.msg(case.number)
    case.change(world, data)
    fired = [(f.rule, f.code, f.path) for f in _check(world, case.number, data, state)]
    assert (case.rule, code, case.path) in fired, fired


STATE_PARAMS = [p for p in PARAMS if p.values[0].state or p.values[0].extra]


@pytest.mark.parametrize(("case", "standard"), STATE_PARAMS)
def test_rules_over_earlier_messages_fire_after_retention_erased_their_payloads(
    case: Case, standard: str
) -> None:
    """The earlier messages' rows are in the domain tables: their payloads are not needed."""
    world = World(standard)
    state = _state(world, case.number, case)
    state.erase_payloads()
    data = world.msg(case.number)
    case.change(world, data)
    fired = [(f.rule, f.code, f.path) for f in _check(world, case.number, data, state)]
    assert (case.rule, expected_code(case.rule), case.path) in fired, fired


def test_every_registered_rule_has_a_case() -> None:
    assert {r.id for r in RULES} <= {c.rule for c in CASES}


def test_registered_codes_and_levels_are_the_standards() -> None:
    table = REFERENCE / "derived-iwmo-ijw-3.2" / "technische-regels-3.2.csv"
    with open(table, newline="", encoding="utf-8") as fh:
        rows = {row["regel"]: row for row in csv.DictReader(fh)}
    for r in RULES:
        assert r.retourcode == expected_code(r.id), r.id
        if r.id in rows:
            assert r.level.value == rows[r.id]["controleniveau"], r.id
            numbers = {int(m[-3:]) for m in rows[r.id]["iwmo_berichten"].split()}
            numbers |= {int(m[-3:]) for m in rows[r.id]["ijw_berichten"].split()}
            assert r.messages is not None and r.messages <= numbers, r.id


def test_state_rules_are_declared_and_every_rule_has_its_text() -> None:
    assert {c.rule for c in CASES if c.state is not None or c.extra} <= NEEDS_STATE | {"TR314"}
    for r in RULES:
        assert r.doc, f"{r.id} has no docstring quoting the rule"
        assert r.retourcode in {"0001", "n.v.t."} or r.level != "bericht inhoud (xslt)"


def test_rules_on_a_message_without_state_are_the_in_message_verdict() -> None:
    world = World("iwmo")
    data = world.msg(301)
    put(data, "Client/Bsn", BSN)
    assert _check(world, 301, data, MemoryState(world)) == []


def test_the_rules_document_is_generated_from_the_registry() -> None:
    from tools.rules_table import TARGET, render

    assert TARGET.read_text() == render(), "run: python -m tools.rules_table"


def test_external_sources_come_from_the_settings(tmp_path) -> None:
    import dataclasses

    from adapters.istandaarden import make_adapter
    from gateway.config import load_settings

    (tmp_path / "gemeenten.csv").write_text(
        "code,naam,begindatum,einddatum\n0363,Amsterdam,,\n0370,Beemster,,2021-12-31\n"
    )
    config = tmp_path / "ketenpoort.toml"
    config.write_text(f'[istandaarden]\ngemeentecodes = "{tmp_path / "gemeenten.csv"}"\n')
    settings = dataclasses.replace(load_settings(env={}, path=config), var_dir=tmp_path)
    the_adapter = make_adapter(settings)
    assert the_adapter.refdata.missing == ("TR381", "TR418")
    world = World("iwmo")
    data = world.msg(301)
    assert the_adapter.check_data(world.bericht(301), data, None) == []
    # Beemster merged into Purmerend on 2022-01-01: its old code is valid only before that.
    put(data, "Header/Afzender", "0370")
    findings = the_adapter.check_data(world.bericht(301), data, None)
    assert [(f.rule, f.code, f.path) for f in findings] == [("TR378", "S300", "Header")]
    for product in at(data, "Client/ToegewezenProducten/ToegewezenProduct"):
        product["Ingangsdatum"] = "2021-06-01"  # the CBS list actual on the Ingangsdatum (3.2)
    assert the_adapter.check_data(world.bericht(301), data, None) == []


def _date_paths(data: Any, path: str = "") -> list[str]:
    """The path (as ``at`` reads it) of every leaf that holds an xs:date text."""
    if isinstance(data, dict):
        items = data.items()
    elif isinstance(data, list):
        items = ((str(i), v) for i, v in enumerate(data))
    else:
        return [path] if isinstance(data, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", data) else []
    return [p for k, v in items for p in _date_paths(v, f"{path}/{k}" if path else k)]


@pytest.mark.parametrize("standard", ["iwmo", "ijw"])
@pytest.mark.parametrize("number", sorted(BASE_STATE))
def test_dates_at_the_ends_of_the_calendar_give_findings_not_errors(
    standard: str, number: int
) -> None:
    """xs:date admits 0001-01-01 up to 9999-12-31: a rule's date arithmetic (120 years before the
    Dagtekening, the end of a month, a day later) must not fail on them. Found by mutating
    messages through the whole receive path: a Dagtekening of 0001-01-01 made TR002 raise
    ValueError, so the sender got an error instead of a retour."""
    world = World(standard)
    paths = _date_paths(world.msg(number))
    assert paths  # every base message carries dates
    for value in ("0001-01-01", "9999-12-01", "9999-12-31"):
        for chosen in [[p] for p in paths] + [paths]:
            data = world.msg(number)
            for path in chosen:
                put(data, path, value)
            findings = _check(world, number, data, _state(world, number))
            assert all(f.code and f.path is not None for f in findings)


@pytest.mark.parametrize(
    ("dagtekening", "born", "fires"),
    [
        ("2026-11-30", "1906-11-30", False),  # exactly 120 years: allowed
        ("2026-11-30", "1906-11-29", True),  # a day more (before: only from the 27th)
        ("2024-02-29", "1904-02-29", False),
        ("2024-02-29", "1904-02-28", True),
        ("2025-03-01", "1905-02-28", True),
    ],
)
def test_tr002_counts_120_years_to_the_day(dagtekening: str, born: str, fires: bool) -> None:
    world = World("iwmo")
    data = world.msg(301)
    put(data, "Header/BerichtIdentificatie/Dagtekening", dagtekening)
    put(data, "Client/Geboortedatum/Datum", born)
    found = [f.rule for f in _check(world, 301, data, _state(world, 301))]
    assert ("TR002" in found) is fires, found


@pytest.mark.parametrize("siblings", [4, 12])
def test_tr101_compares_whole_lines_that_differ_only_below_their_own_texts(siblings: int) -> None:
    """Lines that share every text of their own and differ only in a class below (Product),
    then a copy of the first: only the copy is a duplicate, among few or many siblings (many:
    TR101 sorts them by their own texts first and compares whole lines only within)."""
    world = World("iwmo")
    data = world.msg(305)
    items = at(data, START)
    first = items[0]
    items += [
        {**first, "Product": {"Categorie": "02", "Code": f"02B{n:02d}"}} for n in range(siblings)
    ]
    items.append({**first, "Product": dict(first["Product"])})
    fired = [f.path for f in _check(world, 305, data, _state(world, 305)) if f.rule == "TR101"]
    assert fired == [f"{START}[{len(items)}]"]
