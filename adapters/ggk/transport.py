"""Sending to the GGk: wrap the message in a Di01 or Du01 (or send our Fo01 as it is), put it in
SOAP 1.1 and POST it to the ebMS adapter that carries it over Digikoppeling.

The answer of that call says whether the message was taken: a 2xx with an empty body or a SOAP
answer without a fault (a Bv03, the adapter's own response) is taken; a StUF Fo01/Fo03 (in a SOAP
Fault or not) is judged by its foutcode (``faults.py``), another Fault by its fault code; other
answers by their HTTP status (``adapters/shared/stufcall.py``). What the GGk says later (a Du01
with the retour, or an asynchronous Fo01) arrives at ``/v1/ggk`` and finds this message again
through the referentienummer, which is indexed when the delivery is recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from adapters.ggk import codec, routing, rules
from adapters.ggk.codec import GgkEnvelope
from adapters.ggk.settings import GgkSettings
from adapters.lib import soap
from adapters.lib.refs import is_uuid4, uuid4_for
from adapters.lib.stuf.messages import StufError, Stuurgegevens, Systeem, read_fout, tijdstip
from adapters.shared.failures import Refused
from adapters.shared.http import HttpPolicy, call, post
from adapters.shared.stufcall import judge
from gateway.adapter import Delivery, Handover
from gateway.envelope import Envelope
from gateway.xmlsafe import XmlRejected, parse

NAME = "GGk"
REFERENCE_KEY = "ggk.referentienummer"


class GgkTransport:
    """Delivers to the GGk through the ebMS adapter at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        organisatie: str = "",
        applicatie: str = "Ketenpoort",
        administratie: str = "",
        policy: HttpPolicy | None = None,
        max_bytes: int = codec.MAX_ENVELOPE_BYTES,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not url:
            raise ValueError("the GGk transport needs ggk_url (the ebMS adapter's endpoint)")
        self.url = url
        self.organisatie = organisatie
        self.applicatie = applicatie
        self.administratie = administratie
        self.policy = policy or HttpPolicy()
        self.max_bytes = max_bytes
        self.sleep = sleep
        self._local = threading.local()

    @classmethod
    def from_settings(cls, settings: Any) -> GgkTransport:
        ggk = GgkSettings.of(settings)
        return cls(
            ggk.url,
            organisatie=ggk.organisatie,
            applicatie=ggk.applicatie,
            administratie=ggk.administratie,
            policy=HttpPolicy.from_settings(settings),
        )

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = requests.Session()
        return session

    # -- building ------------------------------------------------------------------------

    def envelope_for(self, envelope: Envelope, delivery: Delivery) -> GgkEnvelope:
        """The Di01 or Du01 that carries ``delivery`` (raises Refused when it cannot be made)."""
        if envelope.message_type is None:
            raise Refused(NAME, "message has no type; cannot name the functie")
        functie = envelope.message_type.code
        try:
            payload = parse(delivery.body, self.max_bytes).getroot()
            ontvanger = routing.ontvanger(delivery.to)
            zender = routing.our_organisatie(payload, delivery.to, self.organisatie)
            functie_versie, functie_subversie = routing.functie_versie(payload)
        except (routing.RoutingError, XmlRejected) as exc:
            raise Refused(NAME, str(exc)) from None
        answer = routing.is_answer(functie)
        cross_ref = ""
        if answer:
            cross_ref = envelope.correlation_id
            if not is_uuid4(cross_ref):
                raise Refused(
                    NAME,
                    f"{functie} answers a message that did not come through the GGk: there is "
                    "no Di01 referentienummer to quote as crossRefnummer",
                )
        versie, subversie = routing.applicatie_versie()
        return GgkEnvelope(
            stuurgegevens=Stuurgegevens(
                berichtcode="Du01" if answer else "Di01",
                zender=Systeem(zender, self.applicatie, self.administratie),
                ontvanger=Systeem(ontvanger, routing.GGK_APPLICATIE),
                referentienummer=uuid4_for(envelope.message_id),
                tijdstip=tijdstip(),
                cross_ref=cross_ref,
                functie=functie,
            ),
            applicatie_versie=versie,
            applicatie_subversie=subversie,
            functie_versie=functie_versie,
            functie_subversie=functie_subversie,
            payload=delivery.body,
        )

    # -- sending -------------------------------------------------------------------------

    def deliver(self, envelope: Envelope, delivery: Delivery) -> Handover:
        if envelope.message_type is not None and envelope.message_type.standard == "stuf":
            return self._deliver_stuf(envelope, delivery)
        ggk = self.envelope_for(envelope, delivery)
        try:
            element = codec.build(ggk)
        except codec.EnvelopeError as exc:
            raise Refused(NAME, str(exc)) from None
        body = soap.wrap(element)
        findings = rules.check(ggk, len(body))
        if findings:
            raise Refused(NAME, "; ".join(f.text for f in findings))
        sg = ggk.stuurgegevens
        attempts = self._post(body, codec.SOAP_ACTIONS[sg.berichtcode])
        return Handover(
            reference=sg.referentienummer,
            detail={
                "transport": "ggk",
                "berichtcode": sg.berichtcode,
                "referentienummer": sg.referentienummer,
                "crossRefnummer": sg.cross_ref,
                "functie": sg.functie,
                "zender": sg.zender.organisatie,
                "ontvanger": sg.ontvanger.organisatie,
                "bytes": len(body),
                "attempts": attempts,
            },
            keys={REFERENCE_KEY: [sg.referentienummer]},
        )

    def _deliver_stuf(self, envelope: Envelope, delivery: Delivery) -> Handover:
        """A StUF foutbericht of ours (Fo01 StUF055) goes as it is, with the Fo01 soapAction."""
        try:
            root = parse(delivery.body, self.max_bytes).getroot()
            sg, fout = read_fout(root)
        except (XmlRejected, StufError) as exc:
            raise Refused(NAME, f"our foutbericht cannot be read: {exc}") from None
        attempts = self._post(soap.wrap(root), codec.SOAP_ACTIONS["Fo01"])
        return Handover(
            reference=sg.referentienummer,
            detail={
                "transport": "ggk",
                "berichtcode": sg.berichtcode,
                "referentienummer": sg.referentienummer,
                "crossRefnummer": sg.cross_ref,
                "foutcode": fout.code,
                "ontvanger": sg.ontvanger.organisatie,
                "attempts": attempts,
            },
            keys={REFERENCE_KEY: [sg.referentienummer]},
        )

    def _post(self, body: bytes, action: str) -> int:
        headers = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": f'"{action}"'}

        def send(timeout: float) -> requests.Response:
            return post(self._session(), self.url, timeout, data=body, headers=headers)

        _, attempts = call(
            NAME,
            send,
            lambda response: judge(NAME, response, self.max_bytes),
            self.policy,
            self.sleep,
        )
        return attempts
