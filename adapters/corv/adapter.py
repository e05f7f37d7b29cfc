"""StUF-koppelvlak Jeugdzorg 1.0.9 as a standard (CORV's message side; the way in and out is
the channel in ``channel.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.corv import codec, mapping, retention, rules
from adapters.corv.catalogue import (
    FUNCTIES,
    INBOUND,
    JZ,
    OUTBOUND,
    STANDARD,
    VERSION,
    schema_path,
)
from adapters.corv.settings import CorvSettings
from adapters.corv.transport import make_transport
from adapters.lib.stuf.messages import StufError, stuurgegevens_of
from adapters.shared.base import WholeMessages
from adapters.shared.mapped import BackOfficeMappings
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


def _texts(root: etree._Element, path: str) -> list[str]:
    return [str(t).strip() for t in root.xpath(path) if str(t).strip()]


class CorvAdapter(BackOfficeMappings, WholeMessages):
    name = "corv"
    mapping = mapping
    standards = (STANDARD,)

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._transport = make_transport(settings)
        # what the ledger's retention erases for CORV, its foutberichten included
        # (adapters/corv/retention.py)
        self.organisatie = CorvSettings.of(settings).organisatie
        self.retention = retention.policies(self.organisatie)

    def owns(self, namespace: str) -> bool:
        return namespace == JZ

    def identify(self, root: etree._Element) -> MessageType:
        localname = etree.QName(root).localname
        if localname not in FUNCTIES:
            raise Unidentified(
                f"StUF-Jeugdzorg {localname} is not handled; Ketenpoort takes "
                f"{', '.join(INBOUND)} and sends {', '.join(OUTBOUND)}"
            )
        return MessageType(STANDARD, localname, VERSION)

    def schema_path(self, message_type: MessageType) -> Path:
        return schema_path()

    def check(
        self, doc: etree._ElementTree, message_type: MessageType, state: State
    ) -> list[Finding]:
        root = doc.getroot()
        if stuurgegevens_of(root).zender.organisatie != self.organisatie:
            return []  # not ours: JUBES and its sender checked it (rules.py)
        return rules.check(message_type.code, codec.decode(root, message_type.code))

    def describe(self, doc: etree._ElementTree, message_type: MessageType) -> Description:
        root = doc.getroot()
        try:
            sg = stuurgegevens_of(root)
        except StufError as exc:
            raise Unidentified(str(exc)) from None
        keys: dict[str, list[str]] = {"corv.referentienummer": [sg.referentienummer]}
        zaak = _texts(root, "./*[local-name()='object']/*[local-name()='identificatie']/text()")
        if zaak:
            keys["zaak"] = zaak
        verzoek = _texts(
            root, "./*[local-name()='object']/*[local-name()='verzoekidentificatie']/text()"
        )
        if verzoek:
            keys["corv.verzoek"] = verzoek
        melding = _texts(
            root, "./*[local-name()='object']/*[local-name()='identificatieVtMelding']/text()"
        )
        if melding:  # the melder's number for a VT melding (the politie's BVH-nummer)
            keys["corv.vtMelding"] = melding
        if sg.cross_ref:
            keys["corv.crossRefnummer"] = [sg.cross_ref]
        andere = _texts(
            root,
            "./*[local-name()='object']/*[local-name()='heeftBetrekkingOpAndere']"
            "/*[local-name()='gerelateerde']/*[local-name()='identificatie']/text()",
        )
        if andere:
            keys["zaak.ander"] = andere
        subjects = sorted(set(_texts(root, ".//*[local-name()='inp.bsn']/text()")))
        return Description(
            sender=sg.zender.organisatie,
            receiver=sg.ontvanger.organisatie,
            keys=keys,
            subjects=subjects,
        )

    def map_in(self, standard: str, mapping_name: str, data: Mapping[str, Any]) -> bytes:
        if standard != STANDARD:
            raise MappingError("(mapping)", f"the CORV adapter maps {STANDARD}, not {standard}")
        return mapping.map_in(mapping_name, data, self.settings)

    def outgoing(self, envelope: Envelope, doc: etree._ElementTree) -> Delivery:
        assert envelope.message_type is not None
        name = f"{envelope.message_type.code}.xml"
        if envelope.direction is Direction.INBOUND:
            return Delivery(BACKOFFICE, envelope.body, "application/xml", name)
        to = stuurgegevens_of(doc.getroot()).ontvanger.organisatie
        return Delivery(to, envelope.body, "application/xml", name)

    def answer(
        self, envelope: Envelope, doc: etree._ElementTree, findings: Sequence[Finding]
    ) -> Answer | None:
        return None  # answered at once by the endpoint (Bv03 or Fo03), as the WSDL says

    def transport(self, to: str) -> Transport | None:
        return self._transport
