"""Rules on iPgb messages (after the XSD). Codes: iPgb's retourcode list is not public; rules
that mirror a documented OP rule carry its name, the others are ours (IPnn), all with
retourcode 0001 (message rejected) as iStandaarden use for content errors.

Toekenningsbericht (JW501), the full current state of one budget:

- CS002: every Bsn (budgethouder, relaties) passes the 11-proef.
- IP01: every period (budget, functiebudget) has Ingangsdatum <= Einddatum.
- IP02: every functiebudget lies within the budget's period.
- IP03: the budget's Bedrag is the sum of its functiebudgetten.
- IP04: within one zorgfunctie, functiebudgetten do not overlap.
- OP501: BudgetidentificatieOud names another budget (a new budget ends the old one).
- OP514: every Relatienummer occurs once.
- IP05: StatusAanlevering 1 only for a budget not sent before; 2 and 3 only for one sent before.
- IP06: no overlap per verstrekker within one zorgfunctiebudget: no other live budget of this
  gemeente for this budgethouder (except the one this replaces) covers the same zorgfunctie in
  an overlapping period.
- IP07: idempotent re-sends: a TKB equal to the last one sent for this budget (and not rejected
  by the SVB) changes nothing and is not sent again; after a rejection it may be.

Budgetafsluitbericht (JW507): IP01, IP08 (Toegekend and Besteed are the sums of the
functiebudgetten), IP09 (Besteed above Toegekend only with RedenAfsluiting 02).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from adapters.lib.istandaard.codec import decode_message
from adapters.lib.istandaard.messages import Message, recorded_root
from adapters.svb.catalogue import JW501
from gateway.adapter import Finding, State
from gateway.ledger import EARLIER
from gateway.logs import passes_elfproef

REJECTED_KEY = "ipgb.afgekeurd"
_CODE = "0001"


def _periode(p: dict[str, str]) -> tuple[dt.date, dt.date]:
    return dt.date.fromisoformat(p["Ingangsdatum"]), dt.date.fromisoformat(p["Einddatum"])


def _overlap(a: tuple[dt.date, dt.date], b: tuple[dt.date, dt.date]) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def _functiebudgetten(budget: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = budget["Functiebudgetten"]["Functiebudget"]
    return items


def _bsns(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    yield "Budgethouder", data["Budgethouder"]["Bsn"]
    for index, relatie in enumerate(data.get("Relaties", {}).get("Relatie", []), start=1):
        if "Bsn" in relatie:
            yield f"Relaties/Relatie[{index}]", relatie["Bsn"]


def earlier_budgets(state: Any, bsn: str, gemeente: str) -> dict[str, tuple[Any, dict[str, Any]]]:
    """Budgetidentificatie -> (entry, TKB) of the latest TKB per budget this gemeente sent for
    this budgethouder that the SVB did not reject."""
    latest: dict[str, tuple[Any, dict[str, Any]]] = {}
    entries = {e.message_id: e for e in state.find("bsn", bsn) if e.event in EARLIER}
    for entry in sorted(entries.values(), key=lambda e: e.seq):
        if entry.code != JW501.code or entry.sender != gemeente:
            continue
        root = recorded_root(state, entry.message_id)
        if root is None:
            continue
        data = decode_message(root, JW501)
        ident = data["Header"]["BerichtIdentificatie"]["Identificatie"]
        if state.find(REJECTED_KEY, ident):
            continue
        latest[data["Budget"]["Budgetidentificatie"]] = (entry, data)
    return latest


def _content(data: dict[str, Any]) -> tuple[Any, ...]:
    return (data["Budgethouder"], data.get("Relaties"), data["Budget"])


def check_toekenning(data: dict[str, Any], state: State) -> list[Finding]:
    """A TKB's findings: first what the message says of itself, then against the earlier
    toekenningen of the same budgethouder and gemeente."""
    return _toekenning_itself(data) + _toekenning_against_earlier(data, state)


def _hit(rule: str, path: str, text: str) -> Finding:
    return Finding(rule, _CODE, path, text)


def _toekenning_itself(data: dict[str, Any]) -> list[Finding]:
    found = [
        _hit("CS002", path, "Bsn does not pass the 11-proef")
        for path, bsn in _bsns(data)
        if not passes_elfproef(bsn)
    ]
    budget = data["Budget"]
    periode = _periode(budget["Periode"])
    if periode[0] > periode[1]:
        found.append(_hit("IP01", "Budget", "Ingangsdatum is after Einddatum"))
    found += _functiebudgetten_findings(budget, periode)
    if sum(int(item["Bedrag"]) for item in _functiebudgetten(budget)) != int(budget["Bedrag"]):
        found.append(_hit("IP03", "Budget", "Bedrag is not the sum of the functiebudgetten"))
    ident, old = budget["Budgetidentificatie"], budget.get("BudgetidentificatieOud")
    if old is not None and old == ident:
        found.append(_hit("OP501", "Budget", "BudgetidentificatieOud names this budget itself"))
    numbers = [r["Relatienummer"] for r in data.get("Relaties", {}).get("Relatie", [])]
    if len(numbers) != len(set(numbers)):
        found.append(_hit("OP514", "Relaties", "a Relatienummer occurs more than once"))
    return found


def _functiebudgetten_findings(
    budget: dict[str, Any], periode: tuple[dt.date, dt.date]
) -> list[Finding]:
    """Each functiebudget's period: in order, within the budget's, not overlapping another of
    the same zorgfunctie."""
    found: list[Finding] = []
    per_functie: dict[str, list[tuple[int, tuple[dt.date, dt.date]]]] = {}
    for index, item in enumerate(_functiebudgetten(budget), start=1):
        path = f"Budget/Functiebudgetten/Functiebudget[{index}]"
        own = _periode(item["Periode"])
        if own[0] > own[1]:
            found.append(_hit("IP01", path, "Ingangsdatum is after Einddatum"))
        if own[0] < periode[0] or own[1] > periode[1]:
            found.append(_hit("IP02", path, "the functiebudget lies outside the budget's period"))
        for other_index, other in per_functie.get(item["Zorgfunctie"], []):
            if _overlap(own, other):
                found.append(
                    _hit(
                        "IP04",
                        path,
                        f"overlaps Functiebudget[{other_index}] of the same zorgfunctie",
                    )
                )
        per_functie.setdefault(item["Zorgfunctie"], []).append((index, own))
    return found


def _toekenning_against_earlier(data: dict[str, Any], state: State) -> list[Finding]:
    budget = data["Budget"]
    ident, old = budget["Budgetidentificatie"], budget.get("BudgetidentificatieOud")
    earlier = earlier_budgets(state, data["Budgethouder"]["Bsn"], data["Header"]["Afzender"])
    if ident in earlier and _content(earlier[ident][1]) == _content(data):
        sent_as = earlier[ident][0].message_id
        return [
            _hit("IP07", "Budget", f"unchanged: the same toekenning was sent as message {sent_as}")
        ]
    found: list[Finding] = []
    status = budget["StatusAanlevering"]
    if status == "1" and ident in earlier:
        found.append(
            _hit("IP05", "Budget", "the budget was sent before: use StatusAanlevering 2 or 3")
        )
    if status in ("2", "3") and ident not in earlier:
        found.append(
            _hit("IP05", "Budget", "no earlier TKB for this budget: use StatusAanlevering 1")
        )
    if status != "3":
        others = [
            tkb["Budget"]
            for other_ident, (_, tkb) in earlier.items()
            if other_ident not in (ident, old) and tkb["Budget"]["StatusAanlevering"] != "3"
        ]
        found += _covered_elsewhere(budget, others)
    return found


def _covered_elsewhere(budget: dict[str, Any], others: list[dict[str, Any]]) -> list[Finding]:
    """IP06: a functiebudget whose zorgfunctie another budget covers in an overlapping period
    (once per such other functiebudget)."""
    found: list[Finding] = []
    for other in others:
        theirs = _functiebudgetten(other)
        for index, item in enumerate(_functiebudgetten(budget), start=1):
            for their in theirs:
                if item["Zorgfunctie"] == their["Zorgfunctie"] and _overlap(
                    _periode(item["Periode"]), _periode(their["Periode"])
                ):
                    found.append(
                        _hit(
                            "IP06",
                            f"Budget/Functiebudgetten/Functiebudget[{index}]",
                            "another budget covers this zorgfunctie in an overlapping period",
                        )
                    )
    return found


def check_afsluiting(data: dict[str, Any]) -> list[Finding]:
    found: list[Finding] = []
    budget = data["Budget"]
    items = _functiebudgetten(budget)
    periode = _periode(budget["Periode"])
    if periode[0] > periode[1]:
        found.append(Finding("IP01", _CODE, "Budget", "Ingangsdatum is after Einddatum"))
    for index, item in enumerate(items, start=1):
        own = _periode(item["Periode"])
        if own[0] > own[1]:
            path = f"Budget/Functiebudgetten/Functiebudget[{index}]"
            found.append(Finding("IP01", _CODE, path, "Ingangsdatum is after Einddatum"))
    for name in ("Toegekend", "Besteed"):
        if sum(int(i[name]) for i in items) != int(budget[name]):
            found.append(
                Finding("IP08", _CODE, "Budget", f"{name} is not the sum of the functiebudgetten")
            )
    if int(budget["Besteed"]) > int(budget["Toegekend"]) and budget["RedenAfsluiting"] != "02":
        found.append(
            Finding(
                "IP09", _CODE, "Budget", "Besteed exceeds Toegekend; RedenAfsluiting must be 02"
            )
        )
    return found


def check(message: Message, data: dict[str, Any], state: State) -> list[Finding]:
    if message.code == "JW501":
        return check_toekenning(data, state)
    if message.code == "JW507":
        return check_afsluiting(data)
    return []
