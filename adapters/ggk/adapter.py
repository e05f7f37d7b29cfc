"""The StUF 0301 foutberichten (Fo01, and Fo03/Bv03 to refuse them clearly) as a standard: as
messages of the gateway. (The GGk itself is a channel: ``channel.py``.)

An inbound Fo01 (from the GGk, VECOZO, or CORV) is recorded as a message of its own and goes to
the back-office; the way in that received it records what it means on the message it answers
(see ``endpoint.py``). An outbound Fo01 is the StUF055 answer to a payload that failed its XSD
(StUF058 to one we failed to judge on our side); it goes back through the GGk to the zender of
the Di01.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.ggk import codec
from adapters.ggk.channel import ggk_if_configured
from adapters.lib.stuf.messages import STUF, StufError, read_fout, stuurgegevens_of
from adapters.shared.base import WholeMessages
from gateway.adapter import (
    BACKOFFICE,
    Answer,
    Delivery,
    Description,
    Finding,
    MappingError,
    State,
    Transport,
    Unidentified,
)
from gateway.envelope import Direction, Envelope, MessageType

STANDARD = "stuf"
VERSION = "0301"
_CODES = {
    "Fo01Bericht": "Fo01",
    "Fo03Bericht": "Fo03",
    "Bv01Bericht": "Bv01",
    "Bv03Bericht": "Bv03",
}


class GgkAdapter(WholeMessages):
    name = "ggk"
    standards = (STANDARD,)

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._transport = ggk_if_configured(settings)

    def owns(self, namespace: str) -> bool:
        return namespace == STUF

    def identify(self, root: etree._Element) -> MessageType:
        localname = etree.QName(root).localname
        code = _CODES.get(localname)
        if code is None:
            raise Unidentified(f"StUF {localname} is not a message Ketenpoort takes")
        return MessageType(STANDARD, code, VERSION)

    def schema_path(self, message_type: MessageType) -> Path:
        return codec.stuf_schema_path()

    def check(
        self, doc: etree._ElementTree, message_type: MessageType, state: State
    ) -> list[Finding]:
        return []

    def describe(self, doc: etree._ElementTree, message_type: MessageType) -> Description:
        root = doc.getroot()
        try:
            sg = stuurgegevens_of(root)
            code = read_fout(root)[1].code if message_type.code.startswith("Fo") else ""
        except StufError as exc:
            raise Unidentified(str(exc)) from None
        keys = {"stuf.referentienummer": [sg.referentienummer]}
        if sg.cross_ref:
            keys["stuf.crossRefnummer"] = [sg.cross_ref]
        if code:
            keys["foutcode"] = [code]
        return Description(
            sender=sg.zender.organisatie,
            receiver=sg.ontvanger.organisatie,
            keys=keys,
            answers=None,
        )

    def map_in(self, standard: str, mapping: str, data: Mapping[str, Any]) -> bytes:
        raise MappingError("(mapping)", "StUF foutberichten are made by the gateway, not mapped")

    def outgoing(self, envelope: Envelope, doc: etree._ElementTree) -> Delivery:
        assert envelope.message_type is not None
        name = f"{envelope.message_type.code}.xml"
        if envelope.direction is Direction.INBOUND:
            return Delivery(BACKOFFICE, envelope.body, "application/xml", name)
        to = stuurgegevens_of(doc.getroot()).ontvanger.organisatie
        if not to:
            raise Unidentified("our foutbericht names no ontvanger organisatie")
        return Delivery(to, envelope.body, "application/xml", name)

    def answer(
        self, envelope: Envelope, doc: etree._ElementTree, findings: Sequence[Finding]
    ) -> Answer | None:
        return None

    def transport(self, to: str) -> Transport | None:
        return self._transport
