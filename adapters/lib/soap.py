"""SOAP 1.1 document/literal: wrap a StUF message, take it out again, read and write faults.

StUF-GGk and StUF-Jeugdzorg are SOAP 1.1 (document/literal) carried over Digikoppeling ebMS2 by
an ebMS adapter in front of us; we speak plain SOAP over HTTP to that adapter. SOAP 1.2
envelopes are read as well.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
_ENVELOPES = {f"{{{SOAP11}}}Envelope", f"{{{SOAP12}}}Envelope"}


class NotSoap(ValueError):
    pass


def wrap(body: etree._Element) -> bytes:
    """A SOAP 1.1 envelope around ``body`` (UTF-8, with declaration)."""
    envelope = etree.Element(f"{{{SOAP11}}}Envelope", nsmap={"soapenv": SOAP11})
    etree.SubElement(envelope, f"{{{SOAP11}}}Header")
    etree.SubElement(envelope, f"{{{SOAP11}}}Body").append(body)
    text: bytes = etree.tostring(envelope, xml_declaration=True, encoding="UTF-8")
    return text


def is_envelope(root: etree._Element) -> bool:
    return root.tag in _ENVELOPES


def body_of(root: etree._Element) -> etree._Element:
    """The message inside a SOAP envelope, or ``root`` itself when it is no envelope."""
    if not is_envelope(root):
        return root
    namespace = etree.QName(root).namespace
    body = root.find(f"{{{namespace}}}Body")
    if body is None:
        raise NotSoap("SOAP envelope without Body")
    children = [c for c in body if isinstance(c.tag, str)]
    if len(children) != 1:
        raise NotSoap(f"SOAP Body holds {len(children)} elements; expected one message")
    return children[0]


def contents(root: etree._Element) -> list[etree._Element]:
    """Every element in a SOAP envelope's Body (none for an empty Body), or ``[root]`` when it
    is no envelope; raises NotSoap for an envelope without a Body."""
    if not is_envelope(root):
        return [root]
    body = root.find(f"{{{etree.QName(root).namespace}}}Body")
    if body is None:
        raise NotSoap("SOAP envelope without Body")
    return [c for c in body if isinstance(c.tag, str)]


@dataclass(frozen=True)
class Fault:
    code: str
    text: str
    detail: etree._Element | None  # the first element inside <detail>, e.g. a StUF Fo03Bericht


def fault_of(element: etree._Element) -> Fault | None:
    """The fault if ``element`` (a Body's child) is a SOAP 1.1/1.2 Fault."""
    qname = etree.QName(element)
    if qname.localname != "Fault" or qname.namespace not in (SOAP11, SOAP12):
        return None
    if qname.namespace == SOAP11:
        code = element.findtext("faultcode") or ""
        text = element.findtext("faultstring") or ""
        detail = element.find("detail")
    else:
        code = element.findtext(f"{{{SOAP12}}}Code/{{{SOAP12}}}Value") or ""
        text = element.findtext(f"{{{SOAP12}}}Reason/{{{SOAP12}}}Text") or ""
        detail = element.find(f"{{{SOAP12}}}Detail")
    inner = (
        next((c for c in detail if isinstance(c.tag, str)), None) if detail is not None else None
    )
    return Fault(code.strip(), text.strip(), inner)


# Fault codes saying the message as sent is wrong (SOAP 1.1 section 4.4.1: Client,
# VersionMismatch, MustUnderstand; SOAP 1.2 section 5.4.6: Sender, DataEncodingUnknown too), and
# those saying the other side failed and the same message may pass later (Server, Receiver).
_CLIENT_CODES = frozenset(
    {"Client", "Sender", "VersionMismatch", "MustUnderstand", "DataEncodingUnknown"}
)
_SERVER_CODES = frozenset({"Server", "Receiver"})


def fault_side(code: str) -> str | None:
    """Whose fault a fault code says it is: ``"client"``, ``"server"``, or None when it says
    neither (no code, an invented one). The prefix and SOAP 1.1 dotted subcodes are ignored:
    ``soapenv:Client.Authentication`` is ``"client"``."""
    local = code.rpartition(":")[2].split(".")[0]
    if local in _CLIENT_CODES:
        return "client"
    if local in _SERVER_CODES:
        return "server"
    return None


def fault(code: str, text: str, detail: etree._Element | None = None) -> bytes:
    """A SOAP 1.1 Fault (``code`` ``Client`` or ``Server``), optionally with a detail element."""
    element = etree.Element(f"{{{SOAP11}}}Fault")
    etree.SubElement(element, "faultcode").text = f"soapenv:{code}"
    etree.SubElement(element, "faultstring").text = text
    if detail is not None:
        etree.SubElement(element, "detail").append(detail)
    return wrap(element)
