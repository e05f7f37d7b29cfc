"""A message of an iStandaarden-style catalogue (iEb, iPgb; iWmo/iJw have their own
``Bericht``): one ``Bericht`` root per message, namespace ``http://www.istandaarden.nl/
<standard>/<r>_<r>/<code>/schema``, a basisschema, our XSD in ``schemas/<standard>/<release>/``.
Also what every such standard needs: identification, BerichtIdentificatie, the recorded XML.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lxml import etree

from gateway.adapter import Unidentified
from gateway.xmlsafe import XmlRejected, parse
from schemas import schema_root

NAMESPACE = re.compile(
    r"^http://www\.istandaarden\.nl/([a-z]+)/([0-9]+)_([0-9]+)/(?:([a-z]+[0-9]{3})|basisschema)/schema$"
)


@dataclass(frozen=True)
class Message:
    standard: str  # "ieb", "ipgb"
    release: str  # "4.0"
    code: str  # "WMO405"
    berichtcode: str  # Vektis BerichtCode, e.g. "460"
    name: str
    retour: str | None = None  # code of the retour that answers it
    is_retour: bool = False

    @property
    def prefix(self) -> str:
        return self.code.lower()

    @property
    def namespace(self) -> str:
        return namespace(self.standard, self.release, self.prefix)

    @property
    def basis_namespace(self) -> str:
        return namespace(self.standard, self.release, "basisschema")

    @property
    def nsmap(self) -> dict[str | None, str]:
        return {self.prefix: self.namespace, self.standard: self.basis_namespace}

    @property
    def schema_path(self) -> Path:
        return Path(str(schema_root() / self.standard / self.release / f"{self.code}.xsd"))

    def tag(self, name: str) -> str:
        return f"{{{self.namespace}}}{name}"


def namespace(standard: str, release: str, part: str) -> str:
    return f"http://www.istandaarden.nl/{standard}/{release.replace('.', '_')}/{part}/schema"


def identify(root: etree._Element, catalogue: Mapping[str, Message], standard: str) -> Message:
    """The message of ``catalogue`` a document is; clear reasons for anything else."""
    qname = etree.QName(root)
    match = NAMESPACE.match(qname.namespace or "")
    if match is None or match.group(1) != standard or match.group(4) is None:
        raise Unidentified(f"namespace {qname.namespace} is not a {standard} message")
    release = f"{match.group(2)}.{match.group(3)}"
    code = match.group(4).upper()
    message = catalogue.get(code)
    if message is None or message.release != release:
        releases = sorted({m.release for m in catalogue.values()})
        raise Unidentified(
            f"{standard} {release} {code} is not supported; Ketenpoort speaks {standard} "
            f"{', '.join(releases)} ({', '.join(sorted(catalogue))})"
        )
    if qname.localname != "Bericht":
        raise Unidentified(f"root element is {qname.localname}; expected Bericht")
    return message


def header_boilerplate(message: Message, versie: str, subversie: str) -> dict[str, Any]:
    return {
        "BerichtCode": message.berichtcode,
        "BerichtVersie": versie,
        "BerichtSubversie": subversie,
    }


def new_identificatie() -> str:
    """A fresh BerichtIdentificatie: 12 characters from 62 random bits (uuid4)."""
    number, chars = uuid.uuid4().int, []
    for _ in range(12):
        number, digit = divmod(number, 36)
        chars.append("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"[digit])
    return "".join(chars)


def identificatie(*parts: str) -> str:
    """A BerichtIdentificatie (12 characters) derived from ``parts``: the same message made
    twice gets the same identificatie."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:12].upper()


def parse_date(value: str) -> dt.date:
    return dt.date.fromisoformat(value)


def recorded_root(ledger: Any, message_id: str, max_bytes: int = 25 * 1024 * 1024) -> Any:
    """The XML root of a message as the ledger holds it (the mapped XML if it was mapped), or
    None when the payload is gone (retention) or not XML."""
    carrying = [
        e
        for e in ledger.history(message_id)
        if e.payload_sha256 and e.event in ("received", "mapped")
    ]
    if not carrying:
        return None
    body = ledger.payload(carrying[-1].payload_sha256)
    if body is None:
        return None
    try:
        return parse(body, max_bytes).getroot()
    except XmlRejected:
        return None


def walk(data: Any, path: str = "") -> Iterator[tuple[str, str, Any]]:
    """Every (class path, element name, value) in a canonical dict; lists get ``[n]``."""
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
