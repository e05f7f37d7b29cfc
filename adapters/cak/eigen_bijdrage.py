"""How iWmo messages map onto eigen bijdrage: voorzieningen out of WMO301/305/307, and a
person's eigen bijdrage period into a WMO405/407.

- WMO301 (trigger ``toewijzing``): each ToegewezenProduct is a voorziening from its
  Ingangsdatum to its Einddatum (open when absent); a 301 holds all current toewijzingen of the
  client at that aanbieder (OP087), so the latest 301 per aanbieder replaces the earlier ones. A
  toewijzing withdrawn (RedenWijziging 13 "verwijderd", Einddatum = Ingangsdatum, OP033x1; 01
  in releases before 3.2) counts as none.
- WMO305/307 (trigger ``levering``): a StartProduct starts a voorziening on its Begindatum, a
  later StopProduct of the same ToewijzingNummer ends it on its Einddatum; StatusAanlevering 3
  withdraws the start or stop.
- A voorziening whose Product/Categorie is a beschermd-wonen category (setting
  ``cak_beschermd_wonen``, default 15) counts for WMO407, every other one for WMO405.
- A toegewezen product's Budget (euro-cents) is kept with its voorziening: for a hulpmiddel or
  woningaanpassing (setting ``cak_kostprijs``) it is the kostprijs (``derive.py`` decides when
  the CAK must be told, as EbKostprijs). With trigger ``levering`` the Budget is the one of the
  latest WMO301 holding the same ToewijzingNummer.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from adapters.cak.catalogue import BERICHT_SUBVERSIE, BERICHT_VERSIE, KLASSE
from adapters.lib.istandaard.codec import encode_message, xsd_versions
from adapters.lib.istandaard.messages import Message

# RedenWijziging: 13 verwijderd (3.2), 01 administratieve correctie (before 3.2, CS336)
CANCELLED = frozenset({"13", "01"})


@dataclass(frozen=True)
class Voorziening:
    key: str  # aanbieder/ToewijzingNummer
    categorie: str
    start: dt.date
    end: dt.date | None
    budget: int | None = None  # euro-cents, the toegewezen product's Budget


@dataclass(frozen=True)
class Kostprijs:
    """EbKostprijs: the kostprijs of a hulpmiddel or woningaanpassing (euro-cents) from its
    start; the CAK collects no more eigen bijdrage for it than this."""

    bedrag: int
    startdatum: dt.date


def _date(value: str | None) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


def from_301(data: dict[str, Any]) -> list[Voorziening]:
    aanbieder = data["Header"]["Ontvanger"]
    out = []
    for product in data["Client"]["ToegewezenProducten"]["ToegewezenProduct"]:
        if product.get("RedenWijziging") in CANCELLED:
            continue
        start = _date(product["Ingangsdatum"])
        end = _date(product.get("Einddatum"))
        if start is None or (end is not None and end < start):
            continue
        categorie = product.get("Product", {}).get("Categorie", "")
        budget = int(product["Budget"]) if product.get("Budget") else None
        key = f"{aanbieder}/{product['ToewijzingNummer']}"
        out.append(Voorziening(key, categorie, start, end, budget))
    return out


def starts_305(data: dict[str, Any]) -> list[tuple[str, str, dt.date | None, bool]]:
    """(key, categorie, Begindatum, withdrawn) per StartProduct."""
    aanbieder = data["Header"]["Afzender"]
    return [
        (
            f"{aanbieder}/{p['ToewijzingNummer']}",
            p.get("Product", {}).get("Categorie", ""),
            _date(p.get("Begindatum")),
            p.get("StatusAanlevering") == "3",
        )
        for p in data["Client"]["StartProducten"]["StartProduct"]
    ]


def stops_307(data: dict[str, Any]) -> list[tuple[str, dt.date | None, bool]]:
    """(key, Einddatum, withdrawn) per StopProduct."""
    aanbieder = data["Header"]["Afzender"]
    return [
        (
            f"{aanbieder}/{p['ToewijzingNummer']}",
            _date(p.get("Einddatum")),
            p.get("StatusAanlevering") == "3",
        )
        for p in data["Client"]["StopProducten"]["StopProduct"]
    ]


@dataclass(frozen=True)
class Periode:
    start: dt.date
    stop: dt.date | None


@dataclass(frozen=True)
class Aanlevering:
    """One WMO405/407: the state of one start (EbStartNummer) as the CAK should know it."""

    message: Message
    gemeente: str
    bsn: str
    nummer: int
    periode: Periode
    status: str  # 1 eerste, 2 gewijzigd, 3 verwijderen
    kostprijs: Kostprijs | None = None  # WMO405 only

    @property
    def name(self) -> str:
        start = self.periode.start.isoformat()
        stop = self.periode.stop.isoformat() if self.periode.stop else "open"
        name = f"{self.message.code}-{self.nummer}-{self.status}-{start}-{stop}"
        if self.kostprijs is not None:
            name += f"-k{self.kostprijs.bedrag}-{self.kostprijs.startdatum.isoformat()}"
        return name


def to_message(aanlevering: Aanlevering, identificatie: str, today: dt.date) -> bytes:
    message = aanlevering.message
    bijdrage: dict[str, Any] = {
        "EbStartNummer": str(aanlevering.nummer),
        "EbStartdatum": aanlevering.periode.start.isoformat(),
    }
    if aanlevering.periode.stop is not None:
        bijdrage["EbStopdatum"] = aanlevering.periode.stop.isoformat()
    if aanlevering.kostprijs is not None:
        bijdrage["EbKostprijs"] = {
            "KostprijsBedrag": str(aanlevering.kostprijs.bedrag),
            "KostprijsStartdatum": aanlevering.kostprijs.startdatum.isoformat(),
        }
    bijdrage["StatusAanlevering"] = aanlevering.status
    data = {
        "Header": {
            "BerichtCode": message.berichtcode,
            "BerichtVersie": BERICHT_VERSIE,
            "BerichtSubversie": BERICHT_SUBVERSIE,
            "Afzender": aanlevering.gemeente,
            "BerichtIdentificatie": {
                "Identificatie": identificatie,
                "Dagtekening": today.isoformat(),
            },
            "XsdVersie": xsd_versions(message),
        },
        "Client": {"Bsn": aanlevering.bsn, KLASSE[message.code]: bijdrage},
    }
    return encode_message(message, data)
