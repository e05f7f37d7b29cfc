"""iPgb messages as monitor facts (``gateway/ops/facts.py``): one provision (``PGB``) per
functiebudget of a budget's latest toekenning.

- JW501 (TKB, always the full current state): the latest TKB per Budgetidentificatie of a
  gemeente counts; StatusAanlevering 3 (intrekking) removes the budget; a budget naming a
  BudgetidentificatieOud ends the old one the day before it begins (OP501). Category: the
  Zorgfunctie; no product code; provider: the SVB, which administers the budget; granted: the
  functiebudget's Bedrag; decision date: the TKB's Dagtekening (so its registration lag is
  known only for a TKB the gateway received, not for an imported one). The client is the keyed
  hash of the budgethouder's Bsn, the household of its Contactadres.
- JW507 (BAB): Besteed per functiebudget is the claim on it (from the functiebudget's start).

A pgb has no start message: time to start and start lag stay empty for PGB.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from lxml import etree

from adapters.lib.istandaard.codec import decode_message
from adapters.svb.catalogue import CATALOGUE, SVB
from gateway.provisions import Accepted, Claim, Provision, household_key

FUNDING = "PGB"

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)


def _day(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value)[:10])


class SvbFolder:
    def __init__(
        self, hash_client: Callable[[str], str], hash_address: Callable[[str], str]
    ) -> None:
        self.hash_client = hash_client
        self.hash_address = hash_address
        self._budgets: dict[tuple[str, str], tuple[dict[str, Any], dt.date | None]] = {}
        self._spent: dict[tuple[str, str, str, str], int] = {}

    def add(self, message: Accepted) -> None:
        if message.code not in ("JW501", "JW507"):
            return
        data = decode_message(etree.fromstring(message.body, _PARSER), CATALOGUE[message.code])
        budget = data.get("Budget", {})
        ident = str(budget.get("Budgetidentificatie"))
        if message.code == "JW501":
            # the decision's date is the Dagtekening: only the gateway's arrival tells a lag
            self._budgets[(message.sender, ident)] = (data, message.arrived)
            return
        for item in budget.get("Functiebudgetten", {}).get("Functiebudget", []):
            begin = str(item["Periode"]["Ingangsdatum"])
            key = (message.receiver, ident, str(item["Zorgfunctie"]), begin)
            self._spent[key] = int(item.get("Besteed") or 0)

    def provisions(self) -> list[Provision]:
        ends: dict[tuple[str, str], dt.date] = {}
        for (gemeente, _), (data, _) in self._budgets.items():
            old = data["Budget"].get("BudgetidentificatieOud")
            if old is not None:
                begin = _day(data["Budget"]["Periode"]["Ingangsdatum"])
                ends[(gemeente, str(old))] = begin - dt.timedelta(days=1)
        out = []
        for (gemeente, ident), (data, arrived) in self._budgets.items():
            budget = data["Budget"]
            if str(budget.get("StatusAanlevering")) == "3":
                continue
            holder = data["Budgethouder"]
            adres = holder.get("Contactadres") or {}
            address = household_key(
                str(adres.get("Postcode") or ""),
                str(adres.get("Huisnummer") or ""),
                str(adres.get("Huisletter") or ""),
                str(adres.get("HuisnummerToevoeging") or ""),
            )
            decided = _day(data["Header"]["BerichtIdentificatie"]["Dagtekening"])
            for item in budget["Functiebudgetten"]["Functiebudget"]:
                begin, end = (
                    _day(item["Periode"]["Ingangsdatum"]),
                    _day(item["Periode"]["Einddatum"]),
                )
                if (gemeente, ident) in ends:
                    end = min(end, ends[(gemeente, ident)])
                if end < begin:
                    continue
                zorgfunctie = str(item["Zorgfunctie"])
                spent = self._spent.get((gemeente, ident, zorgfunctie, str(begin)))
                out.append(
                    Provision(
                        key=f"{gemeente}/{ident}/{zorgfunctie}/{begin}",
                        authority=gemeente,
                        provider=SVB,
                        category=zorgfunctie,
                        product="",
                        funding=FUNDING,
                        begin=begin,
                        end=end,
                        client=self.hash_client(str(holder["Bsn"])),
                        household=self.hash_address(address) if address else None,
                        decided_on=decided,
                        decided_lag=(arrived - decided).days if arrived else None,
                        granted_cents=int(item["Bedrag"]),
                        claims=(Claim(begin, 0, spent),) if spent is not None else (),
                    )
                )
        return out
