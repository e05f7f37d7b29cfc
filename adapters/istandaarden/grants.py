"""The toewijzingen an aanbieder received (capability ``Grants``, ``GET /v1/toewijzingen``):
the current version of each (IV013, as :class:`History` derives it) from the accepted 301s the
aanbieder received for one client, so its systems can ask what they may start or declare before
sending. Names, addresses and the BSN itself are never part of the answer.
"""

from __future__ import annotations

import datetime as dt

from adapters.istandaarden.catalogue import STANDARDS
from adapters.istandaarden.engine import get
from adapters.istandaarden.history import History, Toewijzing
from gateway.adapter import Grant, State


def received(
    state: State,
    aanbieder: str,
    bsn: str,
    gemeente: str | None,
    productcode: str | None,
    today: dt.date,
) -> list[Grant]:
    out: list[Grant] = []
    for standard in STANDARDS:
        history = History(state, standard)
        pairs = {
            (grantor, holder)
            for grantor, holder in history.granting_parties(bsn)
            if holder == aanbieder and gemeente in (None, grantor)
        }
        for grantor, holder in sorted(pairs):
            for t in history.toewijzingen_of_client(bsn, grantor, holder):
                if productcode is None or covers(t, productcode):
                    out.append(_grant(t, standard, today))
    return out


def covers(t: Toewijzing, productcode: str) -> bool:
    """Whether the toewijzing allows ``productcode``: its own code, or, granted as a whole
    categorie (no code), any product of that categorie (a product code begins with it)."""
    if t.code is not None:
        return t.code == productcode
    return t.categorie is not None and productcode.startswith(t.categorie)


def _grant(t: Toewijzing, standard: str, today: dt.date) -> Grant:
    if t.deleted:
        status = "withdrawn"
    elif t.einddatum is not None and dt.date.fromisoformat(t.einddatum) < today:
        status = "ended"
    else:
        status = "current"
    scope = {
        name.lower(): str(value)
        for name, value in (
            ("Volume", get(t.product, "Omvang/Volume")),
            ("Eenheid", get(t.product, "Omvang/Eenheid")),
            ("Frequentie", get(t.product, "Omvang/Frequentie")),
            ("Budget", t.product.get("Budget")),
        )
        if value is not None
    }
    return Grant(
        number=t.nummer,
        standard=standard,
        grantor=t.gemeente,
        holder=t.aanbieder,
        product=t.code,
        category=t.categorie,
        starts=t.ingangsdatum,
        ends=t.einddatum,
        status=status,
        scope=scope,
        granted_on=str(t.product.get("Toewijzingsdatum", "")),
    )
