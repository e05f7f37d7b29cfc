"""The earlier messages rules may need (toewijzingen, starts, stops, verzoeken, declaraties),
derived inside the adapter from the ledger through the small :class:`gateway.adapter.State`
protocol: ``find(key, value)`` (entries indexed under a business key), ``history(message_id)``
and ``payload(sha256)``.

Only accepted earlier messages count (ledger event ``validated``, or ``imported`` for what was
exchanged before the gateway: ``gateway.ledger.EARLIER``), of the same standard. Payloads
are decoded once per message and kept for the lifetime of one :class:`History` (one message's
check). Earlier declaraties are read streaming, record by record, keeping only the compact
prestatie facts the rules need.
"""

from __future__ import annotations

import io
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lxml import etree

from adapters.istandaarden.catalogue import Bericht, by_code
from adapters.istandaarden.engine import decode_record, get, record_tag
from adapters.lib.istandaard.codec import decode_message
from gateway.adapter import BatchState, State
from gateway.ledger import EARLIER, Event


@dataclass(frozen=True)
class Earlier:
    """An accepted earlier message."""

    message_id: str
    seq: int
    bericht: Bericht
    sender: str
    receiver: str


@dataclass(frozen=True)
class Toewijzing:
    """The latest version of one ToegewezenProduct (IV013: newest Toewijzingsdatum/-tijd)."""

    nummer: str
    gemeente: str
    aanbieder: str
    bsn: str
    product: dict[str, Any]

    @property
    def ingangsdatum(self) -> str:
        return str(self.product.get("Ingangsdatum", ""))

    @property
    def einddatum(self) -> str | None:
        value = self.product.get("Einddatum")
        return str(value) if value is not None else None

    @property
    def categorie(self) -> str | None:
        value = get(self.product, "Product/Categorie")
        return str(value) if value is not None else None

    @property
    def code(self) -> str | None:
        value = get(self.product, "Product/Code")
        return str(value) if value is not None else None

    @property
    def deleted(self) -> bool:
        return self.product.get("RedenWijziging") == "13"


@dataclass(frozen=True)
class Prestatie:
    """The facts of one earlier prestatie that rules compare against."""

    message_id: str
    seq: int
    declaratienummer: str
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


class History:
    """Earlier accepted messages of one standard, as the rules ask for them."""

    def __init__(self, state: State | None, standard: str, exclude: str | None = None) -> None:
        self.state = state
        self.standard = standard
        self.exclude = exclude  # the message being checked itself, if already recorded
        self._messages: dict[str, dict[str, Any]] = {}
        self._prestaties: dict[str, list[Prestatie]] = {}
        # What :meth:`prefetch` fetched for the current chunk of records (replaced by the next).
        self._found: dict[tuple[str, str], Sequence[Any]] = {}
        self._histories: Mapping[str, Sequence[Any]] = {}
        self._bodies: Mapping[str, bytes] = {}

    def prefetch(self, keys: Mapping[str, Iterable[str]], numbers: Iterable[int]) -> None:
        """Fetch what the rules will ask next in one query per kind: the entries under each
        ``key = value`` and, of the accepted messages among them with one of ``numbers``, the
        entries and payloads. Kept until the next prefetch; lookups outside it ask the state
        one by one as before, so the answers are the same either way."""
        if not isinstance(self.state, BatchState):
            return
        self._messages.clear()  # the last chunk's (decoded ones stay in _DECODED): flat memory
        found: dict[tuple[str, str], Sequence[Any]] = {}
        for key, values in keys.items():
            for value, entries in self.state.find_many(key, sorted(set(values))).items():
                found[(key, value)] = entries
        self._found = found
        wanted = tuple(numbers)
        earlier = {
            e.message_id: e
            for (key, value) in found
            for e in self.accepted(key, value, wanted)
            if e.message_id not in self._messages
        }
        self._histories = self.state.histories(sorted(earlier)) if earlier else {}
        shas = []
        for message_id, e in earlier.items():
            sha = _carrying(self._histories.get(message_id, ()))
            if sha is not None and (sha, e.bericht) not in _DECODED:
                shas.append(sha)
        self._bodies = self.state.payloads(shas) if shas else {}

    def _find(self, key: str, value: str) -> Sequence[Any]:
        assert self.state is not None
        found = self._found.get((key, value))
        return found if found is not None else self.state.find(key, value)

    # -- raw access ---------------------------------------------------------------------------

    def accepted(
        self, key: str, value: str, numbers: Iterable[int], rejected: bool = False
    ) -> list[Earlier]:
        """Accepted earlier messages indexed under ``key = value`` with one of ``numbers``
        (``rejected``: received ones our rules rejected too, e.g. the 323 a 325 answers)."""
        if self.state is None:
            return []
        wanted = set(numbers)
        events = EARLIER | {Event.REJECTED} if rejected else EARLIER
        found: dict[str, Earlier] = {}
        for entry in self._find(key, value):
            if str(getattr(entry, "event", "")) not in events or entry.message_id == self.exclude:
                continue
            if getattr(entry, "standard", self.standard) != self.standard:
                continue
            try:
                bericht = by_code(entry.code)
            except KeyError:
                continue
            if bericht.number in wanted and bericht.standard == self.standard:
                found.setdefault(
                    entry.message_id,
                    Earlier(entry.message_id, entry.seq, bericht, entry.sender, entry.receiver),
                )
        return sorted(found.values(), key=lambda e: e.seq)

    def _payload(self, earlier: Earlier) -> tuple[str | None, bytes | None]:
        """(SHA-256, bytes) of an earlier message; the bytes only when not decoded before."""
        assert self.state is not None
        entries = self._histories.get(earlier.message_id)
        sha = _carrying(entries if entries is not None else self.state.history(earlier.message_id))
        if sha is None:
            return None, None
        if (sha, earlier.bericht) in _DECODED:
            _DECODED.move_to_end((sha, earlier.bericht))
            return sha, None
        payload = self._bodies.get(sha)
        return sha, payload if payload is not None else self.state.payload(sha)

    def _body(self, earlier: Earlier) -> bytes | None:
        assert self.state is not None
        sha, _ = self._payload(earlier)
        return self.state.payload(sha) if sha is not None else None

    def message(self, earlier: Earlier) -> dict[str, Any]:
        """The decoded canonical dict of an earlier (small) message (rules never change it)."""
        if earlier.message_id not in self._messages:
            sha, body = self._payload(earlier)
            data: dict[str, Any] = {}
            if sha is not None:
                key = (sha, earlier.bericht)
                cached = _DECODED.get(key)
                if cached is None and body is not None:
                    cached = decode_message(etree.fromstring(body, _PARSER), earlier.bericht)
                    _DECODED[key] = cached
                    while len(_DECODED) > _DECODED_MAX:
                        _DECODED.popitem(last=False)
                data = cached or {}
            self._messages[earlier.message_id] = data
        return self._messages[earlier.message_id]

    # -- toewijzingen -------------------------------------------------------------------------

    def toewijzing_versions(self, nummer: str) -> Iterator[tuple[Earlier, Toewijzing]]:
        for earlier in self.accepted("ToewijzingNummer", nummer, (301,)):
            data = self.message(earlier)
            client = data.get("Client", {})
            for product in get(client, "ToegewezenProducten/ToegewezenProduct") or []:
                if product.get("ToewijzingNummer") == nummer:
                    yield (
                        earlier,
                        Toewijzing(
                            nummer, earlier.sender, earlier.receiver, client.get("Bsn", ""), product
                        ),
                    )

    def toewijzing(
        self, nummer: str, gemeente: str | None = None, aanbieder: str | None = None
    ) -> Toewijzing | None:
        """The latest version of toewijzing ``nummer`` of ``gemeente`` (to ``aanbieder``)."""
        best: tuple[tuple[str, str, int], Toewijzing] | None = None
        for earlier, t in self.toewijzing_versions(nummer):
            if gemeente is not None and t.gemeente != gemeente:
                continue
            if aanbieder is not None and t.aanbieder != aanbieder:
                continue
            order = (
                str(t.product.get("Toewijzingsdatum", "")),
                str(t.product.get("Toewijzingstijd", "")),
                earlier.seq,
            )
            if best is None or order >= best[0]:
                best = (order, t)
        return best[1] if best else None

    def toewijzingen_of_client(self, bsn: str, gemeente: str, aanbieder: str) -> list[Toewijzing]:
        """Latest version of every toewijzing of this client between these two parties."""
        numbers: set[str] = set()
        for earlier in self.accepted("bsn", bsn, (301,)):
            if earlier.sender != gemeente or earlier.receiver != aanbieder:
                continue
            client = self.message(earlier).get("Client", {})
            for product in get(client, "ToegewezenProducten/ToegewezenProduct") or []:
                numbers.add(str(product.get("ToewijzingNummer")))
        found = [self.toewijzing(n, gemeente, aanbieder) for n in sorted(numbers)]
        return [t for t in found if t is not None]

    # -- regieberichten -----------------------------------------------------------------------

    def regie(self, nummer: str, number: int) -> list[tuple[Earlier, dict[str, Any], str]]:
        """(message, StartProduct/StopProduct, Bsn) of accepted 305 (or 307) for a toewijzing."""
        name = "StartProduct" if number == 305 else "StopProduct"
        out = []
        for earlier in self.accepted("ToewijzingNummer", nummer, (number,)):
            client = self.message(earlier).get("Client", {})
            for product in get(client, f"{name}en/{name}") or []:
                if product.get("ToewijzingNummer") == nummer:
                    out.append((earlier, product, str(client.get("Bsn", ""))))
        return out

    # -- verzoeken ----------------------------------------------------------------------------

    def by_referentie(self, referentie: str, numbers: Iterable[int]) -> list[Earlier]:
        return self.accepted("ReferentieAanbieder", referentie, numbers)

    # -- declaraties --------------------------------------------------------------------------

    def prestaties(self, earlier: Earlier) -> list[Prestatie]:
        """The prestaties of an earlier 323, read record by record (flat memory)."""
        if earlier.message_id not in self._prestaties:
            self._prestaties[earlier.message_id] = list(self._read_prestaties(earlier))
        return self._prestaties[earlier.message_id]

    def _read_prestaties(self, earlier: Earlier) -> Iterator[Prestatie]:
        body = self._body(earlier)
        tag = record_tag(earlier.bericht)
        if body is None or tag is None:
            return
        nummer = ""
        for _, element in etree.iterparse(io.BytesIO(body), events=("end",), **_ITER):
            if etree.QName(element).localname == "DeclaratieNummer":
                nummer = element.text or ""
            if element.tag != tag:
                continue
            client = decode_record(element, earlier.bericht)
            element.clear()
            for p in get(client, "Prestaties/Prestatie") or []:
                yield Prestatie(
                    message_id=earlier.message_id,
                    seq=earlier.seq,
                    declaratienummer=nummer,
                    referentie=str(get(p, "ProductReferentie/ReferentieNummer")),
                    vorige=get(p, "ProductReferentie/VorigReferentieNummer"),
                    toewijzing=str(p.get("ToewijzingNummer")),
                    categorie=str(p.get("ProductCategorie")),
                    code=str(p.get("ProductCode")),
                    begin=str(get(p, "ProductPeriode/Begindatum")),
                    eind=str(get(p, "ProductPeriode/Einddatum")),
                    volume=int(p.get("GeleverdVolume", 0)),
                    eenheid=str(p.get("Eenheid")),
                    bedrag=int(get(p, "IngediendBedrag/Bedrag") or 0),
                    credit=get(p, "IngediendBedrag/DebetCredit") == "C",
                )

    def rejected_referenties(self, declaratie: Earlier) -> set[str] | None:
        """ReferentieNummers a 325 rejected for this 323; None while no 325 answered it.

        A 325 lists only rejected prestaties (TR342); a rejection on the Declaratie class itself
        (TotaalToegekendBedrag 0 with a code other than 8001) rejects every prestatie.
        """
        header = self.message(declaratie).get("Header", {}) if declaratie else {}
        identificatie = get(header, "BerichtIdentificatie/Identificatie")
        answers = [
            a
            for a in self.accepted("DeclaratieIdentificatie", str(identificatie), (325,))
            if a.sender == declaratie.receiver
        ]
        if not answers:
            return None
        rejected: set[str] = set()
        for answer in answers:
            data = self.message(answer)
            antwoord = data.get("DeclaratieAntwoord") or {}
            codes = get(antwoord, "RetourCodes/RetourCode") or []
            toegekend = get(antwoord, "TotaalToegekendBedrag/TotaalBedrag")
            if antwoord and "8001" not in codes and toegekend == "0":
                rejected |= {p.referentie for p in self.prestaties(declaratie)}
            for client in get(antwoord, "Clienten/Client") or []:
                for p in get(client, "Prestaties/Prestatie") or []:
                    rejected.add(str(get(p, "ProductReferentie/ReferentieNummer")))
        return rejected

    def declaraties_on(self, toewijzing: str) -> list[Earlier]:
        return self.accepted("ToewijzingNummer", toewijzing, (323,))


def _carrying(entries: Iterable[Any]) -> str | None:
    """The SHA-256 of the payload a message's entries last recorded (received or mapped)."""
    carrying = [e for e in entries if e.payload_sha256 and str(e.event) in ("received", "mapped")]
    return str(carrying[-1].payload_sha256) if carrying else None


# Decoded earlier messages by content hash: payloads never change, so a decoded one can serve
# every later check (a least-recently-used set of at most _DECODED_MAX).
_DECODED: OrderedDict[tuple[str, Bericht], dict[str, Any]] = OrderedDict()
_DECODED_MAX = 1024  # a 25 MB declaratie with 4096 of them held stayed above 200 MB RSS

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
_ITER: dict[str, Any] = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "huge_tree": True,
}
