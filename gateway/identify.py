"""Identify: which standard, message code and version a document is, and which adapter owns it."""

from __future__ import annotations

from lxml import etree

from gateway.adapter import Registry, Standard
from gateway.envelope import MessageType
from gateway.xmlsafe import peek_root


def identify(doc: etree._ElementTree, registry: Registry) -> tuple[Standard, MessageType]:
    """Return the owning adapter and the message type; raise ``Unidentified`` with the reason."""
    return identify_root(doc.getroot(), registry)


def identify_root(root: etree._Element, registry: Registry) -> tuple[Standard, MessageType]:
    """The same from the root element alone (its name and namespace decide)."""
    return registry.identify(root)


def identify_bytes(data: bytes, registry: Registry, max_bytes: int) -> tuple[Standard, MessageType]:
    """Identify raw bytes from their first element only: standard, message code and version.

    Raises :class:`gateway.xmlsafe.XmlRejected` (not XML, DOCTYPE, too large) or
    :class:`gateway.adapter.Unidentified` (no adapter owns the namespace, an unknown message,
    an unsupported version), each with a readable reason.
    """
    return identify_root(peek_root(data, max_bytes), registry)
