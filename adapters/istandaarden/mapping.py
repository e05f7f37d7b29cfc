"""Back-office JSON -> iWmo/iJw message, through the declarative files in ``mappings/``.

The mapping file fills the business fields; this module adds the header boilerplate every
message of the standard carries (BerichtCode, BerichtVersie 3, BerichtSubversie 2, XsdVersie from
our XSD's appinfo, IV034) and generates what the back-office may leave out (BerichtIdentificatie,
dates and times).
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable, Mapping
from typing import Any

from adapters.istandaarden.catalogue import VERSION, Bericht
from adapters.istandaarden.retour import complete_declaratie_antwoord
from adapters.lib.istandaard.codec import encode_message, xsd_versions
from gateway.adapter import MappingError
from gateway.mapping import (
    FieldSpec,
    ListSpec,
    MappingSpec,
    apply_mapping,
    named_mapping,
    shipped_mappings,
)
from gateway.xmlcodec import CodecError

# Steps a mapping file may name as ``finish``: what the standard computes from the rest.
FINISH: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
    "declaratie-antwoord": complete_declaratie_antwoord,
}

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
    message = apply_mapping(spec, data, context)
    header = message.setdefault("Header", {})
    header.update({k: v for k, v in header_boilerplate(bericht).items() if k not in header})
    if spec.finish:
        message = FINISH[spec.finish](message)
    try:
        return encode_message(bericht, message)
    except CodecError as exc:
        # e.g. Woonplaatsbeginsel given for iWmo, which has no such element: name the JSON field
        raise MappingError(_source_of(spec, str(exc)), f"not allowed in {bericht.code}") from None


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
