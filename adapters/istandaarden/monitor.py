"""iWmo/iJw monitor facts (``gateway/ops/facts.py``) from the adapter's domain tables
(``domain.py``; no payload is read): one provision per ToegewezenProduct (zorg in natura,
``ZIN``), with its start and stop and what was declared on it.

- 301 (table ``toewijzing``): the latest version of each ToewijzingNummer of a gemeente (newest
  Toewijzingsdatum and -tijd, then the later message: IV013) gives the product, period and
  granted Omvang/Budget; a version with RedenWijziging 13 deletes the toewijzing (no
  provision). The decision date is the first version's Toewijzingsdatum; the client is the
  keyed hash of the Bsn (column ``bsn``), the household the keyed hash of the first address in
  Contactgegevens (Soort 01 first): postcode, huisnummer, huisletter and toevoeging (column
  ``adres``, hashed as ``address:<household key>``).
- 305 (``start``): the earliest current start (StatusAanlevering 1; a 3 withdraws the start with
  the same Begindatum) is when delivery started.
- 307 (``stop``): the latest current stop ends the provision on its Einddatum, unless a current
  start begins after it (a temporary stop followed by a new start). The provision ends on the
  earlier of the toewijzing's Einddatum and that stop.
- 323 (``prestatie``): every prestatie on the toewijzing is a claim for its ProductPeriode's
  Begindatum (the IngediendBedrag, negative for a credit); what a 325 rejected is still counted
  (submitted).

Registration lag: days between the date in the message (Toewijzingsdatum, Begindatum) and the
day the gateway received the message; for an imported message (exchanged before the gateway)
its Dagtekening stands in for the day it arrived.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from adapters.istandaarden.domain import PRESTATIE, START, STOP, TOEWIJZING
from gateway.description import Table
from gateway.provisions import Claim, Provision, Row, arrived

FUNDING = "ZIN"


def _day(value: object) -> dt.date | None:
    return dt.date.fromisoformat(str(value)[:10]) if value else None


def _arrived(row: Row) -> dt.date | None:
    return arrived(row) or _day(row["dagtekening"])


def _key(row: Row, party: str) -> tuple[str, str, str]:
    """By (standard, gemeente, ToewijzingNummer): a number is unique within one legal domain
    (TR332), iWmo and iJw may share it."""
    return (str(row["standard"]), str(row[party]), str(row["nummer"]))


@dataclass
class _Grant:
    order: tuple[str, str, int]
    row: Row  # the latest version's
    decided_on: dt.date
    decided_lag: int | None


class IStandaardenFolder:
    """Folds the rows of accepted iWmo/iJw messages into provisions (see the module's
    docstring)."""

    def __init__(self) -> None:
        self._grants: dict[tuple[str, str, str], _Grant] = {}
        # Starts, stops and claims may name a toewijzing before its 301 is read (an import's
        # order, or the tables read one after the other): kept by key, joined in provisions().
        self._starts: dict[tuple[str, str, str], dict[dt.date, int | None]] = {}
        self._stops: dict[tuple[str, str, str], dict[dt.date, dt.date]] = {}
        self._claims: dict[tuple[str, str, str], list[Claim]] = {}

    def tables(self) -> Sequence[Table]:
        return (TOEWIJZING, START, STOP, PRESTATIE)

    def add(self, table: Table, row: Row) -> None:
        if table is TOEWIJZING:
            self._toewijzing(row)
        elif table is START:
            self._start(row)
        elif table is STOP:
            self._stop(row)
        elif table is PRESTATIE:
            self._prestatie(row)

    def _toewijzing(self, row: Row) -> None:
        key = _key(row, "sender")
        order = (str(row["toewijzingsdatum"] or ""), str(row["toewijzingstijd"] or ""), row["seq"])
        earlier = self._grants.get(key)
        if earlier is not None and order < earlier.order:
            return
        if earlier is None:
            decided = _day(row["toewijzingsdatum"]) or dt.date.min
            came = _arrived(row)
            earlier = _Grant(order, row, decided, (came - decided).days if came else None)
        self._grants[key] = _Grant(order, row, earlier.decided_on, earlier.decided_lag)

    def _start(self, row: Row) -> None:
        begin = _day(row["begindatum"])
        if row["nummer"] is None or begin is None:
            return
        starts = self._starts.setdefault(_key(row, "receiver"), {})
        if str(row["status"]) == "3":
            starts.pop(begin, None)
        else:
            came = _arrived(row)
            starts[begin] = (came - begin).days if came is not None else None

    def _stop(self, row: Row) -> None:
        begin = _day(row["begindatum"])
        if row["nummer"] is None or begin is None:
            return
        stops = self._stops.setdefault(_key(row, "receiver"), {})
        end = _day(row["einddatum"])
        if str(row["status"]) == "3":
            stops.pop(begin, None)
        elif end is not None:
            stops[begin] = end

    def _prestatie(self, row: Row) -> None:
        begin = _day(row["begin"])
        if begin is None:
            return
        sign = -1 if row["credit"] else 1
        claim = Claim(begin, sign * int(row["volume"] or 0), sign * int(row["bedrag"] or 0))
        key = (str(row["standard"]), str(row["receiver"]), str(row["toewijzing"]))
        self._claims.setdefault(key, []).append(claim)

    def provisions(self) -> list[Provision]:
        out = []
        for key, grant in self._grants.items():
            row = grant.row
            if row["reden_wijziging"] == "13":
                continue
            begin = _day(row["ingangsdatum"])
            if begin is None:
                continue
            end = _day(row["einddatum"])
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
                    authority=key[1],
                    provider=str(row["receiver"]),
                    category=str(row["categorie"] or ""),
                    product=str(row["code"] or ""),
                    funding=FUNDING,
                    begin=begin,
                    end=end,
                    client=str(row["bsn"]),
                    household=row["adres"],
                    decided_on=grant.decided_on,
                    decided_lag=grant.decided_lag,
                    started_on=started,
                    start_lag=starts.get(started) if started is not None else None,
                    stopped_on=stopped,
                    granted_volume=int(row["volume"] or 0),
                    granted_cents=int(row["budget"] or 0),
                    claims=tuple(self._claims.get(key, ())),
                )
            )
        return out
