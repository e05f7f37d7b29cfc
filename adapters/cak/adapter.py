"""The CAK adapter: iEb 4.0 behind the core's adapter interface, and the deriver."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lxml import etree

from adapters.cak import derive, rules
from adapters.cak.catalogue import CAK, CATALOGUE, KLASSE, STANDARD
from adapters.cak.settings import CakSettings
from adapters.ggk.channel import ggk_if_configured
from adapters.lib.istandaard.codec import decode_message
from adapters.lib.istandaard.messages import walk
from adapters.shared.catalogued import CatalogueStandard
from gateway.adapter import (
    BACKOFFICE,
    Answer,
    Delivery,
    Description,
    Finding,
    FollowUp,
    MappingError,
    State,
    Transport,
)
from gateway.envelope import Direction, Envelope, MessageType


class CakAdapter(CatalogueStandard):
    name = "cak"
    standard = STANDARD
    catalogue = CATALOGUE

    def __init__(self, settings: Any, today: Callable[[], dt.date] = dt.date.today) -> None:
        super().__init__(settings)
        self._today = today
        self._transport = ggk_if_configured(settings)

    def check(
        self, doc: etree._ElementTree, message_type: MessageType, state: State
    ) -> list[Finding]:
        message = CATALOGUE[message_type.code]
        data = decode_message(doc.getroot(), message)
        return rules.check(message, data, state, self._today())

    def describe(self, doc: etree._ElementTree, message_type: MessageType) -> Description:
        message = CATALOGUE[message_type.code]
        data = decode_message(doc.getroot(), message)
        header = data["Header"]
        ident = header["BerichtIdentificatie"]["Identificatie"]
        keys: dict[str, list[str]] = {"BerichtIdentificatie": [ident]}
        client = data.get("Client")
        if client is not None:
            keys["EbStartNummer"] = [client[KLASSE[message.code]]["EbStartNummer"]]
        subjects = [client["Bsn"]] if client is not None else []
        if message.is_retour:
            keys["IdentificatieRetour"] = [header["IdentificatieRetour"]]
            codes = {c for _, name, c in walk(data) if name == "RetourCode"}
            if codes - {"0200"}:
                keys[derive.REJECTED_KEY] = [ident]
            return Description(
                sender=CAK, receiver=header["Afzender"], keys=keys, subjects=subjects, answers=ident
            )
        return Description(
            sender=header["Afzender"],
            receiver=CAK,
            keys=keys,
            subjects=subjects,
            expects_answer=True,
        )

    def map_in(self, standard: str, mapping: str, data: Mapping[str, Any]) -> bytes:
        raise MappingError(
            "(mapping)", "eigen bijdrage messages are derived from toewijzingen, not mapped"
        )

    def outgoing(self, envelope: Envelope, doc: etree._ElementTree) -> Delivery:
        assert envelope.message_type is not None
        name = f"{envelope.message_type.code}.xml"
        if envelope.direction is Direction.INBOUND:
            return Delivery(BACKOFFICE, envelope.body, "application/xml", name)
        return Delivery(CAK, envelope.body, "application/xml", name)

    def answer(
        self, envelope: Envelope, doc: etree._ElementTree, findings: Sequence[Finding]
    ) -> Answer | None:
        return None  # the CAK answers our messages; we do not answer the CAK's retours

    def derive(self, envelope: Envelope, doc: etree._ElementTree, state: Any) -> list[FollowUp]:
        return derive.derive(
            envelope,
            doc,
            state,
            trigger=CakSettings.of(self.settings).trigger,
            beschermd_wonen=CakSettings.of(self.settings).beschermd_wonen,
            today=self._today(),
            kostprijs_categorieen=CakSettings.of(self.settings).kostprijs,
            secret=self.settings.bsn_hash_key,
        )

    def transport(self, to: str) -> Transport | None:
        """The CAK is reached over the GGk (or the outbox while none is configured)."""
        return self._transport
