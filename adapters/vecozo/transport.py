"""Submitting to VECOZO (REST push v1, or SOAP IndienenBericht v3 when ``vecozo_soap_url`` is
set instead of ``vecozo_push_url``), with mutual TLS (``vecozo_cert``/``vecozo_key``; VECOZO's
server certificate checked against ``vecozo_ca``, or the system's CAs when that is empty).

REST push answers 204 when taken, 400/422 with problem details when the message is refused
(``422``: "do not send the same request again"); SOAP answers an ``IndienenBerichtResponse``
or a SOAP Fault. Timeouts, 5xx and 429 are retried (``adapters/shared/http.py``).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from typing import Any

import requests

from adapters.lib.refs import is_uuid4, uuid4_for
from adapters.shared import soapcall
from adapters.shared.failures import Refused, Unavailable
from adapters.shared.http import HttpPolicy, call, post, status_error
from adapters.vecozo import codec, routing, rules
from adapters.vecozo.codec import Relatie, VecozoBericht
from adapters.vecozo.settings import VecozoSettings
from gateway import __version__
from gateway.adapter import Delivery, Handover
from gateway.envelope import Envelope
from gateway.xmlsafe import XmlRejected, parse

NAME = "VECOZO"
REFERENCE_KEY = "vecozo.traceerId"
_MAX_ANSWER_BYTES = 10 * 1024 * 1024  # an IndienenBerichtResponse is small


class _PinnedSession(requests.Session):
    """A session whose own ``verify`` wins over ``REQUESTS_CA_BUNDLE``/``CURL_CA_BUNDLE``: with
    those set (common in containers) requests would otherwise check the server against the
    environment's bundle and ignore the CA configured for VECOZO."""

    def merge_environment_settings(
        self, url: Any, proxies: Any, stream: Any, verify: Any, cert: Any
    ) -> Any:
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        settings["verify"] = self.verify
        return settings


def session_for(cert: str, key: str, ca: str = "") -> requests.Session:
    """A session presenting our client certificate (mutual TLS) and trusting ``ca`` (a CA bundle
    file) for VECOZO's server certificate; the system's CAs when ``ca`` is empty."""
    session = _PinnedSession() if ca else requests.Session()
    if cert:
        session.cert = (cert, key) if key else cert
    if ca:
        session.verify = ca
    return session


def judge_rest(response: requests.Response) -> None:
    """Taken: a 2xx that is VECOZO's (204 without a body, or JSON); a 400/422 refuses the message
    (problem details); anything else is judged by its status (``status_error``)."""
    if 200 <= response.status_code < 300:
        body = response.content or b""
        if body.strip():
            try:
                json.loads(body)
            except ValueError:
                # e.g. a proxy's HTML page: not VECOZO's answer, whether it arrived is unknown
                raise Unavailable(NAME, "malformed reply: a 2xx answer that is not JSON") from None
        return
    if response.status_code in (400, 422):
        title = ""
        try:
            problem = response.json()
            title = str(problem.get("title", ""))[:200] if isinstance(problem, dict) else ""
        except ValueError:
            title = ""
        reason = f"HTTP {response.status_code}: refused" + (f" ({title})" if title else "")
        raise Refused(NAME, reason, status=response.status_code)
    raise status_error(NAME, response)


def judge_soap(response: requests.Response) -> None:
    """Taken: a SOAP answer without a fault (an IndienenBerichtResponse); a Fault by its code;
    otherwise as any SOAP answer (``soapcall.py``)."""
    soapcall.judge(NAME, response, _MAX_ANSWER_BYTES, taken=lambda answer: not answer.problem)


class VecozoTransport:
    def __init__(
        self,
        *,
        push_url: str = "",
        soap_url: str = "",
        agb: str,
        cert: str = "",
        key: str = "",
        ca: str = "",
        policy: HttpPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not (push_url or soap_url):
            raise ValueError("the VECOZO transport needs vecozo_push_url or vecozo_soap_url")
        if len(agb) != 8 or not agb.isdigit():
            raise ValueError("the VECOZO transport needs vecozo_agb: our AGB code (8 digits)")
        self.push_url = push_url.rstrip("/")
        self.soap_url = soap_url
        self.agb = agb
        self.cert, self.key, self.ca = cert, key, ca
        self.policy = policy or HttpPolicy()
        self.sleep = sleep
        self._local = threading.local()

    @classmethod
    def from_settings(cls, settings: Any) -> VecozoTransport:
        vecozo = VecozoSettings.of(settings)
        return cls(
            push_url=vecozo.push_url,
            soap_url=vecozo.soap_url,
            agb=vecozo.agb,
            cert=vecozo.cert,
            key=vecozo.key,
            ca=vecozo.ca,
            policy=HttpPolicy.from_settings(settings),
        )

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._local.session = session_for(self.cert, self.key, self.ca)
        return session

    def bericht_for(self, envelope: Envelope, delivery: Delivery) -> VecozoBericht:
        if envelope.message_type is None:
            raise Refused(NAME, "message has no type; cannot name the berichtstroom")
        code = envelope.message_type.code
        try:
            berichttype, subtype, actie = routing.berichtstroom(code)
            versie, subversie = routing.versie(
                parse(delivery.body, codec.MAX_PAYLOAD_BYTES).getroot()
            )
            geadresseerde = Relatie(routing.rol(delivery.to), delivery.to)
        except (routing.VecozoRoutingError, XmlRejected) as exc:
            raise Refused(NAME, str(exc)) from None
        traceer = uuid4_for(envelope.message_id)
        # An answer continues the conversation of the message it answers (the correlation id
        # of a message fetched from VECOZO is its ConversatieId); a heenbericht opens one.
        answers = envelope.parent_id is not None and is_uuid4(envelope.correlation_id)
        major, minor, *_ = [*__version__.split("."), "0", "0"]
        return VecozoBericht(
            afzender=Relatie(routing.ROL_AANBIEDER, self.agb),
            geadresseerden=(geadresseerde,),
            berichttype=berichttype,
            berichtsubtype=subtype,
            berichtversie=versie,
            berichtsubversie=subversie,
            actie=actie,
            conversatie_id=envelope.correlation_id if answers else traceer,
            traceer_id=traceer,
            referentie_id=envelope.message_id,
            verwerkingscontext={
                "Applicatie": ("Ketenpoort",),
                "ApplicatieVersie": (major,),
                "ApplicatieSubversie": (minor,),
                "Referentienummer": (traceer,),
            },
            payload=delivery.body,
        )

    def deliver(self, envelope: Envelope, delivery: Delivery) -> Handover:
        bericht = self.bericht_for(envelope, delivery)
        zipped = codec.zip_payload(bericht.payload, bericht.traceer_id)
        findings = rules.check(bericht, len(zipped))
        if findings:
            raise Refused(NAME, "; ".join(f.text for f in findings))
        if self.push_url:
            attempts = self._push(bericht, zipped)
            how = "rest-push"
        else:
            attempts = self._soap(bericht)
            how = "soap"
        return Handover(
            reference=bericht.traceer_id,
            detail={
                "transport": "vecozo",
                "via": how,
                "traceerId": bericht.traceer_id,
                "conversatieId": bericht.conversatie_id,
                "berichtsubtype": bericht.berichtsubtype,
                "actie": bericht.actie,
                "geadresseerde": delivery.to,
                "attempts": attempts,
            },
            keys={REFERENCE_KEY: [bericht.traceer_id]},
        )

    def _push(self, bericht: VecozoBericht, zipped: bytes) -> int:
        meta = json.dumps(codec.metadata(bericht)).encode()

        def send(timeout: float) -> requests.Response:
            files = {
                "berichtMetadata": ("berichtMetadata.json", meta, "application/json"),
                "payload": (f"{bericht.traceer_id}.zip", zipped, "application/octet-stream"),
            }
            return post(self._session(), f"{self.push_url}/berichten", timeout, files=files)

        _, attempts = call(NAME, send, judge_rest, self.policy, self.sleep)
        return attempts

    def _soap(self, bericht: VecozoBericht) -> int:
        body = codec.indienen_bericht(bericht)
        headers = {
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{codec.SOAP_ACTION}"',
        }

        def send(timeout: float) -> requests.Response:
            return post(self._session(), self.soap_url, timeout, data=body, headers=headers)

        _, attempts = call(NAME, send, judge_soap, self.policy, self.sleep)
        return attempts
