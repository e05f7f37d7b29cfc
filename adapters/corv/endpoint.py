"""``POST /v1/corv``: what JUBES (CORV) sent us, handed over by the ebMS adapter in front of us.

- a StUF-Jeugdzorg Di01 (notificatieDi01, notificatiejrDi01, zorgmeldingDi01, vtMeldingDi01,
  the verrijkingsverzoeken and their answers): recorded and received as an inbound message
  (message id from zender + referentienummer; the stuurgegevens go into the ledger) and
  answered at once, as the koppelvlak's WSDL prescribes, with a ``Bv03`` (SOAP body) or, when
  it cannot be taken, a SOAP Fault holding a ``Fo03``: StUF055 when it fails the XSD, StUF016
  when zender and referentienummer were used before (testset 1.0.1, scenario "twee
  equivalente zorgmeldingen"), StUF058 (plek server, a ``Server`` fault) when judging it failed
  on our side (stage ``internal``: nothing known to be wrong with it; send it again);
- a ``Fo01`` (the asynchronous answer to a message we sent): recorded as a message of its own,
  and the message it answers is parked with the foutcode's meaning;
- a ``Bv01``/``Bv03`` (JUBES or the RvdK confirming our message): recorded, linked to it.

The caller (the ebMS adapter's identity) sends only as its own parties, or, with the relay right
(``relay=yes``), as the stuurgegevens' zender; a message it may not send is recorded (stage
``sender``) and answered ``403`` with a SOAP Fault holding a ``Fo03`` (:data:`NOT_YOURS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from lxml import etree

from adapters.corv.catalogue import INBOUND, JZ
from adapters.corv.transport import REFERENCE_KEY
from adapters.lib import soap
from adapters.lib.refs import uuid4_for
from adapters.lib.stuf.messages import (
    NOT_VALID,
    PROCESSING_FAILED,
    PROCESSING_FAILED_TEXT,
    STUF,
    Fout,
    StufError,
    Stuurgegevens,
    bevestiging,
    foutbericht,
    read_fout,
    stuurgegevens_of,
    tijdstip,
)
from adapters.shared.answers import original, record_fault
from gateway.adapter import Context
from gateway.door import Given, Speaker, envelope_for
from gateway.endpoints import (
    ANONYMOUS,
    Identity,
    Sender,
    TooLarge,
    contract,
    id_scope,
    judged,
    read_body,
)
from gateway.envelope import BadId, Direction, new_id
from gateway.logs import get_logger
from gateway.openapi import text, xml_body
from gateway.receipt import REFUSED, Receipt
from gateway.xmlsafe import XmlRejected, parse

log = get_logger(__name__)

# What a refusal calls the ids the zender chose that become a message's correlation id.
_REFERENTIENUMMER = ("message id", "referentienummer")
_CROSS_REF = ("message id", "crossRefnummer")

# The Fo03's foutcode when the caller may not send as the zender (StUF 03.01: the zender is not
# authorised for this message).
NOT_YOURS = "StUF052"


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes  # SOAP
    receipt: Receipt | None = None


def _bytes(element: etree._Element) -> bytes:
    text: bytes = etree.tostring(element, xml_declaration=True, encoding="UTF-8")
    return text


class CorvIntake:
    def __init__(self, context: Context) -> None:
        self.context = context
        self.receiver = context.receiver
        self.ledger = context.ledger
        self.settings = context.settings

    def take(self, raw: bytes, caller: Identity = ANONYMOUS) -> Answer:
        """What JUBES sent, handed in by ``caller``: a relaying identity (``relay=yes``) may send
        as the stuurgegevens' zender; any other caller only as its own parties (receive's sender
        check decides: a Fo03 in a SOAP fault, HTTP 403)."""
        try:
            element = soap.body_of(parse(raw, self.settings.max_message_bytes).getroot())
            sg = stuurgegevens_of(element)
        except (XmlRejected, soap.NotSoap, StufError) as exc:
            return self._refuse(
                raw, caller, None, "StUF055", f"not a StUF-Jeugdzorg message: {exc}"
            )
        namespace = etree.QName(element).namespace
        localname = etree.QName(element).localname
        if namespace == JZ and localname in INBOUND:
            return self._di01(raw, element, sg, caller)
        if namespace == STUF and localname == "Fo01Bericht":
            return self._answer(element, sg, caller, fault=True)
        if namespace == STUF and localname in ("Bv01Bericht", "Bv03Bericht"):
            return self._answer(element, sg, caller, fault=False)
        return self._refuse(
            raw, caller, sg, "StUF055", f"{localname} is not a message a gemeente takes"
        )

    def _di01(
        self, raw: bytes, element: etree._Element, sg: Stuurgegevens, caller: Identity
    ) -> Answer:
        message_id = uuid4_for(
            "corv", sg.zender.organisatie, sg.referentienummer, *id_scope(caller)
        )
        if self.ledger.history(message_id):
            return self._refuse(
                raw, caller, sg, "StUF016", "zender and referentienummer were used before"
            )
        context = {
            "transport": "corv",
            "functie": sg.functie,
            "referentienummer": sg.referentienummer,
            "zender": sg.zender.organisatie,
            "ontvanger": sg.ontvanger.organisatie,
            "tijdstipBericht": sg.tijdstip,
        }
        try:  # the referentienummer, the zender's choice, becomes the correlation id
            envelope = envelope_for(
                "corv",
                _bytes(element),
                Direction.INBOUND,
                who=Speaker.relaying(caller, sg.zender.organisatie),
                given=Given(correlation_id=sg.referentienummer, names=_REFERENTIENUMMER),
                message_id=message_id,
            )
        except BadId as exc:
            return self._refuse(raw, caller, sg, "StUF055", str(exc))
        receipt = self.receiver.receive(envelope, context)
        log.info("corv.received", functie=sg.functie, status=receipt.status)
        if receipt.forbidden:
            return self._forbidden(sg, receipt)
        if receipt.internal:  # our fault, not the message's: a Server fault
            fo03 = self._fo03(sg, PROCESSING_FAILED, PROCESSING_FAILED_TEXT, "server")
            return Answer(500, fo03, receipt)
        if receipt.status == REFUSED:
            reason = receipt.errors[0] if receipt.errors else "refused"
            return Answer(500, self._fo03(sg, NOT_VALID, reason), receipt)
        return Answer(200, soap.wrap(bevestiging(self._reply(sg, "Bv03"))), receipt)

    def _answer(
        self, element: etree._Element, sg: Stuurgegevens, caller: Identity, *, fault: bool
    ) -> Answer:
        answered = original(self.ledger, REFERENCE_KEY, sg.cross_ref)
        message_id = uuid4_for(
            "corv", sg.zender.organisatie, sg.referentienummer, *id_scope(caller)
        )
        try:  # not an answer to ours: its crossRefnummer, the zender's choice, correlates it
            envelope = envelope_for(
                "corv",
                _bytes(element),
                Direction.INBOUND,
                who=Speaker.relaying(caller, sg.zender.organisatie),
                given=Given(correlation_id=None if answered else sg.cross_ref, names=_CROSS_REF),
                message_id=message_id,
                correlation_id=answered.correlation_id if answered else "",
                parent_id=answered.message_id if answered else None,
            )
        except BadId as exc:
            return self._refuse(_bytes(element), caller, sg, "StUF055", str(exc))
        context: dict[str, Any] = {
            "transport": "corv",
            "berichtcode": sg.berichtcode,
            "referentienummer": sg.referentienummer,
            "crossRefnummer": sg.cross_ref,
            "zender": sg.zender.organisatie,
            "answers": answered.message_id if answered else None,
        }
        receipt = self.receiver.receive(envelope, context)
        if receipt.forbidden:
            return self._forbidden(sg, receipt)
        if fault and answered is not None:
            _, fout = read_fout(element)
            detail = record_fault(self.context, answered.message_id, "CORV", fout, message_id)
            log.warning("corv.fo01", foutcode=fout.code, state=detail["state"])
        if fault:
            return Answer(200, soap.wrap(bevestiging(self._reply(sg, "Bv03"))), receipt)
        return Answer(202, b"", receipt)

    # -- answers -------------------------------------------------------------------------

    def _reply(self, sg: Stuurgegevens, berichtcode: str) -> Stuurgegevens:
        """Stuurgegevens of our answer, with a referentienummer of its own: a Bv03 the same for
        the same message taken (one per referentienummer), a Fo03 a new one each time (a
        message refused after an earlier Bv03, e.g. sent twice, must not get that Bv03's)."""
        if berichtcode == "Bv03":
            reference = uuid4_for("corv-answer", sg.referentienummer)
        else:
            reference = new_id()
        return sg.answer(berichtcode, reference, tijdstip())

    def _fo03(self, sg: Stuurgegevens, code: str, text: str, plek: str = "client") -> bytes:
        """A SOAP fault holding a Fo03; ``plek``: whose fault (``client``: the message's;
        ``server``: ours), the SOAP faultcode the same."""
        fout = Fout(code, plek, text[:200])
        detail = foutbericht(self._reply(sg, "Fo03"), fout)
        return soap.fault(plek.capitalize(), f"{code}: {text[:200]}", detail)

    def _forbidden(self, sg: Stuurgegevens, receipt: Receipt) -> Answer:
        """The caller may not send as the zender: HTTP 403, a SOAP fault holding a Fo03 (as
        every refusal on this koppelvlak) with the reason; recorded by receive (stage sender)."""
        reason = receipt.errors[0] if receipt.errors else "not your zender"
        return Answer(403, self._fo03(sg, NOT_YOURS, reason), receipt)

    def _refuse(
        self, raw: bytes, caller: Identity, sg: Stuurgegevens | None, code: str, reason: str
    ) -> Answer:
        envelope = envelope_for("corv", raw, Direction.INBOUND, who=Speaker.caller(caller))
        receipt = self.receiver.refuse(envelope, (f"{code}: {reason}",), {"transport": "corv"})
        log.warning("corv.refused", code=code)
        if sg is None or not sg.referentienummer:
            return Answer(400, soap.fault("Client", f"{code}: {reason}"), receipt)
        return Answer(500, self._fo03(sg, code, reason), receipt)


def make_router(context: Context) -> APIRouter:
    router = APIRouter(tags=["counterparts"])
    intake = CorvIntake(context)
    limit = context.settings.max_message_bytes
    documented = contract(context.settings)

    @router.post(
        "/v1/corv",
        status_code=200,
        response_class=Response,
        openapi_extra=xml_body("a StUF-Jeugdzorg message (SOAP or bare)"),
        **documented.route(
            bodies={
                200: ("taken: a Bv03 (SOAP)", text()),
                202: ("an answer (Du01) taken; nothing to say back", text()),
                400: ("not a StUF-Jeugdzorg message: a SOAP fault", text()),
                403: ("the caller may not send as the zender: a SOAP fault with a Fo03", text()),
                413: ("too large: a SOAP fault", text()),
                500: (
                    "refused: a SOAP fault carrying a Fo03, as the WSDL says (a Server fault, "
                    "StUF058, when judging it failed on our side)",
                    text(),
                ),
            },
        ),
    )
    async def post_corv(request: Request, caller: Sender) -> Response:
        """A StUF-Jeugdzorg message (SOAP or bare) from JUBES, through the ebMS adapter."""
        try:
            body = await read_body(request, limit)
        except TooLarge:
            return Response(soap.fault("Client", "message too large"), 413, media_type="text/xml")
        large = len(body) > intake.receiver.stream_above  # waits its turn off the pool
        answer = await judged(request, large, intake.take, body, caller)
        return Response(answer.body, answer.status, media_type="text/xml")

    return router
