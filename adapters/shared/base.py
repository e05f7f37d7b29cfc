"""Defaults shared by the counterpart adapters.

- :class:`WholeMessages`: their messages are always read whole (no streamed record element);
- :class:`TransportAdapter`: an adapter owning no messages (VECOZO), in the registry only for
  its optional members (``router``, ``pollers``);
- :class:`CatalogueAdapter`: an iStandaarden-style standard sent over the GGk (iEb, iPgb):
  ownership, identification and schemas from its catalogue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.lib.istandaard.messages import NAMESPACE, Message, identify
from adapters.shared.counterparts import ggk_transport
from gateway.adapter import (
    Answer,
    Delivery,
    Description,
    Finding,
    MappingError,
    RecordSink,
    State,
    Transport,
    Unidentified,
)
from gateway.envelope import Envelope, MessageType


class WholeMessages:
    """No message of these standards is large enough to be read record by record."""

    def record_tag(self, message_type: MessageType) -> str | None:
        return None

    def stream(self, message_type: MessageType, state: State) -> RecordSink:
        raise Unidentified(f"{message_type} is read whole, never streamed")


class TransportAdapter(WholeMessages):
    name = "transport"
    standards: tuple[str, ...] = ()

    def owns(self, namespace: str) -> bool:
        return False

    def identify(self, root: etree._Element) -> MessageType:
        raise Unidentified(f"{self.name} owns no messages")

    def schema_path(self, message_type: MessageType) -> Path:
        raise Unidentified(f"{self.name} owns no messages")

    def check(
        self, doc: etree._ElementTree, message_type: MessageType, state: State
    ) -> list[Finding]:
        return []

    def describe(self, doc: etree._ElementTree, message_type: MessageType) -> Description:
        raise Unidentified(f"{self.name} owns no messages")

    def map_in(self, standard: str, mapping: str, data: Mapping[str, Any]) -> bytes:
        raise MappingError("(mapping)", f"{self.name} has no mappings")

    def outgoing(self, envelope: Envelope, doc: etree._ElementTree) -> Delivery:
        raise Unidentified(f"{self.name} owns no messages")

    def answer(
        self, envelope: Envelope, doc: etree._ElementTree, findings: Sequence[Finding]
    ) -> Answer | None:
        return None

    def transport(self, to: str) -> Transport:
        raise Unidentified(f"{self.name} owns no messages")


class CatalogueAdapter(WholeMessages):
    """An iStandaarden-style standard (``adapters/lib/istandaard/``) carried by the GGk.

    A subclass names its ``standard`` and ``catalogue`` (message code -> Message) and adds what
    differs: rules, description, mapping.
    """

    standard: str
    catalogue: Mapping[str, Message]

    def __init__(self, settings: Any) -> None:
        self.settings = settings
        self._transport: Transport | None = None

    @property
    def standards(self) -> tuple[str, ...]:
        return (self.standard,)

    def owns(self, namespace: str) -> bool:
        match = NAMESPACE.match(namespace)
        return match is not None and match.group(1) == self.standard

    def identify(self, root: etree._Element) -> MessageType:
        message = identify(root, self.catalogue, self.standard)
        return MessageType(self.standard, message.code, message.release)

    def schema_path(self, message_type: MessageType) -> Path:
        return self.catalogue[message_type.code].schema_path

    def transport(self, to: str) -> Transport:
        if self._transport is None:
            self._transport = ggk_transport(self.settings)
        return self._transport
