"""Rules on StUF-Jeugdzorg messages beyond our XSD (which is lenient on which person fields a
role requires; see ``schemas/corv/1.0.9/bg.xsd``). They hold what the koppelvlak requires of
a verzoek tot onderzoek we send; messages we receive were checked by JUBES and its sender.

- CS002: every inp.bsn passes the 11-proef (every message we send).
- CV01: a gezaghebbende (natuurlijk persoon) is identified by BSN or A-nummer and has a
  geslachtsnaam.
- CV02: an unborn child (Client (ongeboren kind)) has no BSN.
- CV03: every document has a bestandsnaam.
- CV04: a verrijkingsverzoek (vcob, ucob, vci, uci) identifies its person by BSN or describes
  them: the public 1.0.9 set restricts its vreemdelingennummer (anp.identificatie, 10 digits)
  from a 17-digit type, so no value passes it; ours takes 10 digits, for what we receive.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from adapters.corv.catalogue import OUTBOUND, VERRIJKING
from gateway.adapter import Finding
from gateway.logs import passes_elfproef


def _items(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    return str(value.get("#", "")) if isinstance(value, dict) else str(value)


def _bsns(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "inp.bsn":
                for item in _items(value):
                    yield path, _text(item)
            elif not key.startswith(("@", "#")):
                for index, item in enumerate(_items(value), start=1):
                    yield from _bsns(item, f"{path}/{key}[{index}]" if path else f"{key}[{index}]")


def _paths(node: Any, name: str, path: str = "") -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            here = f"{path}/{key}" if path else key
            if key == name:
                yield here
            elif not key.startswith(("@", "#")):
                for item in _items(value):
                    yield from _paths(item, name, here)


def check(functie: str, data: dict[str, Any]) -> list[Finding]:
    if functie not in OUTBOUND:
        return []
    found = [
        Finding("CS002", "CS002", path, "inp.bsn does not pass the 11-proef")
        for path, bsn in _bsns(data)
        if bsn and not passes_elfproef(bsn)
    ]
    if functie in VERRIJKING:
        found += [
            Finding("CV04", "CV04", path, "a verrijkingsverzoek cannot carry a vreemdelingennummer")
            for path in _paths(data, "anp.identificatie")
        ]
    if functie != "vtoDi01":
        return found
    zaak = data["object"]
    for index, relatie in enumerate(_items(zaak.get("heeftAlsBelanghebbende")), start=1):
        persoon = relatie.get("gerelateerde", {}).get("natuurlijkPersoon")
        if persoon is None:
            continue
        path = f"object/heeftAlsBelanghebbende[{index}]"
        if "inp.bsn" not in persoon and "anp.identificatie" not in persoon:
            found.append(Finding("CV01", "CV01", path, "a gezaghebbende needs a BSN or A-nummer"))
        if not persoon.get("geslachtsnaam"):
            found.append(Finding("CV01", "CV01", path, "a gezaghebbende needs a geslachtsnaam"))
    for index, relatie in enumerate(_items(zaak.get("heeftBetrekkingOp")), start=1):
        if _text(relatie.get("omschrijving", "")) != "Client (ongeboren kind)":
            continue
        for persoon in _items(relatie.get("gerelateerde", {}).get("natuurlijkPersoon")):
            if "inp.bsn" in persoon:
                path = f"object/heeftBetrekkingOp[{index}]"
                found.append(Finding("CV02", "CV02", path, "an unborn child has no BSN"))
    for index, relatie in enumerate(_items(zaak.get("heeftRelevant")), start=1):
        inhoud = relatie.get("gerelateerde", {}).get("inhoud")
        if not isinstance(inhoud, dict) or not inhoud.get("@StUF:bestandsnaam"):
            path = f"object/heeftRelevant[{index}]"
            found.append(Finding("CV03", "CV03", path, "a document needs a bestandsnaam"))
    return found
