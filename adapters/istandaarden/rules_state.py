"""The berichtoverstijgend rules (controleniveau 3) that need earlier messages.

They read the toewijzing/start/stop/verzoek/declaratie state that
:class:`adapters.istandaarden.history.History` derives from the ledger (only accepted earlier
messages of the same standard count). Parties: for a message sent by an aanbieder the Afzender is
the AGB code and the Ontvanger the gemeente; for one sent by a gemeente the other way round.

Not implemented, with the reason:

- TR318 (8214, DeclaratiePeriode follows the previous one): it applies only "indien iedere
  DeclaratiePeriode zorg is geleverd", which no message tells.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

from adapters.istandaarden.domain import PRESTATIE, TOEWIJZING
from adapters.istandaarden.engine import (
    Hit,
    Level,
    Message,
    Part,
    Scope,
    date,
    get,
    lookahead,
    month_end,
    overlaps,
    regie_key,
    rule,
)
from adapters.istandaarden.facts import PrestatieFacts, prestaties
from adapters.istandaarden.history import Declaratie, History, Prestatie, Toewijzing

OVER = Level.BERICHTOVERSTIJGEND
NVT = "n.v.t."
# Entries a per-message cache of the rules keeps at most (a 25 MB declaratie names ~40,000
# toewijzingen; its clients are checked in chunks, so recent ones are what is asked again).
MEMO_MAX = 8192  # TR337/TR371/TR376 have no retourcode: the 325 is never answered


def parties(msg: Message) -> tuple[str, str]:
    """(gemeente, aanbieder) of the message (worked out once)."""
    found: tuple[str, str] | None = msg.memo.get("parties")
    if found is None:
        header = msg.header
        afzender, ontvanger = str(header.get("Afzender", "")), str(header.get("Ontvanger", ""))
        gemeente = msg.bericht.sent_by == "gemeente"
        found = msg.memo["parties"] = (afzender, ontvanger) if gemeente else (ontvanger, afzender)
    return found


def history(msg: Message) -> History:
    state: History = msg.state
    return state


def client_key(msg: Message) -> str | None:
    """The keyed hash of the message's client's BSN (as the tables keep it)."""
    if "client" not in msg.memo:
        msg.memo["client"] = history(msg).subject(get(msg.data, "Client/Bsn"))
    key: str | None = msg.memo["client"]
    return key


def toewijzing(msg: Message, nummer: Any) -> Toewijzing | None:
    """The latest version of toewijzing ``nummer`` between this message's parties (cached)."""
    cache: dict[str, Toewijzing | None] = msg.memo.setdefault("toewijzing", {})
    key = str(nummer)
    if key not in cache:
        if len(cache) >= MEMO_MAX:  # a large declaratie: keep memory flat (asked again if needed)
            cache.clear()
        gemeente, aanbieder = parties(msg)
        cache[key] = history(msg).toewijzing(key, gemeente, aanbieder)
    return cache[key]


def current(t: Toewijzing, day: dt.date) -> bool:
    """A toewijzing is actual when not deleted and not ended before ``day``."""
    end = date(t.einddatum)
    return not t.deleted and (end is None or end >= day)


# -- TR056 -------------------------------------------------------------------------------------


@rule("TR056", "9056", OVER, (301, 305, 307, 315, 317, 319, 323, 325), needs_state=True)
def identificatie_unique(msg: Message) -> Iterator[Hit]:
    """Identificatie moet per berichtsoort uniek zijn voor de verzendende partij."""
    identificatie = str(get(msg.header, "BerichtIdentificatie/Identificatie"))
    earlier = history(msg).accepted("BerichtIdentificatie", identificatie, (msg.bericht.number,))
    if any(e.sender == msg.header.get("Afzender") for e in earlier):
        yield "Header", "Identificatie was used before by this sender for this berichtsoort"


# -- toewijzing (301) --------------------------------------------------------------------------


@rule("TR332", "9332", OVER, (301,), Scope.PART, needs_state=True)
def toewijzingnummer_uniek(msg: Message, part: Part) -> Iterator[Hit]:
    """Ieder ToegewezenProduct binnen één gemeente heeft een uniek nummer per wettelijk domein
    (an earlier toewijzing of this gemeente with the same number must be the same toegewezen
    product: same client, aanbieder, product and Ingangsdatum)."""
    gemeente, aanbieder = parties(msg)
    for path, node in part.find("ToegewezenProduct"):
        for earlier in history(msg).toewijzing_versions(str(node.get("ToewijzingNummer"))):
            if earlier.gemeente != gemeente:
                continue
            same = (
                earlier.bsn == client_key(msg)
                and earlier.aanbieder == aanbieder
                and earlier.product.get("Product") == node.get("Product")
                and earlier.ingangsdatum == node.get("Ingangsdatum")
            )
            if not same:
                yield path, "ToewijzingNummer was used before for another toegewezen product"
                break


@rule("TR379", "9379", OVER, (301,), Scope.PART, needs_state=True)
def referentie_uit_verzoek(msg: Message, part: Part) -> Iterator[Hit]:
    """ReferentieAanbieder alleen vullen ter honorering van een VOT of VOW, met de
    ReferentieAanbieder uit die VOT of VOW (checked: a filled one must come from one)."""
    gemeente, aanbieder = parties(msg)
    for path, node in part.find("ToegewezenProduct"):
        referentie = node.get("ReferentieAanbieder")
        if referentie is None:
            continue
        requests = history(msg).verzoeken(str(referentie))
        if not any(r.sender == aanbieder and r.receiver == gemeente for r in requests):
            yield path, "ReferentieAanbieder does not come from a verzoek of this aanbieder"


@rule("TR385", "9385", OVER, (301,), Scope.PART, needs_state=True)
def verwijderen_met_prestaties(msg: Message, part: Part) -> Iterator[Hit]:
    """Een toewijzing met goedgekeurde (niet gecrediteerde) prestaties mag niet verwijderd
    worden met RedenWijziging 13."""
    for path, node in part.find("ToegewezenProduct"):
        if node.get("RedenWijziging") != "13":
            continue
        nummer = str(node.get("ToewijzingNummer"))
        if any(p.toewijzing == nummer for p in approved_debets(msg, nummer)):
            yield path, "the toewijzing has approved prestaties and cannot be deleted"


# -- regieberichten (305/307) ------------------------------------------------------------------


def active(
    msg: Message, nummer: str, number: int
) -> dict[tuple[Any, ...], tuple[dict[str, Any], str | None]]:
    """Current (delivered and not deleted) Start/StopProducts of a toewijzing by logical key."""
    cache = msg.memo.setdefault(f"regie{number}", {})
    if nummer not in cache:
        found: dict[tuple[Any, ...], tuple[dict[str, Any], str | None]] = {}
        for product, bsn in history(msg).regie(nummer, number):
            key = regie_key(product)
            if product.get("StatusAanlevering") == "1":
                found[key] = (product, bsn)
            elif product.get("StatusAanlevering") == "3":
                found.pop(key, None)
        cache[nummer] = found
    result: dict[tuple[Any, ...], tuple[dict[str, Any], str | None]] = cache[nummer]
    return result


def _regie_products(part: Part) -> Iterator[tuple[str, dict[str, Any], int]]:
    for path, node in part.find("StartProduct"):
        yield path, node, 305
    for path, node in part.find("StopProduct"):
        yield path, node, 307


@rule("TR019", "9019", OVER, (305, 307), Scope.PART, needs_state=True)
def regie_bij_toewijzing(msg: Message, part: Part) -> Iterator[Hit]:
    """De melding van start of stop moet gerelateerd zijn aan een toewijzing op basis van het
    ToewijzingNummer (output- of inspanningsgericht: when a ToewijzingNummer is given)."""
    for path, node, _ in _regie_products(part):
        nummer = node.get("ToewijzingNummer")
        if nummer is not None and toewijzing(msg, nummer) is None:
            yield path, "no toewijzing with this ToewijzingNummer"


@rule("TR063", "9063", OVER, (305, 307), Scope.PART, needs_state=True)
def verwijderen_na_aanlevering(msg: Message, part: Part) -> Iterator[Hit]:
    """StatusAanlevering 3: er moet eerder een aanlevering met dezelfde logische sleutel
    verstuurd zijn voor de betreffende Client."""
    bsn = client_key(msg)
    for path, node, number in _regie_products(part):
        if node.get("StatusAanlevering") != "3":
            continue
        found = active(msg, str(node.get("ToewijzingNummer")), number).get(regie_key(node))
        if found is None or found[1] != bsn:
            yield path, "nothing with this logical key was delivered before"


@rule("TR074", "9074", OVER, (305, 307), Scope.PART, needs_state=True)
def sleutel_uniek_over_berichten(msg: Message, part: Part) -> Iterator[Hit]:
    """StatusAanlevering 1: de sleutel moet ook uniek zijn in combinatie met alle reeds ontvangen
    berichten."""
    for path, node, number in _regie_products(part):
        if node.get("StatusAanlevering") != "1":
            continue
        if regie_key(node) in active(msg, str(node.get("ToewijzingNummer")), number):
            yield path, "the logical key was already received"


def _stops_of_start(msg: Message, nummer: str, begindatum: Any, bsn: Any) -> list[dict[str, Any]]:
    return [
        stop
        for stop, stop_bsn in active(msg, nummer, 307).values()
        if stop.get("Begindatum") == begindatum and stop_bsn == bsn
    ]


@rule("TR071", "9071", OVER, (305,), Scope.PART, needs_state=True)
def start_niet_verwijderen_na_stop(msg: Message, part: Part) -> Iterator[Hit]:
    """StatusAanlevering mag niet 3 zijn als voor de betreffende start al een stop is verstuurd."""
    bsn = client_key(msg)
    for path, node in part.find("StartProduct"):
        if node.get("StatusAanlevering") == "3" and _stops_of_start(
            msg, str(node.get("ToewijzingNummer")), node.get("Begindatum"), bsn
        ):
            yield path, "the start was already stopped"


@rule("TR326", "9326", OVER, (305,), Scope.PART, needs_state=True)
def geen_actuele_start(msg: Message, part: Part) -> Iterator[Hit]:
    """Een Startbericht mag pas verstuurd worden als er géén actueel Startbericht bij het
    ToegewezenProduct is (a start is actual until a stop with its Begindatum is delivered)."""
    bsn = client_key(msg)
    for path, node in part.find("StartProduct"):
        nummer = node.get("ToewijzingNummer")
        if node.get("StatusAanlevering") != "1" or nummer is None:
            continue
        for key, (start, start_bsn) in active(msg, str(nummer), 305).items():
            if key == regie_key(node) or start_bsn != bsn:
                continue  # the same key is TR074's business
            if not _stops_of_start(msg, str(nummer), start.get("Begindatum"), bsn):
                yield path, "an earlier start of this toegewezen product is not stopped"
                break


def _start_of(msg: Message, node: dict[str, Any], bsn: Any) -> dict[str, Any] | None:
    nummer = str(node.get("ToewijzingNummer"))
    for start, start_bsn in active(msg, nummer, 305).values():
        if (
            start_bsn == bsn
            and start.get("Begindatum") == node.get("Begindatum")
            and start.get("Product") == node.get("Product")
        ):
            return start
    return None


@rule("TR382", "9069", OVER, (307,), Scope.PART, needs_state=True)
def stop_na_start(msg: Message, part: Part) -> Iterator[Hit]:
    """De sleutelelementen uit het startbericht moeten in het stopbericht ongewijzigd worden
    overgenomen (there must be a current start with the same key)."""
    bsn = client_key(msg)
    for path, node in part.find("StopProduct"):
        if node.get("StatusAanlevering") == "1" and _start_of(msg, node, bsn) is None:
            yield path, "no current start with the same key"


def _earlier_stops(msg: Message, node: dict[str, Any], bsn: Any) -> list[dict[str, Any]]:
    return _stops_of_start(msg, str(node.get("ToewijzingNummer")), node.get("Begindatum"), bsn)


@rule("TR413", "9413", OVER, (307,), Scope.PART, needs_state=True)
def na_tijdelijke_stop(msg: Message, part: Part) -> Iterator[Hit]:
    """Na een StopProduct met RedenBeeindiging 20 (tijdelijk) voor hetzelfde Bsn,
    ToewijzingNummer en Begindatum moet RedenBeeindiging ongelijk aan 20 zijn."""
    bsn = client_key(msg)
    for path, node in part.find("StopProduct"):
        if node.get("StatusAanlevering") not in ("1", "2") or node.get("RedenBeeindiging") != "20":
            continue
        if any(s.get("RedenBeeindiging") == "20" for s in _earlier_stops(msg, node, bsn)):
            yield path, "a temporary stop was already delivered"


@rule("TR414", "9414", OVER, (307,), Scope.PART, needs_state=True)
def einddatum_niet_eerder(msg: Message, part: Part) -> Iterator[Hit]:
    """Bij een eerdere StopProduct voor hetzelfde Bsn, ToewijzingNummer en Begindatum moet
    Einddatum >= Einddatum uit de actuele StopProduct zijn."""
    bsn = client_key(msg)
    for path, node in part.find("StopProduct"):
        if node.get("StatusAanlevering") not in ("1", "2"):
            continue
        end = date(node.get("Einddatum"))
        for stop in _earlier_stops(msg, node, bsn):
            earlier = date(stop.get("Einddatum"))
            if end is not None and earlier is not None and end < earlier:
                yield path, "Einddatum lies before that of the current stop"
                break


@rule("TR415", "9415", OVER, (307,), Scope.PART, needs_state=True)
def geen_tweede_definitieve_stop(msg: Message, part: Part) -> Iterator[Hit]:
    """Er mag geen StopProduct zijn met gelijk Bsn, ToewijzingNummer, Begindatum en
    RedenBeeindiging ongelijk aan 20, indien StatusAanlevering 1 of 2."""
    bsn = client_key(msg)
    for path, node in part.find("StopProduct"):
        if node.get("StatusAanlevering") not in ("1", "2"):
            continue
        if any(s.get("RedenBeeindiging") != "20" for s in _earlier_stops(msg, node, bsn)):
            yield path, "a definitive stop was already delivered"


# -- verzoeken (315/317) and antwoord (319) ----------------------------------------------------


def _referenties(msg: Message) -> list[tuple[str, str]]:
    client = msg.data.get("Client") or {}
    out = [
        (path, str(node.get("ReferentieAanbieder")))
        for path, node in Part(msg.data).find("AangevraagdProduct")
    ]
    if "Verzoek" in client:
        out.append(("Client/Verzoek", str(get(client, "Verzoek/ReferentieAanbieder"))))
    return out


@rule("TR347", "9347", OVER, (315, 317), needs_state=True)
def referentie_uniek(msg: Message) -> Iterator[Hit]:
    """ReferentieAanbieder is uniek voor de aanbieder binnen het wettelijk domein."""
    _, aanbieder = parties(msg)
    for path, referentie in _referenties(msg):
        if any(e.sender == aanbieder for e in history(msg).verzoeken(referentie)):
            yield path, "ReferentieAanbieder was used before"


def pending(msg: Message, referentie: str, gemeente: str) -> bool:
    """A verzoek is pending until a 301 carries its ReferentieAanbieder or a 319 rejects it."""
    if any(t.sender == gemeente for t in history(msg).toegewezen_op(referentie)):
        return False
    return not any(
        answer.sender == gemeente and value == "1"
        for answer, value in history(msg).antwoorden(referentie)
    )


@rule("TR374", "9374", OVER, (315, 317), needs_state=True)
def geen_onderhanden_verzoek(msg: Message) -> Iterator[Hit]:
    """Een verzoek mag alleen worden verstuurd als er geen onderhanden verzoek is voor de
    betreffende client van dezelfde aanbieder."""
    gemeente, aanbieder = parties(msg)
    bsn = str(get(msg.data, "Client/Bsn"))
    own = {r for _, r in _referenties(msg)}
    for earlier, referenties in history(msg).verzoeken_of_client(bsn).items():
        if earlier.sender != aanbieder or earlier.receiver != gemeente:
            continue
        if any(r not in own and pending(msg, r, gemeente) for r in referenties):
            yield "Client", "an earlier verzoek for this client is still pending"
            return


def _vow_numbers(msg: Message) -> list[tuple[str, str, dict[str, Any]]]:
    part = Part(msg.data)
    return [
        (path, klass, node)
        for klass in ("OngewijzigdProduct", "TeWijzigenProduct")
        for path, node in part.find(klass)
    ]


@rule("TR349", "9349", OVER, (317,), needs_state=True)
def vow_volledig(msg: Message) -> Iterator[Hit]:
    """Het verzoek om wijziging bevat alle actuele ToegewezenProducten van de client."""
    gemeente, aanbieder = parties(msg)
    bsn = str(get(msg.data, "Client/Bsn"))
    day = msg.dagtekening or msg.today
    listed = {str(node.get("ToewijzingNummer")) for _, _, node in _vow_numbers(msg)}
    actual = {
        t.nummer
        for t in history(msg).toewijzingen_of_client(bsn, gemeente, aanbieder)
        if current(t, day)
    }
    if actual - listed:
        yield "Client/Verzoek", "not every current toewijzing of the client is in the verzoek"


def _vow_related(msg: Message, klass: str, text: str) -> Iterator[Hit]:
    day = msg.dagtekening or msg.today
    for path, found_klass, node in _vow_numbers(msg):
        if found_klass != klass:
            continue
        t = toewijzing(msg, node.get("ToewijzingNummer"))
        if t is None or not current(t, day):
            yield path, text


@rule("TR350", "9350", OVER, (317,), needs_state=True)
def ongewijzigd_actueel(msg: Message) -> Iterator[Hit]:
    """Ieder OngewijzigdProduct is gerelateerd aan een actueel toegewezen product."""
    yield from _vow_related(msg, "OngewijzigdProduct", "no current toewijzing with this number")


@rule("TR351", "9351", OVER, (317,), needs_state=True)
def tewijzigen_actueel(msg: Message) -> Iterator[Hit]:
    """Ieder TeWijzigenProduct is gerelateerd aan een actueel ToegewezenProduct."""
    yield from _vow_related(msg, "TeWijzigenProduct", "no current toewijzing with this number")


def _te_wijzigen(msg: Message) -> Iterator[tuple[str, dict[str, Any], Toewijzing]]:
    for path, node in Part(msg.data).find("TeWijzigenProduct"):
        t = toewijzing(msg, node.get("ToewijzingNummer"))
        if t is not None:
            yield path, node, t


@rule("TR357", "9357", OVER, (317,), needs_state=True)
def gewenste_ingangsdatum_verleden(msg: Message) -> Iterator[Hit]:
    """Als GewensteIngangsdatum <= dagtekening, dan gelijk aan de ingangsdatum van het originele
    ToegewezenProduct."""
    dagtekening = msg.dagtekening
    for path, node, t in _te_wijzigen(msg):
        wanted = date(node.get("GewensteIngangsdatum"))
        if dagtekening and wanted and wanted <= dagtekening and str(wanted) != t.ingangsdatum:
            yield path, "a GewensteIngangsdatum in the past must be the original Ingangsdatum"


@rule("TR373", "9373", OVER, (317,), needs_state=True)
def budget_wijziging(msg: Message) -> Iterator[Hit]:
    """Wijzigt een TeWijzigenProduct het Budget of het totaal over de toewijzingsperiode
    (Frequentie 6), dan GewensteIngangsdatum gelijk aan die van de actuele toewijzing."""
    for path, node, t in _te_wijzigen(msg):
        budget = "Budget" in node and node.get("Budget") != t.product.get("Budget")
        totaal = get(node, "Omvang/Frequentie") == "6" and node.get("Omvang") != t.product.get(
            "Omvang"
        )
        if (budget or totaal) and node.get("GewensteIngangsdatum") != t.ingangsdatum:
            yield path, "a Budget or total change must keep the Ingangsdatum of the toewijzing"


@rule("TR375", "9375", OVER, (317,), needs_state=True)
def geen_product_geen_omvang(msg: Message) -> Iterator[Hit]:
    """Indien Product in de toewijzing leeg is en Einddatum na 31-12-2020 of leeg, dan Omvang
    leeg laten."""
    for path, node, t in _te_wijzigen(msg):
        end = date(t.einddatum)
        if (
            t.categorie is None
            and (end is None or end > dt.date(2020, 12, 31))
            and "Omvang" in node
        ):
            yield path, "Omvang must be empty for a toewijzing without Product"


@rule("TR411", "9411", OVER, (317,), needs_state=True)
def code_vraagt_omvang(msg: Message) -> Iterator[Hit]:
    """Indien Code in Product bij de toewijzing gevuld is, dan Omvang verplicht vullen."""
    for path, node, t in _te_wijzigen(msg):
        if t.code is not None and "Omvang" not in node and "Budget" not in node:
            yield path, "Omvang is required for a toewijzing with a ProductCode"


@rule("TR412", "9412", OVER, (317,), needs_state=True)
def geen_code_geen_omvang(msg: Message) -> Iterator[Hit]:
    """Indien Code in Product bij de toewijzing leeg is en einddatum na 31-12-2020 of leeg,
    dan Omvang leeg laten."""
    for path, node, t in _te_wijzigen(msg):
        end = date(t.einddatum)
        if t.code is None and (end is None or end > dt.date(2020, 12, 31)) and "Omvang" in node:
            yield path, "Omvang must be empty for a toewijzing without ProductCode"


@rule("TR361", "9361", OVER, (317,), needs_state=True)
def vow_stapeling(msg: Message) -> Iterator[Hit]:
    """Een Product mag alleen vaker in een verzoek om wijziging voorkomen als de zorgperiodes
    elkaar niet overlappen (TeWijzigen/Ongewijzigd via their toewijzing, and NieuwProduct)."""
    seen: list[tuple[Any, Any, Any]] = []
    items: list[tuple[str, Any, Any, Any]] = []
    for path, klass, node in _vow_numbers(msg):
        t = toewijzing(msg, node.get("ToewijzingNummer"))
        if t is None:
            continue
        begin = (
            node.get("GewensteIngangsdatum", t.ingangsdatum)
            if klass == "TeWijzigenProduct"
            else t.ingangsdatum
        )
        end = node.get("Einddatum", t.einddatum) if klass == "TeWijzigenProduct" else t.einddatum
        items.append((path, (t.categorie, t.code), begin, end))
    for path, node in Part(msg.data).find("NieuwProduct"):
        product = node.get("Product") or {}
        items.append(
            (path, (product.get("Categorie"), product.get("Code")),
             node.get("GewensteIngangsdatum"), node.get("Einddatum"))
        )  # fmt: skip
    for path, key, begin, end in items:
        if key[0] is not None and any(k == key and overlaps(begin, end, b, e) for k, b, e in seen):
            yield path, "the same Product occurs again for an overlapping period"
        seen.append((key, begin, end))


def _antwoorden(msg: Message) -> list[str | None]:
    """VerzoekAntwoord of each earlier antwoord of this gemeente on the ReferentieAanbieder."""
    referentie = str(get(msg.data, "Antwoord/ReferentieAanbieder"))
    gemeente, _ = parties(msg)
    return [v for e, v in history(msg).antwoorden(referentie) if e.sender == gemeente]


@rule("TR355", "9355", OVER, (319,), needs_state=True)
def antwoord_op_verzoek(msg: Message) -> Iterator[Hit]:
    """ReferentieAanbieder in het antwoordbericht komt voor in een eerder verzoek om toewijzing
    of verzoek om wijziging."""
    gemeente, aanbieder = parties(msg)
    referentie = str(get(msg.data, "Antwoord/ReferentieAanbieder"))
    requests = history(msg).verzoeken(referentie)
    if not any(r.sender == aanbieder and r.receiver == gemeente for r in requests):
        yield "Antwoord", "no earlier verzoek with this ReferentieAanbieder"


@rule("TR359", "9359", OVER, (319,), needs_state=True)
def niet_na_toewijzing(msg: Message) -> Iterator[Hit]:
    """Een antwoordbericht mag niet volgen op een toewijzingsbericht met dezelfde
    ReferentieAanbieder."""
    gemeente, _ = parties(msg)
    referentie = str(get(msg.data, "Antwoord/ReferentieAanbieder"))
    if any(e.sender == gemeente for e in history(msg).toegewezen_op(referentie)):
        yield "Antwoord", "a toewijzing with this ReferentieAanbieder was already sent"


@rule("TR360", "9360", OVER, (319,), needs_state=True)
def onderzoek_alleen_eerst(msg: Message) -> Iterator[Hit]:
    """VerzoekAntwoord 2 (in onderzoek) alleen als er nog geen antwoordbericht is met deze
    ReferentieAanbieder."""
    if get(msg.data, "Antwoord/VerzoekAntwoord") == "2" and _antwoorden(msg):
        yield "Antwoord", "an antwoord with this ReferentieAanbieder was already sent"


@rule("TR365", "9365", OVER, (319,), needs_state=True)
def vorig_antwoord_in_onderzoek(msg: Message) -> Iterator[Hit]:
    """Is er al een antwoordbericht met dezelfde ReferentieAanbieder, dan moet VerzoekAntwoord
    daar 2 (Aanvraag in onderzoek) zijn."""
    if any(value != "2" for value in _antwoorden(msg)):
        yield "Antwoord", "the earlier antwoord was final"


@rule("TR304", "8187", OVER, (317, 323, 325), Scope.PART, needs_state=True)
def bsn_van_client(msg: Message, part: Part) -> Iterator[Hit]:
    """Bsn moet overeenkomen met Bsn van een Client (the client of the toewijzingen referred to)."""
    for path, client in part.find("Client"):
        found = [t for _, t in _toewijzingen(msg, part)]
        if not part.is_record:
            found += [toewijzing(msg, n.get("ToewijzingNummer")) for _, _, n in _vow_numbers(msg)]
        subject = None  # the keyed hash (an HMAC): made once per client, when first needed
        for t in found:
            if t is None:
                continue
            if subject is None:
                subject = history(msg).subject(client.get("Bsn"))
            if t.bsn != subject:
                yield path, "Bsn differs from the client of the toewijzing"
                break


# -- declaratie (323) --------------------------------------------------------------------------


@rule("TR333", "9333", OVER, (323,), needs_state=True)
def declaratienummer_uniek(msg: Message) -> Iterator[Hit]:
    """DeclaratieNummer moet uniek zijn voor de aanbieder binnen het wettelijk domein."""
    nummer = str(get(msg.data, "Declaratie/DeclaratieNummer"))
    _, aanbieder = parties(msg)
    if any(d.earlier.sender == aanbieder for d in history(msg).declaraties("nummer", nummer)):
        yield "Declaratie", "DeclaratieNummer was used before"


def _toewijzingen(msg: Message, part: Part) -> list[tuple[PrestatieFacts, Toewijzing | None]]:
    """Every prestatie of the part with its toewijzing, None when unknown (looked up once per
    part: a dozen rules ask)."""
    found: list[tuple[PrestatieFacts, Toewijzing | None]] | None = part.memo.get("toewijzingen")
    if found is None:
        found = part.memo["toewijzingen"] = [
            (f, toewijzing(msg, f.toewijzing)) for f in prestaties(part)
        ]
    return found


def _prestaties_with_toewijzing(
    msg: Message, part: Part
) -> list[tuple[PrestatieFacts, Toewijzing]]:
    """The part's prestaties whose toewijzing is known, with it."""
    found: list[tuple[PrestatieFacts, Toewijzing]] | None = part.memo.get("prestaties")
    if found is None:
        found = part.memo["prestaties"] = [
            (f, t) for f, t in _toewijzingen(msg, part) if t is not None
        ]
    return found


@lookahead((323,))
def declaratie_ahead(msg: Message, parts: list[Part]) -> None:
    """Before a chunk of clients: their toewijzingen (and the 301s carrying them) and the
    earlier prestaties under their ReferentieNummers, one query each."""
    toewijzingen: set[str] = set()
    referenties: set[str] = set()
    for part in parts:
        for f in prestaties(part):
            toewijzingen.add(str(f.toewijzing))
            referenties.add(str(f.referentie))
            if f.vorige is not None:
                referenties.add(str(f.vorige))
    history(msg).prefetch(
        {
            (TOEWIJZING, "nummer"): toewijzingen,
            (PRESTATIE, "toewijzing"): toewijzingen,
            (PRESTATIE, "referentie"): referenties,
            (PRESTATIE, "vorige"): referenties,
        }
    )


@rule("TR338", "9338", OVER, (323,), Scope.PART, needs_state=True)
def prestatie_bij_toewijzing(msg: Message, part: Part) -> Iterator[Hit]:
    """De Prestatie is gerelateerd aan een ToegewezenProduct op basis van het ToewijzingNummer."""
    for f, t in _toewijzingen(msg, part):
        if t is None:
            yield f.path, "no toewijzing with this ToewijzingNummer"


@rule("TR339", "9339", OVER, (323,), Scope.PART, needs_state=True)
def zelfde_categorie(msg: Message, part: Part) -> Iterator[Hit]:
    """ProductCategorie gelijk aan die in het ToegewezenProduct, indien daar opgenomen."""
    for f, t in _prestaties_with_toewijzing(msg, part):
        if t.categorie is not None and f.categorie != t.categorie:
            yield f.path, "ProductCategorie differs from the toewijzing"


@rule("TR340", "9340", OVER, (323,), Scope.PART, needs_state=True)
def zelfde_code(msg: Message, part: Part) -> Iterator[Hit]:
    """ProductCode gelijk aan die in het ToegewezenProduct, indien daar opgenomen."""
    for f, t in _prestaties_with_toewijzing(msg, part):
        if t.code is not None and f.code != t.code:
            yield f.path, "ProductCode differs from the toewijzing"


@rule("TR341", "9341", OVER, (323,), Scope.PART, needs_state=True)
def passende_eenheid(msg: Message, part: Part) -> Iterator[Hit]:
    """Eenheid in Prestatie moet passen bij Eenheid in het ToegewezenProduct (Omvang: the same
    Eenheid; Budget: 83 euro's)."""
    for f, t in _prestaties_with_toewijzing(msg, part):
        eenheid = get(t.product, "Omvang/Eenheid")
        if eenheid is None and "Budget" in t.product:
            eenheid = "83"
        if eenheid is not None and f.eenheid != eenheid:
            yield f.path, "Eenheid does not fit the toewijzing"


@rule("TR384", "9384", OVER, (323,), Scope.PART, needs_state=True)
def niet_op_verwijderde(msg: Message, part: Part) -> Iterator[Hit]:
    """Niet declareren op een toewijzing met RedenWijziging 13 (Verwijderd)."""
    for f, t in _prestaties_with_toewijzing(msg, part):
        if t.deleted:
            yield f.path, "the toewijzing was deleted"


@rule("TR307", "9307", OVER, (323,), Scope.PART, needs_state=True)
def begin_na_ingang(msg: Message, part: Part) -> Iterator[Hit]:
    """Begindatum in ProductPeriode >= Ingangsdatum in ToegewezenProduct."""
    for f, t in _prestaties_with_toewijzing(msg, part):
        begin, ingang = f.begin, date(t.ingangsdatum)
        if begin and ingang and begin < ingang:
            yield f.path, "ProductPeriode begins before the toewijzing"


@rule("TR308", "9308", OVER, (323,), Scope.PART, needs_state=True)
def einde_voor_einddatum(msg: Message, part: Part) -> Iterator[Hit]:
    """Einddatum in ProductPeriode <= Einddatum in ToegewezenProduct, indien die gevuld is."""
    for f, t in _prestaties_with_toewijzing(msg, part):
        end, einde = f.eind, date(t.einddatum)
        if end and einde and end > einde:
            yield f.path, "ProductPeriode ends after the toewijzing"


@rule("TR387", "9387", OVER, (323,), Scope.PART, needs_state=True)
def begin_eerste_van_maand(msg: Message, part: Part) -> Iterator[Hit]:
    """De Begindatum van een ProductPeriode is de eerste dag van de kalendermaand, tenzij de
    Ingangsdatum van de toewijzing later in die maand ligt."""
    for f, t in _prestaties_with_toewijzing(msg, part):
        begin, ingang = f.begin, date(t.ingangsdatum)
        if begin is None:
            continue
        expected = begin.replace(day=1)
        if (
            ingang
            and (ingang.year, ingang.month) == (begin.year, begin.month)
            and ingang > expected
        ):
            expected = ingang
        if begin != expected:
            yield f.path, "ProductPeriode does not begin on the first day it may"


@rule("TR388", "9388", OVER, (323,), Scope.PART, needs_state=True)
def einde_laatste_van_maand(msg: Message, part: Part) -> Iterator[Hit]:
    """De Einddatum van een ProductPeriode is de laatste dag van de kalendermaand, tenzij de
    Einddatum van de toewijzing eerder in die maand ligt."""
    for f, t in _prestaties_with_toewijzing(msg, part):
        end, einde = f.eind, date(t.einddatum)
        if end is None:
            continue
        expected = month_end(end)
        if einde and (einde.year, einde.month) == (end.year, end.month) and einde < expected:
            expected = einde
        if end != expected:
            yield f.path, "ProductPeriode does not end on the last day it may"


def _units(frequentie: Any, begin: dt.date, end: dt.date) -> int | None:
    """How many Frequentie periods a ProductPeriode spans (None: Frequentie 6, the total)."""
    days = (end - begin).days + 1
    return {"1": days, "2": -(-days // 7), "4": 1}.get(str(frequentie))


@rule("TR321", "9321", OVER, (323,), Scope.PART, needs_state=True)
def volume_past(msg: Message, part: Part) -> Iterator[Hit]:
    """Indien in het ToegewezenProduct een Omvang is meegegeven, moet GeleverdVolume in de
    Prestatie passen binnen Volume (Volume x the Frequentie periods in the ProductPeriode; for
    Frequentie 6 the total)."""
    for f, t in _prestaties_with_toewijzing(msg, part):
        omvang = t.product.get("Omvang")
        if not isinstance(omvang, dict) or omvang.get("Eenheid") != f.eenheid:
            continue
        begin, end = f.begin, f.eind
        if begin is None or end is None:
            continue
        units = _units(omvang.get("Frequentie"), begin, end)
        allowed = int(omvang.get("Volume", 0)) * (units if units is not None else 1)
        if _volume(f) > allowed:
            yield f.path, "GeleverdVolume exceeds the toegewezen Omvang"


def _approved(msg: Message, prestaties: list[Prestatie], message_id: str) -> list[Prestatie]:
    """Those of ``prestaties`` (of one earlier declaratie) its 325 did not reject."""
    found = history(msg).declaraties("message_id", message_id)
    rejected = history(msg).rejected_referenties(found[0]) if found else None
    if rejected is None:
        return []
    return [p for p in prestaties if p.referentie not in rejected]


def approved_debets(msg: Message, nummer: str) -> list[Prestatie]:
    """Approved, not credited debet prestaties on toewijzing ``nummer`` from earlier 323s."""
    cache = msg.memo.setdefault("approved", {})
    if nummer not in cache:
        if len(cache) >= MEMO_MAX:
            cache.clear()
        debets: list[Prestatie] = []
        credited: set[str] = set()
        by_message: dict[str, list[Prestatie]] = {}
        for p in history(msg).prestaties_on(nummer):
            by_message.setdefault(p.message_id, []).append(p)
        for message_id, mine in by_message.items():
            for p in _approved(msg, mine, message_id):
                if p.credit and p.vorige:
                    credited.add(p.vorige)
                elif not p.credit:
                    debets.append(p)
        cache[nummer] = [p for p in debets if p.referentie not in credited]
    result: list[Prestatie] = cache[nummer]
    return result


def _volume(f: PrestatieFacts) -> int:
    """GeleverdVolume as a number (0 when absent)."""
    return int(f.volume if f.volume is not None else 0)


def _signed(f: PrestatieFacts) -> int:
    return -_volume(f) if f.credit else _volume(f)


class _Cumulative:
    """TR322/TR369: the sum over this message and earlier approved prestaties must fit."""

    def __init__(self, msg: Message, kind: str) -> None:
        self.msg, self.kind = msg, kind
        self.sums: dict[str, int] = {}
        self.last: dict[str, str] = {}

    def add(self, part: Part) -> Iterator[Hit]:
        for f, t in _prestaties_with_toewijzing(self.msg, part):
            if self.limit(t) is None:
                continue
            self.sums[t.nummer] = self.sums.get(t.nummer, 0) + _signed(f)
            self.last[t.nummer] = f.path
        return iter(())

    def limit(self, t: Toewijzing) -> int | None:
        if self.kind == "omvang":
            omvang = t.product.get("Omvang")
            if isinstance(omvang, dict) and omvang.get("Frequentie") == "6":
                return int(omvang.get("Volume", 0))
            return None
        budget = t.product.get("Budget")
        return int(budget) if budget is not None else None

    def done(self) -> Iterator[Hit]:
        for nummer, total in self.sums.items():
            t = toewijzing(self.msg, nummer)
            assert t is not None
            limit = self.limit(t)
            earlier = sum(p.volume for p in approved_debets(self.msg, nummer))
            if limit is not None and earlier + total > limit:
                what = "Omvang" if self.kind == "omvang" else "Budget"
                yield self.last[nummer], f"the prestaties together exceed the toegewezen {what}"


@rule("TR322", "9322", OVER, (323,), Scope.FOLD, needs_state=True)
def som_volume_past(msg: Message) -> _Cumulative:
    """De som van GeleverdVolume in alle Prestaties op een ToegewezenProduct moet passen binnen
    de toegewezen Omvang (checked for Frequentie 6, totaal binnen de geldigheidsduur; the
    periodic frequencies are checked per prestatie by TR321)."""
    return _Cumulative(msg, "omvang")


@rule("TR369", "9369", OVER, (323,), Scope.FOLD, needs_state=True)
def som_binnen_budget(msg: Message) -> _Cumulative:
    """Indien een Budget is meegegeven, moet de som van GeleverdVolume in alle Prestaties op dat
    ToegewezenProduct passen binnen het Budget."""
    return _Cumulative(msg, "budget")


def _earlier_referentie(msg: Message, referentie: str) -> list[Prestatie]:
    """Earlier prestaties of this aanbieder whose ReferentieNummer or Vorig is ``referentie``."""
    _, aanbieder = parties(msg)
    return [p for p in history(msg).prestaties_by_referentie(referentie) if p.sender == aanbieder]


@rule("TR314", "8021", OVER, (323,), Scope.PART, needs_state=True)
def referentie_uniek_over_berichten(msg: Message, part: Part) -> Iterator[Hit]:
    """ReferentieNummer van de Prestatie moet uniek zijn voor de aanbieder, ook
    berichtoverstijgend (the ledger half; the within-message half is a fold in rules.py)."""
    for f in prestaties(part):
        referentie = str(f.referentie)
        if any(p.referentie == referentie for p in _earlier_referentie(msg, referentie)):
            yield f.path, "ReferentieNummer was used before"


@rule("TR323", "8017", OVER, (323,), Scope.PART, needs_state=True)
def credit_bij_debet(msg: Message, part: Part) -> Iterator[Hit]:
    """Een credit Prestatie moet gerelateerd zijn aan een eerder verzonden (goedgekeurde) debet
    Prestatie op basis van sleutelvelden (ReferentieNummer = VorigReferentieNummer, same
    toewijzing, product and ProductPeriode)."""
    for f in prestaties(part):
        vorige = f.vorige
        if not f.credit or vorige is None:
            continue
        debets = approved_debets(msg, str(f.toewijzing))
        match = [
            p
            for p in debets
            if p.referentie == vorige
            and p.categorie == f.categorie
            and p.code == f.code
            and p.begin == f.begin_text
            and p.eind == f.eind_text
        ]
        if not match:
            yield f.path, "no approved debet with these keys to credit"


@rule("TR390", "9390", OVER, (323,), Scope.PART, needs_state=True)
def een_credit(msg: Message, part: Part) -> Iterator[Hit]:
    """DebetCredit mag alleen Credit zijn als er voor de Prestatie met gelijke ProductReferentie
    niet al een credit bestaat."""
    for f in prestaties(part):
        vorige = f.vorige
        if not f.credit or vorige is None:
            continue
        if any(p.credit and p.vorige == vorige for p in _earlier_referentie(msg, str(vorige))):
            yield f.path, "this debet was already credited"


@rule("TR389", "9389", OVER, (323,), Scope.PART, needs_state=True)
def een_debet(msg: Message, part: Part) -> Iterator[Hit]:
    """Debet alleen als er niet al eerder een (niet gecrediteerde) debetprestatie is verzonden
    voor dezelfde ProductPeriode, ProductCategorie, ProductCode en ToewijzingNummer."""
    for f in prestaties(part):
        if f.credit:
            continue
        key = (f.categorie, f.code, f.begin_text, f.eind_text)
        for p in approved_debets(msg, str(f.toewijzing)):
            if (p.categorie, p.code, p.begin, p.eind) == key:
                yield f.path, "a debet for this period and product was already approved"
                break


# -- declaratie-antwoord (325) ------------------------------------------------------------------


def _declaratie(msg: Message) -> Declaratie | None:
    """The 323 a 325 answers (DeclaratieIdentificatie = its BerichtIdentificatie, TR337)."""
    if "declaratie" not in msg.memo:
        identificatie = get(msg.header, "DeclaratieIdentificatie") or {}
        gemeente, aanbieder = parties(msg)
        found = None
        for d in history(msg).declaraties(  # and rejected: the gateway answers those
            "identificatie", str(identificatie.get("Identificatie")), rejected=True
        ):
            if (
                d.earlier.sender == aanbieder
                and d.earlier.receiver == gemeente
                and d.dagtekening == identificatie.get("Dagtekening")
            ):
                found = d
        msg.memo["declaratie"] = found
    result: Declaratie | None = msg.memo["declaratie"]
    return result


@rule("TR337", NVT, OVER, (325,), needs_state=True)
def antwoord_op_declaratie(msg: Message) -> Iterator[Hit]:
    """De DeclaratieIdentificatie komt overeen met de BerichtIdentificatie van een eerder
    ontvangen Declaratiebericht."""
    if _declaratie(msg) is None:
        yield "Header", "no earlier declaratie with this DeclaratieIdentificatie"


@rule("TR371", NVT, OVER, (325,), needs_state=True)
def xsdversie_declaratie(msg: Message) -> Iterator[Hit]:
    """XsdVersieDeclaratie komt overeen met de XsdVersie van het declaratiebericht."""
    earlier = _declaratie(msg)
    if earlier is not None and earlier.xsd != msg.header.get("XsdVersieDeclaratie"):
        yield "Header", "XsdVersieDeclaratie differs from the declaratie's XsdVersie"


@rule("TR376", NVT, OVER, (325,), needs_state=True)
def declaratienummer_antwoord(msg: Message) -> Iterator[Hit]:
    """Het DeclaratieNummer komt overeen met dat van een eerder ontvangen Declaratie."""
    earlier = _declaratie(msg)
    nummer = get(msg.data, "DeclaratieAntwoord/DeclaratieNummer")
    if earlier is None or nummer is None:
        return
    if earlier.nummer != nummer:
        yield "DeclaratieAntwoord", "DeclaratieNummer differs from the declaratie"


def _declared(msg: Message) -> dict[str, Prestatie]:
    if "declared" not in msg.memo:
        earlier = _declaratie(msg)
        prestaties = history(msg).prestaties(earlier.earlier.message_id) if earlier else []
        msg.memo["declared"] = {p.referentie: p for p in prestaties}
    result: dict[str, Prestatie] = msg.memo["declared"]
    return result


@rule("TR366", "9366", OVER, (325,), Scope.PART, needs_state=True)
def prestatie_uit_declaratie(msg: Message, part: Part) -> Iterator[Hit]:
    """Iedere Prestatie in een declaratieantwoord is gerelateerd aan het declaratiebericht op
    basis van ProductReferentie."""
    if _declaratie(msg) is None:
        return  # TR337 says so
    for f in prestaties(part):
        if str(f.referentie) not in _declared(msg):
            yield f.path, "no prestatie with this ProductReferentie in the declaratie"


@rule("TR367", "9367", OVER, (325,), Scope.PART, needs_state=True)
def prestatie_gelijk(msg: Message, part: Part) -> Iterator[Hit]:
    """Waarden moeten overeenkomen met het declaratiebericht (gerelateerd op ProductReferentie)."""
    declared = _declared(msg)
    for f in prestaties(part):
        p = declared.get(str(f.referentie))
        if p is None:
            continue
        values = (
            f.vorige,
            str(f.toewijzing),
            f.categorie,
            f.code,
            f.begin_text,
            f.eind_text,
            _volume(f),
            f.eenheid,
            int(f.bedrag or 0),
            f.credit,
        )
        if values != (p.vorige, p.toewijzing, p.categorie, p.code, p.begin, p.eind, p.volume,
                      p.eenheid, p.bedrag, p.credit):  # fmt: skip
            yield f.path, "the prestatie differs from the declaratie"
