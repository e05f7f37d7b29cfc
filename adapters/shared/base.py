"""Defaults for adapters that own no messages of their own (transport adapters such as VECOZO):
they plug into the registry only for their optional members (``router``, ``pollers``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from lxml import etree

from gateway.adapter import (
    Delivery,
    Description,
    Finding,
    MappingError,
    State,
    Transport,
    Unidentified,
)
from gateway.envelope import Envelope, MessageType


class TransportAdapter:
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
    ) -> bytes | None:
        return None

    def transport(self, to: str) -> Transport:
        raise Unidentified(f"{self.name} owns no messages")
