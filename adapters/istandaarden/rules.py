"""The iWmo/iJw rules as small pure functions, each tied to its rule code and retourcode.

A rule receives the message in canonical form (see ``gateway/xmlcodec.py``) and yields
``(class path, text)`` for every violation; the engine turns those into findings. Rules run only
after the XSD passed, so they may rely on the structure. ``Level`` follows IV032/IV088: xslt-level
rules (TR/CD/CS, retourcode 0001) reject the message as a whole; berichtoverstijgend and
externe-bron rules put their own code on the failing class.

Rules needing earlier messages ask ``state`` (the ledger): see :data:`NEEDS_STATE`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from adapters.istandaarden.catalogue import Bericht
from gateway.adapter import Finding, State
from gateway.logs import passes_elfproef


class Level(StrEnum):
    XSLT = "bericht inhoud (xslt)"
    BERICHTOVERSTIJGEND = "berichtoverstijgend"
    EXTERNE_BRON = "externe bron"


@dataclass(frozen=True)
class Message:
    bericht: Bericht
    data: dict[str, Any]
    state: State


Hit = tuple[str, str]  # (class path, readable text without personal data)
Check = Callable[[Message], Iterator[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    retourcode: str
    level: Level
    messages: frozenset[int] | None  # message numbers it applies to; None = all
    check: Check


RULES: list[Rule] = []


def rule(
    rule_id: str, retourcode: str, level: Level, messages: tuple[int, ...] | None = None
) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES.append(
            Rule(rule_id, retourcode, level, frozenset(messages) if messages else None, check)
        )
        return check

    return register


def walk(data: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (class path, element name, value) in a canonical dict; lists get ``[n]`` (1-based)."""
    if not isinstance(data, dict):
        return
    for name, value in data.items():
        items = value if isinstance(value, list) else [value]
        for index, item in enumerate(items, start=1):
            here = f"{path}/{name}" if path else name
            if isinstance(value, list):
                here = f"{here}[{index}]"
            if isinstance(item, dict):
                yield from walk(item, here)
            else:
                yield path, name, item


def check(bericht: Bericht, data: dict[str, Any], state: State) -> list[Finding]:
    message = Message(bericht, data, state)
    findings = []
    for r in RULES:
        if r.messages is not None and bericht.number not in r.messages:
            continue
        for path, text in r.check(message):
            findings.append(Finding(rule=r.id, code=r.retourcode, path=path, text=text))
    return findings


# -- the rules -----------------------------------------------------------------------------------


@rule("CS002", "0001", Level.XSLT)
def bsn_elfproef(message: Message) -> Iterator[Hit]:
    """Every Bsn must pass the 11-proef (the XSD only checks nine digits)."""
    for path, name, value in walk(message.data):
        if name == "Bsn" and not passes_elfproef(value):
            yield path, "Bsn does not pass the 11-proef"


# Messages whose BerichtIdentificatie is the sender's own (heenberichten and the 325).
_OWN_IDENTIFICATIE = (301, 305, 307, 315, 317, 319, 323, 325)


@rule("TR056", "9056", Level.BERICHTOVERSTIJGEND, _OWN_IDENTIFICATIE)
def identificatie_unique(message: Message) -> Iterator[Hit]:
    """Identificatie must be unique per berichtsoort for the sender."""
    header = message.data["Header"]
    identificatie = header["BerichtIdentificatie"]["Identificatie"]
    earlier = [
        e
        for e in message.state.find("BerichtIdentificatie", identificatie)
        if e.code == message.bericht.code and e.sender == header["Afzender"]
    ]
    if earlier:
        yield "Header", "Identificatie was used before by this sender for this berichtsoort"


# Rules that read earlier messages from the ledger (all others look at the message alone).
NEEDS_STATE = frozenset({"TR056"})
