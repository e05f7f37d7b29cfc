"""VECOZO berichtuitwisseling: the message (routing, references, payload) <-> the wire.

- payload: a ZIP (``zipfile``) holding exactly one XML file named ``<traceerId>.xml``;
- REST push/pull v1: ``BerichtMetadata`` JSON (routeringgegevens, referentiegegevens,
  verwerkingscontext) beside the payload;
- SOAP berichtuitwisseling v3: ``IndienenBericht`` with the Verwerkingscontext-, Conversatie-,
  Referentie- and RouteringHeader and the ZIP base64 in ``Request/Bericht/Data``.
"""

from __future__ import annotations

import base64
import binascii
import io
import zipfile
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from adapters.lib.soap import SOAP11

V3 = "http://schemas.vecozo.nl/berichtuitwisseling/v3"
MESSAGES = "http://schemas.vecozo.nl/berichtuitwisseling/messages/v3"
TYPES = "http://schemas.vecozo.nl/berichtuitwisseling/types/v3"
HEADER = "http://schemas.vecozo.nl/berichtuitwisseling/header/v3"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SOAP_ACTION = f"{V3}/IndienenBericht"
MAX_PAYLOAD_BYTES = 25 * 1024 * 1024


class VecozoCodecError(ValueError):
    """Says what is wrong with a VECOZO message; never quotes the payload."""


@dataclass(frozen=True)
class Relatie:
    rol: str
    code: str


@dataclass(frozen=True)
class VecozoBericht:
    afzender: Relatie
    geadresseerden: tuple[Relatie, ...]
    berichttype: str
    berichtsubtype: str
    berichtversie: int
    berichtsubversie: int
    actie: str
    conversatie_id: str
    traceer_id: str
    payload: bytes  # the XML file (not zipped)
    als_antwoord_op: str = ""
    referentie_id: str = ""
    verwerkingscontext: dict[str, tuple[str, ...]] = field(default_factory=dict)


# -- the ZIP --------------------------------------------------------------------------------


def zip_payload(xml: bytes, traceer_id: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{traceer_id}.xml", xml)
    return buffer.getvalue()


def unzip_payload(data: bytes, max_bytes: int = MAX_PAYLOAD_BYTES) -> tuple[str, bytes]:
    """The one XML file in a VECOZO ZIP: (name, bytes). Refuses anything else, and files that
    would unpack to more than ``max_bytes``."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise VecozoCodecError("the payload is not a ZIP file") from None
    with archive:
        entries = [i for i in archive.infolist() if not i.is_dir()]
        if len(entries) != 1:
            raise VecozoCodecError(f"the ZIP holds {len(entries)} files; VECOZO sends exactly one")
        [entry] = entries
        if not entry.filename.lower().endswith(".xml") or "/" in entry.filename:
            raise VecozoCodecError("the file in the ZIP is not an XML file at its top level")
        if entry.file_size > max_bytes:
            raise VecozoCodecError(f"the XML file is larger than {max_bytes} bytes")
        with archive.open(entry) as handle:
            content = handle.read(max_bytes + 1)
        if len(content) > max_bytes:
            raise VecozoCodecError(f"the XML file is larger than {max_bytes} bytes")
        return entry.filename, content


# -- REST metadata ---------------------------------------------------------------------------


def metadata(bericht: VecozoBericht) -> dict[str, Any]:
    referentie: dict[str, str] = {
        "conversatieId": bericht.conversatie_id,
        "traceerId": bericht.traceer_id,
    }
    if bericht.als_antwoord_op:
        referentie["alsAntwoordOp"] = bericht.als_antwoord_op
    if bericht.referentie_id:
        referentie["referentieId"] = bericht.referentie_id
    out: dict[str, Any] = {
        "routeringgegevens": {
            "afzender": {"rol": bericht.afzender.rol, "code": bericht.afzender.code},
            "geadresseerden": [{"rol": g.rol, "code": g.code} for g in bericht.geadresseerden],
            "berichtstroom": {
                "berichttype": bericht.berichttype,
                "berichtsubtype": bericht.berichtsubtype,
                "berichtversie": bericht.berichtversie,
                "berichtsubversie": bericht.berichtsubversie,
                "actie": bericht.actie,
            },
        },
        "referentiegegevens": referentie,
    }
    if bericht.verwerkingscontext:
        out["verwerkingscontext"] = [
            {"sleutel": k, "waarde": list(v)} for k, v in bericht.verwerkingscontext.items()
        ]
    return out


def _relatie(data: Any, where: str) -> Relatie:
    if not isinstance(data, dict) or not isinstance(data.get("rol"), str):
        raise VecozoCodecError(f"{where} has no rol")
    return Relatie(data["rol"], str(data.get("code", "")))


def from_metadata(data: Any, payload: bytes) -> VecozoBericht:
    """A pulled message's metadata (``BerichtMetadata``) with its unzipped payload."""
    try:
        routering = data["routeringgegevens"]
        stroom = routering["berichtstroom"]
        referentie = data["referentiegegevens"]
        return VecozoBericht(
            afzender=_relatie(routering["afzender"], "afzender"),
            geadresseerden=tuple(
                _relatie(g, "geadresseerde") for g in routering.get("geadresseerden", [])
            ),
            berichttype=str(stroom["berichttype"]),
            berichtsubtype=str(stroom.get("berichtsubtype", "")),
            berichtversie=int(stroom["berichtversie"]),
            berichtsubversie=int(stroom["berichtsubversie"]),
            actie=str(stroom["actie"]),
            conversatie_id=str(referentie["conversatieId"]),
            traceer_id=str(referentie["traceerId"]),
            als_antwoord_op=str(referentie.get("alsAntwoordOp", "")),
            referentie_id=str(referentie.get("referentieId", "")),
            verwerkingscontext={
                str(p["sleutel"]): tuple(str(w) for w in p["waarde"])
                for p in data.get("verwerkingscontext", [])
            },
            payload=payload,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise VecozoCodecError(f"metadata is incomplete: {type(exc).__name__} {exc}") from None


# -- SOAP berichtuitwisseling v3 ---------------------------------------------------------------


def _sub(parent: etree._Element, tag: str, text: str | None = None) -> etree._Element:
    element = etree.SubElement(parent, tag)
    if text is not None:
        element.text = text
    return element


def indienen_bericht(bericht: VecozoBericht) -> bytes:
    """The SOAP ``IndienenBericht`` request for ``bericht`` (payload zipped, base64)."""
    nsmap = {"soapenv": SOAP11, "ns1": MESSAGES, "ns2": V3, "ns3": TYPES, "ns4": HEADER}
    envelope = etree.Element(f"{{{SOAP11}}}Envelope", nsmap=nsmap)
    header = _sub(envelope, f"{{{SOAP11}}}Header")
    context = _sub(header, f"{{{V3}}}VerwerkingscontextHeader")
    for key, values in sorted(bericht.verwerkingscontext.items()):
        for value in values:
            aspect = _sub(context, f"{{{HEADER}}}Aspect")
            _sub(aspect, f"{{{TYPES}}}Sleutel", key)
            _sub(aspect, f"{{{TYPES}}}Waarde", value)
    conversatie = _sub(header, f"{{{V3}}}ConversatieHeader")
    _sub(conversatie, f"{{{HEADER}}}ConversatieId", bericht.conversatie_id)
    _sub(conversatie, f"{{{HEADER}}}TraceerId", bericht.traceer_id)
    if bericht.referentie_id:
        referentie = _sub(header, f"{{{V3}}}ReferentieHeader")
        _sub(referentie, f"{{{HEADER}}}ReferentieId", bericht.referentie_id)
    routering = _sub(header, f"{{{V3}}}RouteringHeader")
    afzender = _sub(routering, f"{{{HEADER}}}Afzender")
    _sub(afzender, f"{{{TYPES}}}Rol", bericht.afzender.rol)
    _sub(afzender, f"{{{TYPES}}}Code", bericht.afzender.code)
    geadresseerden = _sub(routering, f"{{{HEADER}}}Geadresseerden")
    for geadresseerde in bericht.geadresseerden:
        relatie = _sub(geadresseerden, f"{{{TYPES}}}Relatie")
        _sub(relatie, f"{{{TYPES}}}Rol", geadresseerde.rol)
        _sub(relatie, f"{{{TYPES}}}Code", geadresseerde.code)
    _sub(routering, f"{{{HEADER}}}Berichttype", bericht.berichttype)
    _sub(routering, f"{{{HEADER}}}Berichtsubtype", bericht.berichtsubtype)
    _sub(routering, f"{{{HEADER}}}Berichtversie", str(bericht.berichtversie))
    _sub(routering, f"{{{HEADER}}}Berichtsubversie", str(bericht.berichtsubversie))
    _sub(routering, f"{{{HEADER}}}Actie", bericht.actie)
    body = _sub(envelope, f"{{{SOAP11}}}Body")
    request = _sub(_sub(body, f"{{{V3}}}IndienenBericht"), f"{{{V3}}}Request")
    holder = _sub(request, f"{{{MESSAGES}}}Bericht")
    holder.set(f"{{{XSI}}}type", "ns1:DataBinary")
    zipped = zip_payload(bericht.payload, bericht.traceer_id)
    _sub(holder, f"{{{MESSAGES}}}Data", base64.b64encode(zipped).decode("ascii"))
    text: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return text


def _text(parent: etree._Element, path: str, namespaces: dict[str, str]) -> str:
    return (parent.findtext(path, namespaces=namespaces) or "").strip()


def read_indienen_bericht(
    root: etree._Element, max_bytes: int = MAX_PAYLOAD_BYTES
) -> VecozoBericht:
    """A SOAP ``IndienenBericht`` (parsed safely by the caller) back into a message."""
    ns = {"s": SOAP11, "m": MESSAGES, "v": V3, "t": TYPES, "h": HEADER}
    header = root.find("s:Header", ns)
    if root.tag != f"{{{SOAP11}}}Envelope" or header is None:
        raise VecozoCodecError("not a SOAP 1.1 envelope with a Header")
    context: dict[str, list[str]] = {}
    for aspect in header.iterfind("v:VerwerkingscontextHeader/h:Aspect", ns):
        context.setdefault(_text(aspect, "t:Sleutel", ns), []).append(_text(aspect, "t:Waarde", ns))
    routering = header.find("v:RouteringHeader", ns)
    if routering is None:
        raise VecozoCodecError("no RouteringHeader")
    data = root.findtext("s:Body/v:IndienenBericht/v:Request/m:Bericht/m:Data", namespaces=ns)
    if not data:
        raise VecozoCodecError("no Bericht/Data in the body")
    try:
        zipped = base64.b64decode("".join(data.split()), validate=True)
    except (binascii.Error, ValueError):
        raise VecozoCodecError("Bericht/Data is not valid base64") from None
    _, payload = unzip_payload(zipped, max_bytes)
    try:
        versie = int(_text(routering, "h:Berichtversie", ns))
        subversie = int(_text(routering, "h:Berichtsubversie", ns))
    except ValueError:
        raise VecozoCodecError("Berichtversie/Berichtsubversie are not numbers") from None
    return VecozoBericht(
        afzender=Relatie(
            _text(routering, "h:Afzender/t:Rol", ns), _text(routering, "h:Afzender/t:Code", ns)
        ),
        geadresseerden=tuple(
            Relatie(_text(r, "t:Rol", ns), _text(r, "t:Code", ns))
            for r in routering.iterfind("h:Geadresseerden/t:Relatie", ns)
        ),
        berichttype=_text(routering, "h:Berichttype", ns),
        berichtsubtype=_text(routering, "h:Berichtsubtype", ns),
        berichtversie=versie,
        berichtsubversie=subversie,
        actie=_text(routering, "h:Actie", ns),
        conversatie_id=_text(header, "v:ConversatieHeader/h:ConversatieId", ns),
        traceer_id=_text(header, "v:ConversatieHeader/h:TraceerId", ns),
        referentie_id=_text(header, "v:ReferentieHeader/h:ReferentieId", ns),
        verwerkingscontext={k: tuple(v) for k, v in context.items()},
        payload=payload,
    )
