"""Retourberichten exactly as the standard says (iwmo-ijw.md §4-§6, IV028, IV032, IV088).

- The retour's header is the heenbericht's header copied unchanged (Afzender/Ontvanger are not
  swapped), with BerichtCode set to the retour's code, plus IdentificatieRetour,
  DagtekeningRetour and XsdVersieRetour (from our retour XSD's appinfo).
- Heenbericht fully approved: header only, no RetourCodes.
- An xslt-level rule fired (retourcode 0001): header only, RetourCode 0001 on the header.
- A berichtoverstijgend or externe-bron rule fired: the header carries its own code(s) or 0200;
  a body class with an error is returned whole, and every class in it gets RetourCodes: the
  specific code(s) where a rule fired on that class, 0200 elsewhere.
- A message that fails the XSD gets no retour at all (a transport-level error instead).
- 323 is answered by a 325 (declaratie-antwoord), a business message made from the back-office
  verdict, not by this module.
"""

from __future__ import annotations

import copy
import hashlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from adapters.istandaarden.catalogue import Bericht
from adapters.istandaarden.codec import shape, xsd_versions
from gateway.adapter import Finding
from gateway.xmlcodec import Shape

XSLT_CODE = "0001"
NO_REMARK = "0200"


def identificatie_retour(heenbericht_message_id: str) -> str:
    """12 characters derived from the heenbericht's message id: the same retour twice is one."""
    return hashlib.sha256(f"retour:{heenbericht_message_id}".encode()).hexdigest()[:12].upper()


def _codes(shape_: Shape, node: dict[str, Any], path: str, codes: dict[str, list[str]]) -> None:
    """Add RetourCodes to ``node`` and every class below it, as the retour shape allows."""
    for child in shape_.children:
        if child.is_leaf or child.name not in node:
            continue
        values = node[child.name]
        items = values if child.repeat else [values]
        for index, item in enumerate(items, start=1):
            here = f"{path}/{child.name}" + (f"[{index}]" if child.repeat else "")
            _codes(child, item, here, codes)
    names = {c.name for c in shape_.children}
    if "RetourCodes" in names:
        node["RetourCodes"] = {"RetourCode": codes.get(path) or [NO_REMARK]}


def build_retour(
    bericht: Bericht,
    heenbericht: dict[str, Any],
    findings: Sequence[Finding],
    today: str,
    identificatie: str,
) -> dict[str, Any] | None:
    """The retour (canonical dict) for a received heenbericht, or None if it gets none here."""
    retour = bericht.retour
    if retour is None or not retour.is_retour:
        return None
    header = copy.deepcopy(heenbericht["Header"])
    header["BerichtCode"] = retour.berichtcode
    header["IdentificatieRetour"] = identificatie
    header["DagtekeningRetour"] = today
    header["XsdVersieRetour"] = xsd_versions(retour)
    message: dict[str, Any] = {"Header": header}
    if not findings:
        return message
    if any(f.code == XSLT_CODE for f in findings):
        header["RetourCodes"] = {"RetourCode": [XSLT_CODE]}
        return message

    codes: dict[str, list[str]] = defaultdict(list)
    for f in findings:
        if f.code not in codes[f.path]:
            codes[f.path].append(f.code)
    header["RetourCodes"] = {"RetourCode": codes.get("Header") or [NO_REMARK]}
    retour_shape = shape(retour)
    for body_class in retour_shape.children:
        name = body_class.name
        if name == "Header" or name not in heenbericht:
            continue
        if not any(p == name or p.startswith((f"{name}/", f"{name}[")) for p in codes):
            continue  # only classes with an error are returned (IV028, OP065)
        node = copy.deepcopy(heenbericht[name])
        _codes(body_class, node, name, codes)
        message[name] = node
    return message
