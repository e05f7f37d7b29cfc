"""Judging a counterpart's answer to a StUF message POSTed as SOAP (GGk, CORV).

A StUF foutbericht (Fo01/Fo02/Fo03) in the answer, as a SOAP Fault's detail or as the Body's
message, means the message was not taken, and its foutcode says whether sending it again can help
(``faults.py``: retry or park, with a readable reason). Otherwise the answer is judged as any
SOAP answer (``soapcall.py``): a Fault by its fault code, a 2xx is taken when it is empty (the
ebMS adapter's acknowledgement), a SOAP answer without a fault (a Bv03, the adapter's own
response) or a bare StUF message (a Bv03 without envelope); anything else with a 2xx (an HTML
page, bytes that are not XML) is a malformed reply (retried); other statuses by their HTTP status.
"""

from __future__ import annotations

import requests
from lxml import etree

from adapters.lib.stuf import faults
from adapters.lib.stuf.messages import STUF, Fout, StufError, read_fout
from adapters.shared import soapcall
from adapters.shared.failures import Refused, Unavailable

_FOUTBERICHTEN = frozenset(f"{{{STUF}}}{code}Bericht" for code in ("Fo01", "Fo02", "Fo03"))


def judge_fout(counterpart: str, element: etree._Element) -> None:
    """Raise what a StUF foutbericht means; nothing for any other element. A foutbericht whose
    code cannot be read is still a refusal (``faults.meaning`` of no code)."""
    if element.tag not in _FOUTBERICHTEN:
        return
    try:
        _, fout = read_fout(element)
    except StufError:
        fout = Fout("", "", "")
    meaning = faults.meaning(fout.code, fout.plek)
    error_type = Unavailable if meaning.retry else Refused
    raise error_type(
        counterpart,
        f"{fout.code or 'no foutcode'} ({meaning.state}): {meaning.text}",
        code=fout.code,
    )


def _taken(answer: soapcall.SoapAnswer) -> bool:
    bare_stuf = answer.root is not None and etree.QName(answer.root).namespace == STUF
    return answer.empty or not answer.problem or bare_stuf


def judge(counterpart: str, response: requests.Response, max_bytes: int) -> None:
    """Taken, or raise why not (see the module's docstring)."""
    soapcall.judge(
        counterpart,
        response,
        max_bytes,
        taken=_taken,
        examine=lambda element: judge_fout(counterpart, element),
    )
