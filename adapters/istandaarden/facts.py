"""The facts of each Prestatie of a part, read from its dict once.

About thirty rules of a declaratie (323) and its answer (325), its folds and its read-model rows
(``domain.py``) look at the same dozen elements of every Prestatie. Walking the dict for each
(``get(node, "ProductPeriode/Begindatum")``) and turning the same texts into dates again cost
more than the checks themselves on a large declaratie; :func:`prestaties` reads them once per
part into a small record, kept on the part (``Part.memo``) and forgotten with it.

Values are as the canonical dict has them (the text, None when absent); only the two dates of
the ProductPeriode are also given as :class:`datetime.date` (None when absent or not a date).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from adapters.istandaarden.engine import Part, date

_NONE: dict[str, Any] = {}


class PrestatieFacts:
    """One Prestatie: its class path and dict, and the values the rules read."""

    __slots__ = (
        "bedrag",
        "begin",
        "begin_text",
        "categorie",
        "code",
        "credit",
        "eenheid",
        "eind",
        "eind_text",
        "node",
        "path",
        "referentie",
        "tarief",
        "toewijzing",
        "volume",
        "vorige",
    )

    def __init__(self, path: str, node: dict[str, Any]) -> None:
        self.path = path
        self.node = node
        referentie = _child(node, "ProductReferentie")
        self.referentie: Any = referentie.get("ReferentieNummer")
        self.vorige: Any = referentie.get("VorigReferentieNummer")
        self.toewijzing: Any = node.get("ToewijzingNummer")
        self.categorie: Any = node.get("ProductCategorie")
        self.code: Any = node.get("ProductCode")
        periode = _child(node, "ProductPeriode")
        self.begin_text: Any = periode.get("Begindatum")
        self.eind_text: Any = periode.get("Einddatum")
        self.begin: dt.date | None = date(self.begin_text)
        self.eind: dt.date | None = date(self.eind_text)
        self.volume: Any = node.get("GeleverdVolume")  # text
        self.eenheid: Any = node.get("Eenheid")
        self.tarief: Any = node.get("ProductTarief")  # text; None when absent
        bedrag = _child(node, "IngediendBedrag")
        self.bedrag: Any = bedrag.get("Bedrag")  # text
        self.credit: bool = bedrag.get("DebetCredit") == "C"


def _child(node: dict[str, Any], name: str) -> dict[str, Any]:
    """The class ``name`` of ``node``; an empty one when it is absent (as ``engine.get``)."""
    value = node.get(name)
    return value if value.__class__ is dict else _NONE


def prestaties(part: Part) -> list[PrestatieFacts]:
    """The facts of every Prestatie of ``part``, in document order (worked out once)."""
    found: list[PrestatieFacts] | None = part.memo.get("facts")
    if found is None:
        found = part.memo["facts"] = facts_of(part.find("Prestatie"))
    return found


def facts_of(found: Iterable[tuple[str, dict[str, Any]]]) -> list[PrestatieFacts]:
    """The facts of these Prestaties, given as (class path, dict)."""
    return [PrestatieFacts(path, node) for path, node in found]
