"""An iStandaarden-style standard (iEb, iPgb): ownership, identification and schemas from its
catalogue (``adapters/lib/istandaard/``). Its transport is the subclass's own (both go over the
GGk: ``adapters/ggk/channel.py``, ``ggk_if_configured``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from lxml import etree

from adapters.lib.istandaard.messages import NAMESPACE, Message, identify
from adapters.shared.base import WholeMessages
from gateway.envelope import MessageType


class CatalogueStandard(WholeMessages):
    """A subclass names its ``standard`` and ``catalogue`` (message code -> Message) and adds
    what differs: rules, description, mapping, transport."""

    standard: str
    catalogue: Mapping[str, Message]

    def __init__(self, settings: Any) -> None:
        self.settings = settings

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
