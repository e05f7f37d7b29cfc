"""iWmo/iJw codec: message XML <-> canonical dict, driven by our own XSDs in ``schemas/``.

Output follows the technical file rules (OP192/OP179): UTF-8 without BOM, CRLF line ends.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.istandaarden.catalogue import VERSION, Bericht
from gateway.xmlcodec import Shape, decode, encode, shape_of
from schemas import schema_root


def schema_path(bericht: Bericht) -> Path:
    return Path(str(schema_root() / bericht.standard / VERSION / f"{bericht.code}.xsd"))


def shape(bericht: Bericht) -> Shape:
    return shape_of(str(schema_path(bericht)))


@functools.cache
def xsd_versions(bericht: Bericht) -> dict[str, str]:
    """``BasisschemaXsdVersie`` and ``BerichtXsdVersie`` from our XSD's appinfo (IV034)."""
    doc = etree.parse(str(schema_path(bericht)))
    found: dict[str, str] = {}
    for name in ("BasisschemaXsdVersie", "BerichtXsdVersie"):
        values = doc.xpath(
            f"/*[local-name()='schema']/*[local-name()='annotation']/*[local-name()='appinfo']"
            f"/*[local-name()='{name}']/text()"
        )
        if not values:
            raise LookupError(f"{schema_path(bericht).name} has no appinfo {name}")
        found[name] = str(values[0]).strip()
    return found


def decode_message(root: etree._Element, bericht: Bericht) -> dict[str, Any]:
    return decode(root, shape(bericht))


def encode_message(bericht: Bericht, data: dict[str, Any]) -> bytes:
    root = encode(data, shape(bericht), bericht.nsmap)
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
