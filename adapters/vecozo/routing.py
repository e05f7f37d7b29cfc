"""Routing data VECOZO needs for an iWmo/iJw message (RouteringHeader / Routeringgegevens).

Facts (iwmo-ijw.md §13.3, from a VECOZO berichtuitwisseling v3 request for a JW315): Afzender
Rol ``Instelling`` + AGB code; Geadresseerde Rol ``Gemeente`` + CBS gemeentecode; Berichttype
``JW``; Berichtsubtype ``JW315``; Berichtversie 3; Berichtsubversie 0; Actie
``VerzoekToewijzing``. Not documented publicly, so ours (replace them here when VECOZO's list is
at hand): Berichttype ``WMO`` for iWmo, and the Actie of every message other than 315.
"""

from __future__ import annotations

import re

from lxml import etree

ROL_AANBIEDER = "Instelling"
ROL_GEMEENTE = "Gemeente"

# message number -> Actie. Only 315 is documented; the others are our names (see above).
ACTIES: dict[int, str] = {
    301: "Toewijzing",
    302: "RetourToewijzing",
    305: "StartZorg",
    306: "RetourStartZorg",
    307: "StopZorg",
    308: "RetourStopZorg",
    315: "VerzoekToewijzing",
    316: "RetourVerzoekToewijzing",
    317: "VerzoekWijziging",
    318: "RetourVerzoekWijziging",
    319: "Antwoord",
    320: "RetourAntwoord",
    323: "Declaratie",
    325: "DeclaratieAntwoord",
}
_CODE = re.compile(r"^(WMO|JW)([0-9]{3})$")


class VecozoRoutingError(ValueError):
    pass


def rol(code: str) -> str:
    if re.fullmatch(r"[0-9]{4}", code):
        return ROL_GEMEENTE
    if re.fullmatch(r"[0-9]{8}", code):
        return ROL_AANBIEDER
    raise VecozoRoutingError(f"{code!r} is no gemeentecode (4 digits) or AGB code (8 digits)")


def berichtstroom(code: str) -> tuple[str, str, str]:
    """(Berichttype, Berichtsubtype, Actie) for a message code such as ``JW315``."""
    match = _CODE.match(code)
    if match is None or int(match.group(2)) not in ACTIES:
        raise VecozoRoutingError(f"{code} is no iWmo/iJw message VECOZO carries")
    return match.group(1), code, ACTIES[int(match.group(2))]


def versie(payload: etree._Element) -> tuple[int, int]:
    """BerichtVersie and BerichtSubversie from the payload's Header."""
    found: dict[str, str] = {}
    for header in payload:
        if isinstance(header.tag, str) and etree.QName(header).localname == "Header":
            for child in header:
                if isinstance(child.tag, str):
                    found[etree.QName(child).localname] = (child.text or "").strip()
    versie, subversie = found.get("BerichtVersie", ""), found.get("BerichtSubversie", "")
    if not versie.isdigit() or not subversie.isdigit():
        raise VecozoRoutingError("the payload's Header has no BerichtVersie/BerichtSubversie")
    return int(versie), int(subversie)
