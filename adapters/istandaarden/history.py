"""The earlier messages rules may need (toewijzingen, starts, stops, verzoeken, declaraties), read
from the adapter's domain tables (``domain.py``) through the :class:`gateway.adapter.State`
protocol: ``domain_rows(table, column, values)``, which the ledger answers with an indexed query
for a chunk of values at once; the payloads of earlier messages are never read again, so the
rules keep working after retention erased them.

Only accepted earlier messages count (verdict entry ``validated``, or ``imported`` for what was
exchanged before the gateway: ``gateway.ledger.EARLIER``), of the same standard; a declaratie
the rules rejected is still found by the declaratie-antwoord that answers it. BSNs are compared
as the ledger's keyed hash (:meth:`History.subject`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from adapters.istandaarden.catalogue import by_code
from adapters.istandaarden.domain import (
    ANTWOORD,
    DECLARATIE,
    DECLARATIE_ANTWOORD,
    PRESTATIE,
    START,
    STOP,
    TOEWIJZING,
    VERZOEK,
)
from gateway.adapter import State
from gateway.description import Table
from gateway.ledger import EARLIER, Event

_ACCEPTED = frozenset(e.value for e in EARLIER)
_RECEIVED = _ACCEPTED | {Event.REJECTED.value}
# Lookups kept per check beside the prefetched chunk (a large declaratie: flat memory).
_KEPT = 8192


@dataclass(frozen=True)
class Earlier:
    """An earlier message (its verdict entry's ``seq``)."""

    message_id: str
    seq: int
    sender: str
    receiver: str


@dataclass(frozen=True)
class Toewijzing:
    """One version of one ToegewezenProduct (the latest: IV013, newest Toewijzingsdatum/-tijd).
    ``bsn`` is the keyed hash; ``product`` the fields the rules compare, as the message has
    them."""

    nummer: str
    gemeente: str
    aanbieder: str
    bsn: str | None
    product: dict[str, Any]
    seq: int = 0

    @property
    def ingangsdatum(self) -> str:
        return str(self.product.get("Ingangsdatum", ""))

    @property
    def einddatum(self) -> str | None:
        value = self.product.get("Einddatum")
        return str(value) if value is not None else None

    @property
    def categorie(self) -> str | None:
        return self.product.get("Product", {}).get("Categorie")

    @property
    def code(self) -> str | None:
        return self.product.get("Product", {}).get("Code")

    @property
    def deleted(self) -> bool:
        return self.product.get("RedenWijziging") == "13"


@dataclass(frozen=True)
class Prestatie:
    """The facts of one earlier prestatie that rules compare against."""

    message_id: str
    seq: int
    sender: str
    referentie: str
    vorige: str | None
    toewijzing: str
    categorie: str
    code: str
    begin: str
    eind: str
    volume: int
    eenheid: str
    bedrag: int
    credit: bool


@dataclass(frozen=True)
class Declaratie:
    """An earlier declaratie (323), accepted or rejected by the rules."""

    earlier: Earlier
    identificatie: str
    dagtekening: str | None
    nummer: str | None
    xsd: dict[str, str]


_PRODUCT = (
    ("Ingangsdatum", "ingangsdatum"),
    ("Einddatum", "einddatum"),
    ("Toewijzingsdatum", "toewijzingsdatum"),
    ("Toewijzingstijd", "toewijzingstijd"),
    ("RedenWijziging", "reden_wijziging"),
    ("ReferentieAanbieder", "referentie_aanbieder"),
    ("Budget", "budget"),
)


def _product(row: Mapping[str, Any]) -> dict[str, Any]:
    """A ToegewezenProduct's compared fields, in the canonical dict's form."""
    out = {name: row[column] for name, column in _PRODUCT if row[column] is not None}
    product = _present(("Categorie", row["categorie"]), ("Code", row["code"]))
    if product:
        out["Product"] = product
    omvang = _present(
        ("Volume", row["volume"]), ("Eenheid", row["eenheid"]), ("Frequentie", row["frequentie"])
    )
    if omvang:
        out["Omvang"] = omvang
    return out


def regie_product(row: Mapping[str, Any]) -> dict[str, Any]:
    """A Start- or StopProduct's key fields, in the canonical dict's form (``regie_key``)."""
    out: dict[str, Any] = {"ToewijzingNummer": row["nummer"]}
    product = _present(("Categorie", row["categorie"]), ("Code", row["code"]))
    if product:
        out["Product"] = product
    out.update(_present(("Begindatum", row["begindatum"]), ("StatusAanlevering", row["status"])))
    if "reden" in row:
        out.update(_present(("Einddatum", row["einddatum"]), ("RedenBeeindiging", row["reden"])))
    return out


def _present(*pairs: tuple[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in pairs if v is not None}


def _toewijzing(nummer: str, row: Mapping[str, Any]) -> Toewijzing:
    return Toewijzing(
        nummer, row["sender"], row["receiver"], row["bsn"], _product(row), int(row["seq"])
    )


def _earlier(row: Mapping[str, Any]) -> Earlier:
    return Earlier(row["message_id"], int(row["seq"]), row["sender"], row["receiver"])


def _prestatie(row: Mapping[str, Any]) -> Prestatie:
    return Prestatie(
        message_id=row["message_id"],
        seq=int(row["seq"]),
        sender=row["sender"],
        referentie=str(row["referentie"]),
        vorige=row["vorige"],
        toewijzing=str(row["toewijzing"]),
        categorie=str(row["categorie"]),
        code=str(row["code"]),
        begin=str(row["begin"]),
        eind=str(row["eind"]),
        volume=int(row["volume"]),
        eenheid=str(row["eenheid"]),
        bedrag=int(row["bedrag"]),
        credit=bool(row["credit"]),
    )


class History:
    """Earlier messages of one standard, as the rules ask for them."""

    def __init__(self, state: State | None, standard: str, exclude: str | None = None) -> None:
        self.state = state
        self.standard = standard
        self.exclude = exclude  # the message being checked itself, if already recorded
        # Rows by (table, column, value): the prefetched chunk, then what was asked beside it.
        self._rows: dict[tuple[str, str, str], list[Mapping[str, Any]]] = {}

    def subject(self, bsn: Any) -> str | None:
        """The keyed hash a BSN is kept under (None for none)."""
        if bsn is None or self.state is None:
            return None
        return self.state.personal(str(bsn))

    def prefetch(self, keys: Mapping[tuple[Table, str], Iterable[str]]) -> None:
        """Fetch the rows the rules will ask next, one query per (table, column) for a chunk
        of values; kept until the next prefetch (lookups outside it ask one by one)."""
        if self.state is None:
            return
        self._rows = {}
        for (table, column), values in keys.items():
            wanted = sorted({str(v) for v in values})
            self._fetch(table, column, wanted)

    def _fetch(self, table: Table, column: str, values: list[str]) -> None:
        assert self.state is not None
        found: dict[str, list[Mapping[str, Any]]] = {v: [] for v in values}
        hashed = {self.state.personal(v): v for v in values} if column in table.personal else {}
        for row in self.state.domain_rows(table, column, values):
            key = str(row[column])
            found.setdefault(hashed.get(key, key), []).append(row)
        for value, rows in found.items():
            self._rows[(table.name, column, value)] = rows

    def rows(
        self, table: Table, column: str, value: Any, events: frozenset[str] = _ACCEPTED
    ) -> list[Mapping[str, Any]]:
        """Rows of earlier messages of this standard whose ``column`` is ``value``."""
        if self.state is None or value is None:
            return []
        key = (table.name, column, str(value))
        found = self._rows.get(key)
        if found is None:
            if len(self._rows) >= _KEPT:
                self._rows.clear()
            self._fetch(table, column, [str(value)])
            found = self._rows.get(key)
        if not found:
            return []
        return [
            r
            for r in found
            if r["event"] in events
            and r["standard"] == self.standard
            and r["message_id"] != self.exclude
        ]

    # -- by business key in the ledger's index (no payload) -----------------------------------

    def accepted(self, key: str, value: str, numbers: Iterable[int]) -> list[Earlier]:
        """Accepted earlier messages indexed under ``key = value`` with one of ``numbers``."""
        if self.state is None:
            return []
        wanted = set(numbers)
        found: dict[str, Earlier] = {}
        for entry in self.state.find(key, value):
            if str(getattr(entry, "event", "")) not in _ACCEPTED:
                continue
            if entry.message_id == self.exclude or entry.standard != self.standard:
                continue
            try:
                bericht = by_code(entry.code)
            except KeyError:
                continue
            if bericht.number in wanted and bericht.standard == self.standard:
                found.setdefault(
                    entry.message_id,
                    Earlier(entry.message_id, entry.seq, entry.sender, entry.receiver),
                )
        return sorted(found.values(), key=lambda e: e.seq)

    # -- toewijzingen -------------------------------------------------------------------------

    def toewijzing_versions(self, nummer: str) -> Iterator[Toewijzing]:
        for row in self.rows(TOEWIJZING, "nummer", nummer):
            yield _toewijzing(nummer, row)

    def toewijzing(
        self, nummer: str, gemeente: str | None = None, aanbieder: str | None = None
    ) -> Toewijzing | None:
        """The latest version of toewijzing ``nummer`` of ``gemeente`` (to ``aanbieder``)."""
        best: tuple[tuple[str, str, int], Mapping[str, Any]] | None = None
        for row in self.rows(TOEWIJZING, "nummer", nummer):
            if gemeente is not None and row["sender"] != gemeente:
                continue
            if aanbieder is not None and row["receiver"] != aanbieder:
                continue
            datum, tijd = row["toewijzingsdatum"], row["toewijzingstijd"]
            order = (
                "" if datum is None else str(datum),
                "" if tijd is None else str(tijd),
                int(row["seq"]),
            )
            if best is None or order >= best[0]:
                best = (order, row)
        return _toewijzing(nummer, best[1]) if best else None

    def toewijzingen_of_client(self, bsn: str, gemeente: str, aanbieder: str) -> list[Toewijzing]:
        """Latest version of every toewijzing of this client between these two parties."""
        numbers = {
            str(row["nummer"])
            for row in self.rows(TOEWIJZING, "bsn", bsn)
            if row["sender"] == gemeente and row["receiver"] == aanbieder
        }
        found = [self.toewijzing(n, gemeente, aanbieder) for n in sorted(numbers)]
        return [t for t in found if t is not None]

    def granting_parties(self, bsn: str) -> set[tuple[str, str]]:
        """(gemeente, aanbieder) of every toewijzing of this client."""
        return {(row["sender"], row["receiver"]) for row in self.rows(TOEWIJZING, "bsn", bsn)}

    def toegewezen_op(self, referentie: str) -> list[Earlier]:
        """Toewijzingen (301) honouring the verzoek with this ReferentieAanbieder."""
        return [_earlier(r) for r in self.rows(TOEWIJZING, "referentie_aanbieder", referentie)]

    # -- regieberichten -----------------------------------------------------------------------

    def regie(self, nummer: str, number: int) -> list[tuple[dict[str, Any], str | None]]:
        """(StartProduct/StopProduct, hashed Bsn) of accepted 305 (or 307) for a toewijzing,
        oldest first."""
        table = START if number == 305 else STOP
        return [(regie_product(row), row["bsn"]) for row in self.rows(table, "nummer", nummer)]

    # -- verzoeken ----------------------------------------------------------------------------

    def verzoeken(self, referentie: str) -> list[Earlier]:
        """Verzoeken (315/317) carrying this ReferentieAanbieder."""
        return [_earlier(r) for r in self.rows(VERZOEK, "referentie", referentie)]

    def verzoeken_of_client(self, bsn: str) -> dict[Earlier, list[str]]:
        """The ReferentieAanbieders of each verzoek for this client."""
        out: dict[Earlier, list[str]] = {}
        for row in self.rows(VERZOEK, "bsn", bsn):
            out.setdefault(_earlier(row), []).append(str(row["referentie"]))
        return out

    def antwoorden(self, referentie: str) -> list[tuple[Earlier, str | None]]:
        """(antwoord, VerzoekAntwoord) of each 319 on this ReferentieAanbieder."""
        return [
            (_earlier(r), r["verzoek_antwoord"])
            for r in self.rows(ANTWOORD, "referentie", referentie)
        ]

    # -- declaraties --------------------------------------------------------------------------

    def declaraties(self, column: str, value: str, rejected: bool = False) -> list[Declaratie]:
        """Declaraties (323) by ``identificatie``, ``nummer`` or ``message_id`` (``rejected``:
        the ones the rules rejected too, which the gateway answers)."""
        return [
            Declaratie(
                _earlier(r),
                str(r["identificatie"]),
                r["dagtekening"],
                r["nummer"],
                _present(
                    ("BasisschemaXsdVersie", r["xsd_basis"]), ("BerichtXsdVersie", r["xsd_bericht"])
                ),
            )
            for r in self.rows(DECLARATIE, column, value, _RECEIVED if rejected else _ACCEPTED)
        ]

    def prestaties(self, message_id: str) -> list[Prestatie]:
        """The prestaties of one earlier declaratie (accepted or rejected)."""
        return [_prestatie(r) for r in self.rows(PRESTATIE, "message_id", message_id, _RECEIVED)]

    def prestaties_on(self, toewijzing: str) -> list[Prestatie]:
        """Prestaties of accepted declaraties on this toewijzing."""
        return [_prestatie(r) for r in self.rows(PRESTATIE, "toewijzing", toewijzing)]

    def prestaties_by_referentie(self, referentie: str) -> list[Prestatie]:
        """Prestaties of accepted declaraties whose ReferentieNummer or Vorig is this one."""
        rows = self.rows(PRESTATIE, "referentie", referentie)
        rows += self.rows(PRESTATIE, "vorige", referentie)
        if not rows:
            return []
        found = {(p.message_id, p.referentie, p.vorige, p.credit): p for p in map(_prestatie, rows)}
        return sorted(found.values(), key=lambda p: p.seq)

    def rejected_referenties(self, declaratie: Declaratie) -> set[str] | None:
        """ReferentieNummers a 325 rejected for this 323; None while no 325 answered it.

        A 325 lists only rejected prestaties (TR342); a rejection on the Declaratie class itself
        (TotaalToegekendBedrag 0 with a code other than 8001) rejects every prestatie.
        """
        rows = [
            r
            for r in self.rows(DECLARATIE_ANTWOORD, "declaratie", declaratie.identificatie)
            if r["sender"] == declaratie.earlier.receiver
        ]
        if not rows:
            return None
        rejected = {str(r["referentie"]) for r in rows if r["referentie"] is not None}
        if any(r["geheel"] for r in rows):
            rejected |= {p.referentie for p in self.prestaties(declaratie.earlier.message_id)}
        return rejected
