"""Routing on the GGk and what the envelope says about its payload.

- ``organisatie``: a CBS gemeentecode (4 digits), an AGB code (8 digits) or one of the fixed
  names ``SVB``, ``CAK``, ``CBS``, ``UWV``, ``VWS`` (and in Du01/Fo01 also ``VECOZO``, ``IB``,
  ``RINIS``). ``ontvanger.applicatie`` is always ``GGk``.
- ``functie`` is the payload's message code (``WMO301``, ``JW315``, ``WMO405``, ``JW501``).
  Answers to a received message (retourberichten, the declaratie-antwoord) travel in a Du01
  quoting the Di01's referentienummer; everything else in a Di01.
- ``functieVersie``/``functieSubversie`` are the payload's BerichtVersie/BerichtSubversie,
  four digits; ``applicatieVersie``/``applicatieSubversie`` are Ketenpoort's own version.
"""

from __future__ import annotations

import re

from lxml import etree

from gateway import __version__

FIXED = frozenset({"SVB", "CAK", "CBS", "UWV", "VWS"})
HUB = frozenset({"VECOZO", "IB", "RINIS"})
GEMEENTE = re.compile(r"^[0-9]{4}$")
AGB = re.compile(r"^[0-9]{8}$")
GGK_APPLICATIE = "GGk"

# Message numbers whose messages answer a received one (sent in a Du01): iWmo/iJw retours and
# the declaratie-antwoord, iEb retours (1.0 and 4.0), the iPgb retour on the toekenning.
_ANSWERS = frozenset({302, 306, 308, 316, 318, 320, 325, 402, 404, 406, 408, 502})
_CODE = re.compile(r"^[A-Z]+([0-9]{3})$")


class RoutingError(ValueError):
    pass


def kind_of(organisatie: str) -> str:
    """``gemeente``, ``aanbieder``, ``landelijk`` (SVB, CAK ...) or ``keten`` (VECOZO, IB ...)."""
    if GEMEENTE.match(organisatie):
        return "gemeente"
    if AGB.match(organisatie):
        return "aanbieder"
    if organisatie in FIXED:
        return "landelijk"
    if organisatie in HUB:
        return "keten"
    raise RoutingError(
        f"organisatie {organisatie!r} is no gemeentecode (4 digits), AGB code (8 digits) "
        f"or one of {', '.join(sorted(FIXED | HUB))}"
    )


def ontvanger(to: str) -> str:
    """The ontvanger organisatie for a delivery to party ``to`` (a GGk hub name is no party)."""
    if kind_of(to) == "keten":
        raise RoutingError(f"{to} routes messages; it is no ontvanger of a Di01 or Du01")
    return to


def is_answer(functie: str) -> bool:
    match = _CODE.match(functie)
    return match is not None and int(match.group(1)) in _ANSWERS


def four(value: str | int) -> str:
    return f"{int(value):04d}"


def applicatie_versie() -> tuple[str, str]:
    major, minor, *_ = [*__version__.split("."), "0", "0"]
    return four(major), four(minor)


def _header_text(root: etree._Element, name: str) -> str:
    for header in root:
        if isinstance(header.tag, str) and etree.QName(header).localname == "Header":
            for child in header:
                if isinstance(child.tag, str) and etree.QName(child).localname == name:
                    return (child.text or "").strip()
    return ""


def functie_versie(payload: etree._Element) -> tuple[str, str]:
    """BerichtVersie and BerichtSubversie of an iStandaarden payload, four digits each."""
    versie = _header_text(payload, "BerichtVersie")
    subversie = _header_text(payload, "BerichtSubversie")
    if not versie.isdigit() or not subversie.isdigit():
        raise RoutingError("the payload's Header has no BerichtVersie/BerichtSubversie")
    return four(versie), four(subversie)


def our_organisatie(payload: etree._Element, to: str, configured: str) -> str:
    """Our gemeentecode for the zender: the payload's party that is not ``to`` (a retour's
    header is the heenbericht's, unswapped), else the configured one."""
    for name in ("Afzender", "Ontvanger"):
        value = _header_text(payload, name)
        if value and value != to and GEMEENTE.match(value):
            return value
    if configured:
        return configured
    raise RoutingError(
        "no gemeentecode for the zender: the payload names none; set ggk_organisatie"
    )
