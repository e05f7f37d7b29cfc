"""The SVB adapter: iPgb 2.0 behind the core's adapter interface."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from lxml import etree

from adapters.ggk.channel import ggk_if_configured
from adapters.lib.istandaard.codec import decode_message
from adapters.lib.istandaard.messages import walk
from adapters.shared.catalogued import CatalogueStandard
from adapters.shared.mapped import BackOfficeMappings
from adapters.svb import mapping, rules
from adapters.svb.catalogue import CATALOGUE, STANDARD, SVB
from adapters.svb.monitor import SvbFolder
from gateway.adapter import (
    BACKOFFICE,
    Answer,
    Delivery,
    Description,
    Finding,
    MappingError,
    State,
    Transport,
)
from gateway.envelope import Direction, Envelope, MessageType


class SvbAdapter(BackOfficeMappings, CatalogueStandard):
    name = "svb"
    mapping = mapping
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
        return rules.check(message, decode_message(doc.getroot(), message), state)

    def describe(self, doc: etree._ElementTree, message_type: MessageType) -> Description:
        message = CATALOGUE[message_type.code]
        data = decode_message(doc.getroot(), message)
        header = data["Header"]
        ident = header["BerichtIdentificatie"]["Identificatie"]
        keys: dict[str, list[str]] = {"BerichtIdentificatie": [ident]}
        budget = data.get("Budget")
        if budget is not None:
            keys["Budgetidentificatie"] = [budget["Budgetidentificatie"]]
            if "BudgetidentificatieOud" in budget:
                keys["BudgetidentificatieOud"] = [budget["BudgetidentificatieOud"]]
        subjects = sorted({str(v) for _, name, v in walk(data) if name == "Bsn"})
        if message.is_retour:
            keys["IdentificatieRetour"] = [header["IdentificatieRetour"]]
            codes = {str(v) for _, name, v in walk(data) if name == "RetourCode"}
            if codes - {"0200"}:
                keys[rules.REJECTED_KEY] = [ident]
            return Description(SVB, header["Afzender"], keys, subjects, answers=ident)
        return Description(
            header["Afzender"],
            header["Ontvanger"],
            keys,
            subjects,
            expects_answer=message.retour is not None,
        )

    def map_in(self, standard: str, mapping_name: str, data: Mapping[str, Any]) -> bytes:
        if standard != STANDARD:
            raise MappingError("(mapping)", f"the SVB adapter maps {STANDARD}, not {standard}")
        return mapping.map_in(mapping_name, data, self._today())

    def outgoing(self, envelope: Envelope, doc: etree._ElementTree) -> Delivery:
        assert envelope.message_type is not None
        name = f"{envelope.message_type.code}.xml"
        if envelope.direction is Direction.INBOUND:
            return Delivery(BACKOFFICE, envelope.body, "application/xml", name)
        return Delivery(SVB, envelope.body, "application/xml", name)

    def answer(
        self, envelope: Envelope, doc: etree._ElementTree, findings: Sequence[Finding]
    ) -> Answer | None:
        return None  # the SVB answers our TKBs; the BAB needs no answer

    def monitor_folder(
        self, hash_client: Callable[[str], str], hash_address: Callable[[str], str]
    ) -> SvbFolder:
        """Monitor facts from toekenningen and afsluitingen (capability ``Reports``)."""
        return SvbFolder(hash_client, hash_address)

    def transport(self, to: str) -> Transport | None:
        """The SVB is reached over the GGk (or the outbox while none is configured)."""
        return self._transport
