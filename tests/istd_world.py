"""A small, coherent iWmo/iJw world for rule tests: one gemeente, one aanbieder, one client and
one good message of every heenbericht type, plus an in-memory State over accepted messages.

Every base message is free of findings when checked against the state it expects (test
``test_every_base_message_is_clean``); each rule test changes one thing and expects that rule.
"""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.catalogue import Bericht
from adapters.istandaarden.refdata import RefData, Validity
from adapters.istandaarden.retour import build_declaratie_antwoord
from adapters.lib.istandaard import codec
from gateway.description import Table
from gateway.envelope import MessageType
from gateway.ledger import Entry as LedgerEntry
from gateway.ledger import Event, domain, keyed_hash

GEMEENTE = "0363"
AANBIEDER = "12345678"
BSN = "999990019"
OTHER_BSN = "999990032"
TODAY = dt.date(2026, 11, 22)
ALWAYS = (Validity(None, None),)
CATEGORIE = {"iwmo": "02", "ijw": "45"}


def refdata() -> RefData:
    codes = {
        (standard, categorie, f"{categorie}A0{n}"): ALWAYS
        for standard, categorie in CATEGORIE.items()
        for n in range(1, 4)
    }
    tariffs = {
        (AANBIEDER, GEMEENTE, standard, f"{categorie}A01", "04"): ((ALWAYS[0], 1250),)
        for standard, categorie in CATEGORIE.items()
    }
    return RefData({GEMEENTE: ALWAYS, "0344": ALWAYS}, codes, tariffs)


def adapter() -> IStandaardenAdapter:
    return IStandaardenAdapter(None, today=lambda: TODAY, refdata=refdata())  # type: ignore[arg-type]


def header(bericht: Bericht, afzender: str, ontvanger: str, ident: str, day: str) -> dict:
    return {
        "BerichtCode": bericht.berichtcode,
        "BerichtVersie": "3",
        "BerichtSubversie": "2",
        "Afzender": afzender,
        "Ontvanger": ontvanger,
        "BerichtIdentificatie": {"Identificatie": ident, "Dagtekening": day},
        "XsdVersie": codec.xsd_versions(bericht),
    }


def client_kort(bsn: str = BSN) -> dict:
    return {
        "Bsn": bsn,
        "Geboortedatum": {"Datum": "1950-05-05"},
        "Geslacht": "1",
        "Naam": {"Geslachtsnaam": {"Achternaam": "Proef"}, "Voorletters": "A"},
    }


class World:
    """Base messages of one standard (canonical dicts); ``msg(n)`` gives a fresh copy."""

    def __init__(self, standard: str = "iwmo") -> None:
        self.standard = standard
        c = CATEGORIE[standard]
        self.c = c
        b = lambda n: Bericht(standard, n)  # noqa: E731
        product = lambda n: {"Categorie": c, "Code": f"{c}A0{n}"}  # noqa: E731
        self.base: dict[int, dict[str, Any]] = {}
        self.base[301] = {
            "Header": header(b(301), GEMEENTE, AANBIEDER, "T1", "2026-01-02"),
            "Client": {
                "Bsn": BSN,
                "Geboortedatum": {"Datum": "1950-05-05"},
                "Geslacht": "1",
                "Naam": {
                    "Geslachtsnaam": {"Achternaam": "Proef"},
                    "Voorletters": "A",
                    "NaamGebruik": "1",
                },
                "Contactgegevens": {
                    "Contact": [
                        {
                            "Soort": "01",
                            "Adres": {
                                "Huis": {"Huisnummer": "7"},
                                "Postcode": "3011AA",
                                "Straatnaam": "Laan",
                                "Plaatsnaam": "Rotterdam",
                                "LandCode": "NL",
                            },
                        }
                    ]
                },
                "ToegewezenProducten": {
                    "ToegewezenProduct": [
                        {
                            "ToewijzingNummer": "5001",
                            "Product": product(1),
                            "Toewijzingsdatum": "2026-01-02",
                            "Toewijzingstijd": "09:00:00",
                            "Ingangsdatum": "2026-01-01",
                            "Einddatum": "2026-12-31",
                            "Omvang": {"Volume": "10", "Eenheid": "04", "Frequentie": "4"},
                        },
                        {
                            "ToewijzingNummer": "5002",
                            "Product": product(2),
                            "Toewijzingsdatum": "2026-01-02",
                            "Toewijzingstijd": "09:00:00",
                            "Ingangsdatum": "2026-01-01",
                            "Einddatum": "2026-12-31",
                            "Budget": "100000",
                        },
                    ]
                },
            },
        }
        start = {
            "ToewijzingNummer": "5001",
            "Product": product(1),
            "ToewijzingIngangsdatum": "2026-01-01",
            "Begindatum": "2026-01-05",
            "StatusAanlevering": "1",
        }
        self.base[305] = {
            "Header": header(b(305), AANBIEDER, GEMEENTE, "S1", "2026-01-10"),
            "Client": {**client_kort(), "StartProducten": {"StartProduct": [start]}},
        }
        stop = {
            **{k: v for k, v in start.items() if k != "StatusAanlevering"},
            "RedenBeeindiging": "20",
            "Einddatum": "2026-03-31",
            "StatusAanlevering": "1",
        }
        self.base[307] = {
            "Header": header(b(307), AANBIEDER, GEMEENTE, "P1", "2026-04-02"),
            "Client": {**client_kort(), "StopProducten": {"StopProduct": [stop]}},
        }
        self.base[315] = {
            "Header": header(b(315), AANBIEDER, GEMEENTE, "V1", "2026-05-01"),
            "Client": {
                **client_kort(),
                "AangevraagdeProducten": {
                    "AangevraagdProduct": [
                        {
                            "ReferentieAanbieder": "VOT-1",
                            "Product": product(3),
                            "ToewijzingIngangsdatum": "2026-06-01",
                            "ToewijzingEinddatum": "2026-12-31",
                            "Omvang": {"Volume": "5", "Eenheid": "04", "Frequentie": "4"},
                            "Verwijzer": {"Type": "02", "ZorgverlenerCode": "01234567"},
                        }
                    ]
                },
            },
        }
        self.base[317] = {
            "Header": header(b(317), AANBIEDER, GEMEENTE, "W1", "2026-06-01"),
            "Client": {
                "Bsn": BSN,
                "Verzoek": {
                    "ReferentieAanbieder": "VOW-1",
                    "RedenVerzoek": "1",
                    "OngewijzigdeProducten": {"OngewijzigdProduct": [{"ToewijzingNummer": "5002"}]},
                    "TeWijzigenProducten": {
                        "TeWijzigenProduct": [
                            {
                                "ToewijzingNummer": "5001",
                                "GewensteIngangsdatum": "2026-07-01",
                                "Einddatum": "2027-06-30",
                                "Omvang": {"Volume": "12", "Eenheid": "04", "Frequentie": "4"},
                            }
                        ]
                    },
                },
            },
        }
        self.base[319] = {
            "Header": header(b(319), GEMEENTE, AANBIEDER, "N1", "2026-05-03"),
            "Antwoord": {
                "ReferentieAanbieder": "VOT-1",
                "VerzoekAntwoord": "1",
                "RedenAfwijzingVerzoek": "5",
            },
        }
        self.base[323] = {
            "Header": header(b(323), AANBIEDER, GEMEENTE, "D1", "2026-03-05"),
            "Declaratie": {
                "DeclaratieNummer": "DN1",
                "DeclaratiePeriode": {"Begindatum": "2026-02-01", "Einddatum": "2026-02-28"},
                "DeclaratieDagtekening": "2026-03-05",
                "TotaalIngediendBedrag": {"TotaalBedrag": "15000", "DebetCredit": "D"},
                "Clienten": {
                    "Client": [
                        {
                            "Bsn": BSN,
                            "Prestaties": {
                                "Prestatie": [
                                    self.prestatie("R1", "5001", 1, "8", "04", "1250", "10000"),
                                    self.prestatie("R2", "5002", 2, "5000", "83", None, "5000"),
                                ]
                            },
                        }
                    ]
                },
            },
        }
        self.base[325] = build_declaratie_antwoord(
            self.base[323], {"R1": ["9338"]}, identificatie="A1", today="2026-03-10"
        )

    def prestatie(
        self,
        referentie: str,
        toewijzing: str,
        code: int,
        volume: str,
        eenheid: str,
        tarief: str | None,
        bedrag: str,
        month: str = "2026-02",
        last: int = 28,
        credit_of: str | None = None,
    ) -> dict:
        p: dict[str, Any] = {"ProductReferentie": {"ReferentieNummer": referentie}}
        if credit_of:
            p["ProductReferentie"]["VorigReferentieNummer"] = credit_of
        p.update(
            ToewijzingNummer=toewijzing,
            ProductCategorie=self.c,
            ProductCode=f"{self.c}A0{code}",
            ProductPeriode={"Begindatum": f"{month}-01", "Einddatum": f"{month}-{last}"},
            GeleverdVolume=volume,
            Eenheid=eenheid,
        )
        if tarief is not None:
            p["ProductTarief"] = tarief
        p["IngediendBedrag"] = {"Bedrag": bedrag, "DebetCredit": "C" if credit_of else "D"}
        return p

    def msg(self, number: int) -> dict[str, Any]:
        return copy.deepcopy(self.base[number])

    def bericht(self, number: int) -> Bericht:
        return Bericht(self.standard, number)

    def granted(self, declaratie: dict[str, Any], ident: str = "A0") -> dict[str, Any]:
        """A 325 granting ``declaratie`` in full (8001)."""
        return build_declaratie_antwoord(declaratie, {}, identificatie=ident, today="2026-03-10")


@dataclass
class Entry:
    message_id: str
    seq: int
    event: str
    code: str
    standard: str
    version: str
    sender: str
    receiver: str
    payload_sha256: str | None = None


class MemoryState:
    """The :class:`gateway.adapter.State` protocol over messages added as accepted (or not)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.adapter = adapter()
        self.entries: list[Entry] = []
        self.index: dict[tuple[str, str], list[Entry]] = {}
        self.payloads: dict[str, bytes] = {}
        self.tables: dict[str, list[dict[str, Any]]] = {}  # the domain tables' rows

    def add(self, number: int, data: dict[str, Any], event: str = "validated") -> MemoryState:
        bericht = self.world.bericht(number)
        xml = codec.encode_message(bericht, data)
        digest = hashlib.sha256(xml).hexdigest()
        self.payloads[digest] = xml
        message_type = MessageType(bericht.standard, bericht.code, "3.2")
        description = self.adapter.describe(etree.fromstring(xml).getroottree(), message_type)
        message_id = f"m{len(self.entries)}"
        common = (bericht.code, bericht.standard, "3.2", description.sender, description.receiver)
        received = Entry(message_id, len(self.entries), "received", *common, digest)
        verdict = Entry(message_id, len(self.entries) + 1, event, *common)
        self.entries += [received, verdict]
        for key, values in description.keys.items():
            for value in values:
                self.index.setdefault((key, value), []).append(verdict)
        for bsn in description.subjects:
            self.index.setdefault(("bsn", bsn), []).append(verdict)
        stored = LedgerEntry(verdict.seq, message_id, "", Event(event), "", "", bericht.standard,
                       bericht.code, "3.2", description.sender, description.receiver,
                       {"stage": "rules"})  # fmt: skip
        for table, rows in description.rows.items():
            for row in domain.prepared(stored, table, rows, self.personal):
                self.tables.setdefault(table.name, []).append(
                    dict(zip(domain.columns(table), row, strict=True))
                )
        return self

    def domain_rows(self, table: Table, column: str, values: Sequence[str]) -> list[dict]:
        wanted = {self.personal(v) if column in table.personal else v for v in values}
        return [r for r in self.tables.get(table.name, []) if r[column] in wanted]

    def personal(self, value: str) -> str:
        return keyed_hash("test-key", value)

    def erase_payloads(self) -> None:
        """As payload retention does: the bytes are gone, the entries and tables stay."""
        self.payloads.clear()

    def find(self, key: str, value: str) -> list[Entry]:
        return list(self.index.get((key, value), []))

    def history(self, message_id: str) -> list[Entry]:
        return [e for e in self.entries if e.message_id == message_id]

    def payload(self, sha256: str) -> bytes | None:
        return self.payloads.get(sha256)
