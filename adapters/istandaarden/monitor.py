"""iWmo/iJw messages as monitor facts (``gateway/ops/facts.py``): one provision per
ToegewezenProduct (zorg in natura, ``ZIN``), with its start and stop and what was declared on it.

- 301: the latest version of each ToewijzingNummer of a gemeente (newest Toewijzingsdatum and
  -tijd, then the later message: IV013) gives the product, period and granted Omvang/Budget; a
  version with RedenWijziging 13 deletes the toewijzing (no provision). The decision date is the
  first version's Toewijzingsdatum; the client is the keyed hash of the Bsn, the household the
  keyed hash of the first address in Contactgegevens (Soort 01 first): postcode, huisnummer,
  huisletter and toevoeging.
- 305: the earliest current start (StatusAanlevering 1; a 3 withdraws the start with the same
  Begindatum) is when delivery started.
- 307: the latest current stop ends the provision on its Einddatum, unless a current start
  begins after it (a temporary stop followed by a new start). The provision ends on the earlier
  of the toewijzing's Einddatum and that stop.
- 323: every prestatie on the toewijzing is a claim for its ProductPeriode's Begindatum (the
  IngediendBedrag, negative for a credit); what a 325 rejected is still counted (submitted).

Registration lag: days between the date in the message (Toewijzingsdatum, Begindatum) and the
day the gateway received the message; for an imported message (exchanged before the gateway)
its Dagtekening stands in for the day it arrived.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from adapters.istandaarden.catalogue import by_code
from adapters.istandaarden.engine import get
from adapters.lib.istandaard.codec import decode_message
from gateway.provisions import Accepted, Claim, Provision, household_key

FUNDING = "ZIN"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def _day(value: Any) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def address_text(adres: dict[str, Any]) -> str | None:
    """The household key of an address: postcode, huisnummer, huisletter, toevoeging."""
    huis = adres.get("Huis") or {}
    return household_key(
        str(adres.get("Postcode") or ""),
        str(huis.get("Huisnummer") or ""),
        str(huis.get("Huisletter") or ""),
        str(huis.get("HuisnummerToevoeging") or ""),
    )


def _address(client: dict[str, Any]) -> str | None:
    contacts = get(client, "Contactgegevens/Contact") or []
    ordered = sorted(contacts, key=lambda c: c.get("Soort") != "01")
    for contact in ordered:
        if contact.get("Adres"):
            found = address_text(contact["Adres"])
            if found:
                return found
    return None


@dataclass
class _Grant:
    gemeente: str
    aanbieder: str
    nummer: str
    client: str
    household: str | None
    order: tuple[str, str, int]
    product: dict[str, Any]
    decided_on: dt.date
    decided_lag: int | None
    starts: dict[dt.date, int | None] = field(default_factory=dict)
    stops: dict[dt.date, dt.date] = field(default_factory=dict)
    claims: list[Claim] = field(default_factory=list)


class IStandaardenFolder:
    """Folds accepted iWmo/iJw messages into provisions (see the module's docstring)."""

    def __init__(
        self, hash_client: Callable[[str], str], hash_address: Callable[[str], str]
    ) -> None:
        self.hash_client = hash_client
        self.hash_address = hash_address
        self._grants: dict[tuple[str, str, str], _Grant] = {}
        # By (standard, gemeente, ToewijzingNummer): a number is unique within one legal domain
        # (TR332), iWmo and iJw may share it. Starts, stops and claims may name a toewijzing
        # before its 301 is read (an import's order): kept by key, joined in provisions().
        self._starts: dict[tuple[str, str, str], dict[dt.date, int | None]] = {}
        self._stops: dict[tuple[str, str, str], dict[dt.date, dt.date]] = {}
        self._claims: dict[tuple[str, str, str], list[Claim]] = {}
        self._count = 0

    def add(self, message: Accepted) -> None:
        try:
            bericht = by_code(message.code)
        except KeyError:
            return
        if bericht.number not in (301, 305, 307, 323):
            return
        self._count += 1
        data = decode_message(etree.fromstring(message.body, _PARSER), bericht)
        header = data.get("Header", {})
        arrived = message.arrived or _day(get(header, "BerichtIdentificatie/Dagtekening"))
        if bericht.number == 301:
            self._toewijzing(message, data, arrived)
        elif bericht.number == 305:
            self._regie(message, data, arrived, "StartProducten/StartProduct")
        elif bericht.number == 307:
            self._regie(message, data, arrived, "StopProducten/StopProduct")
        else:
            self._declaratie(message, data)

    def _toewijzing(self, message: Accepted, data: dict[str, Any], arrived: dt.date | None) -> None:
        client = data.get("Client", {})
        bsn = str(client.get("Bsn", ""))
        address = _address(client)
        for product in get(client, "ToegewezenProducten/ToegewezenProduct") or []:
            nummer = str(product.get("ToewijzingNummer"))
            key = (message.standard, message.sender, nummer)
            order = (
                str(product.get("Toewijzingsdatum", "")),
                str(product.get("Toewijzingstijd", "")),
                self._count,
            )
            decided = _day(product.get("Toewijzingsdatum")) or dt.date.min
            earlier = self._grants.get(key)
            if earlier is not None and order < earlier.order:
                continue
            self._grants[key] = _Grant(
                gemeente=message.sender,
                aanbieder=message.receiver,
                nummer=nummer,
                client=self.hash_client(bsn),
                household=self.hash_address(address) if address else None,
                order=order,
                product=product,
                decided_on=earlier.decided_on if earlier else decided,
                decided_lag=(
                    earlier.decided_lag
                    if earlier
                    else (arrived - decided).days
                    if arrived is not None
                    else None
                ),
            )

    def _regie(
        self, message: Accepted, data: dict[str, Any], arrived: dt.date | None, path: str
    ) -> None:
        stop = path.startswith("Stop")
        for item in get(data.get("Client", {}), path) or []:
            nummer = item.get("ToewijzingNummer")
            begin = _day(item.get("Begindatum"))
            if nummer is None or begin is None:
                continue
            key = (message.standard, message.receiver, str(nummer))
            withdraw = str(item.get("StatusAanlevering")) == "3"
            if stop:
                stops = self._stops.setdefault(key, {})
                end = _day(item.get("Einddatum"))
                if withdraw:
                    stops.pop(begin, None)
                elif end is not None:
                    stops[begin] = end
            else:
                starts = self._starts.setdefault(key, {})
                if withdraw:
                    starts.pop(begin, None)
                else:
                    starts[begin] = (arrived - begin).days if arrived is not None else None

    def _declaratie(self, message: Accepted, data: dict[str, Any]) -> None:
        for client in get(data, "Declaratie/Clienten/Client") or []:
            for p in get(client, "Prestaties/Prestatie") or []:
                begin = _day(get(p, "ProductPeriode/Begindatum"))
                if begin is None:
                    continue
                sign = -1 if get(p, "IngediendBedrag/DebetCredit") == "C" else 1
                claim = Claim(
                    begin,
                    sign * int(p.get("GeleverdVolume") or 0),
                    sign * int(get(p, "IngediendBedrag/Bedrag") or 0),
                )
                key = (message.standard, message.receiver, str(p.get("ToewijzingNummer")))
                self._claims.setdefault(key, []).append(claim)

    def provisions(self) -> list[Provision]:
        out = []
        for key, grant in self._grants.items():
            product = grant.product
            if product.get("RedenWijziging") == "13":
                continue
            begin = _day(product.get("Ingangsdatum"))
            if begin is None:
                continue
            end = _day(product.get("Einddatum"))
            starts = self._starts.get(key, {})
            started = min(starts) if starts else None
            stops = self._stops.get(key, {})
            stopped = None
            if stops:
                last = max(stops.values())
                if not any(s > last for s in starts):
                    stopped = last
                    end = min(end, last) if end is not None else last
            out.append(
                Provision(
                    key="/".join(key),
                    authority=grant.gemeente,
                    provider=grant.aanbieder,
                    category=str(get(product, "Product/Categorie") or ""),
                    product=str(get(product, "Product/Code") or ""),
                    funding=FUNDING,
                    begin=begin,
                    end=end,
                    client=grant.client,
                    household=grant.household,
                    decided_on=grant.decided_on,
                    decided_lag=grant.decided_lag,
                    started_on=started,
                    start_lag=starts.get(started) if started is not None else None,
                    stopped_on=stopped,
                    granted_volume=int(get(product, "Omvang/Volume") or 0),
                    granted_cents=int(product.get("Budget") or 0),
                    claims=tuple(self._claims.get(key, ())),
                )
            )
        return out
