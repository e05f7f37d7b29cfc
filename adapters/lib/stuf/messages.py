"""StUF 0301 pieces both the GGk envelope and StUF-Jeugdzorg use: stuurgegevens, the
foutberichten Fo01/Fo03 and the bevestiging Bv03, read and written with lxml.

Order of the stuurgegevens (StUF 0301): berichtcode, zender, ontvanger, referentienummer,
tijdstipBericht, crossRefnummer, functie. ``tijdstipBericht`` is ``yyyyMMddHHmmss``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field, replace

from lxml import etree

STUF = "http://www.egem.nl/StUF/StUF0301"
_S = f"{{{STUF}}}"

# Field lengths of StUF 0301 (Foutomschrijving, Foutdetails): longer texts are cut.
_OMSCHRIJVING_MAX = 200
_DETAILS_MAX = 1000


# The foutcodes of a refusal we answer (Fo01 over the GGk, Fo03 to JUBES), by whose fault it is:
# StUF055 "Bericht voldoet niet aan XSD" (plek client) for a message that is not as it must be;
# StUF058 "Proces voor afhandelen bericht geeft fout" (plek server) when judging it failed on our
# side (stage ``internal``): nothing is known to be wrong with the message, and saying it fails
# the XSD would send its sender looking for a schema error that is not there.
NOT_VALID = "StUF055"
PROCESSING_FAILED = "StUF058"
PROCESSING_FAILED_TEXT = (
    "Proces voor afhandelen bericht geeft fout bij de ontvanger; aan het bericht zelf is geen "
    "fout bekend. Het is vastgelegd: stuur het later opnieuw met een nieuw referentienummer."
)


class StufError(ValueError):
    """A StUF document lacks something the gateway needs (names it; never quotes values)."""


@dataclass(frozen=True)
class Systeem:
    organisatie: str
    applicatie: str
    administratie: str = ""
    gebruiker: str = ""


@dataclass(frozen=True)
class Stuurgegevens:
    berichtcode: str
    zender: Systeem
    ontvanger: Systeem
    referentienummer: str
    tijdstip: str
    cross_ref: str = ""
    functie: str = ""

    def answer(self, berichtcode: str, referentienummer: str, tijdstip: str) -> Stuurgegevens:
        """Stuurgegevens of an answer: zender and ontvanger swapped, crossRefnummer set."""
        return replace(
            self,
            berichtcode=berichtcode,
            zender=self.ontvanger,
            ontvanger=self.zender,
            referentienummer=referentienummer,
            tijdstip=tijdstip,
            cross_ref=self.referentienummer,
            functie="",
        )


def tijdstip(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now()).strftime("%Y%m%d%H%M%S")


def _systeem(element: etree._Element | None, what: str) -> Systeem:
    if element is None:
        raise StufError(f"stuurgegevens has no {what}")
    return Systeem(
        organisatie=element.findtext(f"{_S}organisatie") or "",
        applicatie=element.findtext(f"{_S}applicatie") or "",
        administratie=element.findtext(f"{_S}administratie") or "",
        gebruiker=element.findtext(f"{_S}gebruiker") or "",
    )


def read_stuurgegevens(element: etree._Element) -> Stuurgegevens:
    """From a ``stuurgegevens`` element (in any namespace; its children are StUF's)."""
    return Stuurgegevens(
        berichtcode=element.findtext(f"{_S}berichtcode") or "",
        zender=_systeem(element.find(f"{_S}zender"), "zender"),
        ontvanger=_systeem(element.find(f"{_S}ontvanger"), "ontvanger"),
        referentienummer=element.findtext(f"{_S}referentienummer") or "",
        tijdstip=element.findtext(f"{_S}tijdstipBericht") or "",
        cross_ref=element.findtext(f"{_S}crossRefnummer") or "",
        functie=element.findtext(f"{_S}functie") or "",
    )


def stuurgegevens_of(root: etree._Element) -> Stuurgegevens:
    element = next(
        (c for c in root if isinstance(c.tag, str) and etree.QName(c).localname == "stuurgegevens"),
        None,
    )
    if element is None:
        raise StufError(f"{etree.QName(root).localname} has no stuurgegevens")
    return read_stuurgegevens(element)


def _put_systeem(parent: etree._Element, tag: str, systeem: Systeem) -> None:
    element = etree.SubElement(parent, f"{_S}{tag}")
    if systeem.organisatie:
        etree.SubElement(element, f"{_S}organisatie").text = systeem.organisatie
    etree.SubElement(element, f"{_S}applicatie").text = systeem.applicatie
    if systeem.administratie:
        etree.SubElement(element, f"{_S}administratie").text = systeem.administratie
    if systeem.gebruiker:
        etree.SubElement(element, f"{_S}gebruiker").text = systeem.gebruiker


def write_stuurgegevens(parent: etree._Element, tag: str, sg: Stuurgegevens) -> etree._Element:
    """Append ``tag`` (Clark notation) holding ``sg`` in StUF order to ``parent``."""
    element = etree.SubElement(parent, tag)
    etree.SubElement(element, f"{_S}berichtcode").text = sg.berichtcode
    _put_systeem(element, "zender", sg.zender)
    _put_systeem(element, "ontvanger", sg.ontvanger)
    etree.SubElement(element, f"{_S}referentienummer").text = sg.referentienummer
    etree.SubElement(element, f"{_S}tijdstipBericht").text = sg.tijdstip
    if sg.cross_ref:
        etree.SubElement(element, f"{_S}crossRefnummer").text = sg.cross_ref
    if sg.functie:
        etree.SubElement(element, f"{_S}functie").text = sg.functie
    return element


@dataclass(frozen=True)
class Fout:
    code: str  # StUF055, IB103, StUF016 ...
    plek: str  # "client" or "server"
    omschrijving: str
    details: str = ""
    details_xml: tuple[etree._Element, ...] = field(default=(), compare=False)


def foutbericht(sg: Stuurgegevens, fout: Fout) -> etree._Element:
    """A ``Fo01Bericht`` or ``Fo03Bericht`` (after ``sg.berichtcode``)."""
    if sg.berichtcode not in ("Fo01", "Fo02", "Fo03"):
        raise StufError(f"berichtcode {sg.berichtcode} is no foutbericht")
    root = etree.Element(f"{_S}{sg.berichtcode}Bericht", nsmap={"StUF": STUF})
    write_stuurgegevens(root, f"{_S}stuurgegevens", replace(sg, functie=""))
    body = etree.SubElement(root, f"{_S}body")
    etree.SubElement(body, f"{_S}code").text = fout.code
    etree.SubElement(body, f"{_S}plek").text = fout.plek
    etree.SubElement(body, f"{_S}omschrijving").text = fout.omschrijving[:_OMSCHRIJVING_MAX]
    if fout.details:
        etree.SubElement(body, f"{_S}details").text = fout.details[:_DETAILS_MAX]
    if fout.details_xml:
        holder = etree.SubElement(body, f"{_S}detailsXML")
        for element in fout.details_xml:
            holder.append(element)
    return root


def read_fout(root: etree._Element) -> tuple[Stuurgegevens, Fout]:
    """Stuurgegevens and body of a Fo01/Fo02/Fo03 Bericht."""
    sg = stuurgegevens_of(root)
    body = root.find(f"{_S}body")
    if body is None:
        raise StufError(f"{etree.QName(root).localname} has no body")
    holder = body.find(f"{_S}detailsXML")
    return sg, Fout(
        code=(body.findtext(f"{_S}code") or "").strip(),
        plek=(body.findtext(f"{_S}plek") or "").strip(),
        omschrijving=(body.findtext(f"{_S}omschrijving") or "").strip(),
        details=(body.findtext(f"{_S}details") or "").strip(),
        details_xml=tuple(c for c in holder if isinstance(c.tag, str))
        if holder is not None
        else (),
    )


def bevestiging(sg: Stuurgegevens) -> etree._Element:
    """A ``Bv03Bericht`` (or Bv01) with these stuurgegevens."""
    root = etree.Element(f"{_S}{sg.berichtcode}Bericht", nsmap={"StUF": STUF})
    write_stuurgegevens(root, f"{_S}stuurgegevens", replace(sg, functie=""))
    return root
