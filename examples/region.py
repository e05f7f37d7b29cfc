"""A synthetic year of a small region (``ketenpoort demo --region``): 4 gemeenten, 50
aanbieders, about 10,000 cliënten, as valid iWmo 3.2 and iPgb 2.0 messages: toewijzingen
(WMO301), starts (WMO305), stops (WMO307), monthly declaraties (WMO323) and pgb toekenningen
(JW501) with their afsluitingen (JW507). Everything is invented and seeded (the same seed gives
the same messages); the BSNs pass the 11-proef but belong to no one.

Each message's Dagtekening is the day it was sent, some days after the date it reports, so the
monitor's registration lag has something to show for imported messages.
"""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from adapters.istandaarden.catalogue import Bericht
from adapters.lib.istandaard import codec
from adapters.svb.catalogue import JW501, JW507, SVB

GEMEENTEN = ("0344", "0307", "0310", "0355")  # weights below: a city and three smaller ones
WEIGHTS = (5, 3, 1, 1)
CATEGORIEEN = {"01": 2, "02": 4, "04": 3, "07": 1}  # iWmo productcategorie: how often
TARIEF = {"01": 3200, "02": 5600, "04": 4100, "07": 9800}  # cents per unit (uur / dagdeel)
ZORGFUNCTIES = ("01", "02", "03")
YEAR = 2026


@dataclass
class _Client:
    number: int
    bsn: str
    gemeente: str
    postcode: str
    huisnummer: int


@dataclass
class _Product:
    client: _Client
    aanbieder: str
    nummer: int
    categorie: str
    code: str
    decided: dt.date
    begin: dt.date
    end: dt.date
    volume: int
    started: dt.date | None = None
    stopped: dt.date | None = None
    months: list[dt.date] = field(default_factory=list)


def bsn(n: int) -> str:
    """A 9-digit number passing the 11-proef, made from ``n``."""
    while True:
        digits = f"{(100000000 + n * 7919) % 1000000000:09d}"[:8]
        total = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1), strict=True))
        last = total % 11
        if last != 10 and digits[0] != "0":
            return digits + str(last)
        n += 1


def _header(bericht: Bericht, afzender: str, ontvanger: str, ident: str, day: dt.date) -> dict:
    return {
        "BerichtCode": bericht.berichtcode,
        "BerichtVersie": "3",
        "BerichtSubversie": "2",
        "Afzender": afzender,
        "Ontvanger": ontvanger,
        "BerichtIdentificatie": {"Identificatie": ident, "Dagtekening": day.isoformat()},
        "XsdVersie": codec.xsd_versions(bericht),
    }


def _kort(c: _Client) -> dict:
    return {
        "Bsn": c.bsn,
        "Geboortedatum": {"Datum": "1950-05-05"},
        "Geslacht": "1" if c.number % 2 else "2",
        "Naam": {"Geslachtsnaam": {"Achternaam": "Proef"}, "Voorletters": "A"},
    }


def _month_end(day: dt.date) -> dt.date:
    following = (day.replace(day=1) + dt.timedelta(days=32)).replace(day=1)
    return following - dt.timedelta(days=1)


class Region:
    """The region's people and grants, drawn once from ``seed``."""

    def __init__(self, clients: int = 10_000, aanbieders: int = 50, seed: int = 17) -> None:
        rnd = random.Random(seed)  # noqa: S311 (invented data, not secrets)
        self.rnd = rnd
        self.aanbieders = [f"{41000000 + 137 * i:08d}" for i in range(aanbieders)]
        self.clients: list[_Client] = []
        address: tuple[str, int] | None = None
        for n in range(clients):
            gemeente = rnd.choices(GEMEENTEN, WEIGHTS)[0]
            if address is None or rnd.random() > 0.12:  # 12% share a household with the last
                letters = "".join(rnd.choice("ABCDEFGHJKLMNPRSTVWXZ") for _ in range(2))
                address = (f"{rnd.randint(1000, 9999)}{letters}", rnd.randint(1, 300))
            self.clients.append(_Client(n, bsn(n + 1), gemeente, *address))
        self.products: list[_Product] = []
        self.pgb: list[tuple[_Client, dt.date, dt.date, list[tuple[str, int]]]] = []
        nummer = 100000
        start_of_year = dt.date(YEAR, 1, 1)
        for c in self.clients:
            if rnd.random() < 0.08:  # a pgb instead of zorg in natura
                begin = start_of_year + dt.timedelta(days=rnd.randint(-90, 330))
                end = begin + dt.timedelta(days=rnd.randint(90, 540))
                functies = rnd.sample(ZORGFUNCTIES, rnd.randint(1, 2))
                self.pgb.append(
                    (c, begin, end, [(f, rnd.randint(20, 200) * 10000) for f in functies])
                )
                continue
            for _ in range(rnd.choice((1, 1, 1, 2))):
                nummer += 1
                categorie = rnd.choices(list(CATEGORIEEN), list(CATEGORIEEN.values()))[0]
                decided = start_of_year + dt.timedelta(days=rnd.randint(-120, 340))
                begin = decided + dt.timedelta(days=rnd.randint(0, 14))
                end = begin + dt.timedelta(days=rnd.randint(60, 400))
                p = _Product(
                    c, rnd.choice(self.aanbieders), nummer, categorie,
                    f"{categorie}A0{rnd.randint(1, 3)}", decided, begin, end,
                    rnd.randint(2, 12),
                )  # fmt: skip
                if rnd.random() < 0.92:
                    p.started = begin + dt.timedelta(days=int(rnd.expovariate(1 / 9)))
                    if p.started > p.end:
                        p.started = None
                if p.started is not None and rnd.random() < 0.3:
                    p.stopped = p.started + dt.timedelta(days=rnd.randint(30, 200))
                    if p.stopped >= p.end:
                        p.stopped = None
                self.products.append(p)

    def _lag(self, mean: float) -> dt.timedelta:
        return dt.timedelta(days=int(self.rnd.expovariate(1 / mean)))

    def messages(self) -> Iterator[tuple[str, bytes]]:
        """(name, bytes) of every message, toewijzingen first, then starts and stops, then
        declaraties, then pgb."""
        b301, b305, b307, b323 = (Bericht("iwmo", n) for n in (301, 305, 307, 323))
        by_client: dict[tuple[int, str], list[_Product]] = defaultdict(list)
        for p in self.products:
            by_client[(p.client.number, p.aanbieder)].append(p)
        for (_, aanbieder), products in by_client.items():
            c = products[0].client
            sent = max(p.decided for p in products) + self._lag(4)
            data = {
                "Header": _header(b301, c.gemeente, aanbieder, f"T{products[0].nummer}", sent),
                "Client": {
                    **_kort(c),
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
                                    "Huis": {"Huisnummer": str(c.huisnummer)},
                                    "Postcode": c.postcode,
                                    "Straatnaam": "Laan",
                                    "Plaatsnaam": "Regio",
                                    "LandCode": "NL",
                                },
                            }
                        ]
                    },
                    "ToegewezenProducten": {
                        "ToegewezenProduct": [
                            {
                                "ToewijzingNummer": str(p.nummer),
                                "Product": {"Categorie": p.categorie, "Code": p.code},
                                "Toewijzingsdatum": p.decided.isoformat(),
                                "Toewijzingstijd": "09:00:00",
                                "Ingangsdatum": p.begin.isoformat(),
                                "Einddatum": p.end.isoformat(),
                                "Omvang": {
                                    "Volume": str(p.volume),
                                    "Eenheid": "04",
                                    "Frequentie": "4",
                                },
                            }
                            for p in products
                        ]
                    },
                },
            }
            yield f"WMO301-{products[0].nummer}.xml", codec.encode_message(b301, data)
        for p in self.products:
            product = {"Categorie": p.categorie, "Code": p.code}
            if p.started is not None:
                start = {
                    "ToewijzingNummer": str(p.nummer),
                    "Product": product,
                    "ToewijzingIngangsdatum": p.begin.isoformat(),
                    "Begindatum": p.started.isoformat(),
                    "StatusAanlevering": "1",
                }
                data = {
                    "Header": _header(
                        b305,
                        p.aanbieder,
                        p.client.gemeente,
                        f"S{p.nummer}",
                        p.started + self._lag(6),
                    ),
                    "Client": {**_kort(p.client), "StartProducten": {"StartProduct": [start]}},
                }
                yield f"WMO305-{p.nummer}.xml", codec.encode_message(b305, data)
            if p.started is not None and p.stopped is not None:
                stop = {
                    "ToewijzingNummer": str(p.nummer),
                    "Product": product,
                    "ToewijzingIngangsdatum": p.begin.isoformat(),
                    "Begindatum": p.started.isoformat(),
                    "RedenBeeindiging": "02",
                    "Einddatum": p.stopped.isoformat(),
                    "StatusAanlevering": "1",
                }
                data = {
                    "Header": _header(
                        b307,
                        p.aanbieder,
                        p.client.gemeente,
                        f"P{p.nummer}",
                        p.stopped + self._lag(5),
                    ),
                    "Client": {**_kort(p.client), "StopProducten": {"StopProduct": [stop]}},
                }
                yield f"WMO307-{p.nummer}.xml", codec.encode_message(b307, data)
        yield from self._declaraties(b323)
        yield from self._pgb()

    def _declaraties(self, b323: Bericht) -> Iterator[tuple[str, bytes]]:
        # aanbieder, gemeente, month -> bsn -> prestaties
        claims: dict[tuple[str, str, dt.date], dict[str, list[dict[str, Any]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for p in self.products:
            if p.started is None:
                continue
            last = min(p.stopped or p.end, p.end, dt.date(YEAR, 11, 30))
            month = max(p.started, dt.date(YEAR, 1, 1)).replace(day=1)
            while month <= last:
                first = max(month, p.started)
                until = min(_month_end(month), last)
                volume = max(1, round(p.volume * 4 * ((until - first).days + 1) / 31))
                tarief = TARIEF[p.categorie]
                claims[(p.aanbieder, p.client.gemeente, month)][p.client.bsn].append(
                    {
                        "ProductReferentie": {"ReferentieNummer": f"R{p.nummer}-{month:%Y%m}"},
                        "ToewijzingNummer": str(p.nummer),
                        "ProductCategorie": p.categorie,
                        "ProductCode": p.code,
                        "ProductPeriode": {
                            "Begindatum": first.isoformat(),
                            "Einddatum": until.isoformat(),
                        },
                        "GeleverdVolume": str(volume),
                        "Eenheid": "04",
                        "ProductTarief": str(tarief),
                        "IngediendBedrag": {"Bedrag": str(volume * tarief), "DebetCredit": "D"},
                    }
                )
                month = _month_end(month) + dt.timedelta(days=1)
        for number, ((aanbieder, gemeente, month), clients) in enumerate(sorted(claims.items())):
            total = sum(int(p["IngediendBedrag"]["Bedrag"]) for ps in clients.values() for p in ps)
            sent = _month_end(month) + dt.timedelta(days=5) + self._lag(4)
            data = {
                "Header": _header(b323, aanbieder, gemeente, f"D{number}", sent),
                "Declaratie": {
                    "DeclaratieNummer": f"DN{number}",
                    "DeclaratiePeriode": {
                        "Begindatum": month.isoformat(),
                        "Einddatum": _month_end(month).isoformat(),
                    },
                    "DeclaratieDagtekening": sent.isoformat(),
                    "TotaalIngediendBedrag": {"TotaalBedrag": str(total), "DebetCredit": "D"},
                    "Clienten": {
                        "Client": [
                            {"Bsn": b, "Prestaties": {"Prestatie": ps}}
                            for b, ps in sorted(clients.items())
                        ]
                    },
                },
            }
            yield f"WMO323-{number}.xml", codec.encode_message(b323, data)

    def _pgb(self) -> Iterator[tuple[str, bytes]]:
        for number, (c, begin, end, functies) in enumerate(self.pgb):
            sent = begin - dt.timedelta(days=10) + self._lag(8)
            header = {
                "BerichtCode": JW501.berichtcode,
                "BerichtVersie": "2",
                "BerichtSubversie": "0",
                "Afzender": c.gemeente,
                "Ontvanger": SVB,
                "BerichtIdentificatie": {"Identificatie": f"K{number}", "Dagtekening": str(sent)},
                "XsdVersie": codec.xsd_versions(JW501),
            }
            budget = {
                "Budgetidentificatie": f"PGB-{YEAR}-{number:05d}",
                "Wet": "1",
                "Periode": {"Ingangsdatum": begin.isoformat(), "Einddatum": end.isoformat()},
                "Bedrag": str(sum(b for _, b in functies)),
                "StatusAanlevering": "1",
                "Functiebudgetten": {
                    "Functiebudget": [
                        {
                            "Zorgfunctie": f,
                            "Periode": {
                                "Ingangsdatum": begin.isoformat(),
                                "Einddatum": end.isoformat(),
                            },
                            "Bedrag": str(b),
                        }
                        for f, b in functies
                    ]
                },
            }
            data = {
                "Header": header,
                "Budgethouder": {
                    "Bsn": c.bsn,
                    "Geboortedatum": "1950-05-05",
                    "Naam": {"Achternaam": "Proef", "Voorletters": "A"},
                    "Contactadres": {
                        "Straatnaam": "Laan",
                        "Huisnummer": str(c.huisnummer),
                        "Postcode": c.postcode,
                        "Plaatsnaam": "Regio",
                    },
                },
                "Budget": budget,
            }
            yield f"JW501-{number}.xml", codec.encode_message(JW501, data)
            if end < dt.date(YEAR, 12, 1):
                spent = [(f, b, b * self.rnd.randint(60, 100) // 100) for f, b in functies]
                afsluiting = {
                    "Header": {
                        **header,
                        "BerichtCode": JW507.berichtcode,
                        "Afzender": SVB,
                        "Ontvanger": c.gemeente,
                        "BerichtIdentificatie": {
                            "Identificatie": f"B{number}",
                            "Dagtekening": str(end + dt.timedelta(days=20)),
                        },
                        "XsdVersie": codec.xsd_versions(JW507),
                    },
                    "Budgethouder": {"Bsn": c.bsn},
                    "Budget": {
                        "Budgetidentificatie": budget["Budgetidentificatie"],
                        "Periode": budget["Periode"],
                        "RedenAfsluiting": "01",
                        "Toegekend": str(sum(b for _, b, _ in spent)),
                        "Besteed": str(sum(s for _, _, s in spent)),
                        "Functiebudgetten": {
                            "Functiebudget": [
                                {
                                    "Zorgfunctie": f,
                                    "Periode": budget["Periode"],
                                    "Toegekend": str(b),
                                    "Besteed": str(s),
                                }
                                for f, b, s in spent
                            ]
                        },
                    },
                }
                yield f"JW507-{number}.xml", codec.encode_message(JW507, afsluiting)
