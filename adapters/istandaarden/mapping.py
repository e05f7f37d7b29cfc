"""Back-office JSON -> iWmo/iJw message, through the declarative files in ``mappings/``.

The mapping file fills the business fields; this module adds the header boilerplate every
message of the standard carries (BerichtCode, BerichtVersie 3, BerichtSubversie 2, XsdVersie from
our XSD's appinfo, IV034) and generates what the back-office may leave out (BerichtIdentificatie,
dates and times).

A declaratie (323) is mapped record by record: each ``Client`` of the export is mapped, encoded
and written on its own, and the finish step sees one record at a time (the total), so memory
holds the JSON and the output bytes, never the whole message as a dict or a tree. The JSON and
the message made of it must each fit the gateway's ``max_message_bytes`` (25 MB, OP179): about
30,000 prestaties (tested in ``tests/unit/test_aanbieder_mappings.py``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from lxml import etree

from adapters.istandaarden.catalogue import VERSION, Bericht
from adapters.istandaarden.engine import RECORDS
from adapters.istandaarden.retour import complete_declaratie_antwoord
from adapters.lib.istandaard.codec import encode_message, record_shape, xsd_versions
from gateway.adapter import MappingError
from gateway.mapping import (
    FieldSpec,
    ListSpec,
    MappingSpec,
    apply_mapping,
    map_items,
    named_mapping,
    shipped_mappings,
)
from gateway.xmlcodec import CodecError, encode

# Steps a mapping file may name as ``finish``: what the standard computes from the rest.
FINISH: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "declaratie-antwoord": complete_declaratie_antwoord,
}


class DeclaratieTotaal:
    """Finish step ``declaratie`` (323), record by record: TotaalIngediendBedrag is the sum of
    the debet prestaties minus the credit ones (TR358, IV086); D when zero (CS325)."""

    def __init__(self) -> None:
        self.cents = 0

    def record(self, client: Mapping[str, Any]) -> None:
        for prestatie in client["Prestaties"]["Prestatie"]:
            bedrag = prestatie["IngediendBedrag"]
            amount = int(bedrag["Bedrag"])
            self.cents += -amount if bedrag.get("DebetCredit") == "C" else amount

    def finish(self, message: dict[str, Any]) -> dict[str, Any]:
        message["Declaratie"]["TotaalIngediendBedrag"] = {
            "TotaalBedrag": str(abs(self.cents)),
            "DebetCredit": "C" if self.cents < 0 else "D",
        }
        return message


# Finish steps that take the message record by record (its records are never held together).
RECORD_FINISH: dict[str, Callable[[], DeclaratieTotaal]] = {"declaratie": DeclaratieTotaal}

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def new_identificatie() -> str:
    """12 characters (LDT_IdentificatieBericht allows 1-12), from 62 random bits."""
    number = uuid.uuid4().int
    chars = []
    for _ in range(12):
        number, digit = divmod(number, 36)
        chars.append(_ALPHABET[digit])
    return "".join(chars)


def mapping_names() -> list[str]:
    return shipped_mappings("istandaarden", VERSION)


def load(name: str) -> MappingSpec:
    return named_mapping("istandaarden", VERSION, name)


def header_boilerplate(bericht: Bericht) -> dict[str, Any]:
    return {
        "BerichtCode": bericht.berichtcode,
        "BerichtVersie": "3",
        "BerichtSubversie": "2",
        "XsdVersie": xsd_versions(bericht),
    }


def map_in(standard: str, name: str, data: Mapping[str, Any], now: dt.datetime) -> bytes:
    """Map back-office JSON to message XML; :class:`MappingError` names the offending field."""
    spec = load(name)
    bericht = Bericht(standard, int(spec.message))
    context = {
        "@today": now.date().isoformat(),
        "@now": now.time().replace(microsecond=0).isoformat(),
        "@berichtidentificatie": new_identificatie(),
    }
    records = _record_list(spec, bericht)
    head = (
        spec
        if records is None
        else dataclasses.replace(spec, lists=tuple(lst for lst in spec.lists if lst is not records))
    )
    message = apply_mapping(head, data, context)
    header = message.setdefault("Header", {})
    header.update({k: v for k, v in header_boilerplate(bericht).items() if k not in header})
    try:
        if records is not None:
            return _streamed(bericht, spec, records, message, data, context)
        if spec.finish:
            message = FINISH[spec.finish](message)
        return encode_message(bericht, message)
    except CodecError as exc:
        # e.g. Woonplaatsbeginsel given for iWmo, which has no such element: name the JSON field
        raise MappingError(_source_of(spec, str(exc)), f"not allowed in {bericht.code}") from None


def _record_list(spec: MappingSpec, bericht: Bericht) -> ListSpec | None:
    """The list of ``spec`` that fills the message's record element (a 323's ``Client``), when
    its finish step takes records one at a time; else None (the message is mapped whole)."""
    if bericht.number not in RECORDS or spec.finish not in RECORD_FINISH:
        return None
    target = "/".join(RECORDS[bericht.number])
    return next((lst for lst in spec.lists if lst.target == target), None)


def _streamed(
    bericht: Bericht,
    spec: MappingSpec,
    records: ListSpec,
    head: dict[str, Any],
    data: Mapping[str, Any],
    context: Mapping[str, Any],
) -> bytes:
    """The message with its records mapped, encoded and serialized one at a time; the head
    (everything before them) is encoded last, once the finish step has seen every record."""
    finish = RECORD_FINISH[spec.finish]()
    container, record = RECORDS[bericht.number]
    shape = record_shape(bericht, (*container.split("/"), record))
    # Each record is serialized with the namespace declarations the root already makes; they
    # are cut from its start tag (the same bytes for every record).
    declared = etree.tostring(etree.Element(shape.tag, nsmap=bericht.nsmap))
    declarations = declared[declared.index(b" ") : declared.rindex(b"/>")]
    chunks = []
    for record in map_items(records, data, context):
        finish.record(record)
        element = encode(record, shape, bericht.nsmap)
        text = etree.tostring(element, encoding="UTF-8", pretty_print=True)
        chunks.append(text.replace(declarations, b"", 1).replace(b"\n", b"\r\n"))
    container, _ = RECORDS[bericht.number]
    outer, inner = container.split("/")
    head.setdefault(outer, {})[inner] = {}
    whole = encode_message(bericht, finish.finish(head))
    name = f"{bericht.prefix}:{inner}".encode()
    before, _, after = whole.partition(b"<" + name + b"/>")
    return b"".join([before, b"<" + name + b">\r\n", *chunks, b"</" + name + b">", after])


def _source_of(spec: MappingSpec, problem: str) -> str:
    """The JSON field that filled the target a codec error names, else the error itself."""
    match = re.match(r"(?P<path>[\w/]+): unknown element\(s\) (?P<name>\w+)", problem)
    if match is None:
        return problem
    target = f"{match['path'].removeprefix('Bericht').strip('/')}/{match['name']}".strip("/")

    def search(fields: tuple[FieldSpec, ...], lists: tuple[ListSpec, ...], base: str) -> str | None:
        for f in fields:
            if f"{base}{f.target}".startswith(target) and f.source:
                return f.source
        for lst in lists:
            if f"{base}{lst.target}".startswith(target):
                return lst.source
            found = search(lst.fields, lst.lists, f"{base}{lst.target}/")
            if found:
                return found
        return None

    return search(spec.fields, spec.lists, "") or problem
