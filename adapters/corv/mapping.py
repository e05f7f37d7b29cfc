"""Back-office verzoek tot onderzoek (JSON) -> vtoDi01, through ``mappings/corv/1.0.9/vto.toml``.

The mapping file fills the zaak; this module adds the stuurgegevens (berichtcode Di01, zender
from the settings ``corv_organisatie``/``corv_applicatie``, a UUID referentienummer,
tijdstipBericht, functie) and writes the dates as StUF dates (yyyymmdd).
"""

from __future__ import annotations

import datetime as dt
import functools
import uuid
from collections.abc import Mapping
from typing import Any

import xmlschema
from lxml import etree

from adapters.corv import codec
from adapters.corv.catalogue import VERSION, schema_path
from adapters.corv.settings import CorvSettings
from adapters.lib.stuf.messages import tijdstip
from gateway.adapter import MappingError
from gateway.mapping import MappingSpec, apply_mapping, named_mapping, shipped_mappings
from gateway.xmlcodec import CodecError


def mapping_names() -> list[str]:
    return shipped_mappings("corv", VERSION)


def load(name: str) -> MappingSpec:
    return named_mapping("corv", VERSION, name)


@functools.cache
def date_paths(functie: str) -> frozenset[str]:
    """Paths (below the root) of the elements holding a StUF date."""
    schema = xmlschema.XMLSchema(str(schema_path()), allow="sandbox", defuse="always")
    root = next(e for n, e in schema.elements.items() if etree.QName(n).localname == functie)
    found: set[str] = set()

    def walk(element: Any, path: str, depth: int) -> None:
        if depth > 40:
            return
        type_name = etree.QName(element.type.name).localname if element.type.name else ""
        if type_name == "DatumMetIndicator":
            found.add(path)
        if not element.type.has_simple_content():
            for child in element.iterchildren():
                local = etree.QName(child.name).localname
                walk(child, f"{path}/{local}" if path else local, depth + 1)

    for child in root.iterchildren():
        walk(child, etree.QName(child.name).localname, 1)
    return frozenset(found)


def _stuf_dates(node: Any, path: str, dates: frozenset[str]) -> Any:
    if isinstance(node, list):
        return [_stuf_dates(item, path, dates) for item in node]
    if isinstance(node, dict):
        return {
            k: _stuf_dates(v, f"{path}/{k}" if path else k, dates)
            if not k.startswith(("@", "#"))
            else v
            for k, v in node.items()
        }
    if path in dates and isinstance(node, str):
        return node.replace("-", "")
    return node


def map_in(
    name: str, data: Mapping[str, Any], settings: Any, now: dt.datetime | None = None
) -> bytes:
    spec = load(name)
    functie = spec.message
    corv = CorvSettings.of(settings)
    if not corv.organisatie:
        raise MappingError("(settings)", "set corv_organisatie: our organisatie as JUBES knows us")
    filled = apply_mapping(spec, data, {})
    filled = _stuf_dates(filled, "", date_paths(functie))
    stuurgegevens = filled.setdefault("stuurgegevens", {})
    stuurgegevens.update(
        berichtcode="Di01",
        zender={"organisatie": corv.organisatie, "applicatie": corv.applicatie},
        referentienummer=str(uuid.uuid4()),
        tijdstipBericht=tijdstip(now),
        functie=functie,
    )
    try:
        return codec.to_bytes(codec.encode(functie, filled))
    except CodecError as exc:
        raise MappingError("(document)", str(exc)) from None
