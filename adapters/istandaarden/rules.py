"""The iWmo/iJw 3.2 rules that can be checked from the message itself, as small pure functions.

Each rule is registered with its rule code, retourcode, controleniveau (IV032/IV088), the message
numbers it applies to and its scope (see :mod:`adapters.istandaarden.engine`); its docstring
quotes the rule text in short. Rules run only after the XSD passed, so they may rely on the
structure and on code-list membership (the XSD's enumerations already check every code list).

Rules needing earlier messages live in :mod:`adapters.istandaarden.rules_state`; externe-bron
rules take their data from :mod:`adapters.istandaarden.refdata`.

Where the rule text does not say which element it applies to (TR134, TR380) the element list
below is our reading of the informatiemodel; it is written next to the rule.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import marshal
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from adapters.istandaarden.catalogue import Bericht
from adapters.istandaarden.engine import (
    RULES,
    Hit,
    Level,
    Message,
    Part,
    Rule,
    Scope,
    check,
    date,
    get,
    month_end,
    overlaps,
    parent,
    regie_key,
    rule,
    years_before,
)
from adapters.istandaarden.facts import PrestatieFacts, prestaties
from adapters.lib.istandaard.codec import xsd_version_range
from gateway.logs import passes_elfproef

__all__ = ["RULES", "Level", "Rule", "check", "conditions"]

XSLT = Level.XSLT
OVER = Level.BERICHTOVERSTIJGEND
EXTERN = Level.EXTERNE_BRON
HEEN = (301, 305, 307, 315, 317, 319, 323, 325)
CUTOFF = dt.date(2020, 12, 31)


def _int(value: Any) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def _after_cutoff_or_open(value: Any) -> bool:
    """``Einddatum groter dan 31-12-2020 of leeg``."""
    end = date(value)
    return end is None or end > CUTOFF


# -- header -----------------------------------------------------------------------------------


@rule("CS025", "0001", XSLT, HEEN)
def berichtversie(msg: Message) -> Iterator[Hit]:
    """BerichtVersie vullen met 3."""
    if msg.header.get("BerichtVersie") != "3":
        yield "Header", "BerichtVersie must be 3"


@rule("CS015", "0001", XSLT, HEEN)
def berichtsubversie(msg: Message) -> Iterator[Hit]:
    """BerichtSubversie vullen met 2."""
    if msg.header.get("BerichtSubversie") != "2":
        yield "Header", "BerichtSubversie must be 2"


@functools.lru_cache(maxsize=256)
def _version(text: Any) -> tuple[int, ...]:
    try:
        return tuple(int(p) for p in str(text).split("."))
    except ValueError:
        return ()


@functools.cache
def _version_bounds(
    bericht: Bericht,
) -> tuple[tuple[str, str, str, tuple[int, ...], tuple[int, ...]], ...]:
    """(element, low, high, low and high as numbers) per XsdVersie element of ``bericht``."""
    return tuple(
        (element, low, high, _version(low), _version(high))
        for element, (low, high) in xsd_version_range(bericht).items()
    )


@rule("IV034", "0001", XSLT)
def xsd_versie(msg: Message) -> Iterator[Hit]:
    """XsdVersie: the Basisschema- and BerichtXsdVersie the sender copied from the XSD appinfo
    must lie within the XSD's Min/Max versions (header check on versions)."""
    for name in ("XsdVersie", "XsdVersieRetour", "XsdVersieDeclaratie"):
        versions = msg.header.get(name)
        if not isinstance(versions, dict):
            continue
        bericht = msg.bericht
        if name == "XsdVersie" and bericht.is_retour and bericht.heenbericht is not None:
            bericht = bericht.heenbericht
        elif name == "XsdVersieDeclaratie":
            bericht = Bericht(bericht.standard, 323)
        for element, low, high, lowest, highest in _version_bounds(bericht):
            value = _version(versions.get(element))
            if not (lowest <= value <= highest):
                yield "Header", f"{name}/{element} is outside {low}..{high}"


@rule("TR135", "8848", EXTERN, HEEN)
def not_in_future(msg: Message) -> Iterator[Hit]:
    """Vullen met een bestaande datum die niet in de toekomst ligt (Dagtekening; system date)."""
    dagtekening = msg.dagtekening
    if dagtekening is not None and dagtekening > msg.today:
        yield "Header", "Dagtekening lies in the future"
    declaratie = date(get(msg.data, "Declaratie/DeclaratieDagtekening"))
    if declaratie is not None and declaratie > msg.today:
        yield "Declaratie", "DeclaratieDagtekening lies in the future"


# Which header party is the gemeente (the other is an AGB code).
def gemeente_of(msg: Message) -> str:
    if msg.bericht.sent_by == "gemeente" or msg.bericht.number == 325:
        return str(msg.header.get("Afzender", ""))
    heen = msg.bericht.heenbericht
    if heen is not None and heen.sent_by == "gemeente":
        return str(msg.header.get("Afzender", ""))
    return str(msg.header.get("Ontvanger", ""))


def _reference_day(msg: Message) -> dt.date | None:
    """TR378: the CBS list actual on Ingangsdatum or ToewijzingIngangsdatum (else Dagtekening)."""
    days = []
    for name in ("Ingangsdatum", "ToewijzingIngangsdatum", "GewensteIngangsdatum"):
        days += [date(v) for v in _values(msg.data, name)]
    found = [d for d in days if d is not None]
    return min(found) if found else msg.dagtekening


def _values(node: Any, name: str) -> Iterator[Any]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == name and not isinstance(value, dict | list):
                yield value
            else:
                yield from _values(value, name)
    elif isinstance(node, list):
        for item in node:
            yield from _values(item, name)


@rule("TR378", "S300", EXTERN, HEEN)
def gemeentecode(msg: Message) -> Iterator[Hit]:
    """Vullen met een bestaande gemeentecode uit het overzicht van CBS dat actueel is op
    Ingangsdatum of ToewijzingIngangsdatum (after a herindeling the old code stays usable)."""
    if msg.refdata.gemeenten is None:
        return  # the CBS list is not configured: not assessed
    day = _reference_day(msg)
    if day is None:
        return
    if msg.refdata.gemeente_valid(gemeente_of(msg), day) is False:
        yield "Header", "gemeentecode is not in the CBS list on the reference date"
    woonplaats = get(msg.data, "Antwoord/Woonplaatsbeginsel/Gemeente")
    if woonplaats and msg.refdata.gemeente_valid(woonplaats, day) is False:
        yield "Antwoord/Woonplaatsbeginsel", "Gemeente is not in the CBS list"


# -- client -----------------------------------------------------------------------------------


@rule("CS002", "0001", XSLT, scope=Scope.PART)
def bsn_elfproef(msg: Message, part: Part) -> Iterator[Hit]:
    """De waarde (Bsn) moet voldoen aan de 11-proef (the XSD only checks nine digits)."""
    for path, client in part.find("Client"):
        bsn = client.get("Bsn")
        if bsn is not None and not passes_elfproef(bsn):
            yield path, "Bsn does not pass the 11-proef"


@rule("TR002", "0001", XSLT, (301, 305, 307, 315), Scope.PART)
def geboortedatum_120(msg: Message, part: Part) -> Iterator[Hit]:
    """Geboortedatum mag niet meer dan 120 jaar voor de Dagtekening liggen, tenzij onbekend."""
    dagtekening = msg.dagtekening
    if dagtekening is None:
        return
    for name in ("Client", "Relatie"):
        for path, node in part.find(name):
            born = date(get(node, "Geboortedatum/Datum"))
            if born is None or get(node, "Geboortedatum/DatumGebruik") == "3":
                continue
            limit = years_before(dagtekening, 120)
            if born < limit:
                yield path, "Geboortedatum lies more than 120 years before the Dagtekening"


@rule("CS139", "0001", XSLT, (301, 305, 307, 315), Scope.PART)
def datumgebruik(msg: Message, part: Part) -> Iterator[Hit]:
    """Voor Geboortedatum geldt dat DatumGebruik en Datum met elkaar in overeenstemming moeten
    zijn (unknown day: day 01; unknown day and month: 01-01; all unknown: 1900-01-01)."""
    for name in ("Client", "Relatie"):
        for path, node in part.find(name):
            born = date(get(node, "Geboortedatum/Datum"))
            use = get(node, "Geboortedatum/DatumGebruik")
            if born is None or use is None:
                continue
            ok = {
                "1": born.day == 1,
                "2": (born.month, born.day) == (1, 1),
                "3": born == dt.date(1900, 1, 1),
            }.get(use, True)
            if not ok:
                yield path, "Geboortedatum does not agree with DatumGebruik"


@rule("CS050", "0001", XSLT, (301,), Scope.PART)
def naamgebruik(msg: Message, part: Part) -> Iterator[Hit]:
    """Als Partnernaam gevuld is, dan NaamGebruik 1, 2, 3 of 4; anders 1 of 6."""
    for name in ("Client", "Relatie"):
        for path, node in part.find(name):
            naam = node.get("Naam") or {}
            use = naam.get("NaamGebruik")
            if use is None:
                continue
            allowed = {"1", "2", "3", "4"} if "Partnernaam" in naam else {"1", "6"}
            if use not in allowed:
                yield path, "NaamGebruik does not fit the presence of a Partnernaam"


@rule("CS318", "0001", XSLT, (301,), Scope.PART)
def naamgebruik_client(msg: Message, part: Part) -> Iterator[Hit]:
    """NaamGebruik 6 (Niet-natuurlijk persoon) niet vullen (Client)."""
    for path, client in part.find("Client"):
        if get(client, "Naam/NaamGebruik") == "6":
            yield path, "NaamGebruik 6 is not allowed for a Client"


@rule("TR006", "0001", XSLT, (301,), Scope.PART)
def contact_bereikbaar(msg: Message, part: Part) -> Iterator[Hit]:
    """De berichtklasse Contact moet Telefoon en/of de combinatie Huis en Postcode bevatten."""
    for path, contact in part.find("Contact"):
        adres = contact.get("Adres") or {}
        if "Telefoon" not in contact and not ("Huis" in adres and "Postcode" in adres):
            yield path, "Contact has neither Telefoon nor Huis with Postcode"


@rule("TR061", "0001", XSLT, (301,), Scope.PART)
def client_adres(msg: Message, part: Part) -> Iterator[Hit]:
    """Bij een Client minimaal één Adres met Soort 01 (BRP-adres), 02 (correspondentie-adres)
    of 03 (verblijfadres)."""
    for path, client in part.find("Client"):
        contacts = get(client, "Contactgegevens/Contact") or []
        if not any(c.get("Soort") in ("01", "02", "03") and "Adres" in c for c in contacts):
            yield path, "Client has no BRP, correspondence or residence address"


@rule("CS089", "0001", XSLT, (301,), Scope.PART)
def postcode_nl(msg: Message, part: Part) -> Iterator[Hit]:
    """Als LandCode NL is, dan moet Postcode het formaat van een Nederlandse postcode hebben."""
    for path, contact in part.find("Contact"):
        adres = contact.get("Adres") or {}
        postcode = adres.get("Postcode")
        dutch = adres.get("LandCode") == "NL" and postcode is not None
        if dutch and not re.fullmatch(r"[1-9][0-9]{3}[A-Z]{2}", str(postcode)):
            yield path, "Postcode is not a Dutch postcode"


# The condition texts as the standard states them (CD, retourcode 0001).
CD_TEXT = {
    "CD005": "Als Postcode gevuld is, dan verplicht vullen, anders leeg laten.",
    "CD007": "Als Communicatie / Vorm de waarde 1 (tolk taal) heeft, dan verplicht vullen, anders leeglaten.",  # noqa: E501
    "CD009": "Alleen als Soort adres de waarde 04 (tijdelijk adres) heeft, is vullen toegestaan.",
    "CD025": "Als Adres / LandCode de waarde NL (Nederland) heeft, dan verplicht vullen.",
    "CD034": "Als Soort adres de waarde 1 (BRP-adres) of 3 (verblijfadres) heeft, dan verplicht vullen.",  # noqa: E501
    "CD041": "Indien Code in Product gevuld is, verplicht vullen.",
    "CD043": "Indien Beschikkingnummer gevuld is, verplicht vullen, anders leeg laten.",
    "CD060": "Verplicht vullen indien DebetCredit bij het ingediende bedrag de waarde C (credit) heeft, anders leeg laten.",  # noqa: E501
    "CD066": "Als type verwijzer gelijk is aan 02, 03, 04 of 05 en ZorgverlenerCode is gevuld, dan is Naamverwijzer leeg.",  # noqa: E501
    "CD067": "Als type verwijzer gelijk is aan 02, 03, 04 of 05 en ZorgverlenerCode is leeg, dan is Naamverwijzer gevuld.",  # noqa: E501
    "CD068": "Als type verwijzer ongelijk is aan 02, 03, 04 of 05, dan is ZorgverlenerCode leeg.",
    "CD075": "Verplicht vullen indien Budget gevuld is",
    "CD076": "Verplicht vullen indien Frequentie waarde 2 (per week)",
    "CD077": "Indien Budget gevuld is, dan leeg laten",
    "CD078": "Indien Omvang gevuld is, dan leeg laten",
    "CD079": "Indien Budget leeg is, dan verplicht vullen",
    "CD080": "Indien Code in Product leeg is en Einddatum van het ToegewezenProduct groter dan 31-12-2020 of leeg is, dan leeg laten",  # noqa: E501
    "CD085": "Als VerzoekAntwoord de waarde 1 (Verzoek afgewezen) heeft, dan vullen",
    "CD086": "Als VerzoekAntwoord de waarde 2 (Aanvraag in onderzoek) heeft, dan leeg laten",
    "CD087": "Als eenheid ongelijk is aan 83 (euro’s) dan verplicht vullen, anders leeg laten.",
    "CD095": "Indien Code in AangevraagdProduct leeg is en ToewijzingEinddatum van het AangevraagdProduct groter dan 31-12-2020 of leeg is, dan leeg laten",  # noqa: E501
    "CD096": "Indien Code in NieuwProduct leeg is en Einddatum groter dan 31-12-2020 of leeg is, dan leeg laten",  # noqa: E501
}

# -- conditions (CD): data-driven --------------------------------------------------------------

# (rule, messages, class, element that is governed, required when, forbidden when)
Pred = Any
CONDITIONS: list[tuple[str, tuple[int, ...], str, str, Pred, Pred, str]] = [
    ("CD005", (301,), "Adres", "LandCode",
     lambda c: "Postcode" in c, lambda c: "Postcode" not in c,
     "LandCode is required with a Postcode and forbidden without"),
    ("CD007", (301,), "Communicatie", "Taal",
     lambda c: c.get("Vorm") == "1", lambda c: c.get("Vorm") != "1",
     "Taal is required with Vorm 1 (tolk taal) and forbidden otherwise"),
    ("CD009", (301,), "Contact", "Periode",
     None, lambda c: c.get("Soort") != "04",
     "Periode is only allowed with Soort 04 (tijdelijk verblijfadres)"),
    ("CD025", (301,), "Adres", "Huis",
     lambda c: c.get("LandCode") == "NL", None,
     "Huis is required with LandCode NL"),
    ("CD034", (301,), "Contact", "Adres/Postcode",
     lambda c: c.get("Soort") in ("01", "03") and "Adres" in c, None,
     "Postcode is required for a BRP or residence address"),
    ("CD041", (301,), "ToegewezenProduct", "Omvang",
     lambda c: get(c, "Product/Code") is not None and "Budget" not in c, None,
     "Omvang is required when Product/Code is filled"),
    ("CD041", (315,), "AangevraagdProduct", "Omvang",
     lambda c: get(c, "Product/Code") is not None and "Budget" not in c, None,
     "Omvang is required when Product/Code is filled"),
    ("CD041", (317,), "NieuwProduct", "Omvang",
     lambda c: get(c, "Product/Code") is not None and "Budget" not in c, None,
     "Omvang is required when Product/Code is filled"),
    ("CD043", (315,), "AangevraagdProduct", "BeschikkingIngangsdatum",
     lambda c: "BeschikkingNummer" in c, lambda c: "BeschikkingNummer" not in c,
     "BeschikkingIngangsdatum goes with BeschikkingNummer"),
    ("CD060", (323, 325), "Prestatie", "ProductReferentie/VorigReferentieNummer",
     lambda c: get(c, "IngediendBedrag/DebetCredit") == "C",
     lambda c: get(c, "IngediendBedrag/DebetCredit") != "C",
     "VorigReferentieNummer is required on a credit and forbidden on a debet"),
    ("CD066", (315,), "Verwijzer", "Naam",
     None, lambda c: c.get("Type") in ("02", "03", "04", "05") and "ZorgverlenerCode" in c,
     "Naam must be empty when ZorgverlenerCode is filled"),
    ("CD067", (315,), "Verwijzer", "Naam",
     lambda c: c.get("Type") in ("02", "03", "04", "05") and "ZorgverlenerCode" not in c, None,
     "Naam is required when ZorgverlenerCode is empty"),
    ("CD068", (315,), "Verwijzer", "ZorgverlenerCode",
     None, lambda c: c.get("Type") not in ("02", "03", "04", "05"),
     "ZorgverlenerCode only for Type 02, 03, 04 or 05"),
    ("CD075", (301,), "ToegewezenProduct", "Einddatum",
     lambda c: "Budget" in c, None, "Einddatum is required with a Budget"),
    ("CD075", (315,), "AangevraagdProduct", "ToewijzingEinddatum",
     lambda c: "Budget" in c, None, "ToewijzingEinddatum is required with a Budget"),
    ("CD075", (317,), "NieuwProduct", "Einddatum",
     lambda c: "Budget" in c, None, "Einddatum is required with a Budget"),
    ("CD075", (317,), "TeWijzigenProduct", "Einddatum",
     lambda c: "Budget" in c, None, "Einddatum is required with a Budget"),
    ("CD076", (301,), "ToegewezenProduct", "Einddatum",
     lambda c: get(c, "Omvang/Frequentie") == "2", None,
     "Einddatum is required with Frequentie 2 (per week)"),
    ("CD076", (315,), "AangevraagdProduct", "ToewijzingEinddatum",
     lambda c: get(c, "Omvang/Frequentie") == "2", None,
     "ToewijzingEinddatum is required with Frequentie 2 (per week)"),
    ("CD076", (317,), "NieuwProduct", "Einddatum",
     lambda c: get(c, "Omvang/Frequentie") == "2", None,
     "Einddatum is required with Frequentie 2 (per week)"),
    ("CD076", (317,), "TeWijzigenProduct", "Einddatum",
     lambda c: get(c, "Omvang/Frequentie") == "2", None,
     "Einddatum is required with Frequentie 2 (per week)"),
    *[
        (code, (number,), klass, element, None, lambda c, other=other: other in c, text)
        for number, klass in (
            (301, "ToegewezenProduct"),
            (315, "AangevraagdProduct"),
            (317, "NieuwProduct"),
            (317, "TeWijzigenProduct"),
        )
        for code, element, other, text in (
            ("CD077", "Omvang", "Budget", "Omvang must be empty when Budget is filled"),
            ("CD078", "Budget", "Omvang", "Budget must be empty when Omvang is filled"),
        )
    ],
    *[
        ("CD079", (number,), klass, "Product", lambda c: "Budget" not in c, None,
         "Product is required when Budget is empty")
        for number, klass in ((301, "ToegewezenProduct"), (315, "AangevraagdProduct"),
                              (317, "NieuwProduct"))
    ],
    ("CD080", (301,), "ToegewezenProduct", "Omvang",
     None,
     lambda c: get(c, "Product/Code") is None and _after_cutoff_or_open(c.get("Einddatum")),
     "Omvang must be empty without Product/Code (Einddatum after 2020 or open)"),
    ("CD095", (315,), "AangevraagdProduct", "Omvang",
     None,
     lambda c: get(c, "Product/Code") is None
     and _after_cutoff_or_open(c.get("ToewijzingEinddatum")),
     "Omvang must be empty without Product/Code (ToewijzingEinddatum after 2020 or open)"),
    ("CD096", (317,), "NieuwProduct", "Omvang",
     None,
     lambda c: get(c, "Product/Code") is None and _after_cutoff_or_open(c.get("Einddatum")),
     "Omvang must be empty without Product/Code (Einddatum after 2020 or open)"),
    ("CD085", (319,), "Antwoord", "RedenAfwijzingVerzoek",
     lambda c: c.get("VerzoekAntwoord") == "1", None,
     "RedenAfwijzingVerzoek is required with VerzoekAntwoord 1"),
    ("CD086", (319,), "Antwoord", "RedenAfwijzingVerzoek",
     None, lambda c: c.get("VerzoekAntwoord") == "2",
     "RedenAfwijzingVerzoek must be empty with VerzoekAntwoord 2"),
    ("CD087", (323, 325), "Prestatie", "ProductTarief",
     lambda c: c.get("Eenheid") != "83", lambda c: c.get("Eenheid") == "83",
     "ProductTarief is required unless Eenheid is 83 (euro's), and then forbidden"),
]  # fmt: skip


def conditions(
    rule_id: str, messages: tuple[int, ...], klass: str, element: str,
    required: Pred, forbidden: Pred, text: str,
) -> None:  # fmt: skip
    """Register one CD condition: ``element`` of ``klass`` is required/forbidden when."""

    def check_condition(msg: Message, part: Part) -> list[Hit]:
        # A list, not a generator: twelve of these run on every toewijzing, nearly always
        # finding nothing, and a generator costs more to make than the check itself.
        hits = []
        for path, node in part.find(klass):
            present = get(node, element) is not None
            missing = not present and required is not None and required(node)
            wrong = present and forbidden is not None and forbidden(node)
            if missing or wrong:
                hits.append((path, text))
        return hits

    check_condition.__doc__ = f"{CD_TEXT[rule_id]} ({klass}/{element})"
    rule(rule_id, "0001", XSLT, messages, Scope.PART, classes=(klass,))(check_condition)


for _condition in CONDITIONS:
    conditions(*_condition)


# -- dates and periods ------------------------------------------------------------------------

# (messages, class, begin element, end element) for CS003 / TR018.
_PERIODS = [
    ((301,), "Periode", "Begindatum", "Einddatum"),
    ((301,), "ToegewezenProduct", "Ingangsdatum", "Einddatum"),
    ((315,), "AangevraagdProduct", "ToewijzingIngangsdatum", "ToewijzingEinddatum"),
    ((317,), "NieuwProduct", "GewensteIngangsdatum", "Einddatum"),
    ((317,), "TeWijzigenProduct", "GewensteIngangsdatum", "Einddatum"),
]


@rule("CS003", "0001", XSLT, (301, 315, 317), Scope.PART)
def einddatum_na_begin(msg: Message, part: Part) -> Iterator[Hit]:
    """Einddatum groter dan of gelijk aan de Begindatum (of Ingangsdatum) van de periode."""
    for messages, klass, begin, end in _PERIODS:
        if msg.bericht.number not in messages:
            continue
        for path, node in part.find(klass):
            b, e = date(node.get(begin)), date(node.get(end))
            if b is not None and e is not None and e < b:
                yield path, f"{end} lies before {begin}"


@rule("TR018", "0001", XSLT, (307,), Scope.PART)
def stop_einddatum(msg: Message, part: Part) -> Iterator[Hit]:
    """Einddatum moet groter dan of gelijk zijn aan Begindatum (StopProduct)."""
    for path, node in part.find("StopProduct"):
        b, e = date(node.get("Begindatum")), date(node.get("Einddatum"))
        if b is not None and e is not None and e < b:
            yield path, "Einddatum lies before Begindatum"


# TR134 "niet groter dan de Dagtekening": our reading of which dates it governs.
_NOT_AFTER_DAGTEKENING: dict[int, tuple[tuple[str, str], ...]] = {
    301: (("Client", "Geboortedatum/Datum"), ("Relatie", "Geboortedatum/Datum"),
          ("ToegewezenProduct", "Toewijzingsdatum")),
    305: (("Client", "Geboortedatum/Datum"), ("StartProduct", "Begindatum")),
    307: (("Client", "Geboortedatum/Datum"), ("StopProduct", "Begindatum"),
          ("StopProduct", "Einddatum")),
    315: (("Client", "Geboortedatum/Datum"),),
    323: (("Declaratie", "DeclaratieDagtekening"),),
    325: (("Header", "DeclaratieIdentificatie/Dagtekening"),),
}  # fmt: skip


@rule("TR134", "0001", XSLT, tuple(_NOT_AFTER_DAGTEKENING), Scope.PART)
def niet_na_dagtekening(msg: Message, part: Part) -> Iterator[Hit]:
    """Vullen met een bestaande datum die niet groter is dan de Dagtekening van het bericht."""
    dagtekening = msg.dagtekening
    if dagtekening is None:
        return
    for klass, element in _NOT_AFTER_DAGTEKENING[msg.bericht.number]:
        for path, node in part.find(klass):
            value = date(get(node, element))
            if value is not None and value > dagtekening:
                yield path, f"{element} lies after the Dagtekening"


@rule("TR380", "0001", XSLT, (317,), Scope.PART)
def vow_einddatum_toekomst(msg: Message, part: Part) -> Iterator[Hit]:
    """Vullen met een datum die groter is dan de dagtekening van het bericht (our reading: the
    Einddatum of a TeWijzigenProduct or NieuwProduct)."""
    dagtekening = msg.dagtekening
    if dagtekening is None:
        return
    for klass in ("TeWijzigenProduct", "NieuwProduct"):
        for path, node in part.find(klass):
            end = date(node.get("Einddatum"))
            if end is not None and end <= dagtekening:
                yield path, "Einddatum must lie after the Dagtekening"


@rule("CS058", "0001", XSLT, (305, 307), Scope.PART)
def status_aanlevering(msg: Message, part: Part) -> Iterator[Hit]:
    """StatusAanlevering: 1 (eerste aanlevering) of 3 (verwijderen aanlevering) vullen."""
    for klass in ("StartProduct", "StopProduct"):
        for path, node in part.find(klass):
            if node.get("StatusAanlevering") not in ("1", "3"):
                yield path, "StatusAanlevering must be 1 or 3"


@rule("CS335", "0001", XSLT, (301,), Scope.PART)
def verwijderd_zelfde_dag(msg: Message, part: Part) -> Iterator[Hit]:
    """RedenWijziging 13 (verwijderd) alleen als Ingangsdatum gelijk is aan Einddatum."""
    for path, node in part.find("ToegewezenProduct"):
        if node.get("RedenWijziging") == "13" and node.get("Ingangsdatum") != node.get("Einddatum"):
            yield path, "RedenWijziging 13 needs Einddatum equal to Ingangsdatum"


@rule("CS336", "0001", XSLT, (301,), Scope.PART)
def reden_01_vervallen(msg: Message, part: Part) -> Iterator[Hit]:
    """RedenWijziging 01 (Administratieve correctie (vervallen)) niet gebruiken."""
    for path, node in part.find("ToegewezenProduct"):
        if node.get("RedenWijziging") == "01":
            yield path, "RedenWijziging 01 is no longer used"


def _frequentie_rule(klass: str, end: str, path: str, node: dict[str, Any]) -> Iterator[Hit]:
    omvang = node.get("Omvang")
    if not isinstance(omvang, dict):
        return
    governed = omvang.get("Eenheid") in ("14", "16", "83", "84")
    allowed = omvang.get("Frequentie") in ("2", "4", "6")
    if governed and _after_cutoff_or_open(node.get(end)) and not allowed:
        yield path, f"Frequentie must be 2, 4 or 6 for this Eenheid ({klass})"


@rule("CS338", "0001", XSLT, (301, 317), Scope.PART)
def frequentie_eenheid(msg: Message, part: Part) -> Iterator[Hit]:
    """Eenheid 14, 16, 83 of 84 en Einddatum na 31-12-2020 of leeg: Frequentie 2, 4 of 6."""
    for klass in ("ToegewezenProduct", "NieuwProduct", "TeWijzigenProduct"):
        for path, node in part.find(klass):
            yield from _frequentie_rule(klass, "Einddatum", path, node)


@rule("CS343", "0001", XSLT, (315,), Scope.PART)
def frequentie_eenheid_vot(msg: Message, part: Part) -> Iterator[Hit]:
    """Eenheid 14, 16, 83 of 84 en ToewijzingEinddatum na 31-12-2020 of leeg: Frequentie 2/4/6."""
    for path, node in part.find("AangevraagdProduct"):
        yield from _frequentie_rule("AangevraagdProduct", "ToewijzingEinddatum", path, node)


def _product_key(node: dict[str, Any]) -> tuple[Any, Any] | None:
    product = node.get("Product")
    if not isinstance(product, dict):
        return None
    return product.get("Categorie"), product.get("Code")


def _overlapping(
    items: Sequence[tuple[str, dict[str, Any]]], begin: str, end: str, skip_deleted: bool = False
) -> Iterator[Hit]:
    seen: list[tuple[tuple[Any, Any], Any, Any]] = []
    for path, node in items:
        key = _product_key(node)
        if key is None or (skip_deleted and node.get("RedenWijziging") == "13"):
            continue
        b, e = node.get(begin), node.get(end)
        if any(k == key and overlaps(b, e, b2, e2) for k, b2, e2 in seen):
            yield path, "the same Product occurs again for an overlapping period"
        seen.append((key, b, e))


@rule("TR302", "0001", XSLT, (301,), Scope.PART)
def toewijzing_stapeling(msg: Message, part: Part) -> Iterator[Hit]:
    """Een Product mag alleen vaker in een toewijzingsbericht voorkomen indien de zorgperiodes
    elkaar niet overlappen."""
    yield from _overlapping(part.find("ToegewezenProduct"), "Ingangsdatum", "Einddatum", True)


@rule("TR386", "0001", XSLT, (315,), Scope.PART)
def vot_stapeling(msg: Message, part: Part) -> Iterator[Hit]:
    """Een Product mag alleen vaker in een verzoek om toewijzing voorkomen indien de
    zorgperiodes elkaar niet overlappen."""
    yield from _overlapping(
        part.find("AangevraagdProduct"), "ToewijzingIngangsdatum", "ToewijzingEinddatum"
    )


@rule("TR410", "0001", XSLT, (317,), Scope.PART)
def vow_nieuw_stapeling(msg: Message, part: Part) -> Iterator[Hit]:
    """Een Product mag alleen vaker in de berichtklassen NieuwProduct voorkomen als de
    zorgperiodes elkaar niet overlappen."""
    yield from _overlapping(part.find("NieuwProduct"), "GewensteIngangsdatum", "Einddatum")


@rule("TR383", "0001", XSLT, (315,), Scope.PART)
def vot_referentie_uniek(msg: Message, part: Part) -> Iterator[Hit]:
    """ReferentieAanbieder is uniek voor elk AangevraagdProduct binnen het bericht."""
    seen: set[str] = set()
    for path, node in part.find("AangevraagdProduct"):
        referentie = node.get("ReferentieAanbieder")
        if referentie in seen:
            yield path, "ReferentieAanbieder occurs twice in the message"
        seen.add(str(referentie))


@rule("TR101", "0001", XSLT, (301, 305, 307, 315, 317, 323, 325), Scope.PART)
def dubbele_regels(msg: Message, part: Part) -> Iterator[Hit]:
    """Binnen een bericht zijn dubbele regels niet toegestaan (identical repeated classes)."""
    # Only a class that occurs twice under one parent can repeat a line: the index has every
    # class by name in document order, so the rest costs nothing. One that may not repeat
    # (its path has no ``[n]``) occurs once under its parent.
    for name, found in part.index.items():
        if len(found) < 2:
            continue
        siblings: dict[str, list[tuple[str, dict[str, Any]]]] = {}
        for path, node in found:
            if path[-1] == "]":
                siblings.setdefault(parent(path), []).append((path, node))
        for group in siblings.values():
            if len(group) < 2:
                continue
            yield from _repeated(name, group)


def _repeated(name: str, group: list[tuple[str, dict[str, Any]]]) -> Iterator[Hit]:
    """Each class of ``group`` (siblings of one name) equal to one before it."""
    if len(group) <= 8:  # a few: compare them (C speed, stops at the first difference)
        for index, (path, node) in enumerate(group):
            if any(node == earlier for _, earlier in group[:index]):
                yield path, f"{name} is a duplicate of an earlier line"
        return
    # Many: first by their own texts (cheap); a fingerprint of the whole class only for those
    # that share them with an earlier one.
    buckets: dict[tuple[str, ...], dict[str, Any] | set[bytes]] = {}
    for path, node in group:
        texts = tuple([v for v in node.values() if v.__class__ is str])
        held = buckets.get(texts)
        if held is None:
            buckets[texts] = node  # the first with these texts: no fingerprint yet
            continue
        if isinstance(held, dict):
            held = buckets[texts] = {_fingerprint(held)}
        fingerprint = _fingerprint(node)
        if fingerprint in held:
            yield path, f"{name} is a duplicate of an earlier line"
        held.add(fingerprint)


def _fingerprint(node: dict[str, Any]) -> bytes:
    """The whole content of a class, in order, as bytes: equal exactly when ``repr`` is equal
    (marshal format 2 writes every text in full, no references between equal objects), at
    half the cost."""
    return marshal.dumps(node, 2)


@rule("TR074", "9074", OVER, (305, 307), Scope.PART)
def sleutel_uniek_in_bericht(msg: Message, part: Part) -> Iterator[Hit]:
    """StatusAanlevering 1: de sleutel moet uniek zijn binnen het bericht zelf (the ledger half
    is in rules_state). Keys: Start (ToewijzingNummer, Product, Begindatum); Stop + RedenBeeindiging
    and Einddatum (IV008)."""
    for klass in ("StartProduct", "StopProduct"):
        seen: set[tuple[Any, ...]] = set()
        for path, node in part.find(klass):
            if node.get("StatusAanlevering") != "1":
                continue
            key = regie_key(node)
            if key in seen:
                yield path, "the logical key occurs twice in the message"
            seen.add(key)


# -- verzoeken --------------------------------------------------------------------------------


@rule("TR352", "0001", XSLT, (317,))
def vow_bestaand(msg: Message) -> Iterator[Hit]:
    """Bij een verzoek om wijziging komt minstens 1 OngewijzigdProduct of TeWijzigenProduct voor."""
    verzoek = get(msg.data, "Client/Verzoek") or {}
    if "OngewijzigdeProducten" not in verzoek and "TeWijzigenProducten" not in verzoek:
        yield "Client/Verzoek", "no OngewijzigdProduct and no TeWijzigenProduct"


@rule("TR353", "0001", XSLT, (317,))
def vow_wijziging(msg: Message) -> Iterator[Hit]:
    """Bij een verzoek om wijziging komt minstens 1 TeWijzigenProduct of NieuwProduct voor."""
    verzoek = get(msg.data, "Client/Verzoek") or {}
    if "TeWijzigenProducten" not in verzoek and "NieuweProducten" not in verzoek:
        yield "Client/Verzoek", "no TeWijzigenProduct and no NieuwProduct"


@rule("TR377", "0001", XSLT, (319,))
def woonplaatsbeginsel_opnemen(msg: Message) -> Iterator[Hit]:
    """iJw: RedenAfwijzingVerzoek 8 (Woonplaatsbeginsel): berichtklasse Woonplaatsbeginsel
    opnemen."""
    antwoord = msg.data.get("Antwoord") or {}
    reden_8 = msg.bericht.standard == "ijw" and antwoord.get("RedenAfwijzingVerzoek") == "8"
    if reden_8 and "Woonplaatsbeginsel" not in antwoord:
        yield "Antwoord", "Woonplaatsbeginsel is required with RedenAfwijzingVerzoek 8"


@rule("TR409", "0001", XSLT, (319,))
def woonplaatsbeginsel_weglaten(msg: Message) -> Iterator[Hit]:
    """iJw: RedenAfwijzingVerzoek ongelijk aan 8: berichtklasse Woonplaatsbeginsel weglaten."""
    antwoord = msg.data.get("Antwoord") or {}
    if antwoord.get("RedenAfwijzingVerzoek") != "8" and "Woonplaatsbeginsel" in antwoord:
        yield "Antwoord", "Woonplaatsbeginsel only with RedenAfwijzingVerzoek 8"


# -- declaratie (323) and declaratie-antwoord (325) --------------------------------------------


@rule("CS319", "0001", XSLT, (323,))
def declaratienummer(msg: Message) -> Iterator[Hit]:
    """DeclaratieNummer aaneengesloten vullen met cijfers en/of letters."""
    nummer = get(msg.data, "Declaratie/DeclaratieNummer")
    if nummer is not None and not re.fullmatch(r"[A-Za-z0-9]+", nummer):
        yield "Declaratie", "DeclaratieNummer must be letters and digits only"


@rule("CS340", "0001", XSLT, (323,))
def declaratieperiode_maand(msg: Message) -> Iterator[Hit]:
    """De DeclaratiePeriode is exact gelijk aan 1 hele kalendermaand."""
    begin = date(get(msg.data, "Declaratie/DeclaratiePeriode/Begindatum"))
    end = date(get(msg.data, "Declaratie/DeclaratiePeriode/Einddatum"))
    if begin is None or end is None:
        return
    if begin.day != 1 or end != month_end(begin):
        yield "Declaratie", "DeclaratiePeriode is not exactly one calendar month"


@rule("CS100", "0001", XSLT, (323,), Scope.PART)
def na_2021(msg: Message, part: Part) -> Iterator[Hit]:
    """DeclaratiePeriode en ProductPeriode: datum groter dan of gelijk aan 01-01-2021."""
    first = dt.date(2021, 1, 1)
    for path, node in part.find("Declaratie"):
        begin = date(get(node, "DeclaratiePeriode/Begindatum"))
        if begin is not None and begin < first:
            yield path, "DeclaratiePeriode begins before 2021-01-01"
    for f in prestaties(part):
        if f.begin is not None and f.begin < first:
            yield f.path, "ProductPeriode begins before 2021-01-01"


@rule("CS325", "0001", XSLT, (323, 325), Scope.PART)
def nul_is_debet(msg: Message, part: Part) -> Iterator[Hit]:
    """Indien (Totaal)Bedrag de waarde 0 heeft, dan DebetCredit vullen met D (Debet)."""
    for klass, elements in (
        ("Declaratie", ("TotaalIngediendBedrag",)),
        ("DeclaratieAntwoord", ("TotaalIngediendBedrag", "TotaalToegekendBedrag")),
        ("Prestatie", ("IngediendBedrag",)),
    ):
        for path, node in part.find(klass):
            for element in elements:
                amount = node.get(element) or {}
                value = amount.get("TotaalBedrag", amount.get("Bedrag"))
                if value is not None and _int(value) == 0 and amount.get("DebetCredit") != "D":
                    yield path, f"{element} of 0 must be Debet"


@rule("CS337", "0001", XSLT, (323,), Scope.PART)
def productperiode_maand(msg: Message, part: Part) -> Iterator[Hit]:
    """Einddatum in de ProductPeriode in dezelfde kalendermaand en jaar als de Begindatum."""
    for f in prestaties(part):
        begin, end = f.begin, f.eind
        if (
            begin is not None
            and end is not None
            and (begin.year, begin.month)
            != (
                end.year,
                end.month,
            )
        ):
            yield f.path, "ProductPeriode spans more than one calendar month"


@rule("CS339", "0001", XSLT, (323,), Scope.PART)
def euro_volume(msg: Message, part: Part) -> Iterator[Hit]:
    """Indien Eenheid 83 (euro's), moet IngediendBedrag gelijk zijn aan GeleverdVolume."""
    for f in prestaties(part):
        if f.eenheid == "83" and _int(f.bedrag) != _int(f.volume):
            yield f.path, "IngediendBedrag must equal GeleverdVolume for Eenheid 83"


@rule("TR137", "0001", XSLT, (323, 325), Scope.PART)
def periode_einde(msg: Message, part: Part) -> Iterator[Hit]:
    """Einddatum groter dan of gelijk aan de Begindatum van de periode én niet groter dan de
    Dagtekening van het bericht (DeclaratiePeriode, ProductPeriode)."""
    dagtekening = msg.dagtekening
    for path, node in part.find("Declaratie"):
        begin = date(get(node, "DeclaratiePeriode/Begindatum"))
        end = date(get(node, "DeclaratiePeriode/Einddatum"))
        yield from _periode_einde(path, "DeclaratiePeriode", begin, end, dagtekening)
    for f in prestaties(part):
        yield from _periode_einde(f.path, "ProductPeriode", f.begin, f.eind, dagtekening)


def _periode_einde(
    path: str, element: str, begin: dt.date | None, end: dt.date | None, dagtekening: Any
) -> Iterator[Hit]:
    if begin is not None and end is not None and end < begin:
        yield path, f"{element} ends before it begins"
    elif end is not None and dagtekening is not None and end > dagtekening:
        yield path, f"{element} ends after the Dagtekening"


@rule("TR335", "0001", XSLT, (323,), Scope.PART)
def niet_ouder_dan_5_jaar(msg: Message, part: Part) -> Iterator[Hit]:
    """Einddatum (ProductPeriode) mag niet meer dan 5 jaar voor DeclaratieDagtekening liggen."""
    dagtekening = date(get(msg.data, "Declaratie/DeclaratieDagtekening"))
    if dagtekening is None:
        return
    limit = years_before(dagtekening, 5)
    for f in prestaties(part):
        if f.eind is not None and f.eind < limit:
            yield f.path, "ProductPeriode ended more than 5 years before the DeclaratieDagtekening"


@rule("TR319", "9319", OVER, (323,), Scope.PART)
def binnen_declaratieperiode(msg: Message, part: Part) -> Iterator[Hit]:
    """Alleen prestaties waarvan de ProductPeriode valt binnen de huidige of een voorgaande
    DeclaratiePeriode."""
    end = date(get(msg.data, "Declaratie/DeclaratiePeriode/Einddatum"))
    if end is None:
        return
    for f in prestaties(part):
        if f.begin is not None and f.begin > end:
            yield f.path, "ProductPeriode lies after the DeclaratiePeriode"


@rule("TR346", "9346", EXTERN, (323,), Scope.PART)
def bedrag_is_volume_maal_tarief(msg: Message, part: Part) -> Iterator[Hit]:
    """Eenheid ongelijk aan 83: IngediendBedrag = GeleverdVolume x ProductTarief (euro-cents)."""
    for f in prestaties(part):
        if f.eenheid == "83" or f.tarief is None:
            continue
        if _int(f.bedrag) != _int(f.volume) * _int(f.tarief):
            yield f.path, "IngediendBedrag is not GeleverdVolume times ProductTarief"


@rule("TR342", "0001", XSLT, (325,), Scope.PART)
def alleen_afgewezen(msg: Message, part: Part) -> Iterator[Hit]:
    """Alleen afgewezen Prestaties dienen meegestuurd te worden in het declaratie-antwoord."""
    for path, node in part.find("Prestatie"):
        codes = set(get(node, "RetourCodes/RetourCode") or [])
        if codes and codes <= {"0200", "8001"}:
            yield path, "a prestatie without a rejection code is listed"


@rule("TR381", "S329", EXTERN, (301, 305, 307, 315, 317, 323), Scope.PART)
def productcode_bij_categorie(msg: Message, part: Part) -> Iterator[Hit]:
    """ProductCode vullen met een code die volgens de gehanteerde productcodelijst past bij de
    ProductCategorie."""
    if msg.refdata.productcodes is None:
        return  # the productcodelijst is not configured: not assessed
    day = msg.dagtekening or msg.today
    for klass in ("ToegewezenProduct", "StartProduct", "StopProduct", "AangevraagdProduct",
                  "NieuwProduct"):  # fmt: skip
        for path, node in part.find(klass):
            categorie, code = get(node, "Product/Categorie"), get(node, "Product/Code")
            if categorie and code:
                valid = msg.refdata.productcode_valid(msg.bericht.standard, categorie, code, day)
                if valid is False:
                    yield path, "ProductCode does not belong to the ProductCategorie"
    for f in prestaties(part):
        valid = msg.refdata.productcode_valid(
            msg.bericht.standard, f.categorie, f.code, f.begin or day
        )
        if valid is False:
            yield f.path, "ProductCode does not belong to the ProductCategorie"


@rule("TR418", "0611", OVER, (323,), Scope.PART)
def contracttarief(msg: Message, part: Part) -> Iterator[Hit]:
    """ProductTarief in Prestatie dient overeen te komen met het contractuele tarief van
    ProductCode (contract tariffs from refdata; no contract on file: not assessed)."""
    aanbieder, gemeente = msg.header.get("Afzender", ""), msg.header.get("Ontvanger", "")
    for f in prestaties(part):
        if f.tarief is None:
            continue
        tarief = msg.refdata.tarief(
            aanbieder, gemeente, msg.bericht.standard, f.code, f.eenheid, f.begin or msg.today
        )
        if tarief is not None and _int(f.tarief) != tarief:
            yield f.path, "ProductTarief differs from the contract tariff"


# -- folds over the records of a 323 ----------------------------------------------------------


class _Totals:
    """TR358: TotaalIngediendBedrag = signed sum of IngediendBedrag over all prestaties."""

    def __init__(self, msg: Message) -> None:
        total = get(msg.data, "Declaratie/TotaalIngediendBedrag") or {}
        sign = -1 if total.get("DebetCredit") == "C" else 1
        self.expected = sign * _int(total.get("TotaalBedrag"))
        self.sum = 0

    def add(self, part: Part) -> Iterator[Hit]:
        for f in prestaties(part):
            self.sum += -_int(f.bedrag) if f.credit else _int(f.bedrag)
        return iter(())

    def done(self) -> Iterator[Hit]:
        if self.sum != self.expected:
            yield "Declaratie", "TotaalIngediendBedrag is not the sum of the prestaties"


@rule("TR358", "0001", XSLT, (323,), Scope.FOLD)
def totaal(msg: Message) -> _Totals:
    """De waarde van TotaalBedrag in TotaalIngediendBedrag moet gelijk zijn aan de SOM van de
    Bedragen in alle Prestaties, rekening houdend met debet/credit."""
    return _Totals(msg)


class _Unique:
    """Remembers a key per prestatie and reports the second occurrence."""

    def __init__(
        self,
        key: Callable[[PrestatieFacts], Any],
        text: str,
        when: Callable[[PrestatieFacts], bool] | None = None,
    ) -> None:
        self.key, self.text, self.when = key, text, when
        self.seen: set[Any] = set()

    def add(self, part: Part) -> Iterator[Hit]:
        for f in prestaties(part):
            if self.when is not None and not self.when(f):
                continue
            key = self.key(f)
            if key in self.seen:
                yield f.path, self.text
            self.seen.add(key)

    def done(self) -> Iterator[Hit]:
        return iter(())


@rule("TR314", "8021", OVER, (323,), Scope.FOLD)
def referentie_uniek_in_bericht(msg: Message) -> _Unique:
    """ReferentieNummer van de Prestatie moet uniek zijn, zowel binnen één bericht als
    berichtoverstijgend (this is the within-message half)."""
    return _Unique(lambda f: f.referentie, "ReferentieNummer occurs twice in the message")


@rule("TR315", "0001", XSLT, (323,), Scope.FOLD)
def vorige_referentie_uniek(msg: Message) -> _Unique:
    """VorigReferentieNummer van de Prestatie moet uniek zijn in het bericht."""
    return _Unique(
        lambda f: f.vorige,
        "VorigReferentieNummer occurs twice in the message",
        lambda f: f.vorige is not None,
    )


@rule("TR416", "0001", XSLT, (323,), Scope.FOLD)
def dubbel_debet(msg: Message) -> _Unique:
    """Debet alleen als er niet al een debet-Prestatie is voor dezelfde ProductPeriode,
    ProductCategorie, ProductCode en ToewijzingNummer (within the message)."""
    # The ProductPeriode is its Begindatum and Einddatum, both required (CDT_GeslotenPeriode).
    return _Unique(
        lambda f: (f.begin_text, f.eind_text, f.categorie, f.code, f.toewijzing),
        "a second debet for the same period, product and toewijzing",
        lambda f: not f.credit,
    )


class _CreditOfDebet:
    def __init__(self) -> None:
        self.debets: set[str] = set()
        self.credits: list[tuple[str, str]] = []

    def add(self, part: Part) -> Iterator[Hit]:
        for f in prestaties(part):
            if f.credit:
                if f.vorige is not None:
                    self.credits.append((f.path, str(f.vorige)))
            else:
                self.debets.add(str(f.referentie))
        return iter(())

    def done(self) -> Iterator[Hit]:
        for path, vorige in self.credits:
            if vorige in self.debets:
                yield path, "credits a debet of the same message"


@rule("TR316", "0001", XSLT, (323,), Scope.FOLD)
def geen_credit_van_eigen_debet(msg: Message) -> _CreditOfDebet:
    """Debetregels mogen niet in hetzelfde bericht gecrediteerd worden."""
    return _CreditOfDebet()


class _DuplicateClients:
    def __init__(self) -> None:
        self.seen: set[bytes] = set()  # a digest per client: flat memory

    def add(self, part: Part) -> Iterator[Hit]:
        fingerprint = hashlib.blake2b(_fingerprint(part.node), digest_size=16).digest()
        if fingerprint in self.seen:
            yield part.path, "Client is a duplicate of an earlier line"
        self.seen.add(fingerprint)

    def done(self) -> Iterator[Hit]:
        return iter(())


@rule("TR101", "0001", XSLT, (323, 325), Scope.FOLD)
def dubbele_clienten(msg: Message) -> _DuplicateClients:
    """Binnen een bericht zijn dubbele regels niet toegestaan (identical Client records)."""
    return _DuplicateClients()


from adapters.istandaarden import rules_state  # noqa: E402, F401  (registers the state rules)

# Rules that read earlier messages from the ledger (all others look at the message alone).
NEEDS_STATE = frozenset(r.id for r in RULES if r.needs_state)
