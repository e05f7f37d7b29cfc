"""The iWmo 3.2 and iJw 3.2 message catalogue: codes, namespaces, who sends what, which retour.

Facts: iwmo-ijw.md §2 (BerichtCodes from codelist COD002-VEKT, pinned in every XSD) and §3
(namespaces). iWmo and iJw share every message number; only prefix, codes and a few elements
differ.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from schemas import schema_root

VERSION = "3.2"
SUPPORTED_VERSIONS = (VERSION,)

# number: (iWmo BerichtCode, iJw BerichtCode, name, sent by, retour number or None)
_TABLE: dict[int, tuple[str, str, str, str, int | None]] = {
    301: ("414", "436", "Toewijzing", "gemeente", 302),
    302: ("415", "437", "Retour toewijzing", "aanbieder", None),
    305: ("418", "438", "Start zorg/ondersteuning", "aanbieder", 306),
    306: ("419", "439", "Retour start", "gemeente", None),
    307: ("420", "440", "Stop zorg/ondersteuning", "aanbieder", 308),
    308: ("421", "441", "Retour stop", "gemeente", None),
    315: ("444", "446", "Verzoek om toewijzing", "aanbieder", 316),
    316: ("445", "447", "Retour verzoek om toewijzing", "gemeente", None),
    317: ("480", "486", "Verzoek om wijziging", "aanbieder", 318),
    318: ("481", "487", "Retour verzoek om wijziging", "gemeente", None),
    319: ("482", "488", "Antwoordbericht", "gemeente", 320),
    320: ("483", "489", "Retour antwoordbericht", "aanbieder", None),
    323: ("484", "490", "Declaratie", "aanbieder", 325),
    325: ("485", "491", "Declaratie-antwoord", "gemeente", None),
}
# Retourbericht number -> its heenbericht number (the first in the table that names it).
_ANSWERS: dict[int, int] = {}
for _number, _row in _TABLE.items():
    if _row[4] is not None:
        _ANSWERS.setdefault(_row[4], _number)

STANDARDS = ("iwmo", "ijw")
NUMBERS = tuple(_TABLE)  # the 14 messages of each standard
_MESSAGE_PREFIX = {"iwmo": "WMO", "ijw": "JW"}

NAMESPACE_RE = re.compile(
    r"^http://www\.istandaarden\.nl/(iwmo|ijw)/(\d+)_(\d+)/(?:(wmo|jw)(\d{3})|basisschema)/schema$"
)


@dataclass(frozen=True)
class Bericht:
    standard: str  # "iwmo" | "ijw"
    number: int  # 301

    def __post_init__(self) -> None:
        if self.standard not in STANDARDS:
            raise KeyError(f"unknown standard {self.standard}")
        if self.number not in _TABLE:
            raise KeyError(f"unknown message number {self.number}")

    @property
    def code(self) -> str:
        """``WMO301`` / ``JW301``."""
        return f"{_MESSAGE_PREFIX[self.standard]}{self.number}"

    @property
    def berichtcode(self) -> str:
        iwmo, ijw, *_ = _TABLE[self.number]
        return iwmo if self.standard == "iwmo" else ijw

    @property
    def name(self) -> str:
        return _TABLE[self.number][2]

    @property
    def sent_by(self) -> str:
        """``gemeente`` or ``aanbieder``."""
        return _TABLE[self.number][3]

    @property
    def retour(self) -> Bericht | None:
        """The retourbericht the standard requires for this heenbericht (301 -> 302), if any."""
        number = _TABLE[self.number][4]
        return Bericht(self.standard, number) if number else None

    @property
    def is_retour(self) -> bool:
        """302/306/308/316/318/320: header copied from the heenbericht plus retour fields."""
        return self.number in _ANSWERS and self.number != 325

    @property
    def heenbericht(self) -> Bericht | None:
        number = _ANSWERS.get(self.number)
        return Bericht(self.standard, number) if number is not None else None

    @property
    def prefix(self) -> str:
        """Conventional namespace prefix: ``wmo301`` / ``jw301``."""
        return self.code.lower()

    @property
    def namespace(self) -> str:
        return f"http://www.istandaarden.nl/{self.standard}/3_2/{self.prefix}/schema"

    @property
    def basis_namespace(self) -> str:
        return basis_namespace(self.standard)

    @property
    def nsmap(self) -> dict[str | None, str]:
        return {self.prefix: self.namespace, self.standard: self.basis_namespace}

    @property
    def release(self) -> str:
        return VERSION

    @property
    def schema_path(self) -> Path:
        """Our XSD for this message."""
        return _schema_path(self.standard, self.code)


@functools.cache
def _schema_path(standard: str, code: str) -> Path:
    # looked up once: ``schema_root`` goes through importlib
    return Path(str(schema_root() / standard / VERSION / f"{code}.xsd"))


def basis_namespace(standard: str) -> str:
    return f"http://www.istandaarden.nl/{standard}/3_2/basisschema/schema"


def all_berichten() -> list[Bericht]:
    return [Bericht(s, n) for s in STANDARDS for n in _TABLE]


@functools.cache
def by_code(code: str) -> Bericht:
    """``WMO301`` -> Bericht("iwmo", 301)."""
    for standard, prefix in _MESSAGE_PREFIX.items():
        if code.startswith(prefix) and code[len(prefix) :].isdigit():
            return Bericht(standard, int(code[len(prefix) :]))
    raise KeyError(f"unknown message code {code}")
