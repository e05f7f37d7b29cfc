"""The iWmo/iJw read model: the tables the ledger keeps for this adapter (capability ``Tables``,
``gateway/ledger/domain.py``) and the rows of one message.

Only what the rules over earlier messages (``rules_state.py``, through ``history.py``) and the
monitor (``monitor.py``) read: toewijzingen (301), starts (305) and stops (307), verzoeken
(315/317) and their antwoorden (319), declaraties (323) with their prestaties, and the
declaratie-antwoorden (325) as the prestaties they rejected. The ledger adds who sent it to whom,
the verdict entry (``seq``, ``event``, ``at``) and the standard; ``bsn`` and ``adres`` are stored
only as the ledger's keyed hash (``adres`` as the monitor hashes a household:
``address:<household key>``).
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree

from adapters.istandaarden.catalogue import Bericht
from adapters.istandaarden.engine import RECORDS, Part, decode_record_indexed, get, split
from adapters.istandaarden.facts import PrestatieFacts, facts_of, prestaties
from adapters.lib.istandaard.codec import decode_message
from gateway.description import Table
from gateway.provisions import household_key

TOEWIJZING = Table(
    "toewijzing",
    ("nummer", "bsn", "adres", "referentie_aanbieder", "toewijzingsdatum", "toewijzingstijd",
     "ingangsdatum", "einddatum", "reden_wijziging", "categorie", "code", "volume", "eenheid",
     "frequentie", "budget", "dagtekening"),
    personal=frozenset({"bsn", "adres"}),
    indexes=(("nummer",), ("bsn",), ("referentie_aanbieder",)),
)  # fmt: skip
START = Table(
    "start",
    ("nummer", "bsn", "categorie", "code", "begindatum", "status", "dagtekening"),
    personal=frozenset({"bsn"}),
    indexes=(("nummer",),),
)
STOP = Table(
    "stop",
    ("nummer", "bsn", "categorie", "code", "begindatum", "einddatum", "reden", "status"),
    personal=frozenset({"bsn"}),
    indexes=(("nummer",),),
)
VERZOEK = Table(
    "verzoek", ("referentie", "bsn"), personal=frozenset({"bsn"}),
    indexes=(("referentie",), ("bsn",)),
)  # fmt: skip
ANTWOORD = Table("antwoord", ("referentie", "verzoek_antwoord"), indexes=(("referentie",),))
DECLARATIE = Table(
    "declaratie",
    ("identificatie", "dagtekening", "nummer", "xsd_basis", "xsd_bericht"),
    indexes=(("identificatie",), ("nummer",)),
)
PRESTATIE = Table(
    "prestatie",
    ("referentie", "vorige", "toewijzing", "categorie", "code", "begin", "eind", "volume",
     "eenheid", "bedrag", "credit"),
    integers=frozenset({"volume", "bedrag", "credit"}),
    indexes=(("referentie",), ("vorige",), ("toewijzing",)),
)  # fmt: skip
# A 325: one row with ``referentie`` NULL (``geheel`` 1: the whole declaratie was rejected),
# and one row per prestatie it rejected (a 325 lists only those, TR342).
DECLARATIE_ANTWOORD = Table(
    "declaratie_antwoord",
    ("declaratie", "referentie", "geheel"),
    integers=frozenset({"geheel"}),
    indexes=(("declaratie",),),
)
TABLES = (TOEWIJZING, START, STOP, VERZOEK, ANTWOORD, DECLARATIE, PRESTATIE, DECLARATIE_ANTWOORD)

Made = dict[Table, list[tuple[Any, ...]]]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


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
    """The household key of the client's first address (Soort 01 first)."""
    contacts = get(client, "Contactgegevens/Contact") or []
    ordered = sorted(contacts, key=lambda c: c.get("Soort") != "01")
    for contact in ordered:
        if contact.get("Adres"):
            found = address_text(contact["Adres"])
            if found:
                return found
    return None


def _dagtekening(data: dict[str, Any]) -> str | None:
    return _text(get(data.get("Header", {}), "BerichtIdentificatie/Dagtekening"))


def _toewijzingen(data: dict[str, Any]) -> Iterable[tuple[Table, tuple[Any, ...]]]:
    client = data.get("Client", {})
    adres = _address(client)
    for p in get(client, "ToegewezenProducten/ToegewezenProduct") or []:
        yield (
            TOEWIJZING,
            (
                _text(p.get("ToewijzingNummer")),
                _text(client.get("Bsn")),
                f"address:{adres}" if adres else None,
                _text(p.get("ReferentieAanbieder")),
                _text(p.get("Toewijzingsdatum")),
                _text(p.get("Toewijzingstijd")),
                _text(p.get("Ingangsdatum")),
                _text(p.get("Einddatum")),
                _text(p.get("RedenWijziging")),
                _text(get(p, "Product/Categorie")),
                _text(get(p, "Product/Code")),
                _text(get(p, "Omvang/Volume")),
                _text(get(p, "Omvang/Eenheid")),
                _text(get(p, "Omvang/Frequentie")),
                _text(p.get("Budget")),
                _dagtekening(data),
            ),
        )


def _starts(data: dict[str, Any]) -> Iterable[tuple[Table, tuple[Any, ...]]]:
    client = data.get("Client", {})
    for p in get(client, "StartProducten/StartProduct") or []:
        yield (
            START,
            (
                _text(p.get("ToewijzingNummer")),
                _text(client.get("Bsn")),
                _text(get(p, "Product/Categorie")),
                _text(get(p, "Product/Code")),
                _text(p.get("Begindatum")),
                _text(p.get("StatusAanlevering")),
                _dagtekening(data),
            ),
        )


def _stops(data: dict[str, Any]) -> Iterable[tuple[Table, tuple[Any, ...]]]:
    client = data.get("Client", {})
    for p in get(client, "StopProducten/StopProduct") or []:
        yield (
            STOP,
            (
                _text(p.get("ToewijzingNummer")),
                _text(client.get("Bsn")),
                _text(get(p, "Product/Categorie")),
                _text(get(p, "Product/Code")),
                _text(p.get("Begindatum")),
                _text(p.get("Einddatum")),
                _text(p.get("RedenBeeindiging")),
                _text(p.get("StatusAanlevering")),
            ),
        )


def _verzoeken(data: dict[str, Any]) -> Iterable[tuple[Table, tuple[Any, ...]]]:
    bsn = _text(get(data, "Client/Bsn"))
    referenties = [n.get("ReferentieAanbieder") for _, n in Part(data).find("AangevraagdProduct")]
    referenties.append(get(data, "Client/Verzoek/ReferentieAanbieder"))
    for referentie in dict.fromkeys(r for r in referenties if r is not None):
        yield VERZOEK, (str(referentie), bsn)


def _antwoord(data: dict[str, Any]) -> Iterable[tuple[Table, tuple[Any, ...]]]:
    antwoord = data.get("Antwoord") or {}
    yield (
        ANTWOORD,
        (
            _text(antwoord.get("ReferentieAanbieder")),
            _text(antwoord.get("VerzoekAntwoord")),
        ),
    )


def _declaratie(data: dict[str, Any]) -> Iterable[tuple[Table, tuple[Any, ...]]]:
    header = data.get("Header", {})
    yield (
        DECLARATIE,
        (
            _text(get(header, "BerichtIdentificatie/Identificatie")),
            _text(get(header, "BerichtIdentificatie/Dagtekening")),
            _text(get(data, "Declaratie/DeclaratieNummer")),
            _text(get(header, "XsdVersie/BasisschemaXsdVersie")),
            _text(get(header, "XsdVersie/BerichtXsdVersie")),
        ),
    )


def _declaratie_antwoord(data: dict[str, Any]) -> Iterable[tuple[Table, tuple[Any, ...]]]:
    antwoord = data.get("DeclaratieAntwoord") or {}
    codes = get(antwoord, "RetourCodes/RetourCode") or []
    toegekend = get(antwoord, "TotaalToegekendBedrag/TotaalBedrag")
    geheel = bool(antwoord) and "8001" not in codes and toegekend == "0"
    yield DECLARATIE_ANTWOORD, (_declaratie_of(data), None, int(geheel))


def _declaratie_of(head: dict[str, Any]) -> str | None:
    return _text(get(head.get("Header", {}), "DeclaratieIdentificatie/Identificatie"))


def _shared(value: Any) -> str | None:
    """A value many rows repeat (a product code, a period), held once: a large declaratie's
    rows wait in memory until its verdict is recorded."""
    return None if value is None else sys.intern(str(value))


def _prestaties(head: dict[str, Any], found: list[PrestatieFacts]) -> Iterable[tuple[Table, Any]]:
    for f in found:
        yield (
            PRESTATIE,
            (
                _text(f.referentie),
                _text(f.vorige),
                _text(f.toewijzing),
                _shared(f.categorie),
                _shared(f.code),
                _shared(f.begin_text),
                _shared(f.eind_text),
                int(f.volume or 0),
                _shared(f.eenheid),
                int(f.bedrag or 0),
                int(f.credit),
            ),
        )


def _afgewezen(head: dict[str, Any], found: list[PrestatieFacts]) -> Iterable[tuple[Table, Any]]:
    declaratie = _declaratie_of(head)
    for f in found:
        yield DECLARATIE_ANTWOORD, (declaratie, _text(f.referentie), 0)


Head = Callable[[dict[str, Any]], Iterable[tuple[Table, tuple[Any, ...]]]]
# A record's rows come from its prestaties (a 323's or 325's Client).
Record = Callable[[dict[str, Any], list[PrestatieFacts]], Iterable[tuple[Table, tuple[Any, ...]]]]
_HEAD: dict[int, Head] = {
    301: _toewijzingen,
    305: _starts,
    307: _stops,
    315: _verzoeken,
    317: _verzoeken,
    319: _antwoord,
    323: _declaratie,
    325: _declaratie_antwoord,
}
_RECORD: dict[int, Record] = {323: _prestaties, 325: _afgewezen}
NUMBERS = frozenset(_HEAD)  # the berichten that have rows


def _add(made: Made, rows: Iterable[tuple[Table, tuple[Any, ...]]]) -> Made:
    for table, row in rows:
        made.setdefault(table, []).append(row)
    return made


def head_rows(bericht: Bericht, head: dict[str, Any]) -> Made:
    """The rows of a message without its records (of a 323/325: the declaratie's own)."""
    make = _HEAD.get(bericht.number)
    return _add({}, make(head)) if make is not None else {}


def record_rows(bericht: Bericht, head: dict[str, Any], record: Part, made: Made) -> None:
    """Add the rows of one record (a ``Client`` of a 323/325, as the rules' part: the facts of
    its prestaties are read once for both) to ``made``."""
    make = _RECORD.get(bericht.number)
    if make is not None:
        _add(made, make(head, prestaties(record)))


def message_rows(bericht: Bericht, data: dict[str, Any]) -> Made:
    """The rows of a whole message (its canonical dict)."""
    head, records = split(bericht, data)
    made = head_rows(bericht, head)
    make = _RECORD.get(bericht.number)
    if make is not None:
        for record in records:
            found = get(record, "Prestaties/Prestatie") or []
            _add(made, make(head, facts_of(("", p) for p in found)))
    return made


_ITER: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": True,
}


def body_rows(body: bytes, bericht: Bericht) -> Made:
    """The rows of a recorded message; a 323/325 read record by record (flat memory)."""
    if bericht.number not in _HEAD:
        return {}
    if bericht.number not in RECORDS:
        root = etree.fromstring(body, etree.XMLParser(**_ITER))
        return message_rows(bericht, decode_message(root, bericht))
    tag = f"{{{bericht.namespace}}}{RECORDS[bericht.number][1]}"
    made: Made = {}
    early: dict[str, Any] | None = None  # the head as far as read: the Header comes first
    root = None
    for _, element in etree.iterparse(io.BytesIO(body), events=("end",), tag=tag, **_ITER):
        if early is None:
            root = element.getroottree().getroot()
            early, _ = split(bericht, decode_message(root, bericht))
        name = RECORDS[bericht.number][1]
        node, index = decode_record_indexed(element, bericht, name)
        record_rows(bericht, early, Part(node, name, name, index), made)
        parent = element.getparent()
        if parent is not None:
            parent.remove(element)
    if root is None:  # no records
        root = etree.fromstring(body, etree.XMLParser(**_ITER))
    head, _ = split(bericht, decode_message(root, bericht))
    for table, rows in head_rows(bericht, head).items():
        made.setdefault(table, []).extend(rows)
    return made
