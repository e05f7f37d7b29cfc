"""iStandaarden message XML <-> canonical dict, driven by our own XSDs in ``schemas/``.

One codec for every iStandaarden-style standard: a message is anything with a ``schema_path``
(our XSD) and an ``nsmap`` (iWmo/iJw's ``Bericht``, iEb's and iPgb's ``Message``). Output
follows the technical file rules (OP192/OP179): UTF-8 without BOM, CRLF line ends.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable, Mapping
from pathlib import Path
from typing import Any, Protocol

from lxml import etree

from gateway.xmlcodec import ClassIndex, Shape, decode, decode_indexed, encode, shape_of


class Described(Hashable, Protocol):
    """A message of a catalogue, as the codec needs it."""

    @property
    def schema_path(self) -> Path: ...

    @property
    def nsmap(self) -> dict[str | None, str]: ...


_APPINFO = "/*[local-name()='schema']/*[local-name()='annotation']/*[local-name()='appinfo']"


@functools.cache
def shape(message: Described) -> Shape:
    return shape_of(str(message.schema_path))


def _appinfo(message: Described, name: str) -> str:
    doc = etree.parse(str(message.schema_path))
    values = doc.xpath(f"{_APPINFO}/*[local-name()='{name}']/text()")
    if not values:
        raise LookupError(f"{message.schema_path.name} has no appinfo {name}")
    return str(values[0]).strip()


@functools.cache
def xsd_versions(message: Described) -> dict[str, str]:
    """``BasisschemaXsdVersie`` and ``BerichtXsdVersie`` from our XSD's appinfo (IV034)."""
    return {name: _appinfo(message, name) for name in ("BasisschemaXsdVersie", "BerichtXsdVersie")}


@functools.cache
def xsd_version_range(message: Described) -> dict[str, tuple[str, str]]:
    """(Min, Max) of ``BasisschemaXsdVersie`` and ``BerichtXsdVersie`` from our XSD's appinfo."""
    return {
        name: (
            _appinfo(message, name.replace("Versie", "MinVersie")),
            _appinfo(message, name.replace("Versie", "MaxVersie")),
        )
        for name in ("BasisschemaXsdVersie", "BerichtXsdVersie")
    }


def decode_message(root: etree._Element, message: Described) -> dict[str, Any]:
    return decode(root, shape(message))


def decode_message_indexed(
    root: etree._Element, message: Described
) -> tuple[dict[str, Any], ClassIndex]:
    """The canonical dict and its class index (see :func:`gateway.xmlcodec.decode_indexed`)."""
    return decode_indexed(root, shape(message))


@functools.cache
def record_shape(message: Described, path: tuple[str, ...]) -> Shape:
    """The shape of a streamed message's record element, at ``path`` below the root."""
    node = shape(message)
    for part in path:
        node = node.child(part)
    return node


def decode_record(
    element: etree._Element, message: Described, path: tuple[str, ...]
) -> dict[str, Any]:
    """One record element (a ``Client`` of a 323/325, at ``path``) as its canonical dict."""
    return decode(element, record_shape(message, path))


def decode_record_indexed(
    element: etree._Element, message: Described, path: tuple[str, ...], at: str
) -> tuple[dict[str, Any], ClassIndex]:
    """:func:`decode_record` and its class index, with paths below ``at`` (the record's own
    class path, e.g. ``Declaratie/Clienten/Client[3]``)."""
    return decode_indexed(element, record_shape(message, path), at)


def encode_message(message: Described, data: Mapping[str, Any]) -> bytes:
    """UTF-8 without BOM, CRLF line ends (the iStandaarden file rules)."""
    root = encode(data, shape(message), message.nsmap)
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return text.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
