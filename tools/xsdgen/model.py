"""Declarative model of the iWmo 3.2 and iJw 3.2 messages, written by the Ketenpoort developers.

Everything here is a fact taken from the specifications (see ``schemas/README.md``): the
message catalogue and header rules (BerichtCodes, namespaces, IV028/IV034), the
restrictions per data element (RS001..RS048: lengths, ranges, "vullen met n cijfers"), the
constraints that are checked by schema (CS015, CS025, CS319) and the code lists (COD*, NUM*,
WJ*, WMO*, JZ*). ``generate.py`` turns this model into XSD files. Values such as codes and
facet limits are facts of the standard (the public XSDs were read to confirm them and serve as
test oracles); no XSD text is copied.

Conventions
-----------
* ``SimpleType``  a logical data type (``LDT_*``) of the basisschema.
* ``Complex``     a composite data type (``CDT_*``) of the basisschema.
* ``Klasse``      a message class (Client, ToegewezenProduct, ...). In a retour message every
                  klasse gets a mandatory ``RetourCodes`` as its last element.
* ``Wrapper``     a list container (Relaties, Clienten, ...): one element, 1..n. Wrappers are
                  not message classes and get no ``RetourCodes``.
* ``Field``       an element in a sequence; ``only`` limits it to one standard ("iwmo"/"ijw").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Standard = Literal["iwmo", "ijw"]
STANDARDS: tuple[Standard, ...] = ("iwmo", "ijw")

RELEASE = "3.2"
# Production XSD version of release 3.2 for both standards (the iJw pre-release drop says 0.1.0;
# the public iJw example messages carry 1.0.0). Basisschema and message XSDs share the number.
XSD_VERSION = "1.0.0"
BERICHT_VERSIE = "3"  # CS025
BERICHT_SUBVERSIE = "2"  # CS015

UNBOUNDED = None


# --------------------------------------------------------------------------------------------
# Data types
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SimpleType:
    """An ``LDT_`` type: an XSD built-in restricted by facets."""

    name: str
    base: Literal["string", "integer", "date", "time"]
    doc: str
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    min_inclusive: int | None = None
    max_inclusive: int | None = None
    # Name of a code list in CODELISTS (the enumeration may differ per standard).
    codelist: str | None = None


@dataclass(frozen=True)
class Field:
    """One element of a sequence. ``type`` names an LDT_/CDT_ type or a class of the message."""

    name: str
    type: str
    min: int = 1
    max: int | None = 1  # None = unbounded
    # Anonymous restriction of ``type`` with this pattern (BerichtCode, DeclaratieNummer, ...).
    pattern: str | None = None
    only: Standard | None = None


@dataclass(frozen=True)
class Complex:
    """A ``CDT_`` type of the basisschema."""

    name: str
    doc: str
    fields: tuple[Field, ...]


@dataclass(frozen=True)
class Klasse:
    """A message class; gets ``RetourCodes`` in the retour version of the message."""

    name: str
    doc: str
    fields: tuple[Field, ...]
    only: Standard | None = None


@dataclass(frozen=True)
class Wrapper:
    """A list container holding 1..n of one class."""

    name: str
    item: str
    only: Standard | None = None

    @property
    def doc(self) -> str | None:
        return None

    @property
    def fields(self) -> tuple[Field, ...]:
        return (Field(self.item, self.item, 1, UNBOUNDED),)


LocalType = Klasse | Wrapper


def f(
    name: str,
    type_: str | None = None,
    occurs: str = "1",
    *,
    pattern: str | None = None,
    only: Standard | None = None,
) -> Field:
    """Shorthand: ``f("Budget", "LDT_Budget", "0..1")``; the type defaults to the name.

    ``occurs`` is ``"1"``, ``"0..1"``, ``"1..n"`` or ``"0..n"``.
    """
    lo, _, hi = occurs.partition("..")
    minimum = int(lo)
    maximum = minimum if not hi else (UNBOUNDED if hi == "n" else int(hi))
    return Field(name, type_ or name, minimum, maximum, pattern, only)


# --------------------------------------------------------------------------------------------
# Code lists. Codes only; ids as in the specification. Where iWmo and iJw differ the value is a
# dict per standard.
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Codelist:
    id: str
    codes: tuple[str, ...] | dict[Standard, tuple[str, ...]]

    def for_standard(self, standard: Standard) -> tuple[str, ...]:
        if isinstance(self.codes, dict):
            return self.codes[standard]
        return self.codes


def _codes(text: str) -> tuple[str, ...]:
    return tuple(text.split())


CODELISTS: dict[str, Codelist] = {
    # AB aan boord, BY bij, TO tegenover, WW woonwagen
    "AanduidingWoonadres": Codelist("NUM061", _codes("AB BY TO WW")),
    # 01 BRP, 02 correspondentie, 03 verblijf, 04 tijdelijk verblijf
    "AdresSoort": Codelist("COD757", _codes("01 02 03 04")),
    # 1 tolk taal, 2 doventolk, 3 doofblindentolk
    "Communicatievorm": Codelist("COD747", _codes("1 2 3")),
    # 1 dag onbekend, 2 dag en maand onbekend, 3 datum onbekend
    "DatumGebruik": Codelist("COD170", _codes("1 2 3")),
    "DebetCredit": Codelist("COD043", _codes("C D")),
    # 01 minuut, 04 uur, 14 etmaal, 16 dagdeel, 82 stuks (output), 83 euro's, 84 stuks (inspanning)
    "Eenheid": Codelist("WJ756", _codes("01 04 14 16 82 83 84")),
    # 1 per dag, 2 per week, 4 per maand, 6 totaal binnen geldigheidsduur toewijzing
    "Frequentie": Codelist("WMO757", _codes("1 2 4 6")),
    # 0 onbekend, 1 mannelijk, 2 vrouwelijk
    "Geslacht": Codelist("COD046", _codes("0 1 2")),
    "JaNee": Codelist("COD260", _codes("1 2")),
    "JuridischeStatus": Codelist("WJ232", _codes("01 02 03 04 05 11 12")),
    # ISO 3166-1 alpha-2, the 249 officially assigned codes.
    "LandCode": Codelist(
        "COD032",
        _codes(
            """
            AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN
            BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ
            DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL
            GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM
            JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME
            MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP
            NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD
            SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO
            TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
            """
        ),
    ),
    # 1 eigen naam .. 6 niet-natuurlijk persoon
    "NaamGebruik": Codelist("COD700", _codes("1 2 3 4 5 6")),
    # iWmo WMO020 (01 hulp bij het huishouden .. 18 overige beschermd wonen en opvang);
    # iJw JZ020 (31..38 the 2015 categories, 40..55 the current ones).
    "ProductCategorie": Codelist(
        "WMO020/JZ020",
        {
            "iwmo": _codes("01 02 03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18"),
            "ijw": _codes(
                "31 32 33 34 35 36 37 38 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55"
            ),
        },
    ),
    # 1 geen wijziging maar nieuwe aanvraag .. 8 woonplaatsbeginsel, 9 leeftijdsgrens bereikt
    "RedenAfwijzingVerzoek": Codelist("WJ759", _codes("1 2 3 4 5 6 7 8 9")),
    # iWmo WMO588 / iJw JZ588 (20 = tijdelijk beeindigd in both)
    "RedenBeeindiging": Codelist(
        "WMO588/JZ588",
        {
            "iwmo": _codes("02 19 20 21 22 23 31 36 37 38 39"),
            "ijw": _codes("02 20 31 32 33 34 35 36 37 38 39"),
        },
    ),
    # 1 verandering clientsituatie, 2 wijziging zorgplan
    "RedenVerzoek": Codelist("WJ758", _codes("1 2")),
    # WMO002 / JZ002: same codes in both standards
    "RedenWijziging": Codelist("WMO002/JZ002", _codes("01 02 03 04 05 06 07 08 09 10 11 12 13 14")),
    # WJ001, the 59 retourcodes of release 3.2
    "RetourCode": Codelist(
        "WJ001",
        _codes(
            """
            0001 0200 0233 0611 8001 8017 8021 8187 8214 8848
            9019 9056 9063 9069 9071 9074 9307 9308 9319 9321 9322 9326 9332 9333
            9338 9339 9340 9341 9346 9347 9349 9350 9351 9355 9357 9359 9360 9361 9365
            9366 9367 9369 9373 9374 9375 9379 9384 9385 9387 9388 9389 9390
            9411 9412 9413 9414 9415 S300 S329
            """
        ),
    ),
    "SoortRelatie": Codelist(
        "COD472",
        _codes("03 04 05 06 07 08 09 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25"),
    ),
    # 1 eerste, 2 gewijzigd, 3 verwijderen, 9 n.v.t. (CS058 allows 1 and 3; the list has all 4)
    "StatusAanlevering": Codelist("COD467", _codes("1 2 3 9")),
    "TypeVerwijzer": Codelist("COD327", _codes("01 02 03 04 05 06 08")),
    # 1 verzoek afgewezen, 2 aanvraag in onderzoek
    "VerzoekAntwoord": Codelist("WJ760", _codes("1 2")),
    "WettelijkeVertegenwoordiging": Codelist("WJ003", _codes("06 07 08 09 10")),
}


# Recurring facet patterns.
NOT_BLANK = ".*[^\\s].*"  # RS033: no empty elements (at least one non-space character)
DIGITS = "[0-9]{%d}"  # RS035/RS036/RS037: "vullen met n cijfers"


def _code(name: str, max_length: int, doc: str) -> SimpleType:
    return SimpleType(f"LDT_{name}", "string", doc, max_length=max_length, codelist=name)


def _text(name: str, max_length: int, doc: str, min_length: int = 1) -> SimpleType:
    return SimpleType(
        f"LDT_{name}",
        "string",
        doc,
        min_length=min_length,
        max_length=max_length,
        pattern=NOT_BLANK,
    )


def _int(name: str, maximum: int, doc: str) -> SimpleType:
    return SimpleType(f"LDT_{name}", "integer", doc, min_inclusive=0, max_inclusive=maximum)


SIMPLE_TYPES: tuple[SimpleType, ...] = (
    # -- code lists (RS008/RS009/RS011: maximum length of the code)
    _code("AanduidingWoonadres", 2, "Aanduiding bij een huisnummer (NUM061)."),
    _code("AdresSoort", 2, "Soort adres (COD757)."),
    _code("Communicatievorm", 1, "Bijzondere vorm van communicatie (COD747)."),
    _code("DatumGebruik", 1, "Welk deel van een datum onbekend is (COD170)."),
    _code("DebetCredit", 1, "Debet of credit (COD043)."),
    _code("Eenheid", 2, "Eenheid van een volume (WJ756)."),
    _code("Frequentie", 1, "Frequentie van een volume (WMO757)."),
    _code("Geslacht", 1, "Geslacht (COD046)."),
    _code("JaNee", 1, "Ja of nee (COD260)."),
    _code("JuridischeStatus", 2, "Juridische status van de client (WJ232)."),
    _code("LandCode", 2, "Land, ISO 3166-1 alpha-2 (COD032)."),
    _code("NaamGebruik", 1, "Gewenste aanschrijfnaam (COD700)."),
    _code("ProductCategorie", 2, "Productcategorie (iWmo WMO020, iJw JZ020)."),
    _code("RedenAfwijzingVerzoek", 2, "Reden van afwijzing van een verzoek (WJ759)."),
    _code("RedenBeeindiging", 2, "Reden van beeindiging (iWmo WMO588, iJw JZ588)."),
    _code("RedenVerzoek", 1, "Reden van een verzoek om wijziging (WJ758)."),
    _code("RedenWijziging", 2, "Reden van wijziging van een toewijzing (WMO002/JZ002)."),
    _code("RetourCode", 4, "Retourcode (WJ001)."),
    _code("SoortRelatie", 2, "Soort relatie van de client (COD472)."),
    _code("StatusAanlevering", 1, "Status van de aanlevering (COD467)."),
    _code("TypeVerwijzer", 2, "Soort verwijzer (COD327)."),
    _code("VerzoekAntwoord", 1, "Antwoord op een verzoek (WJ760)."),
    _code("WettelijkeVertegenwoordiging", 2, "Wettelijke vertegenwoordiging (WJ003)."),
    # -- identifying numbers
    SimpleType(
        "LDT_AgbCode",
        "string",
        "AGB-code van een aanbieder of zorgverlener, 8 cijfers (RS036).",
        min_length=1,
        max_length=8,
        pattern=DIGITS % 8,
    ),
    SimpleType(
        "LDT_BurgerServicenummer",
        "string",
        "BSN, 9 cijfers (RS037; de 11-proef CS002 is geen XSD-regel).",
        min_length=1,
        max_length=9,
        pattern=DIGITS % 9,
    ),
    SimpleType(
        "LDT_Gemeente",
        "string",
        "CBS-gemeentecode, 4 cijfers (RS035).",
        min_length=1,
        pattern=DIGITS % 4,
    ),
    SimpleType(
        "LDT_BerichtCode",
        "string",
        "Code van een berichtsoort (COD002-VEKT); per bericht vastgelegd (RS047).",
        min_length=1,
        max_length=3,
    ),
    _int("BerichtVersie", 99, "Major release van de standaard (RS001/RS002)."),
    _int("BerichtSubversie", 99, "Minor release van de standaard (RS001/RS002)."),
    _text("IdentificatieBericht", 12, "Identificatie van een bericht (RS017)."),
    SimpleType(
        "LDT_IdentificatieDeclaratie",
        "string",
        "Nummer van een declaratie (RS017).",
        min_length=1,
        max_length=12,
    ),
    _int("Nummer", 999_999_999, "Nummer, zoals ToewijzingNummer (RS006)."),
    _text("Persoonsid", 20, "Nummer van een relatie van de client (RS019)."),
    _text("Referentie", 36, "Referentie van de aanbieder (RS024)."),
    SimpleType(
        "LDT_ReferentieNummer",
        "string",
        "Referentie van een prestatie (RS019).",
        min_length=1,
        max_length=20,
    ),
    SimpleType(
        "LDT_Versie",
        "string",
        "Versienummer: drie gehele getallen gescheiden door punten (RS048).",
        min_length=1,
        pattern="(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)\\.(0|[1-9][0-9]*)",
    ),
    # -- amounts and quantities (euro-cents, IV024)
    _int("Bedrag", 99_999_999, "Bedrag in centen (RS005)."),
    _int("Budget", 99_999_999, "Toegewezen budget in centen (RS005)."),
    _int("TotaalBedrag", 999_999_999_999, "Totaalbedrag in centen (RS040)."),
    _int("Volume", 99_999_999, "Volume (RS005)."),
    _int("Huisnummer", 99_999, "Huisnummer (RS004)."),
    _int("RelatieVolgorde", 99, "Prioriteit van een contactpersoon (RS002)."),
    # -- date and time without time zone (RS032, RS034)
    SimpleType("LDT_Datum", "date", "Datum zonder tijdzone (RS032).", pattern="[^:Z]*"),
    SimpleType("LDT_Tijd", "time", "Tijd zonder tijdzone (RS034).", pattern="[^Z+-]+"),
    # -- free text (RS031/RS033: not empty)
    SimpleType(
        "LDT_Commentaar",
        "string",
        "Vrije tekst, niet leeg (RS031).",
        min_length=1,
        pattern="([.\\s]*\\S+[.\\s]*)+",
    ),
    _text("Emailadres", 80, "E-mailadres (RS026)."),
    _text("Huisletter", 1, "Huisletter."),
    _text("HuisnummerToevoeging", 4, "Huisnummertoevoeging (RS011)."),
    _text("Landnummer", 4, "Internationaal toegangsnummer van een telefoonnummer (RS011)."),
    _text("Naam", 200, "Naam of voornamen (RS028)."),
    _text("NaamVerwijzer", 64, "Naam van de verwijzer (RS025)."),
    _text("Organisatienaam", 35, "Naam van een organisatie (RS023)."),
    _text("Plaatsnaam", 80, "Plaatsnaam (RS026)."),
    _text("Postcode", 8, "Postcode (RS014)."),
    _text("ProductCode", 5, "Productcode (RS012)."),
    _text("Straatnaam", 24, "Straatnaam (RS020)."),
    _text("Taal", 25, "Taal voor een tolk (RS021)."),
    _text("Voorvoegsel", 10, "Voorvoegsel van een achternaam (RS016)."),
    SimpleType(
        "LDT_Telefoonnummer",
        "string",
        "Telefoonnummer, aaneengesloten cijfers (RS018, RS046).",
        min_length=1,
        max_length=15,
        pattern="[0-9]*",
    ),
    SimpleType(
        "LDT_Voorletters",
        "string",
        "Voorletters, aaneengesloten zonder punten of spaties (RS013, RS045).",
        min_length=1,
        max_length=6,
        pattern="([a-zA-ZÀ-ỳ])+",
    ),
)

COMPLEX_TYPES: tuple[Complex, ...] = (
    Complex(
        "CDT_Achternaam",
        "Achternaam met voorvoegsel.",
        (f("Achternaam", "LDT_Naam"), f("Voorvoegsel", "LDT_Voorvoegsel", "0..1")),
    ),
    Complex(
        "CDT_Adres",
        "Adres.",
        (
            f("Huis", "CDT_Huis", "0..1"),
            f("Postcode", "LDT_Postcode", "0..1"),
            f("Straatnaam", "LDT_Straatnaam", "0..1"),
            f("Plaatsnaam", "LDT_Plaatsnaam", "0..1"),
            f("LandCode", "LDT_LandCode", "0..1"),
        ),
    ),
    Complex(
        "CDT_BedragMetDC",
        "Bedrag met debet/credit-aanduiding.",
        (f("Bedrag", "LDT_Bedrag"), f("DebetCredit", "LDT_DebetCredit")),
    ),
    Complex(
        "CDT_BerichtIdentificatie",
        "Identificatie en dagtekening van een bericht.",
        (f("Identificatie", "LDT_IdentificatieBericht"), f("Dagtekening", "LDT_Datum")),
    ),
    Complex(
        "CDT_Communicatie",
        "Bijzondere vorm van communicatie, met taal bij een tolk.",
        (f("Vorm", "LDT_Communicatievorm"), f("Taal", "LDT_Taal", "0..1")),
    ),
    Complex(
        "CDT_Geboortedatum",
        "Geboortedatum met aanduiding welk deel onbekend is.",
        (f("Datum", "LDT_Datum"), f("DatumGebruik", "LDT_DatumGebruik", "0..1")),
    ),
    Complex(
        "CDT_GeslotenPeriode",
        "Periode met begin- en einddatum.",
        (f("Begindatum", "LDT_Datum"), f("Einddatum", "LDT_Datum")),
    ),
    Complex(
        "CDT_Huis",
        "Huisnummer met letter, toevoeging en aanduiding.",
        (
            f("Huisnummer", "LDT_Huisnummer"),
            f("Huisletter", "LDT_Huisletter", "0..1"),
            f("HuisnummerToevoeging", "LDT_HuisnummerToevoeging", "0..1"),
            f("AanduidingWoonadres", "LDT_AanduidingWoonadres", "0..1"),
        ),
    ),
    Complex(
        "CDT_Omvang",
        "Omvang: volume, eenheid en frequentie.",
        (
            f("Volume", "LDT_Volume"),
            f("Eenheid", "LDT_Eenheid"),
            f("Frequentie", "LDT_Frequentie"),
        ),
    ),
    Complex(
        "CDT_OpenPeriode",
        "Periode waarvan begin en einde open mogen zijn.",
        (f("Begindatum", "LDT_Datum", "0..1"), f("Einddatum", "LDT_Datum", "0..1")),
    ),
    Complex(
        "CDT_Product",
        "Product: categorie en eventueel code.",
        (f("Categorie", "LDT_ProductCategorie"), f("Code", "LDT_ProductCode", "0..1")),
    ),
    Complex(
        "CDT_Referentie",
        "Referentie van een prestatie en, bij credit, die van de debetprestatie.",
        (
            f("ReferentieNummer", "LDT_ReferentieNummer"),
            f("VorigReferentieNummer", "LDT_ReferentieNummer", "0..1"),
        ),
    ),
    Complex(
        "CDT_Telefoon",
        "Telefoonnummer met landnummer.",
        (f("Telefoonnummer", "LDT_Telefoonnummer"), f("Landnummer", "LDT_Landnummer")),
    ),
    Complex(
        "CDT_Telefoonnummers",
        "Een of twee telefoonnummers.",
        (f("Telefoon01", "CDT_Telefoon"), f("Telefoon02", "CDT_Telefoon", "0..1")),
    ),
    Complex(
        "CDT_TotaalBedragMetDC",
        "Totaalbedrag met debet/credit-aanduiding.",
        (f("TotaalBedrag", "LDT_TotaalBedrag"), f("DebetCredit", "LDT_DebetCredit")),
    ),
    Complex(
        "CDT_VerkorteNaam",
        "Naam zonder partnernaam en naamgebruik.",
        (
            f("Geslachtsnaam", "CDT_Achternaam"),
            f("Voornamen", "LDT_Naam", "0..1"),
            f("Voorletters", "LDT_Voorletters", "0..1"),
        ),
    ),
    Complex(
        "CDT_Verwijzer",
        "Verwijzer: soort, naam en/of AGB-code.",
        (
            f("Type", "LDT_TypeVerwijzer"),
            f("Naam", "LDT_NaamVerwijzer", "0..1"),
            f("ZorgverlenerCode", "LDT_AgbCode", "0..1"),
        ),
    ),
    Complex(
        "CDT_VolledigeNaam",
        "Naam met partnernaam en naamgebruik.",
        (
            f("Geslachtsnaam", "CDT_Achternaam"),
            f("Partnernaam", "CDT_Achternaam", "0..1"),
            f("Voornamen", "LDT_Naam", "0..1"),
            f("Voorletters", "LDT_Voorletters", "0..1"),
            f("NaamGebruik", "LDT_NaamGebruik"),
        ),
    ),
    Complex(
        "CDT_XsdVersie",
        "Versies van basisschema en berichtschema (IV034).",
        (f("BasisschemaXsdVersie", "LDT_Versie"), f("BerichtXsdVersie", "LDT_Versie")),
    ),
)

SIMPLE_BY_NAME: dict[str, SimpleType] = {t.name: t for t in SIMPLE_TYPES}
COMPLEX_BY_NAME: dict[str, Complex] = {t.name: t for t in COMPLEX_TYPES}


# --------------------------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------------------------

Party = Literal["gemeente", "aanbieder"]


@dataclass(frozen=True)
class Heenbericht:
    """A message that is sent on its own (301, 305, 307, 315, 317, 319, 323)."""

    number: int
    codes: dict[Standard, str]  # BerichtCode (COD002-VEKT)
    doc: str
    sender: Party
    body: tuple[Field, ...]  # the children of Bericht after Header
    types: tuple[LocalType, ...]  # classes and wrappers, in document order
    retour_number: int
    retour_codes: dict[Standard, str]
    retour_doc: str


@dataclass(frozen=True)
class Message:
    """A fully resolved message for one standard, ready to be written as XSD."""

    standard: Standard
    number: int
    code: str
    doc: str
    header: tuple[Field, ...]
    body: tuple[Field, ...]
    types: tuple[Klasse | Wrapper | RetourCodesType, ...] = field(default=())

    @property
    def name(self) -> str:
        return f"{'WMO' if self.standard == 'iwmo' else 'JW'}{self.number}"

    @property
    def prefix(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class RetourCodesType:
    """The local ``RetourCodes`` type of a retour message: RetourCode 1..n."""

    name: str = "RetourCodes"
    doc: str = "Retourcodes van een berichtklasse (WJ001)."

    @property
    def fields(self) -> tuple[Field, ...]:
        return (Field("RetourCode", "LDT_RetourCode", 1, UNBOUNDED),)


_CLIENT_PERSOON = (
    f("Bsn", "LDT_BurgerServicenummer"),
    f("Geboortedatum", "CDT_Geboortedatum"),
    f("Geslacht", "LDT_Geslacht"),
)

HEENBERICHTEN: tuple[Heenbericht, ...] = (
    Heenbericht(
        301,
        {"iwmo": "414", "ijw": "436"},
        "Toewijzing: de gemeente wijst ondersteuning toe aan een aanbieder.",
        "gemeente",
        (f("Client"),),
        (
            Klasse(
                "Client",
                "De client met contactgegevens en toegewezen producten.",
                (
                    *_CLIENT_PERSOON,
                    f("Naam", "CDT_VolledigeNaam"),
                    f("Communicatie", "CDT_Communicatie", "0..1"),
                    f("JuridischeStatus", "LDT_JuridischeStatus", "0..1"),
                    f("WettelijkeVertegenwoordiging", "LDT_WettelijkeVertegenwoordiging", "0..1"),
                    f("Commentaar", "LDT_Commentaar", "0..1"),
                    f("Relaties", occurs="0..1"),
                    f("Contactgegevens"),
                    f("ToegewezenProducten"),
                ),
            ),
            Wrapper("Relaties", "Relatie"),
            Klasse(
                "Relatie",
                "Een relatie van de client, met contactgegevens.",
                (
                    f("Nummer", "LDT_Persoonsid"),
                    f("Volgorde", "LDT_RelatieVolgorde", "0..1"),
                    f("Soort", "LDT_SoortRelatie"),
                    f("Geboortedatum", "CDT_Geboortedatum", "0..1"),
                    f("Geslacht", "LDT_Geslacht", "0..1"),
                    f("Naam", "CDT_VolledigeNaam"),
                    f("Contact"),
                ),
            ),
            Klasse(
                "Contact",
                "Adres en bereikbaarheid van de client of een relatie.",
                (
                    f("Soort", "LDT_AdresSoort"),
                    f("Adres", "CDT_Adres", "0..1"),
                    f("Organisatie", "LDT_Organisatienaam", "0..1"),
                    f("Telefoon", "CDT_Telefoonnummers", "0..1"),
                    f("Emailadres", "LDT_Emailadres", "0..1"),
                    f("Periode", "CDT_OpenPeriode", "0..1"),
                ),
            ),
            Wrapper("Contactgegevens", "Contact"),
            Wrapper("ToegewezenProducten", "ToegewezenProduct"),
            Klasse(
                "ToegewezenProduct",
                "Een product dat de gemeente aan de aanbieder toewijst.",
                (
                    f("ToewijzingNummer", "LDT_Nummer"),
                    f("ReferentieAanbieder", "LDT_Referentie", "0..1"),
                    f("Product", "CDT_Product", "0..1"),
                    f("Toewijzingsdatum", "LDT_Datum"),
                    f("Toewijzingstijd", "LDT_Tijd"),
                    f("Ingangsdatum", "LDT_Datum"),
                    f("Einddatum", "LDT_Datum", "0..1"),
                    f("RedenWijziging", "LDT_RedenWijziging", "0..1"),
                    f("Omvang", "CDT_Omvang", "0..1"),
                    f("Budget", "LDT_Budget", "0..1"),
                    f("Commentaar", "LDT_Commentaar", "0..1"),
                ),
            ),
        ),
        302,
        {"iwmo": "415", "ijw": "437"},
        "Retourbericht op de toewijzing.",
    ),
    Heenbericht(
        305,
        {"iwmo": "418", "ijw": "438"},
        "Start zorg of ondersteuning (regiebericht).",
        "aanbieder",
        (f("Client"),),
        (
            Klasse(
                "Client",
                "De client en de gestarte producten.",
                (*_CLIENT_PERSOON, f("Naam", "CDT_VerkorteNaam"), f("StartProducten")),
            ),
            Wrapper("StartProducten", "StartProduct"),
            Klasse(
                "StartProduct",
                "De start van de levering van een product.",
                (
                    f("ToewijzingNummer", "LDT_Nummer", "0..1"),
                    f("Product", "CDT_Product", "0..1"),
                    f("ToewijzingIngangsdatum", "LDT_Datum", "0..1"),
                    f("Begindatum", "LDT_Datum"),
                    f("StatusAanlevering", "LDT_StatusAanlevering"),
                ),
            ),
        ),
        306,
        {"iwmo": "419", "ijw": "439"},
        "Retourbericht op de start.",
    ),
    Heenbericht(
        307,
        {"iwmo": "420", "ijw": "440"},
        "Stop zorg of ondersteuning (regiebericht).",
        "aanbieder",
        (f("Client"),),
        (
            Klasse(
                "Client",
                "De client en de gestopte producten.",
                (*_CLIENT_PERSOON, f("Naam", "CDT_VerkorteNaam"), f("StopProducten")),
            ),
            Wrapper("StopProducten", "StopProduct"),
            Klasse(
                "StopProduct",
                "De stop van de levering van een product.",
                (
                    f("ToewijzingNummer", "LDT_Nummer", "0..1"),
                    f("Product", "CDT_Product", "0..1"),
                    f("ToewijzingIngangsdatum", "LDT_Datum", "0..1"),
                    f("Begindatum", "LDT_Datum"),
                    f("RedenBeeindiging", "LDT_RedenBeeindiging"),
                    f("Einddatum", "LDT_Datum"),
                    f("StatusAanlevering", "LDT_StatusAanlevering"),
                ),
            ),
        ),
        308,
        {"iwmo": "421", "ijw": "441"},
        "Retourbericht op de stop.",
    ),
    Heenbericht(
        315,
        {"iwmo": "444", "ijw": "446"},
        "Verzoek om toewijzing (VOT).",
        "aanbieder",
        (f("Client"),),
        (
            Klasse(
                "Client",
                "De client en de aangevraagde producten.",
                (
                    *_CLIENT_PERSOON,
                    f("Naam", "CDT_VerkorteNaam"),
                    f("GezagsdragerBekend", "LDT_JaNee", "0..1", only="ijw"),  # OP002x1
                    f("Commentaar", "LDT_Commentaar", "0..1"),
                    f("AangevraagdeProducten"),
                ),
            ),
            Wrapper("AangevraagdeProducten", "AangevraagdProduct"),
            Klasse(
                "AangevraagdProduct",
                "Een product waarvoor de aanbieder een toewijzing vraagt.",
                (
                    f("ReferentieAanbieder", "LDT_Referentie"),
                    f("BeschikkingNummer", "LDT_Nummer", "0..1"),
                    f("Product", "CDT_Product", "0..1"),
                    f("BeschikkingIngangsdatum", "LDT_Datum", "0..1"),
                    f("ToewijzingIngangsdatum", "LDT_Datum"),
                    f("ToewijzingEinddatum", "LDT_Datum", "0..1"),
                    f("Omvang", "CDT_Omvang", "0..1"),
                    f("Budget", "LDT_Budget", "0..1"),
                    f("Verwijzer", "CDT_Verwijzer"),
                    f("Raamcontract", "LDT_JaNee", "0..1"),
                    f("Commentaar", "LDT_Commentaar", "0..1"),
                ),
            ),
        ),
        316,
        {"iwmo": "445", "ijw": "447"},
        "Retourbericht op het verzoek om toewijzing.",
    ),
    Heenbericht(
        317,
        {"iwmo": "480", "ijw": "486"},
        "Verzoek om wijziging (VOW).",
        "aanbieder",
        (f("Client"),),
        (
            Klasse(
                "Client",
                "De client en het verzoek.",
                (f("Bsn", "LDT_BurgerServicenummer"), f("Verzoek")),
            ),
            Klasse(
                "Verzoek",
                "Het verzoek om wijziging: de volledige gewenste situatie.",
                (
                    f("ReferentieAanbieder", "LDT_Referentie"),
                    f("RedenVerzoek", "LDT_RedenVerzoek"),
                    f("OngewijzigdeProducten", occurs="0..1"),
                    f("TeWijzigenProducten", occurs="0..1"),
                    f("NieuweProducten", occurs="0..1"),
                ),
            ),
            Wrapper("OngewijzigdeProducten", "OngewijzigdProduct"),
            Klasse(
                "OngewijzigdProduct",
                "Een toegewezen product dat ongewijzigd blijft.",
                (f("ToewijzingNummer", "LDT_Nummer"),),
            ),
            Wrapper("TeWijzigenProducten", "TeWijzigenProduct"),
            Klasse(
                "TeWijzigenProduct",
                "Een toegewezen product dat moet wijzigen.",
                (
                    f("ToewijzingNummer", "LDT_Nummer"),
                    f("GewensteIngangsdatum", "LDT_Datum"),
                    f("Einddatum", "LDT_Datum", "0..1"),
                    f("Omvang", "CDT_Omvang", "0..1"),
                    f("Budget", "LDT_Budget", "0..1"),
                ),
            ),
            Wrapper("NieuweProducten", "NieuwProduct"),
            Klasse(
                "NieuwProduct",
                "Een nieuw gevraagd product.",
                (
                    f("Product", "CDT_Product", "0..1"),
                    f("GewensteIngangsdatum", "LDT_Datum"),
                    f("Einddatum", "LDT_Datum", "0..1"),
                    f("Omvang", "CDT_Omvang", "0..1"),
                    f("Budget", "LDT_Budget", "0..1"),
                ),
            ),
        ),
        318,
        {"iwmo": "481", "ijw": "487"},
        "Retourbericht op het verzoek om wijziging.",
    ),
    Heenbericht(
        319,
        {"iwmo": "482", "ijw": "488"},
        "Antwoordbericht op een verzoek om toewijzing of wijziging.",
        "gemeente",
        (f("Antwoord"),),
        (
            Klasse(
                "Antwoord",
                "Het antwoord van de gemeente op een verzoek.",
                (
                    f("ReferentieAanbieder", "LDT_Referentie"),
                    f("VerzoekAntwoord", "LDT_VerzoekAntwoord"),
                    f("RedenAfwijzingVerzoek", "LDT_RedenAfwijzingVerzoek", "0..1"),
                    f("Woonplaatsbeginsel", occurs="0..1", only="ijw"),  # IV095, TR377/TR409
                ),
            ),
            Klasse(
                "Woonplaatsbeginsel",
                "De gemeente die volgens het woonplaatsbeginsel verantwoordelijk is.",
                (f("Gemeente", "LDT_Gemeente"),),
                only="ijw",
            ),
        ),
        320,
        {"iwmo": "483", "ijw": "489"},
        "Retourbericht op het antwoordbericht.",
    ),
    Heenbericht(
        323,
        {"iwmo": "484", "ijw": "490"},
        "Declaratie van geleverde prestaties over een kalendermaand.",
        "aanbieder",
        (f("Declaratie"),),
        (
            Klasse(
                "Declaratie",
                "De declaratie met totaalbedrag en clienten.",
                (
                    # CS319: aaneengesloten cijfers en/of letters
                    f("DeclaratieNummer", "LDT_IdentificatieDeclaratie", pattern="([a-zA-Z0-9])+"),
                    f("DeclaratiePeriode", "CDT_GeslotenPeriode"),
                    f("DeclaratieDagtekening", "LDT_Datum"),
                    f("TotaalIngediendBedrag", "CDT_TotaalBedragMetDC"),
                    f("Clienten"),
                ),
            ),
            Wrapper("Clienten", "Client"),
            Klasse(
                "Client",
                "Een client met zijn prestaties.",
                (f("Bsn", "LDT_BurgerServicenummer"), f("Prestaties")),
            ),
            Wrapper("Prestaties", "Prestatie"),
            Klasse(
                "Prestatie",
                "Een geleverde prestatie.",
                (
                    f("ProductReferentie", "CDT_Referentie"),
                    f("ToewijzingNummer", "LDT_Nummer"),
                    f("ProductCategorie", "LDT_ProductCategorie"),
                    f("ProductCode", "LDT_ProductCode"),
                    f("ProductPeriode", "CDT_GeslotenPeriode"),
                    f("GeleverdVolume", "LDT_Volume"),
                    f("Eenheid", "LDT_Eenheid"),
                    f("ProductTarief", "LDT_Bedrag", "0..1"),
                    f("IngediendBedrag", "CDT_BedragMetDC"),
                ),
            ),
        ),
        325,
        {"iwmo": "485", "ijw": "491"},
        "Declaratie-antwoord: de beoordeling van een declaratie.",
    ),
)


# --------------------------------------------------------------------------------------------
# Resolving the model into messages per standard
# --------------------------------------------------------------------------------------------


def _for(standard: Standard, fields: tuple[Field, ...]) -> tuple[Field, ...]:
    return tuple(x for x in fields if x.only in (None, standard))


def _local_types(standard: Standard, types: tuple[LocalType, ...]) -> tuple[LocalType, ...]:
    out: list[LocalType] = []
    for t in types:
        if t.only not in (None, standard):
            continue
        if isinstance(t, Klasse):
            out.append(Klasse(t.name, t.doc, _for(standard, t.fields)))
        else:
            out.append(t)
    return tuple(out)


def header_fields(code: str, sender: Party) -> tuple[Field, ...]:
    """Header of a heenbericht (also the first part of every retour header)."""
    gemeente, aanbieder = "LDT_Gemeente", "LDT_AgbCode"
    afzender, ontvanger = (gemeente, aanbieder) if sender == "gemeente" else (aanbieder, gemeente)
    return (
        f("BerichtCode", "LDT_BerichtCode", pattern=code),  # RS047
        f("BerichtVersie", "LDT_BerichtVersie", pattern=BERICHT_VERSIE),  # CS025
        f("BerichtSubversie", "LDT_BerichtSubversie", pattern=BERICHT_SUBVERSIE),  # CS015
        f("Afzender", afzender),
        f("Ontvanger", ontvanger),
        f("BerichtIdentificatie", "CDT_BerichtIdentificatie"),
        f("XsdVersie", "CDT_XsdVersie"),
    )


# IV028 / IV033: what a retour header adds to the copied heenbericht header.
RETOUR_HEADER_EXTRA: tuple[Field, ...] = (
    f("IdentificatieRetour", "LDT_IdentificatieBericht"),
    f("DagtekeningRetour", "LDT_Datum"),
    f("XsltVersie", "LDT_Versie", "0..1"),
    f("XsdVersieRetour", "CDT_XsdVersie"),
    f("RetourCodes", occurs="0..1"),
)

RETOUR_CODES = f("RetourCodes")


def with_retourcodes(types: tuple[LocalType, ...]) -> tuple[Klasse | Wrapper, ...]:
    """Every message class gets a mandatory RetourCodes as its last element."""
    return tuple(
        Klasse(t.name, t.doc, (*t.fields, RETOUR_CODES)) if isinstance(t, Klasse) else t
        for t in types
    )


def heenbericht(h: Heenbericht, standard: Standard) -> Message:
    return Message(
        standard,
        h.number,
        h.codes[standard],
        h.doc,
        header_fields(h.codes[standard], h.sender),
        _for(standard, h.body),
        _local_types(standard, h.types),
    )


def retourbericht(h: Heenbericht, standard: Standard) -> Message:
    """302/306/308/316/318/320: heen header + retour fields; optional heen body + RetourCodes."""
    code = h.retour_codes[standard]
    header = (*header_fields(code, h.sender), *RETOUR_HEADER_EXTRA)
    body = tuple(Field(x.name, x.type, 0, x.max, x.pattern) for x in _for(standard, h.body))
    types = (RetourCodesType(), *with_retourcodes(_local_types(standard, h.types)))
    return Message(standard, h.retour_number, code, h.retour_doc, header, body, types)


def declaratieantwoord(h: Heenbericht, standard: Standard) -> Message:
    """325: own heen-style header (gemeente to aanbieder) plus the link to the 323; the body
    holds totals and only the rejected prestaties, each class with RetourCodes."""
    code = h.retour_codes[standard]
    header = (
        *header_fields(code, "gemeente"),
        f("DeclaratieIdentificatie", "CDT_BerichtIdentificatie"),  # TR337
        f("XsltVersie", "LDT_Versie", "0..1"),
        f("XsdVersieDeclaratie", "CDT_XsdVersie"),  # TR371
        RETOUR_CODES,
    )
    declaratie_types = {t.name: t for t in _local_types(standard, h.types)}
    antwoord = Klasse(
        "DeclaratieAntwoord",
        "Het antwoord op de declaratie met de afgewezen prestaties.",
        (
            f("DeclaratieNummer", "LDT_IdentificatieDeclaratie"),  # TR376
            f("TotaalIngediendBedrag", "CDT_TotaalBedragMetDC"),
            f("TotaalToegekendBedrag", "CDT_TotaalBedragMetDC"),
            f("Clienten", occurs="0..1"),
        ),
    )
    kept = tuple(declaratie_types[n] for n in ("Clienten", "Client", "Prestaties", "Prestatie"))
    types = (RetourCodesType(), *with_retourcodes((antwoord, *kept)))
    body = (f("DeclaratieAntwoord", occurs="0..1"),)
    return Message(standard, h.retour_number, code, h.retour_doc, header, body, types)


def messages(standard: Standard) -> tuple[Message, ...]:
    """All 14 messages of a standard, in number order."""
    out: list[Message] = []
    for h in HEENBERICHTEN:
        out.append(heenbericht(h, standard))
        if h.retour_number == 325:
            out.append(declaratieantwoord(h, standard))
        else:
            out.append(retourbericht(h, standard))
    return tuple(sorted(out, key=lambda m: m.number))


def namespace(standard: Standard, part: str) -> str:
    """``part`` is ``basisschema`` or a lower-case message name such as ``wmo301``."""
    return f"http://www.istandaarden.nl/{standard}/3_2/{part}/schema"
