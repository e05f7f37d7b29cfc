"""Deriving the CAK's start/stop messages from the iWmo messages that pass the gateway.

Per person (BSN) and gemeente, per kind (abonnementstarief: WMO405; beschermd wonen: WMO407):

1. the voorzieningen the ledger knows (``eigen_bijdrage.py``: from the latest WMO301 per
   aanbieder, or from WMO305/307), merged into periods: voorzieningen that overlap or follow
   each other without a day's gap are one period; a period is open while any of its
   voorzieningen is;
2. what the CAK was told before: the latest WMO405/407 per EbStartNummer that the gateway sent
   and the CAK did not reject (a WMO406/408 with retourcodes other than 0200);
3. the difference: a period without a start gets a start (StatusAanlevering 1, a new
   EbStartNummer); a period whose start or stop changed gets a gewijzigde aanlevering (2) of
   its EbStartNummer; a start that no longer has any voorziening is withdrawn (3).
4. the kostprijs (WMO405 only; ``kostprijs``): a hulpmiddel or woningaanpassing (productcategorie
   in the setting ``cak_kostprijs``) toegewezen with a Budget has that Budget as kostprijs from
   its Ingangsdatum. The CAK needs a mutation with kostprijs only for one whose kostprijs is
   higher than the remaining kostprijs already reported (iEb; VNG Q&A abonnementstarief), so:
   a start carries the kostprijs of the period's latest such voorziening; once a kostprijs was
   reported, a later voorziening whose Budget is higher than the reported kostprijs is a
   gewijzigde aanlevering (2) with the new EbKostprijs; every later aanlevering of the start
   repeats the kostprijs the CAK has. Not derived: a later one whose kostprijs is at most the
   reported one but above what remains of it, since what remains (the reported kostprijs less
   what the CAK collected since) is the CAK's figure, not iWmo data (README, Counterparts).

Nothing is kept beside the ledger. A message that changes nothing derives nothing; the same
change derived twice is one follow-up (its name holds number, status and dates).

A first start is one message per person, whichever toewijzing derives it: its EbStartNummer
comes from gemeente, person, kind and how many starts the gemeente used for them before (not
from the toewijzing or its dates), and its message id from that number (``start_id``). Two
toewijzingen of a new person processed at the same moment therefore derive the same start, and
``receive`` records the second as a duplicate of the first instead of sending a second start.
When the two saw different toewijzingen (one recorded while the other was being derived), the
start sent is the one derived first; the next message for the person that changes the period
corrects it with a gewijzigde aanlevering.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from lxml import etree

from adapters.cak.catalogue import CATALOGUE, KLASSE, WMO405, WMO407
from adapters.cak.eigen_bijdrage import (
    Aanlevering,
    Kostprijs,
    Periode,
    Voorziening,
    from_301,
    starts_305,
    stops_307,
    to_message,
)
from adapters.istandaarden.catalogue import by_code
from adapters.lib.istandaard import codec as iwmo_codec
from adapters.lib.istandaard.codec import decode_message
from adapters.lib.istandaard.messages import identificatie, recorded_root
from gateway.adapter import FollowUp
from gateway.envelope import Direction, Envelope
from gateway.ledger import EARLIER

REJECTED_KEY = "ieb.afgekeurd"
_FAR = dt.date.max
_START_NAMESPACE = uuid.UUID("5d6f0b1e-8a2c-4e7b-9c3d-1f0a2b4c6e81")


class LedgerView(Protocol):
    def find(self, key: str, value: str) -> Sequence[Any]: ...

    def history(self, message_id: str) -> list[Any]: ...

    def payload(self, sha256: str) -> bytes | None: ...


@dataclass(frozen=True)
class Known:
    """A start the CAK knows: its latest aanlevering."""

    nummer: int
    periode: Periode
    status: str
    seq: int
    kostprijs: Kostprijs | None = None


def _body(ledger: LedgerView, message_id: str) -> etree._Element | None:
    root: etree._Element | None = recorded_root(ledger, message_id)
    return root


def _latest_validated(entries: Iterable[Any]) -> dict[str, Any]:
    """message id -> its validated (or imported) entry, for entries of earlier messages."""
    return {e.message_id: e for e in entries if e.event in EARLIER}


def _iwmo(root: etree._Element, code: str) -> dict[str, Any]:
    return iwmo_codec.decode_message(root, by_code(code))


def voorzieningen(ledger: LedgerView, bsn: str, gemeente: str, trigger: str) -> list[Voorziening]:
    entries = sorted(_latest_validated(ledger.find("bsn", bsn)).values(), key=lambda e: e.seq)
    latest: dict[str, Any] = {}
    for e in entries:
        if e.code == "WMO301" and e.route.startswith("outbound.") and e.sender == gemeente:
            latest[e.receiver] = e
    toegewezen: list[Voorziening] = []
    for e in latest.values():
        root = _body(ledger, e.message_id)
        if root is not None:
            toegewezen += from_301(_iwmo(root, "WMO301"))
    if trigger == "toewijzing":
        return toegewezen
    budgets = {v.key: v.budget for v in toegewezen}
    starts: dict[str, tuple[str, dt.date]] = {}
    ends: dict[str, dt.date] = {}
    for e in entries:
        if e.code not in ("WMO305", "WMO307") or e.receiver != gemeente:
            continue
        root = _body(ledger, e.message_id)
        if root is None:
            continue
        data = _iwmo(root, e.code)
        if e.code == "WMO305":
            for key, categorie, begin, withdrawn in starts_305(data):
                if withdrawn or begin is None:
                    starts.pop(key, None)
                else:
                    starts[key] = (categorie, begin)
                ends.pop(key, None)
        else:
            for key, end, withdrawn in stops_307(data):
                if withdrawn:
                    ends.pop(key, None)
                elif end is not None:
                    ends[key] = end
    return [Voorziening(k, c, b, ends.get(k), budgets.get(k)) for k, (c, b) in starts.items()]


def periods(items: Iterable[Voorziening]) -> list[Periode]:
    """Voorzieningen merged into periods (overlapping or adjacent ones are one)."""
    out: list[Periode] = []
    for item in sorted(items, key=lambda v: (v.start, v.end or _FAR)):
        if out:
            last = out[-1]
            last_end = last.stop or _FAR
            if item.start <= (last_end + dt.timedelta(days=1) if last_end < _FAR else _FAR):
                stop = None if last.stop is None or item.end is None else max(last.stop, item.end)
                out[-1] = Periode(last.start, stop)
                continue
        out.append(Periode(item.start, item.end))
    return out


def known(ledger: LedgerView, bsn: str, gemeente: str, code: str) -> dict[int, Known]:
    """What the CAK was told per EbStartNummer (withdrawn starts left out)."""
    return told(ledger, bsn, gemeente, code)[0]


def told(
    ledger: LedgerView, bsn: str, gemeente: str, code: str
) -> tuple[dict[int, Known], set[int]]:
    """What the CAK was told per EbStartNummer (withdrawn starts left out), and every
    EbStartNummer the gemeente used for this person and kind (also rejected and withdrawn)."""
    state: dict[int, Known] = {}
    used: set[int] = set()
    entries = _latest_validated(ledger.find("bsn", bsn)).values()
    for e in sorted(entries, key=lambda e: e.seq):
        if e.code != code or not e.route.startswith("outbound.") or e.sender != gemeente:
            continue
        root = _body(ledger, e.message_id)
        if root is None:
            continue
        data = decode_message(root, CATALOGUE[code])
        ident = data["Header"]["BerichtIdentificatie"]["Identificatie"]
        bijdrage = data["Client"][KLASSE[code]]
        nummer = int(bijdrage["EbStartNummer"])
        used.add(nummer)
        if ledger.find(REJECTED_KEY, ident):
            continue  # the CAK rejected it: it does not know this aanlevering
        stop = bijdrage.get("EbStopdatum")
        kostprijs = bijdrage.get("EbKostprijs")
        state[nummer] = Known(
            nummer,
            Periode(
                dt.date.fromisoformat(bijdrage["EbStartdatum"]),
                dt.date.fromisoformat(stop) if stop else None,
            ),
            bijdrage["StatusAanlevering"],
            e.seq,
            Kostprijs(
                int(kostprijs["KostprijsBedrag"]),
                dt.date.fromisoformat(kostprijs["KostprijsStartdatum"]),
            )
            if kostprijs
            else None,
        )
    return {n: k for n, k in state.items() if k.status != "3"}, used


def _overlaps(a: Periode, b: Periode) -> bool:
    return a.start <= (b.stop or _FAR) and b.start <= (a.stop or _FAR)


def new_nummer(
    ledger: LedgerView, gemeente: str, bsn: str, code: str, ordinal: int, secret: str
) -> int:
    """An EbStartNummer never used before within the gemeente (not even for a start the CAK
    rejected), derived from person, kind and the start's ordinal (how many numbers the gemeente
    used for them before): whoever derives the person's next start gets the same number.

    Keyed with ``secret`` (the ``bsn_hash_key``): the number, and the message id made from it,
    cannot be traced back to the BSN by trying every BSN.
    """
    for attempt in range(1000):
        seed = f"{gemeente}|{bsn}|{code}|{ordinal}|{attempt}".encode()
        nummer = int(hmac.new(secret.encode(), seed, hashlib.sha256).hexdigest(), 16)
        nummer = nummer % 999_999_999 + 1
        if not any(e.sender == gemeente for e in ledger.find("EbStartNummer", str(nummer))):
            return nummer
    raise RuntimeError("no free EbStartNummer found")  # pragma: no cover - 1000 collisions


def start_id(aanlevering: Aanlevering) -> str:
    """The message id of a first start: one per EbStartNummer (so per person and ordinal),
    whichever message derived it. Made from the number, not the BSN."""
    key = f"{aanlevering.message.code}/{aanlevering.gemeente}/{aanlevering.nummer}"
    return str(uuid.uuid5(_START_NAMESPACE, key))


def kostprijs(
    items: Iterable[Voorziening], periode: Periode, categorieen: Sequence[str]
) -> Kostprijs | None:
    """The kostprijs a period's hulpmiddelen and woningaanpassingen give: the Budget of the
    latest one toegewezen with a Budget (the highest, of several starting the same day)."""
    inside = [
        v
        for v in items
        if v.categorie in categorieen and v.budget and _overlaps(Periode(v.start, v.end), periode)
    ]
    if not inside:
        return None
    latest = max(inside, key=lambda v: (v.start, v.budget or 0))
    return Kostprijs(latest.budget or 0, max(latest.start, periode.start))


def to_tell(wanted: Kostprijs | None, reported: Kostprijs | None) -> Kostprijs | None:
    """The kostprijs the CAK should have: the reported one, unless a later hulpmiddel or
    woningaanpassing costs more than it (then that one's)."""
    if wanted is None or reported is None:
        return reported or wanted
    later_and_higher = wanted.startdatum > reported.startdatum and wanted.bedrag > reported.bedrag
    return wanted if later_and_higher else reported


def plan(
    ledger: LedgerView,
    bsn: str,
    gemeente: str,
    trigger: str,
    beschermd_wonen: Sequence[str],
    kostprijs_categorieen: Sequence[str] = (),
    *,
    secret: str,
) -> list[Aanlevering]:
    items = voorzieningen(ledger, bsn, gemeente, trigger)
    out: list[Aanlevering] = []
    for message in (WMO405, WMO407):
        wanted = periods(
            v for v in items if (v.categorie in beschermd_wonen) == (message is WMO407)
        )
        told_state, used = told(ledger, bsn, gemeente, message.code)
        unmatched = dict(told_state)
        ordinal = len(used)
        for periode in wanted:
            match = next((k for k in unmatched.values() if _overlaps(k.periode, periode)), None)
            prijs = kostprijs(items, periode, kostprijs_categorieen) if message is WMO405 else None
            if match is None:
                nummer = new_nummer(ledger, gemeente, bsn, message.code, ordinal, secret)
                ordinal += 1
                out.append(Aanlevering(message, gemeente, bsn, nummer, periode, "1", prijs))
                continue
            del unmatched[match.nummer]
            prijs = to_tell(prijs, match.kostprijs)
            if match.periode != periode or prijs != match.kostprijs:
                out.append(Aanlevering(message, gemeente, bsn, match.nummer, periode, "2", prijs))
        for gone in unmatched.values():
            out.append(Aanlevering(message, gemeente, bsn, gone.nummer, gone.periode, "3"))
    return out


def derive(
    envelope: Envelope,
    doc: etree._ElementTree,
    ledger: LedgerView,
    *,
    trigger: str,
    beschermd_wonen: Sequence[str],
    today: dt.date,
    kostprijs_categorieen: Sequence[str] = (),
    secret: str,
) -> list[FollowUp]:
    mt = envelope.message_type
    if mt is None or mt.standard != "iwmo" or not trigger:
        return []
    if trigger == "toewijzing":
        if mt.code != "WMO301" or envelope.direction is not Direction.OUTBOUND:
            return []
    elif mt.code not in ("WMO305", "WMO307") or envelope.direction is not Direction.INBOUND:
        return []
    data = _iwmo(doc.getroot(), mt.code)
    header = data["Header"]
    gemeente = header["Afzender"] if mt.code == "WMO301" else header["Ontvanger"]
    bsn = data["Client"]["Bsn"]
    out = []
    for a in plan(
        ledger, bsn, gemeente, trigger, beschermd_wonen, kostprijs_categorieen, secret=secret
    ):
        if a.status == "1":  # one message per start, whichever message derives it
            message_id = start_id(a)
            body = to_message(a, identificatie(message_id), today)
            out.append(FollowUp(a.name, body, message_id))
        else:
            out.append(
                FollowUp(a.name, to_message(a, identificatie(envelope.message_id, a.name), today))
            )
    return out
