"""``POST /v1/ggk``: what the GGk sent us, handed over by the ebMS adapter in front of us.

Digikoppeling ebMS2 (CPA, signing, reliable messaging) is that adapter's job (e.g. ebms-core);
it POSTs the StUF SOAP message (or the bare StUF XML) here:

- ``envelopHeenbericht-ggk_Di01``: the payload (an iWmo/iJw/iEb/iPgb file) enters the normal
  receive path as an inbound message; the envelope data (referentienummer, zender, functie ...)
  goes into the ledger with it. Message id: derived from zender + referentienummer (unique per
  IB216), so a redelivery is recognised; correlation id: the referentienummer, so our retour
  travels back in a Du01 quoting it.
- ``envelopRetourbericht-ggk_Du01``: the same; the message it answers is found through the
  crossRefnummer and becomes its parent and conversation.
- A payload that is not XML, unknown, or fails its XSD is recorded as refused and answered with a
  ``Fo01`` (StUF055) to the zender, as the GGk specification prescribes. One refused because
  judging it failed on our side (stage ``internal``: a bug in a rule, a failed ledger read) gets
  a ``Fo01`` StUF058 (plek server) instead: we could not process it, nothing is known to be
  wrong with it, and it may be sent again under a new referentienummer.
- ``StUF:Fo01Bericht``: recorded as a message of its own (it goes to the back-office), and the
  message it answers is parked with the foutcode's meaning (``adapters/shared/answers.py``).

The caller (the ebMS adapter's identity) sends only as its own parties, or, with the relay right
(``relay=yes``), only as the envelope's zender, which must then be the payload's sender
(Afzender): receive's sender check decides for the payload and for a Fo01.

Answers: ``202`` with the receipt (JSON) once recorded; ``400`` with a SOAP Fault when the
envelope itself is not acceptable (also recorded); ``403`` with a SOAP Fault when the caller may
not send as the message's sender (recorded, stage ``sender``; no Fo01 goes to a zender that may
be forged); ``413`` when too large.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from lxml import etree

from adapters.ggk import codec, routing
from adapters.ggk.codec import GgkEnvelope
from adapters.ggk.settings import GgkSettings
from adapters.ggk.transport import REFERENCE_KEY
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
    Systeem,
    foutbericht,
    read_fout,
    tijdstip,
)
from adapters.shared.answers import original, record_fault
from gateway.adapter import Context
from gateway.door import GATEWAY, Speaker, envelope_for
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
from gateway.envelope import Direction, Envelope
from gateway.logs import get_logger
from gateway.openapi import Receipt as ReceiptDoc
from gateway.openapi import text, xml_body
from gateway.receipt import REFUSED, Receipt
from gateway.xmlsafe import XmlRejected, parse

log = get_logger(__name__)

_FO01 = f"{{{STUF}}}Fo01Bericht"


@dataclass(frozen=True)
class Outcome:
    status: int
    receipt: Receipt | None = None
    fault: str = ""
    fo01_id: str | None = None

    def response(self) -> Response:
        if self.receipt is not None and self.receipt.forbidden:
            reason = self.receipt.errors[0] if self.receipt.errors else "not your sender"
            return Response(soap.fault("Client", reason), 403, media_type="text/xml")
        if self.fault:
            return Response(soap.fault("Client", self.fault), self.status, media_type="text/xml")
        assert self.receipt is not None
        body = self.receipt.to_dict()
        if self.fo01_id:
            body["fo01_id"] = self.fo01_id
        return JSONResponse(body, self.status)


class GgkReceipt(ReceiptDoc):
    """What the endpoint answers for a message it took (documentation)."""

    fo01_id: str | None = None


class GgkIntake:
    """Takes what the GGk sent; used by the endpoint, testable without HTTP."""

    def __init__(self, context: Context) -> None:
        self.context = context
        self.receiver = context.receiver
        self.ledger = context.ledger
        self.settings = context.settings

    def take(self, raw: bytes, caller: Identity = ANONYMOUS) -> Outcome:
        """What the GGk sent, handed in by ``caller``: a relaying identity (``relay=yes``) may
        send as the envelope's zender, which must then be the payload's Afzender; any other
        caller only as its own parties (receive's sender check decides, HTTP 403)."""
        try:
            element = soap.body_of(parse(raw, self.settings.max_message_bytes).getroot())
        except (XmlRejected, soap.NotSoap) as exc:
            return self._refuse(raw, caller, f"not a StUF-GGk message: {exc}")
        if element.tag in codec.ROOTS:
            return self._envelope(raw, element, caller)
        if element.tag == _FO01:
            return self._fo01(raw, element, caller)
        name = etree.QName(element).localname
        if etree.QName(element).namespace == STUF:
            reason = f"a gemeente neither receives nor answers StUF {name} on the GGk"
        else:
            reason = f"{name} is no StUF-GGk message (Di01, Du01 or Fo01)"
        return self._refuse(raw, caller, reason)

    # -- the three kinds -----------------------------------------------------------------

    def _envelope(self, raw: bytes, element: etree._Element, caller: Identity) -> Outcome:
        errors = codec.ENVELOPE_SCHEMA.errors(element)
        if errors:
            return self._refuse(raw, caller, "the envelope does not match the StUF-GGk XSD", errors)
        try:
            ggk = codec.read(element)
        except codec.EnvelopeError as exc:
            return self._refuse(raw, caller, str(exc))
        sg = ggk.stuurgegevens
        context = self._context(ggk)
        message_id = uuid4_for("ggk", sg.zender.organisatie, sg.referentienummer, *id_scope(caller))
        if ggk.bestandsnaam:
            envelope = envelope_for(
                "ggk",
                ggk.payload,
                Direction.INBOUND,
                who=Speaker.caller(caller),
                message_id=message_id,
                correlation_id=sg.referentienummer,
                content_type="text/plain",
            )
            receipt = self.receiver.refuse(
                envelope, ("a tekstBestand is a file, not a message Ketenpoort processes",), context
            )
            return Outcome(202, receipt)
        correlation, parent = sg.referentienummer, None
        if sg.berichtcode == "Du01":
            answered = original(self.ledger, REFERENCE_KEY, sg.cross_ref)
            if answered is not None:
                correlation, parent = answered.correlation_id, answered.message_id
            else:
                correlation = sg.cross_ref
        envelope = envelope_for(
            "ggk",
            ggk.payload,
            Direction.INBOUND,
            who=Speaker.relaying(caller, sg.zender.organisatie),
            message_id=message_id,
            correlation_id=correlation,
            parent_id=parent,
        )
        receipt = self.receiver.receive(envelope, context)
        fo01_id = None
        # A Fo01 goes to the zender only when the caller may speak for it: never one to a party
        # named by a caller who may not (the message is refused all the same).
        zender = envelope.may_send_as is None or sg.zender.organisatie in envelope.may_send_as
        if receipt.status == REFUSED and not receipt.duplicate and not receipt.forbidden and zender:
            fo01_id = self._answer_refusal(ggk, element, envelope, receipt)
        log.info(
            "ggk.received",
            berichtcode=sg.berichtcode,
            functie=sg.functie,
            status=receipt.status,
            message_id=receipt.message_id,
        )
        return Outcome(202, receipt, fo01_id=fo01_id)

    def _fo01(self, raw: bytes, element: etree._Element, caller: Identity) -> Outcome:
        errors = codec.STUF_SCHEMA.errors(element)
        if errors:
            return self._refuse(raw, caller, "the Fo01 does not match the StUF 0301 XSD", errors)
        try:
            sg, fout = read_fout(element)
        except StufError as exc:
            return self._refuse(raw, caller, str(exc))
        answered = original(self.ledger, REFERENCE_KEY, sg.cross_ref)
        message_id = uuid4_for("ggk", sg.zender.organisatie, sg.referentienummer, *id_scope(caller))
        envelope = envelope_for(
            "ggk",
            _bytes(element),
            Direction.INBOUND,
            who=Speaker.relaying(caller, sg.zender.organisatie),
            message_id=message_id,
            correlation_id=answered.correlation_id if answered else sg.cross_ref,
            parent_id=answered.message_id if answered else None,
        )
        context = {
            "transport": "ggk",
            "berichtcode": "Fo01",
            "referentienummer": sg.referentienummer,
            "crossRefnummer": sg.cross_ref,
            "zender": sg.zender.organisatie,
            "ontvanger": sg.ontvanger.organisatie,
            "foutcode": fout.code,
            "answers": answered.message_id if answered else None,
        }
        receipt = self.receiver.receive(envelope, context)
        if receipt.forbidden:
            return Outcome(403, receipt)
        if answered is not None:
            detail = record_fault(self.context, answered.message_id, "GGk", fout, message_id)
            log.warning(
                "ggk.fo01",
                foutcode=fout.code,
                state=detail["state"],
                answers=answered.message_id,
            )
        else:
            log.warning("ggk.fo01_unmatched", foutcode=fout.code)
        return Outcome(202, receipt)

    # -- helpers -------------------------------------------------------------------------

    def _context(self, ggk: GgkEnvelope) -> dict[str, Any]:
        sg = ggk.stuurgegevens
        context: dict[str, Any] = {
            "transport": "ggk",
            "berichtcode": sg.berichtcode,
            "referentienummer": sg.referentienummer,
            "zender": sg.zender.organisatie,
            "zender_applicatie": sg.zender.applicatie,
            "ontvanger": sg.ontvanger.organisatie,
            "functie": sg.functie,
            "functieVersie": f"{ggk.functie_versie}.{ggk.functie_subversie}",
            "tijdstipBericht": sg.tijdstip,
        }
        if sg.cross_ref:
            context["crossRefnummer"] = sg.cross_ref
        if ggk.bestandsnaam:
            context["bestandsnaam"] = ggk.bestandsnaam
        return context

    def _refuse(
        self, raw: bytes, caller: Identity, reason: str, errors: list[str] | None = None
    ) -> Outcome:
        envelope = envelope_for("ggk", raw, Direction.INBOUND, who=Speaker.caller(caller))
        self.receiver.refuse(
            envelope, (reason, *(errors or [])[:20]), {"transport": "ggk", "envelope": "refused"}
        )
        log.warning("ggk.refused", reason=reason)
        shown = f"{reason}: {errors[0]}" if errors else reason
        return Outcome(400, fault=shown)

    def _answer_refusal(
        self, ggk: GgkEnvelope, received: etree._Element, envelope: Envelope, receipt: Receipt
    ) -> str:
        """Fo01 to the zender of a payload we refused, sent like any outbound message (its
        foutcode: :func:`refusal_fout`). Its detailsXML is the original message, StUF envelope
        and all (the GGk specification)."""
        sg = ggk.stuurgegevens
        fo01_id = uuid4_for("fo01", envelope.message_id)
        fout = refusal_fout(
            receipt,
            details=f"{sg.functie}-{ggk.applicatie_versie}{ggk.applicatie_subversie}",
            details_xml=(copy.deepcopy(received),),
        )
        ours = GgkSettings.of(self.settings)
        answer = Stuurgegevens(
            berichtcode="Fo01",
            zender=Systeem(
                sg.ontvanger.organisatie or ours.organisatie, ours.applicatie, ours.administratie
            ),
            ontvanger=Systeem(sg.zender.organisatie, routing.GGK_APPLICATIE),
            referentienummer=fo01_id,
            tijdstip=tijdstip(),
            cross_ref=sg.referentienummer,
        )
        body = _bytes(foutbericht(answer, fout))
        fo01 = envelope_for(
            "gateway",
            body,
            Direction.OUTBOUND,
            who=GATEWAY,
            message_id=fo01_id,
            correlation_id=envelope.correlation_id,
            parent_id=envelope.message_id,
        )
        sent = self.receiver.receive(fo01, {"transport": "ggk", "answers": envelope.message_id})
        log.info(
            "ggk.fo01_sent", status=sent.status, foutcode=fout.code, answers=envelope.message_id
        )
        return fo01_id


def refusal_fout(
    receipt: Receipt, details: str = "", details_xml: tuple[etree._Element, ...] = ()
) -> Fout:
    """The Fo01 body for a payload we refused: StUF055 (plek client) when it is not a message
    we take as it is; StUF058 (plek server) when judging it failed on our side (``internal``),
    which says nothing about the payload but that it may be sent again."""
    if receipt.internal:
        return Fout(PROCESSING_FAILED, "server", PROCESSING_FAILED_TEXT, details, details_xml)
    reason = receipt.errors[0] if receipt.errors else "the payload was refused"
    omschrijving = f"Het bericht voldoet niet aan het XSD: {reason}"
    return Fout(NOT_VALID, "client", omschrijving, details, details_xml)


def _bytes(element: etree._Element) -> bytes:
    text: bytes = etree.tostring(element, xml_declaration=True, encoding="UTF-8")
    return text


def make_router(context: Context) -> APIRouter:
    router = APIRouter(tags=["counterparts"])
    intake = GgkIntake(context)
    limit = context.settings.max_message_bytes
    documented = contract(context.settings)
    answered = "received and recorded (fo01_id: the Fo01 sent back when the payload was refused)"

    @router.post(
        "/v1/ggk",
        status_code=202,
        openapi_extra=xml_body("a StUF-GGk message (Di01, Du01, Fo01; SOAP or bare)"),
        **documented.route(
            413,
            bodies={
                202: (answered, GgkReceipt),
                400: ("not a StUF-GGk message: a SOAP fault (recorded as refused)", text()),
                403: ("the caller may not send as the message's sender: a SOAP fault", text()),
            },
        ),
    )
    async def post_ggk(request: Request, caller: Sender) -> Response:
        """A StUF-GGk message (Di01, Du01, Fo01; SOAP or bare) from the ebMS adapter."""
        try:
            body = await read_body(request, limit)
        except TooLarge:
            return JSONResponse({"error": f"message is larger than {limit} bytes"}, 413)
        large = len(body) > intake.receiver.stream_above  # waits its turn off the pool
        outcome = await judged(request, large, intake.take, body, caller)
        return outcome.response()

    return router
