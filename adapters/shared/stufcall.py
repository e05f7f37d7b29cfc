"""Judging a counterpart's answer to a StUF message POSTed as SOAP (GGk, CORV).

2xx is taken (an empty body, a Bv03, any XML); a SOAP Fault carrying a StUF Fo01/Fo03 is judged
by its foutcode (``faults.py``: retry or park, with a readable reason); other failures by their
HTTP status; a 2xx whose body is not XML is a malformed reply (retried).
"""

from __future__ import annotations

import requests
from lxml import etree

from adapters.shared import faults, soap
from adapters.shared.failures import Refused, Unavailable
from adapters.shared.http import status_error
from adapters.shared.stuf import STUF, StufError, read_fout
from gateway.xmlsafe import XmlRejected, parse


def judge_fault(counterpart: str, element: etree._Element | None, fault_text: str) -> None:
    """Raise what a SOAP Fault (with a StUF foutbericht as detail, if any) means."""
    if element is not None and etree.QName(element).namespace == STUF:
        try:
            _, fout = read_fout(element)
        except StufError:
            fout = None
        if fout is not None:
            meaning = faults.meaning(fout.code, fout.plek)
            error_type = Unavailable if meaning.retry else Refused
            raise error_type(
                counterpart,
                f"{fout.code} ({meaning.state}): {meaning.text}",
                code=fout.code,
            )
    raise Refused(counterpart, f"SOAP Fault without a StUF foutcode: {fault_text[:120]}")


def judge(counterpart: str, response: requests.Response, max_bytes: int) -> None:
    """Taken, or raise why not. The body of a refusal is read for a StUF foutcode only."""
    body = response.content or b""
    root = None
    if body.strip():
        try:
            root = parse(body, max_bytes).getroot()
        except XmlRejected:
            root = None
    if root is not None and soap.is_envelope(root):
        try:
            inner = soap.body_of(root)
        except soap.NotSoap:
            inner = None
        found = soap.fault_of(inner) if inner is not None else None
        if found is not None:
            judge_fault(counterpart, found.detail, found.text)
    if 200 <= response.status_code < 300:
        if body.strip() and root is None:
            raise Unavailable(counterpart, "malformed reply: the answer is not XML")
        return
    raise status_error(counterpart, response)
