"""The StUF-GGk envelope <-> :class:`GgkEnvelope`, driven by our XSD ``schemas/ggk/0210``.

Building puts an iStandaarden file (bytes, UTF-8 without BOM) base64 into ``xmlBestand``; reading
takes it out again (``tekstBestand`` too, with its ``bestandsnaam``). The shapes of the two
envelopes are read once from our XSD (``gateway/xmlcodec.py``); the result is checked against it.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from adapters.lib.schema import SchemaCheck
from adapters.lib.stuf.messages import STUF, Stuurgegevens, Systeem
from gateway.xmlcodec import CodecError, Shape, decode, encode, shape_of
from schemas import schema_root

GGK = "http://www.stufstandaarden.nl/koppelvlak/ggk0210"
DI01 = "envelopHeenbericht-ggk_Di01"
DU01 = "envelopRetourbericht-ggk_Du01"
ROOTS = {f"{{{GGK}}}{DI01}": "Di01", f"{{{GGK}}}{DU01}": "Du01"}
NSMAP: dict[str | None, str] = {"GGK": GGK, "StUF": STUF}
# Whole Di01/Du01 including the base64 payload (IB007, CC03).
MAX_ENVELOPE_BYTES = 25 * 1024 * 1024
BOM = b"\xef\xbb\xbf"
SOAP_ACTIONS = {
    "Di01": f"{GGK}/ggk_Di01",
    "Du01": f"{GGK}/ggk_Du01",
    "Fo01": f"{STUF}/Fo01",
}


class EnvelopeError(ValueError):
    """An envelope we cannot build or read (names the part; never quotes the payload)."""


def schema_path() -> Path:
    return Path(str(schema_root() / "ggk" / "0210" / "ggk0210.xsd"))


def stuf_schema_path() -> Path:
    return Path(str(schema_root() / "ggk" / "0210" / "stuf0301.xsd"))


ENVELOPE_SCHEMA = SchemaCheck(str(schema_path()))
STUF_SCHEMA = SchemaCheck(str(stuf_schema_path()))


def _shape(berichtcode: str) -> Shape:
    return shape_of(str(schema_path()), DI01 if berichtcode == "Di01" else DU01)


@dataclass(frozen=True)
class GgkEnvelope:
    stuurgegevens: Stuurgegevens
    applicatie_versie: str
    applicatie_subversie: str
    functie_versie: str
    functie_subversie: str
    payload: bytes
    bestandsnaam: str = ""  # set for a tekstBestand; an xmlBestand has none

    @property
    def berichtcode(self) -> str:
        return self.stuurgegevens.berichtcode


def _systeem(systeem: Systeem) -> dict[str, str]:
    out = {"organisatie": systeem.organisatie, "applicatie": systeem.applicatie}
    if systeem.administratie:
        out["administratie"] = systeem.administratie
    if systeem.gebruiker:
        out["gebruiker"] = systeem.gebruiker
    return out


def build(envelope: GgkEnvelope) -> etree._Element:
    """The envelope element (Di01 or Du01 after the berichtcode), checked against our XSD."""
    sg = envelope.stuurgegevens
    if sg.berichtcode not in ("Di01", "Du01"):
        raise EnvelopeError(f"berichtcode {sg.berichtcode} is no GGk envelope")
    payload = envelope.payload.removeprefix(BOM)
    stuurgegevens: dict[str, object] = {
        "berichtcode": sg.berichtcode,
        "zender": _systeem(sg.zender),
        "ontvanger": _systeem(sg.ontvanger),
        "referentienummer": sg.referentienummer,
        "tijdstipBericht": sg.tijdstip,
    }
    if sg.berichtcode == "Du01":
        stuurgegevens["crossRefnummer"] = sg.cross_ref
    stuurgegevens["functie"] = sg.functie
    data = {
        "stuurgegevens": stuurgegevens,
        "parameters": {
            "applicatieVersie": envelope.applicatie_versie,
            "applicatieSubversie": envelope.applicatie_subversie,
            "functieVersie": envelope.functie_versie,
            "functieSubversie": envelope.functie_subversie,
            "bericht": {"xmlBestand": base64.b64encode(payload).decode("ascii")},
        },
    }
    try:
        element = encode(data, _shape(sg.berichtcode), NSMAP)
    except CodecError as exc:
        raise EnvelopeError(str(exc)) from None
    errors = ENVELOPE_SCHEMA.errors(element)
    if errors:
        raise EnvelopeError(f"the envelope we built does not match our XSD: {errors[0]}")
    return element


def _b64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise EnvelopeError(f"{where} is not valid base64") from None


def read(element: etree._Element) -> GgkEnvelope:
    """Read a Di01 or Du01 that passed our XSD. The payload loses a BOM, if it had one."""
    berichtcode = ROOTS.get(element.tag)
    if berichtcode is None:
        raise EnvelopeError(f"{etree.QName(element).localname} is no GGk envelope")
    try:
        data = decode(element, _shape(berichtcode))
    except CodecError as exc:
        raise EnvelopeError(str(exc)) from None
    sg_data = data["stuurgegevens"]
    params = data["parameters"]
    bericht = params["bericht"]

    def systeem(part: dict[str, str]) -> Systeem:
        return Systeem(
            part.get("organisatie", ""),
            part.get("applicatie", ""),
            part.get("administratie", ""),
            part.get("gebruiker", ""),
        )

    sg = Stuurgegevens(
        berichtcode=sg_data["berichtcode"],
        zender=systeem(sg_data["zender"]),
        ontvanger=systeem(sg_data["ontvanger"]),
        referentienummer=sg_data["referentienummer"],
        tijdstip=sg_data["tijdstipBericht"],
        cross_ref=sg_data.get("crossRefnummer", ""),
        functie=sg_data["functie"],
    )
    bestandsnaam = ""
    if "xmlBestand" in bericht:
        payload = _b64(bericht["xmlBestand"], "xmlBestand")
    else:
        payload = _b64(bericht["tekstBestand"], "tekstBestand")
        holder = element.find(f"{{{GGK}}}parameters/{{{GGK}}}bericht/{{{GGK}}}tekstBestand")
        bestandsnaam = holder.get("bestandsnaam", "") if holder is not None else ""
    return GgkEnvelope(
        stuurgegevens=sg,
        applicatie_versie=params["applicatieVersie"],
        applicatie_subversie=params["applicatieSubversie"],
        functie_versie=params["functieVersie"],
        functie_subversie=params["functieSubversie"],
        payload=payload.removeprefix(BOM),
        bestandsnaam=bestandsnaam,
    )


def to_bytes(element: etree._Element) -> bytes:
    text: bytes = etree.tostring(element, xml_declaration=True, encoding="UTF-8")
    return text
