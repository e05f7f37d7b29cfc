"""Identify: which standard, message code and version a document is, and which adapter owns it."""

from __future__ import annotations

from lxml import etree

from gateway.adapter import Adapter, Registry
from gateway.envelope import MessageType


def identify(doc: etree._ElementTree, registry: Registry) -> tuple[Adapter, MessageType]:
    """Return the owning adapter and the message type; raise ``Unidentified`` with the reason."""
    root = doc.getroot()
    adapter = registry.for_document(root)
    return adapter, adapter.identify(root)
