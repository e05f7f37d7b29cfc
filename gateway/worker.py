"""The worker: the consuming half of a message's path.

consume -> read the message's history from the ledger -> adapter.outgoing -> transport delivers
-> record ``delivered`` -> derivers (adapters with ``derive``) make follow-up messages, which enter
``receive`` as outbound messages -> for a received heenbericht, adapter.answer makes the
retourbericht, which enters the gateway like any outbound message (receive) -> record
``retour-sent`` -> ack.

Each step first asks the ledger whether it already happened, so a redelivered message (after a
crash or a broker restart) is never delivered or answered twice. The worker acts only on the
message the ledger holds under the id (its verdict, and the bytes, direction and type recorded):
anything else on a work queue (:class:`NotRecorded`, or what cannot be read into an envelope) is
parked as it is and recorded by the parking recorder, never delivered or answered. Retours and
follow-ups get message ids derived from their parent's id, so even one made twice is one message.

A batch (:meth:`Worker.process_many`, what the consumer has at hand) takes the same steps per
message with one ledger read for all histories, deliveries per message (a transport with
``deliver_many`` gets its share at once: the outbox writes the files, then makes them durable
together), the ``delivered`` entries in one transaction, follow-ups and retours, the
``retour-sent`` entries in one transaction. A message that fails fails alone: the others' outcomes
are recorded and acked as usual.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pika

from gateway.adapter import (
    BACKOFFICE,
    DeliversMany,
    Delivery,
    Description,
    Finding,
    Handover,
    Registry,
    Standard,
    Transport,
)
from gateway.bus.failures import Permanent, Retryable, Stranger
from gateway.bus.redelivery import call_outbound
from gateway.bus.wire import Unreadable, from_amqp
from gateway.door import GATEWAY, envelope_for
from gateway.envelope import Direction, Envelope
from gateway.ledger import Entry, Event, Ledger, Record
from gateway.ledger.history import read_history
from gateway.logs import get_logger, message_context
from gateway.receive import ACCEPTED, STREAM_ABOVE, Receiver
from gateway.xmlsafe import XmlRejected, parse, parse_skeleton

log = get_logger(__name__)

_RETOUR_NAMESPACE = uuid.UUID("6f1c2b52-3f7e-4c55-9a0e-4b6e7a1d2c10")
_FOLLOW_UP_NAMESPACE = uuid.UUID("0b8e3c4e-6d0a-4f55-8d1c-2f4b9a6e7c31")


def retour_id(heenbericht_id: str) -> str:
    return str(uuid.uuid5(_RETOUR_NAMESPACE, heenbericht_id))


def follow_up_id(parent_id: str, name: str) -> str:
    """The message id of a derived message: the same follow-up derived twice is one message."""
    return str(uuid.uuid5(_FOLLOW_UP_NAMESPACE, f"{parent_id}/{name}"))


def _ours(body: bytes, message_id: str, parent: Envelope) -> Envelope:
    """A message the gateway makes from ``parent`` (its retour, a follow-up), received as an
    outbound message in ``parent``'s conversation."""
    return envelope_for(
        "gateway",
        body,
        Direction.OUTBOUND,
        who=GATEWAY,
        message_id=message_id,
        correlation_id=parent.correlation_id,
        parent_id=parent.message_id,
    )


class Worker:
    def __init__(
        self,
        registry: Registry,
        ledger: Ledger,
        receiver: Receiver,
        backoffice: Transport,
        max_bytes: int,
        stream_above: int = STREAM_ABOVE,
    ) -> None:
        self.registry = registry
        self.ledger = ledger
        self.receiver = receiver
        self.backoffice = backoffice
        self.max_bytes = max_bytes
        self.stream_above = stream_above

    # bus Handler --------------------------------------------------------------------------

    def handle(self, properties: pika.BasicProperties, body: bytes) -> None:
        envelope = from_amqp(properties, body)
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            self.process(envelope)

    def handle_many(
        self, deliveries: Sequence[tuple[pika.BasicProperties, bytes]]
    ) -> list[Exception | None]:
        envelopes: list[Envelope | Exception] = []
        for properties, body in deliveries:
            try:
                envelopes.append(from_amqp(properties, body))
            except Unreadable as exc:
                envelopes.append(exc)
        wanted = [e for e in envelopes if isinstance(e, Envelope)]
        outcomes = iter(self.process_many(wanted))
        return [e if isinstance(e, Exception) else next(outcomes) for e in envelopes]

    # the steps ----------------------------------------------------------------------------

    def process(self, envelope: Envelope) -> None:
        error = self.process_many([envelope])[0]
        if error is not None:
            raise error

    def process_many(self, envelopes: Sequence[Envelope]) -> list[Exception | None]:
        """Process a batch; per envelope None (its outcome is recorded) or its failure."""
        jobs: list[_Job] = []
        later: list[int] = []  # a second copy of a message id waits for the first's outcome
        seen: set[str] = set()
        for index, envelope in enumerate(envelopes):
            if envelope.message_id in seen:
                later.append(index)
            else:
                seen.add(envelope.message_id)
                jobs.append(_Job(envelope))
        try:
            # Claimed first, then read: what the history says is done stays true until the
            # claim ends, whatever copies of the message other workers hold at this moment.
            with self.ledger.claim([job.envelope.message_id for job in jobs]) as mine:
                for job in jobs:
                    if job.envelope.message_id not in mine:
                        job.error = HandledElsewhere(
                            "another worker is handing this message over at this moment"
                        )
                self._handle([job for job in jobs if job.error is None])
        except Exception as exc:  # the claim could not be made (the database is away)
            for job in jobs:
                if job.error is None and job.handover is None and job.retour is None:
                    job.error = exc
        outcomes: list[Exception | None] = [job.error for job in jobs]
        if len(jobs) > 1:  # the per-message lines of a batch are at debug level
            log.info(
                "worker.batch",
                messages=len(jobs),
                delivered=sum(j.error is None and j.handover is not None for j in jobs),
                retours=sum(j.error is None and j.retour is not None for j in jobs),
                failed=sum(j.error is not None for j in jobs),
            )
        if later:
            again = iter(self.process_many([envelopes[i] for i in later]))
            firsts = iter(outcomes)
            outcomes = [next(again) if i in later else next(firsts) for i in range(len(envelopes))]
        return outcomes

    def _handle(self, jobs: list[_Job]) -> None:
        """The claimed messages: their histories, then plan, deliver, follow-ups, retours."""
        if not jobs:
            return
        try:
            histories = self.ledger.histories([job.envelope.message_id for job in jobs])
        except Exception as exc:
            for job in jobs:
                job.error = exc
            return
        for job in jobs:
            self._step(job, self._plan, job, histories.get(job.envelope.message_id, []))
        self._deliver(jobs)
        for job in jobs:
            if job.validated:
                self._step(job, self._follow_ups, job.envelope, job.doc)
        self._answer(jobs)

    def _step(self, job: _Job, step: Callable[..., None], *args: Any) -> None:
        """Run one step of a message unless it already failed; a failure stays its own."""
        if job.error is not None:
            return
        envelope = job.envelope
        with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
            try:
                step(*args)
            except Exception as exc:
                job.error = exc

    def _plan(self, job: _Job, history: list[Entry]) -> None:
        """From the history: what is still to do; parse the body; what to deliver where."""
        envelope = job.envelope
        recorded = read_history(history) if history else None
        verdict = recorded.verdict if recorded else None
        if recorded is None or verdict is None:
            raise NotRecorded("no message with a verdict is recorded under its id")
        if not recorded.holds(envelope):
            raise NotRecorded(
                "not the message recorded under its id (its body, direction or type differ)"
            )
        if not verdict.publish:
            return  # refused, or rejected with nothing to answer: recorded so, nothing to do
        assert envelope.message_type is not None
        job.findings = [Finding(**f) for f in verdict.findings]
        job.adapter = adapter = self.registry.for_standard(envelope.message_type.standard)
        tag = adapter.record_tag(envelope.message_type)
        try:
            if tag is not None and len(envelope.body) > self.stream_above:
                # A large declaratie: delivery and answer need its header only, not one tree.
                job.doc = parse_skeleton(envelope.body, self.max_bytes, tag)
            else:
                job.doc = parse(envelope.body, self.max_bytes)
        except XmlRejected as exc:
            raise Permanent(f"body on the bus is not the recorded XML: {exc}") from exc
        # What was done since an operator last replayed it (a replay means: do it again).
        job.validated = verdict.accepted
        if job.validated and not recorded.delivered:
            job.delivery = adapter.outgoing(envelope, job.doc)
            # The outbox takes what goes to the back-office, and to a party no channel reaches.
            to = job.delivery.to
            job.transport = (None if to == BACKOFFICE else adapter.transport(to)) or self.backoffice
        job.answer_due = envelope.direction is Direction.INBOUND and not recorded.retour_sent

    def _deliver(self, jobs: list[_Job]) -> None:
        """Deliver (a transport with ``deliver_many`` gets its share at once), then record
        every ``delivered`` in one transaction."""
        due = [job for job in jobs if job.error is None and job.delivery is not None]
        by_transport: dict[int, list[_Job]] = {}
        for job in due:
            by_transport.setdefault(id(job.transport), []).append(job)
        for group in by_transport.values():
            transport = group[0].transport
            if isinstance(transport, DeliversMany) and len(group) > 1:
                try:
                    handed = list(transport.deliver_many([(j.envelope, j.delivery) for j in group]))
                except Exception as exc:
                    handed = [exc for _ in group]
                for job, result in zip(group, handed, strict=True):
                    if isinstance(result, Exception):
                        # tried once together; now alone, with the usual retries in process
                        self._step(job, self._deliver_one, job)
                    else:
                        job.handover = result if isinstance(result, Handover) else Handover(result)
            else:
                for job in group:
                    self._step(job, self._deliver_one, job)
        records = []
        for job in due:
            if job.error is None and job.handover is not None:
                assert job.delivery is not None
                handover = job.handover
                records.append(
                    (
                        job,
                        Record(
                            job.envelope,
                            Event.DELIVERED,
                            detail={
                                **handover.detail,
                                "to": job.delivery.to,
                                "reference": handover.reference,
                            },
                            # keys only: an empty sender/receiver leaves the parties as they are
                            description=(
                                Description("", "", handover.keys) if handover.keys else None
                            ),
                        ),
                    )
                )
        self._record(records)
        for job, _ in records:
            if job.error is None:
                with message_context(
                    job.envelope.message_id, job.envelope.route, job.envelope.correlation_id
                ):
                    (log.info if len(jobs) == 1 else log.debug)(
                        "message.delivered", to=job.delivery.to if job.delivery else None
                    )

    def _deliver_one(self, job: _Job) -> None:
        transport, delivery, envelope = job.transport, job.delivery, job.envelope
        assert transport is not None and delivery is not None
        handed = call_outbound(lambda: transport.deliver(envelope, delivery))
        job.handover = handed if isinstance(handed, Handover) else Handover(handed)

    def _record(self, records: list[tuple[_Job, Record]]) -> None:
        """Append in one transaction; if that fails, each message's entry alone (one that
        cannot be recorded fails alone)."""
        records = [(job, record) for job, record in records if job.error is None]
        if not records:
            return
        try:
            self.ledger.append_many([record for _, record in records])
        except Exception as exc:
            if len(records) == 1:
                records[0][0].error = exc
                return
            for item in records:
                self._record([item])

    def _answer(self, jobs: list[_Job]) -> None:
        """Retours for received heenberichten: made, received as outbound messages (together),
        then ``retour-sent`` recorded for all in one transaction."""
        made: list[tuple[_Job, Envelope]] = []
        for job in jobs:
            if job.error is None and job.answer_due:
                self._step(job, self._make_retour, job, made)
        if not made:
            return
        receipts = self.receiver.receive_many([retour for _, retour in made])
        records = []
        for (job, retour), receipt in zip(made, receipts, strict=True):
            if isinstance(receipt, Exception):
                job.error = receipt
            elif receipt.status != ACCEPTED:
                job.error = Permanent(f"the retour we made is not valid: {receipt.errors}")
            else:
                # what the retour carries, as sent (a heenbericht fully approved: none)
                detail = {"retour_id": retour.message_id, "codes": list(job.answer_codes)}
                records.append((job, Record(job.envelope, Event.RETOUR_SENT, detail=detail)))
        self._record(records)
        for job, retour in made:
            if job.error is None:
                job.retour = retour.message_id
                with message_context(
                    job.envelope.message_id, job.envelope.route, job.envelope.correlation_id
                ):
                    (log.info if len(jobs) == 1 else log.debug)(
                        "message.retour_sent", retour_id=retour.message_id
                    )

    def _make_retour(self, job: _Job, made: list[tuple[_Job, Envelope]]) -> None:
        assert job.adapter is not None
        answer = job.adapter.answer(job.envelope, job.doc, job.findings)
        if answer is not None:
            job.answer_codes = answer.codes
            made.append(
                (
                    job,
                    _ours(answer.body, retour_id(job.envelope.message_id), job.envelope),
                )
            )

    def _follow_ups(self, envelope: Envelope, doc: Any) -> None:
        """Messages the derivers make from this one, each received as an outbound message.

        Follow-up ids come from the parent id and the follow-up's name, so a redelivered parent
        derives the same messages again and ``receive`` finds them already recorded. A follow-up
        that is refused or rejected is recorded as such on itself; the parent stays delivered.
        """
        for deriver in self.registry.derivers():
            derived = [
                _ours(
                    follow_up.body,
                    follow_up.message_id or follow_up_id(envelope.message_id, follow_up.name),
                    envelope,
                )
                for follow_up in deriver.derive(envelope, doc, self.ledger)
            ]
            if not derived:
                continue
            for made, receipt in zip(derived, self.receiver.receive_many(derived), strict=True):
                if isinstance(receipt, Exception):
                    raise receipt
                log.info(
                    "message.follow_up",
                    follow_up=made.message_id,
                    status=receipt.status,
                    route=receipt.route,
                )


class HandledElsewhere(Retryable):
    """Another worker (in this process or another gateway) holds the message's claim: it is
    handing it over now. This copy waits a retry tier; by then the ledger says it is done."""


class NotRecorded(Stranger):
    """The message on the bus is not one the ledger holds under its id (no verdict recorded, or
    other bytes, direction or type): the worker does nothing with it and records nothing; it is
    parked as it is, and the parking recorder records it with its bytes."""


@dataclass
class _Job:
    """One message on its way through a worker batch."""

    envelope: Envelope
    error: Exception | None = None
    adapter: Standard | None = None
    doc: Any = None
    findings: list[Finding] = field(default_factory=list)
    validated: bool = False
    delivery: Delivery | None = None
    transport: Transport | None = None
    handover: Handover | None = None
    answer_due: bool = False
    retour: str | None = None  # the id of the retour made and recorded as sent
    answer_codes: tuple[str, ...] = ()  # the retourcodes that retour carries
