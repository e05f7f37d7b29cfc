"""The iWmo 3.2 / iJw 3.2 adapter: the four parts (codec, rules, mapping, transport) behind the
core's :class:`gateway.adapter.Adapter` interface."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.istandaarden import codec, mapping, retour, rules
from adapters.istandaarden import deadlines as deadline_table
from adapters.istandaarden.catalogue import (
    NAMESPACE_RE,
    STANDARDS,
    SUPPORTED_VERSIONS,
    Bericht,
    by_code,
)
from gateway.adapter import Delivery, Description, Finding, State, Transport, Unidentified
from gateway.envelope import Direction, Envelope, MessageType
from gateway.ops.deadlines import Deadline

# Elements whose values are business keys worth indexing in the ledger.
_KEYS = ("ToewijzingNummer", "DeclaratieNummer", "ReferentieAanbieder")


def _bericht(message_type: MessageType) -> Bericht:
    return by_code(message_type.code)


class IStandaardenAdapter:
    name = "istandaarden"
    standards = STANDARDS

    def __init__(self, transport: Transport, today: Any = dt.date.today) -> None:
        self._transport = transport
        self._today = today

    def owns(self, namespace: str) -> bool:
        return NAMESPACE_RE.match(namespace) is not None

    def identify(self, root: etree._Element) -> MessageType:
        qname = etree.QName(root)
        match = NAMESPACE_RE.match(qname.namespace or "")
        if match is None or match.group(4) is None:
            raise Unidentified(f"namespace {qname.namespace} is not an iWmo/iJw message")
        standard, major, minor, _, number = match.groups()
        version = f"{major}.{minor}"
        if version not in SUPPORTED_VERSIONS:
            raise Unidentified(
                f"{standard} {version} is not supported; supported: {', '.join(SUPPORTED_VERSIONS)}"
            )
        if qname.localname != "Bericht":
            raise Unidentified(f"root element is {qname.localname}; expected Bericht")
        try:
            bericht = Bericht(standard, int(number))
        except KeyError:
            raise Unidentified(f"{standard} {version} has no message {number}") from None
        return MessageType(standard, bericht.code, version)

    def schema_path(self, message_type: MessageType) -> Path:
        return codec.schema_path(_bericht(message_type))

    def check(
        self, doc: etree._ElementTree, message_type: MessageType, state: State
    ) -> list[Finding]:
        bericht = _bericht(message_type)
        return rules.check(bericht, codec.decode_message(doc.getroot(), bericht), state)

    def describe(self, doc: etree._ElementTree, message_type: MessageType) -> Description:
        bericht = _bericht(message_type)
        root = doc.getroot()
        header = root.find(f"{{{bericht.namespace}}}Header")
        if header is None:
            raise Unidentified("message has no Header")

        def text(name: str) -> str:
            element = header.find(f"{{{bericht.namespace}}}{name}")
            return (element.text or "") if element is not None else ""

        identificatie = header.findtext(f".//{{{bericht.basis_namespace}}}Identificatie") or ""
        keys: dict[str, list[str]] = {"BerichtIdentificatie": [identificatie]}
        if bericht.is_retour:
            keys["IdentificatieRetour"] = [text("IdentificatieRetour")]
        for name in _KEYS:
            values = sorted({e.text or "" for e in root.iter(f"{{{bericht.namespace}}}{name}")})
            if values:
                keys[name] = values
        subjects = sorted({e.text or "" for e in root.iter(f"{{{bericht.namespace}}}Bsn")})
        return Description(
            sender=text("Afzender"),
            receiver=text("Ontvanger"),
            keys=keys,
            subjects=subjects,
            expects_answer=bericht.retour is not None,
            answers=identificatie if bericht.is_retour else None,
        )

    def map_in(self, standard: str, mapping_name: str, data: Mapping[str, Any]) -> bytes:
        return mapping.map_in(standard, mapping_name, data, dt.datetime.now())

    def outgoing(self, envelope: Envelope, doc: etree._ElementTree) -> Delivery:
        assert envelope.message_type is not None
        bericht = _bericht(envelope.message_type)
        name = f"{bericht.code}.xml"
        if envelope.direction is Direction.INBOUND:
            return Delivery("backoffice", envelope.body, "application/xml", name)
        description = self.describe(doc, envelope.message_type)
        # A retour's header is the heenbericht's, unswapped: it goes back to the Afzender.
        to = description.sender if bericht.is_retour else description.receiver
        return Delivery(to, envelope.body, "application/xml", name)

    def answer(
        self, envelope: Envelope, doc: etree._ElementTree, findings: Sequence[Finding]
    ) -> bytes | None:
        assert envelope.message_type is not None
        bericht = _bericht(envelope.message_type)
        message = retour.build_retour(
            bericht,
            codec.decode_message(doc.getroot(), bericht),
            findings,
            today=self._today().isoformat(),
            identificatie=retour.identificatie_retour(envelope.message_id),
        )
        if message is None or bericht.retour is None:
            return None
        return codec.encode_message(bericht.retour, message)

    def transport(self, to: str) -> Transport:
        return self._transport

    def deadlines(self) -> list[Deadline]:
        """The standard's answer and reporting times (optional member; ``gateway/ops``)."""
        return deadline_table.deadlines()
