"""Judging a counterpart's answer to a SOAP call: StUF in SOAP to the GGk and CORV
(``stufcall.py``), VECOZO's IndienenBericht.

1. A SOAP Fault in the answer is judged by its code (SOAP 1.1 section 4.4.1, SOAP 1.2 section
   5.4.6; ``soap.fault_side``): Client/Sender say the message as we sent it is wrong (parked);
   Server/Receiver that the other side failed (retried); a code saying neither (missing,
   invented) leaves it to the HTTP status. A caller may first read what the Body holds
   (``examine``: a StUF foutbericht, with or without a Fault around it, says more).
2. Without a fault, a 2xx is taken when its body is an answer of the counterpart's (``taken``);
   anything else with a 2xx (an HTML page, bytes that are not XML or not UTF-8, more than we
   read, a DOCTYPE) is a malformed reply: retried, since whether the message arrived is unknown
   (it goes again under the same reference, which the counterpart deduplicates).
3. Any other status is judged by :func:`~adapters.shared.http.status_error`.

The body decides, not the declared content type: a proxy's wrong header neither turns a fault
into a success nor hides one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import requests
from lxml import etree

from adapters.lib import soap
from adapters.shared.failures import CounterpartError, Refused, Unavailable
from adapters.shared.http import is_refusal, retry_after, status_error
from gateway.xmlsafe import XmlRejected, parse


@dataclass(frozen=True)
class SoapAnswer:
    empty: bool  # no body (or only whitespace)
    root: etree._Element | None  # None: empty, or not XML we read
    elements: tuple[etree._Element, ...]  # what the Body holds (the root of bare XML)
    problem: str  # why it is no SOAP envelope with a Body; "" when it is one


def read(response: requests.Response, max_bytes: int) -> SoapAnswer:
    """The answer's XML, read safely (``xmlsafe``: size limit, no DTD); never raises."""
    body = response.content or b""
    if not body.strip():
        return SoapAnswer(True, None, (), "an empty answer")
    try:
        root = parse(body, max_bytes).getroot()
    except XmlRejected as exc:
        return SoapAnswer(False, None, (), f"the answer is not XML we read ({exc})")
    try:
        elements = tuple(soap.contents(root))
    except soap.NotSoap as exc:
        return SoapAnswer(False, root, (), str(exc))
    problem = "" if soap.is_envelope(root) else f"{etree.QName(root).localname} is no SOAP answer"
    return SoapAnswer(False, root, elements, problem)


def fault_error(
    counterpart: str, fault: soap.Fault, response: requests.Response
) -> CounterpartError:
    """What a SOAP Fault without a more telling detail means (see the module's docstring)."""
    reason = f"SOAP Fault {fault.code or '(no code)'}: {fault.text[:200]}"
    side = soap.fault_side(fault.code) or (
        "client" if is_refusal(response.status_code) else "server"
    )
    if side == "client":
        return Refused(counterpart, reason, status=response.status_code)
    return Unavailable(
        counterpart, reason, status=response.status_code, retry_after=retry_after(response)
    )


def judge(
    counterpart: str,
    response: requests.Response,
    max_bytes: int,
    taken: Callable[[SoapAnswer], bool],
    examine: Callable[[etree._Element], None] = lambda element: None,
) -> SoapAnswer:
    """Return the answer when it says the message was taken, or raise why not.

    ``examine`` sees each element the Body holds (and a fault's detail) and raises what it
    means, if it means something; ``taken`` says whether a 2xx answer without a fault is one of
    the counterpart's.
    """
    answer = read(response, max_bytes)
    for element in answer.elements:
        found = soap.fault_of(element)
        if found is not None:
            if found.detail is not None:
                examine(found.detail)
            raise fault_error(counterpart, found, response)
        examine(element)
    if 200 <= response.status_code < 300:
        if taken(answer):
            return answer
        raise Unavailable(counterpart, f"malformed reply: {answer.problem}")
    raise status_error(counterpart, response)
