"""Receive: the ingress half of a message's path, the same for every ingress.

record raw bytes -> (map back-office JSON) -> parse safely -> identify -> validate (XSD, rules)
-> record the verdict -> publish (confirmed) -> record the publication.

A message is in the ledger before anything else happens to it, and before the sender gets an
answer. If the broker cannot be reached the message stays recorded as awaiting publication and
:meth:`Receiver.republish_pending` (run periodically by ``ketenpoort run``) publishes it later.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from typing import Any

from gateway.adapter import Description, Finding, MappingError, Registry, Unidentified
from gateway.bus.publisher import PublishError
from gateway.envelope import Direction, Envelope, MessageType
from gateway.identify import identify, identify_bytes
from gateway.ledger import Entry, Event, Ledger
from gateway.logs import get_logger, message_context
from gateway.validate import SchemaCache, validate, validate_stream
from gateway.xmlsafe import XmlRejected, parse

log = get_logger(__name__)

ACCEPTED = "accepted"  # valid; recorded; published
REJECTED = "rejected"  # schema-valid but the standard's rules fired; recorded
REFUSED = "refused"  # not XML, not identifiable, not schema-valid, or not mappable; recorded

# Messages larger than this are identified from their first element and, when their adapter
# names a record element (a declaratie's Client), read record by record in flat memory with the
# XSD attached to the parser; smaller ones are parsed whole. Both paths give the same verdicts.
STREAM_ABOVE = 1024 * 1024


@dataclass(frozen=True)
class Receipt:
    message_id: str
    correlation_id: str
    route: str
    status: str
    published: bool = False
    message_type: str | None = None
    errors: tuple[str, ...] = ()
    findings: tuple[Finding, ...] = ()
    duplicate: bool = False
    # Refused because the sender named in the message is not who handed it in (HTTP 403).
    forbidden: bool = False

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [asdict(f) for f in self.findings]
        data["errors"] = list(self.errors)
        return data


class Receiver:
    def __init__(
        self,
        registry: Registry,
        schemas: SchemaCache,
        ledger: Ledger,
        publish: Callable[[Envelope], None],
        max_bytes: int,
        stream_above: int = STREAM_ABOVE,
    ) -> None:
        self.registry = registry
        self.schemas = schemas
        self.ledger = ledger
        self.publish = publish
        self.max_bytes = max_bytes
        self.stream_above = stream_above

    # -- entry points -------------------------------------------------------------------------

    def receive(self, envelope: Envelope, context: Mapping[str, Any] | None = None) -> Receipt:
        """A standard message (XML) from the back-office (outbound) or a counterpart (inbound).

        ``context`` is what the way in knows beyond the bytes (a transport envelope's
        referentienummer, sender, function); it is recorded with the ``received`` entry.
        """
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            earlier = self.ledger.history(envelope.message_id)
            if earlier:
                return self._receipt_from_history(envelope, earlier)
            self._record_received(envelope, dict(context or {}))
            return self._check_and_publish(envelope)

    def refuse(
        self,
        envelope: Envelope,
        errors: tuple[str, ...],
        context: Mapping[str, Any] | None = None,
    ) -> Receipt:
        """Record bytes a way in found unacceptable before they could be identified (a transport
        envelope that fails its own schema, a duplicate reference): received, then rejected."""
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            earlier = self.ledger.history(envelope.message_id)
            if earlier:
                return self._receipt_from_history(envelope, earlier)
            self._record_received(envelope, dict(context or {}))
            return self._refuse(envelope, errors)

    def receive_mapped(self, envelope: Envelope, standard: str, mapping: str) -> Receipt:
        """Back-office JSON for ``<standard>/<mapping>`` (e.g. ``iwmo``/``toewijzing``)."""
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            earlier = self.ledger.history(envelope.message_id)
            if earlier:
                return self._receipt_from_history(envelope, earlier)
            self._record_received(envelope, {"mapping": f"{standard}/{mapping}"})
            try:
                if len(envelope.body) > self.max_bytes:
                    raise ValueError(f"message is larger than {self.max_bytes} bytes")
                data = json.loads(envelope.body)
                if not isinstance(data, dict):
                    raise MappingError("(document)", "expected a JSON object")
                xml = self.registry.for_standard(standard).map_in(standard, mapping, data)
            except (ValueError, Unidentified) as exc:
                return self._refuse(envelope, (f"mapping {standard}/{mapping}: {exc}",))
            mapped = replace(envelope, body=xml, content_type="application/xml")
            self.ledger.append(mapped, Event.MAPPED, payload=xml)
            return self._check_and_publish(mapped)

    def republish_pending(self) -> int:
        """Publish what was recorded but never confirmed by the broker. Returns how many."""
        count = 0
        for message_id in self.ledger.awaiting_publication():
            envelope = envelope_from_ledger(self.ledger, message_id)
            with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
                if self._publish(envelope):
                    count += 1
                else:
                    break  # broker still away; try again next round
        return count

    # -- steps --------------------------------------------------------------------------------

    def _record_received(self, envelope: Envelope, extra: dict[str, Any]) -> None:
        detail = {
            "direction": envelope.direction.value,
            "source": envelope.source,
            "parent_id": envelope.parent_id,
            "content_type": envelope.content_type,
            "size": len(envelope.body),
            **({"identity": envelope.identity} if envelope.identity else {}),
            **extra,
        }
        self.ledger.append(envelope, Event.RECEIVED, payload=envelope.body, detail=detail)
        log.info("message.received", source=envelope.source, size=len(envelope.body))

    def _check_and_publish(self, envelope: Envelope) -> Receipt:
        large = len(envelope.body) > self.stream_above
        try:
            if large:  # identify from the first element, then decide how to read the rest
                adapter, message_type = identify_bytes(envelope.body, self.registry, self.max_bytes)
                tag = adapter.record_tag(message_type)
                doc = None if tag else parse(envelope.body, self.max_bytes)
            else:
                tag, doc = None, parse(envelope.body, self.max_bytes)
                adapter, message_type = identify(doc, self.registry)
        except (XmlRejected, Unidentified) as exc:
            return self._refuse(envelope, (str(exc),))
        typed = replace(envelope, message_type=message_type)
        description: Description | None
        if doc is None:
            assert tag is not None
            try:
                verdict, description = validate_stream(
                    envelope.body, message_type, adapter, self.schemas, self.ledger,
                    self.max_bytes, tag,
                )  # fmt: skip
            except XmlRejected as exc:
                return self._refuse(envelope, (str(exc),))
        else:
            verdict = validate(doc, message_type, adapter, self.schemas, self.ledger)
            description = adapter.describe(doc, message_type) if verdict.schema_valid else None
        envelope = typed
        if not verdict.schema_valid:
            return self._refuse(envelope, verdict.schema_errors)
        assert description is not None
        if envelope.may_send_as is not None and description.sender not in envelope.may_send_as:
            return self._refuse(envelope, (_not_yours(envelope, description.sender),), "sender")
        answer_follows = envelope.direction is Direction.INBOUND and description.expects_answer
        publish = verdict.accepted or answer_follows
        self.ledger.append(
            envelope,
            Event.VALIDATED if verdict.accepted else Event.REJECTED,
            detail={
                "stage": "rules",
                "findings": [asdict(f) for f in verdict.findings],
                "publish": publish,
            },
            description=description,
        )
        status = ACCEPTED if verdict.accepted else REJECTED
        log.info(
            f"message.{status}",
            route=envelope.route,
            rules=[f.rule for f in verdict.findings],
            codes=sorted({f.code for f in verdict.findings}),
        )
        published = self._publish(envelope) if publish else False
        return Receipt(
            message_id=envelope.message_id,
            correlation_id=envelope.correlation_id,
            route=envelope.route,
            status=status,
            published=published,
            message_type=str(message_type),
            findings=verdict.findings,
        )

    def _refuse(
        self, envelope: Envelope, errors: tuple[str, ...], stage: str | None = None
    ) -> Receipt:
        stage = stage or ("schema" if envelope.message_type else "intake")
        detail: dict[str, Any] = {"stage": stage, "errors": list(errors), "publish": False}
        if envelope.direction is Direction.INBOUND and stage != "sender":
            # No business answer (a retour needs a schema-valid heenbericht): the sender is owed
            # a transport-level error, which the counterpart transport sends (issue #6; for
            # iWmo/iJw over GGk a Fo01 with StUF055). A sender refusal is answered at once (403).
            detail["answer"] = "transport-error"
        self.ledger.append(envelope, Event.REJECTED, detail=detail)
        log.info("message.refused", stage=stage, errors=len(errors))
        return Receipt(
            message_id=envelope.message_id,
            correlation_id=envelope.correlation_id,
            route=envelope.route,
            status=REFUSED,
            message_type=str(envelope.message_type) if envelope.message_type else None,
            errors=errors,
            forbidden=stage == "sender",
        )

    def _publish(self, envelope: Envelope) -> bool:
        try:
            self.publish(envelope)
        except PublishError as exc:
            log.error("message.publish_failed", error=str(exc))
            return False
        self.ledger.append(envelope, Event.PUBLISHED)
        return True

    def _receipt_from_history(self, envelope: Envelope, history: list[Entry]) -> Receipt:
        """The same message id again: answer as before, do nothing twice."""
        verdicts = [e for e in history if e.event in (Event.VALIDATED, Event.REJECTED)]
        last = verdicts[-1] if verdicts else None
        if last is None:
            status = REFUSED
        elif last.event is Event.VALIDATED:
            status = ACCEPTED
        else:
            status = REJECTED if last.detail.get("stage") == "rules" else REFUSED
        findings = tuple(Finding(**f) for f in (last.detail.get("findings", []) if last else []))
        return Receipt(
            message_id=envelope.message_id,
            correlation_id=history[0].correlation_id,
            route=history[-1].route,
            status=status,
            published=any(e.event is Event.PUBLISHED for e in history),
            message_type=(
                str(MessageType(last.standard, last.code, last.version))
                if last and last.standard
                else None
            ),
            errors=tuple(last.detail.get("errors", [])) if last else (),
            findings=findings,
            duplicate=True,
            forbidden=bool(last and last.detail.get("stage") == "sender"),
        )


def _not_yours(envelope: Envelope, sender: str) -> str:
    allowed = ", ".join(sorted(envelope.may_send_as or ())) or "none"
    return (
        f"the message's sender (Afzender) is {sender or '(empty)'}, but it was handed in by "
        f"{envelope.identity or 'an identity'} who may send only as: {allowed}"
    )


def envelope_from_ledger(ledger: Ledger, message_id: str) -> Envelope:
    """Rebuild a recorded message's envelope (for republishing and replay)."""
    history = ledger.history(message_id)
    if not history:
        raise KeyError(message_id)
    received = history[0]
    carrying = [
        e for e in history if e.payload_sha256 and e.event in (Event.RECEIVED, Event.MAPPED)
    ]
    body = ledger.payload(carrying[-1].payload_sha256) if carrying else None  # type: ignore[arg-type]
    typed = [e for e in history if e.standard]
    message_type = (
        MessageType(typed[-1].standard, typed[-1].code, typed[-1].version) if typed else None
    )
    return Envelope(
        body=body or b"",
        direction=Direction(received.detail.get("direction", Direction.OUTBOUND.value)),
        message_id=message_id,
        correlation_id=received.correlation_id,
        content_type="application/xml" if message_type else received.detail.get("content_type", ""),
        message_type=message_type,
        source=received.detail.get("source", ""),
        parent_id=received.detail.get("parent_id"),
    )
