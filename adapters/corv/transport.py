"""Sending StUF-Jeugdzorg messages to JUBES (CORV): SOAP 1.1 POSTed to the Digikoppeling ebMS
adapter in front of us (``corv_url``), with the koppelvlak's soapAction (no scheme, as the 1.0.9
WSDLs write it). JUBES answers a Di01 with a Bv03, or a SOAP Fault with a Fo03 (judged by its
foutcode); content errors come later as an asynchronous Fo01 at ``/v1/corv``.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from adapters.corv.catalogue import OUTBOUND, SOAP_ACTION
from adapters.corv.settings import CorvSettings
from adapters.lib import soap
from adapters.lib.stuf.messages import StufError, stuurgegevens_of
from adapters.shared.failures import Refused
from adapters.shared.http import HttpPolicy, call, post
from adapters.shared.stufcall import judge
from gateway.adapter import Delivery, Handover, Transport
from gateway.envelope import Envelope
from gateway.xmlsafe import XmlRejected, parse

NAME = "CORV"
REFERENCE_KEY = "corv.referentienummer"
_MAX_BYTES = 25 * 1024 * 1024


class CorvTransport:
    def __init__(
        self,
        url: str,
        *,
        policy: HttpPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url:
            raise ValueError("the CORV transport needs corv_url (the ebMS adapter's endpoint)")
        self.url = url
        self.policy = policy or HttpPolicy()
        self.sleep = sleep
        self._local = threading.local()

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    def deliver(self, envelope: Envelope, delivery: Delivery) -> Handover:
        try:
            root = parse(delivery.body, _MAX_BYTES).getroot()
            sg = stuurgegevens_of(root)
        except (XmlRejected, StufError) as exc:
            raise Refused(NAME, f"the message cannot be read: {exc}") from None
        if sg.functie not in OUTBOUND:
            raise Refused(NAME, f"functie {sg.functie!r} is not a StUF-Jeugdzorg message we send")
        body = soap.wrap(root)
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{SOAP_ACTION.format(functie=sg.functie)}"',
        }

        def send(timeout: float) -> requests.Response:
            return post(self._session(), self.url, timeout, data=body, headers=headers)

        _, attempts = call(
            NAME, send, lambda response: judge(NAME, response, _MAX_BYTES), self.policy, self.sleep
        )
        return Handover(
            reference=sg.referentienummer,
            detail={
                "transport": "corv",
                "functie": sg.functie,
                "referentienummer": sg.referentienummer,
                "ontvanger": sg.ontvanger.organisatie,
                "attempts": attempts,
            },
            keys={REFERENCE_KEY: [sg.referentienummer]},
        )


def make_transport(settings: Any) -> Transport | None:
    """CORV's transport when ``corv_url`` is set, else None (the core's outbox)."""
    corv = CorvSettings.of(settings)
    if corv.url:
        return CorvTransport(corv.url, policy=HttpPolicy.from_settings(settings))
    return None
