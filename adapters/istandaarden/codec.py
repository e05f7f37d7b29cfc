"""iWmo/iJw codec: message XML <-> canonical dict, driven by our own XSDs in ``schemas/``.

Output follows the technical file rules (OP192/OP179): UTF-8 without BOM, CRLF line ends.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.istandaarden.catalogue import VERSION, Bericht
from gateway.xmlcodec import ClassIndex, Shape, decode, decode_indexed, encode, shape_of
from schemas import schema_root


@functools.cache
def schema_path(bericht: Bericht) -> Path:
    """Our XSD for ``bericht`` (looked up once: ``schema_root`` goes through importlib)."""
    return Path(str(schema_root() / bericht.standard / VERSION / f"{bericht.code}.xsd"))


@functools.cache
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


@functools.cache
def xsd_version_range(bericht: Bericht) -> dict[str, tuple[str, str]]:
    """(Min, Max) of ``BasisschemaXsdVersie`` and ``BerichtXsdVersie`` from our XSD's appinfo."""
    doc = etree.parse(str(schema_path(bericht)))
    found: dict[str, tuple[str, str]] = {}
    for name in ("BasisschemaXsdVersie", "BerichtXsdVersie"):
        bounds = []
        for suffix in ("Min", "Max"):
            values = doc.xpath(
                "/*[local-name()='schema']/*[local-name()='annotation']/*[local-name()='appinfo']"
                f"/*[local-name()='{name.replace('Versie', suffix + 'Versie')}']/text()"
            )
            if not values:
                raise LookupError(f"{schema_path(bericht).name} has no appinfo {name} {suffix}")
            bounds.append(str(values[0]).strip())
        found[name] = (bounds[0], bounds[1])
    return found


def decode_message(root: etree._Element, bericht: Bericht) -> dict[str, Any]:
    return decode(root, shape(bericht))


def decode_message_indexed(
    root: etree._Element, bericht: Bericht
) -> tuple[dict[str, Any], ClassIndex]:
    """The canonical dict and its class index (see :func:`gateway.xmlcodec.decode_indexed`)."""
    return decode_indexed(root, shape(bericht))


@functools.cache
def record_shape(bericht: Bericht) -> Shape:
    """The shape of a streamed message's record element (``Client`` of a 323/325)."""
    from adapters.istandaarden.engine import RECORDS

    container, name = RECORDS[bericht.number]
    node = shape(bericht)
    for part in [*container.split("/"), name]:
        node = node.child(part)
    return node


def decode_record(element: etree._Element, bericht: Bericht) -> dict[str, Any]:
    """One record element (a ``Client`` of a 323/325) as its canonical dict."""
    return decode(element, record_shape(bericht))


def encode_message(bericht: Bericht, data: dict[str, Any]) -> bytes:
    root = encode(data, shape(bericht), bericht.nsmap)
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
