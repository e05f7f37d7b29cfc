"""Receive: the ingress half of a message's path, the same for every ingress.

record raw bytes -> (map back-office JSON) -> parse safely -> identify -> validate (XSD, rules)
-> record the verdict -> publish (confirmed) -> record the publication.

A dry run (``dry_run=True``) takes the same steps up to the verdict, the rules reading the ledger
as for a real send, and then records nothing and publishes nothing: the sender learns which
findings (retourcodes) the message would get before sending it.

A message is in the ledger before anything else happens to it, and before the sender gets an
answer. If the broker cannot be reached the message stays recorded as awaiting publication and
:meth:`Receiver.republish_pending` (run periodically by ``ketenpoort run``) publishes it later.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import threading
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import asdict, dataclass, replace
from typing import Any

from lxml import etree

from gateway.adapter import (
    Description,
    Finding,
    MappingError,
    Mappings,
    Registry,
    Standard,
    Unidentified,
)
from gateway.bus.publisher import PublishError
from gateway.description import Table
from gateway.envelope import Direction, Envelope
from gateway.identify import identify, identify_bytes
from gateway.ledger import AlreadyReceived, Event, Ledger, Record
from gateway.ledger.history import History, read_history
from gateway.logs import get_logger, message_context
from gateway.receipt import ACCEPTED, REFUSED, REJECTED, Receipt
from gateway.validate import SchemaCache, Verdict, name_sources, validate, validate_stream
from gateway.xmlcodec import CodecError
from gateway.xmlsafe import XmlRejected, parse

log = get_logger(__name__)

# Messages larger than this are identified from their first element and, when their adapter
# names a record element (a declaratie's Client), read record by record in flat memory with the
# XSD attached to the parser; smaller ones are parsed whole. Both paths give the same verdicts.
STREAM_ABOVE = 1024 * 1024
# Large messages judged at once by one receiver; the others wait their turn. At month end fifty
# declaraties of 2-25 MB arrive together: judged all at once, every sender waited until nearly
# the last was done (the threads share the interpreter) and every stream's working memory was
# held together; in turns of two (one per core) each is answered once its own is judged.
LARGE_AT_ONCE = 2


@dataclass(frozen=True)
class Incoming:
    """One message for :meth:`Receiver.receive_many`, with what its way in knows about it."""

    envelope: Envelope
    # What the way in knows beyond the bytes (a transport envelope's referentienummer, sender,
    # function); recorded with the ``received`` entry.
    context: Mapping[str, Any] | None = None
    # ``<standard>/<mapping>`` (e.g. ``iwmo/toewijzing``): back-office JSON, mapped first.
    mapping: str | None = None
    # Errors the way in found before identification (:meth:`Receiver.refuse`).
    refused: tuple[str, ...] | None = None


@dataclass
class _Job:
    """One message on its way through a batch."""

    incoming: Incoming
    envelope: Envelope  # as far as known: mapped, then typed
    receipt: Receipt | None = None  # once its verdict is decided (before it is published)
    publish: bool = False
    error: Exception | None = None
    unrecorded: bool = False  # an entry of it could not be recorded: record nothing after it


class _Batch:
    """The entries of a batch not yet recorded, and the ledger as the rules may read it.

    Entries are recorded together (:meth:`flush`, one transaction). Until then a rule reading
    the ledger would not see them: a read that touches a message, business key, payload or
    domain-table value of the batch first records what is waiting, so every message is judged
    as if the ones before it had been received alone (a second message with the same
    BerichtIdentificatie is still a duplicate).
    """

    def __init__(self, ledger: Ledger, single: bool = False, dry_run: bool = False) -> None:
        self.ledger = ledger
        self.single = single  # one message: its lines at info, no batch summary
        self.dry_run = dry_run  # judge only: what waits is never recorded
        self.waiting: list[tuple[_Job, Record]] = []
        self._ids: set[str] = set()
        self._keys: set[tuple[str, str]] = set()
        self._payloads: set[bytes] = set()
        # Per domain table, per column: the values its waiting rows hold (as text).
        self._cells: dict[str, dict[str, set[str]]] = {}

    def add(self, job: _Job, record: Record) -> None:
        self.waiting.append((job, record))
        self._ids.add(record.envelope.message_id)
        if record.payload is not None:
            self._payloads.add(record.payload)
        description = record.description
        if description is not None:
            self._keys.update((k, v) for k, values in description.keys.items() for v in values)
            self._keys.update(("bsn", s) for s in description.subjects)
            for table, rows in description.rows.items():
                if not rows:
                    continue
                cells = self._cells.setdefault(table.name, {c: set() for c in table.columns})
                for row in rows:
                    for column, value in zip(table.columns, row, strict=True):
                        cells[column].add(str(value))

    def flush(self) -> None:
        """Record what is waiting in one transaction; a job whose entries could not be recorded
        gets the error (the others are tried again without it)."""
        waiting, self.waiting = self.waiting, []
        self._ids.clear()
        self._keys.clear()
        self._payloads.clear()
        self._cells.clear()
        if not self.dry_run:
            record_all(self.ledger, waiting)

    # -- the State protocol (gateway.adapter.State) for the rules -----------------------------

    def find(self, key: str, value: str) -> Sequence[Any]:
        if (key, value) in self._keys:
            self.flush()
        return self.ledger.find(key, value)

    def history(self, message_id: str) -> Sequence[Any]:
        if message_id in self._ids:
            self.flush()
        return self.ledger.history(message_id)

    def payload(self, sha256: str) -> bytes | None:
        if any(hashlib.sha256(p).hexdigest() == sha256 for p in self._payloads):
            self.flush()
        return self.ledger.payload(sha256)

    def domain_rows(
        self, table: Table, column: str, values: Sequence[str]
    ) -> Sequence[Mapping[str, Any]]:
        cells = self._cells.get(table.name)
        if cells is not None and (
            column not in table.columns  # a column the ledger fills (seq, sender...): any row
            or any(str(v) in cells[column] for v in values)
        ):
            self.flush()
        return self.ledger.domain_rows(table, column, values)

    def personal(self, value: str) -> str:
        return self.ledger.personal(value)


def _attempt(publish: Callable[[Envelope], None], envelope: Envelope) -> Exception | None:
    try:
        publish(envelope)
    except Exception as exc:
        return exc
    return None


def record_all(ledger: Ledger, owned: list[tuple[_Job, Record]]) -> None:
    """Append the records in one transaction. If that fails, each job's records are tried
    alone, so that one message that cannot be recorded does not fail the rest."""
    owned = [(job, record) for job, record in owned if not job.unrecorded]
    if not owned:
        return
    try:
        ledger.append_many([record for _, record in owned])
        return
    except Exception as exc:
        jobs = list({id(job): job for job, _ in owned}.values())  # in order, each once
        if len(jobs) == 1:
            jobs[0].error, jobs[0].unrecorded = exc, True
            return
    for job in jobs:
        record_all(ledger, [(j, r) for j, r in owned if j is job])


class Receiver:
    def __init__(
        self,
        registry: Registry,
        schemas: SchemaCache,
        ledger: Ledger,
        publish: Callable[[Envelope], None],
        max_bytes: int,
        stream_above: int = STREAM_ABOVE,
        publish_many: Callable[[Sequence[Envelope]], Sequence[Exception | None]] | None = None,
        large_at_once: int = LARGE_AT_ONCE,
    ) -> None:
        self.registry = registry
        self.schemas = schemas
        self.ledger = ledger
        self.publish = publish
        self.publish_many = publish_many
        self.max_bytes = max_bytes
        self.stream_above = stream_above
        self._large_turns = threading.BoundedSemaphore(large_at_once)
        # Messages handed in to this process that could not be recorded (the sender was told
        # so and must send again): ``ketenpoort_not_recorded_total`` in /metrics.
        self.not_recorded = 0
        # ids this receiver recorded but could not publish (the sweeper takes them at once)
        self.unpublished: set[str] = set()
        self._counting = threading.Lock()

    # -- entry points -------------------------------------------------------------------------

    def receive(
        self, envelope: Envelope, context: Mapping[str, Any] | None = None, dry_run: bool = False
    ) -> Receipt:
        """A standard message (XML) from the back-office (outbound) or a counterpart (inbound).

        ``context`` is what the way in knows beyond the bytes (a transport envelope's
        referentienummer, sender, function); it is recorded with the ``received`` entry.
        ``dry_run``: only the verdict, nothing recorded or published (module docstring).
        """
        return self._one(Incoming(envelope, context), dry_run)

    def refuse(
        self,
        envelope: Envelope,
        errors: tuple[str, ...],
        context: Mapping[str, Any] | None = None,
    ) -> Receipt:
        """Record bytes a way in found unacceptable before they could be identified (a transport
        envelope that fails its own schema, a duplicate reference): received, then rejected."""
        return self._one(Incoming(envelope, context, refused=errors))

    def receive_mapped(
        self, envelope: Envelope, standard: str, mapping: str, dry_run: bool = False
    ) -> Receipt:
        """Back-office JSON for ``<standard>/<mapping>`` (e.g. ``iwmo``/``toewijzing``)."""
        return self._one(Incoming(envelope, mapping=f"{standard}/{mapping}"), dry_run)

    def receive_many(
        self, items: Sequence[Envelope | Incoming], dry_run: bool = False
    ) -> list[Receipt | Exception]:
        """Several messages, each taking the same steps as :meth:`receive`, recorded together.

        The ``received`` and verdict entries of the batch are recorded in one transaction,
        before anything is published or answered; the batch is published with confirms kept
        in flight; the ``published`` entries are recorded in one transaction. Each message is
        judged as if the ones before it in the batch had come in alone. Per item the receipt,
        or the exception that kept it from being recorded (nothing of it may be acknowledged
        to its sender then; handing it in again is safe: a message id is taken once). A message
        id received by another process or thread at the same moment is recorded once: the one
        that loses answers from the winner's history (a duplicate), as if it had come later.
        Messages holding a large one (over ``stream_above``) are judged in a large message's
        turn (``LARGE_AT_ONCE``), whichever door they came through; the turn is held while they
        are judged, not while they are recorded or their publish confirmed.
        """
        incoming = [i if isinstance(i, Incoming) else Incoming(i) for i in items]
        large = any(len(i.envelope.body) > self.stream_above for i in incoming)
        turn: AbstractContextManager[Any] = self._large_turns if large else contextlib.nullcontext()
        try:
            earlier = self.ledger.histories([i.envelope.message_id for i in incoming])
        except Exception as exc:
            return self._counted([exc for _ in incoming])
        answered, jobs = _new_jobs(incoming, earlier)
        batch = _Batch(self.ledger, single=len(incoming) == 1, dry_run=dry_run)
        with turn:
            for job in jobs.values():
                envelope = job.envelope
                with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
                    try:
                        self._judge(job, batch)
                    except Exception as exc:  # its received entry is still recorded
                        job.error = exc
        batch.flush()
        if dry_run:  # judged only: nothing was recorded, nothing may be published
            for job in jobs.values():
                job.publish = False
        self._answer_races(jobs.values())
        for job in self._publish_jobs([j for j in jobs.values() if j.error is None and j.publish]):
            assert job.receipt is not None
            job.receipt = replace(job.receipt, published=True)
        done = self._counted(_in_order(incoming, answered, jobs))
        if not batch.single:
            _log_batch(done)
        return done

    def _answer_races(self, jobs: Iterable[_Job]) -> None:
        """A message whose ``received`` the ledger refused (the same id received elsewhere at
        this moment) is answered from the winner's history, as a duplicate."""
        for job in jobs:
            if isinstance(job.error, AlreadyReceived):
                history = read_history(self.ledger.history(job.envelope.message_id))
                job.receipt = _taken_by_another(job.envelope, history) or _duplicate(history)
                job.error, job.publish = None, False

    def _counted(self, results: list[Receipt | Exception]) -> list[Receipt | Exception]:
        """``results``, with those that could not be recorded counted (``not_recorded``)."""
        failed = sum(isinstance(r, Exception) for r in results)
        if failed:
            with self._counting:
                self.not_recorded += failed
        return results

    def republish_pending(self, chunk: int = 500, older_than: float = 0.0) -> int:
        """Publish what was recorded but never confirmed by the broker. Returns how many.

        ``older_than`` (the sweeper's: the publisher's confirm timeout) leaves alone a message
        whose publish may still be waiting for its confirm, in this process or another: only
        what this receiver failed to publish, and what was recorded longer ago than that, is
        published again (a second copy on the bus would be a second delivery to dedupe)."""
        count = 0
        pending = self.ledger.awaiting_publication()
        if older_than > 0:
            old = set(self.ledger.awaiting_publication(older_than))
            with self._counting:
                failed_here = set(self.unpublished)
            pending = [i for i in pending if i in old or i in failed_here]
        for start in range(0, len(pending), chunk):
            histories = self.ledger.histories(pending[start : start + chunk])
            jobs = []
            for message_id in pending[start : start + chunk]:
                envelope = recorded_envelope(self.ledger, read_history(histories[message_id]))
                jobs.append(_Job(Incoming(envelope), envelope))
            done = self._publish_jobs(jobs)
            count += len(done)
            if len(done) < len(jobs):
                break  # broker still away; try again next round
        return count

    # -- steps --------------------------------------------------------------------------------

    def _one(self, item: Incoming, dry_run: bool = False) -> Receipt:
        result = self.receive_many([item], dry_run)[0]
        if isinstance(result, Exception):
            raise result
        return result

    def _judge(self, job: _Job, batch: _Batch) -> None:
        """Everything before publishing: the entries go into ``batch``, the receipt into job."""
        item = job.incoming
        extra = dict(item.context or {})
        if item.mapping is not None:
            extra["mapping"] = item.mapping
        self._record_received(job, batch, extra)
        try:
            if item.refused is not None:
                self._refuse(job, batch, item.refused)
            elif item.mapping is not None:
                if self._map(job, batch, item.mapping):
                    self._check(job, batch)
            else:
                self._check(job, batch)
        except UNREADABLE as exc:  # the sender's bytes broke a parser: refused, with a verdict
            self._refuse(job, batch, (unreadable(exc),))
        except Exception as exc:  # a bug of ours (a rule), a failed ledger read: still a verdict
            if job.unrecorded:  # its received entry could not be recorded: nothing after it
                raise
            log.error("message.not_judged", error=type(exc).__name__, at=_raised_at(exc))
            self._refuse(job, batch, (not_judged(exc),), "internal")

    def _record_received(self, job: _Job, batch: _Batch, extra: dict[str, Any]) -> None:
        envelope = job.envelope
        detail = {
            "direction": envelope.direction.value,
            "source": envelope.source,
            "parent_id": envelope.parent_id,
            "content_type": envelope.content_type,
            "size": len(envelope.body),
            **({"identity": envelope.identity} if envelope.identity else {}),
            **extra,
        }
        batch.add(job, Record(envelope, Event.RECEIVED, detail=detail, payload=envelope.body))
        log.debug("message.received", source=envelope.source, size=len(envelope.body))

    def _map(self, job: _Job, batch: _Batch, mapping: str) -> bool:
        """Back-office JSON to the standard's XML (``mapped``); False when refused."""
        envelope = job.envelope
        standard, _, name = mapping.partition("/")
        try:
            if len(envelope.body) > self.max_bytes:
                raise ValueError(f"message is larger than {self.max_bytes} bytes")
            data = json.loads(envelope.body)
            if not isinstance(data, dict):
                raise MappingError("(document)", "expected a JSON object")
            xml = self.registry.for_standard(standard).map_in(standard, name, data)
        except (ValueError, Unidentified) as exc:
            self._refuse(job, batch, (f"mapping {mapping}: {exc}",))
            return False
        job.envelope = replace(envelope, body=xml, content_type="application/xml")
        batch.add(job, Record(job.envelope, Event.MAPPED, payload=xml))
        return True

    def _check(self, job: _Job, batch: _Batch) -> None:
        envelope = job.envelope
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
            self._refuse(job, batch, (str(exc),))
            return
        typed = replace(envelope, message_type=message_type)
        description: Description | None
        if doc is None:
            assert tag is not None
            try:
                verdict, description = validate_stream(
                    envelope.body, message_type, adapter, self.schemas, batch, self.max_bytes, tag
                )
            except XmlRejected as exc:
                self._refuse(job, batch, (str(exc),))
                return
        else:
            verdict = validate(doc, message_type, adapter, self.schemas, batch)
            description = adapter.describe(doc, message_type) if verdict.schema_valid else None
        job.envelope = envelope = typed
        verdict = self._named(adapter, job.incoming.mapping, verdict)
        if not verdict.schema_valid:
            self._refuse(job, batch, verdict.schema_errors)
            return
        assert description is not None
        if envelope.may_send_as is not None and description.sender not in envelope.may_send_as:
            self._refuse(job, batch, (_not_yours(envelope, description.sender),), "sender")
            return
        answer_follows = envelope.direction is Direction.INBOUND and description.expects_answer
        publish = verdict.accepted or answer_follows
        batch.add(
            job,
            Record(
                envelope,
                Event.VALIDATED if verdict.accepted else Event.REJECTED,
                detail={
                    "stage": "rules",
                    "findings": [asdict(f) for f in verdict.findings],
                    "publish": publish,
                },
                description=description,
            ),
        )
        status = ACCEPTED if verdict.accepted else REJECTED
        # A batch's accepted messages are counted in its one summary line (receive.batch).
        (log.info if status == REJECTED or batch.single else log.debug)(
            f"message.{status}",
            route=envelope.route,
            rules=[f.rule for f in verdict.findings],
            codes=sorted({f.code for f in verdict.findings}),
            **({"dry_run": True} if batch.dry_run else {}),
        )
        job.publish = publish
        job.receipt = Receipt(
            message_id=envelope.message_id,
            correlation_id=envelope.correlation_id,
            route=envelope.route,
            status=status,
            published=False,
            message_type=str(message_type),
            findings=verdict.findings,
        )

    @staticmethod
    def _named(adapter: Standard, mapping: str | None, verdict: Verdict) -> Verdict:
        """The verdict; of a message mapped from back-office JSON, its schema errors and findings
        naming the JSON field each came from, where the adapter can tell (``mapping_source``)."""
        if mapping is None or not isinstance(adapter, Mappings):
            return verdict
        lookup = adapter.mapping_source
        standard, _, name = mapping.partition("/")

        def source(path: str) -> str | None:
            found: str | None = lookup(standard, name, path)
            return found

        return Verdict(
            name_sources(verdict.schema_errors, source),
            tuple(replace(f, source=source(f.path)) for f in verdict.findings),
        )

    def _refuse(
        self, job: _Job, batch: _Batch, errors: tuple[str, ...], stage: str | None = None
    ) -> None:
        envelope = job.envelope
        stage = stage or ("schema" if envelope.message_type else "intake")
        detail: dict[str, Any] = {"stage": stage, "errors": list(errors), "publish": False}
        if stage == "sender":  # which door, under which identity (none: the door speaks for none)
            detail.update(door=envelope.source, identity=envelope.identity)
        if envelope.direction is Direction.INBOUND and stage != "sender":
            # No business answer (a retour needs a schema-valid heenbericht): the sender is owed
            # a transport-level error, which the counterpart transport sends (issue #6; for
            # iWmo/iJw over GGk a Fo01 with StUF055, or StUF058 when judging it failed on our
            # side: stage internal). A sender refusal is answered at once (403).
            detail["answer"] = "transport-error"
        batch.add(job, Record(envelope, Event.REJECTED, detail=detail))
        log.info(
            "message.refused",
            stage=stage,
            errors=len(errors),
            **({"dry_run": True} if batch.dry_run else {}),
        )
        job.receipt = Receipt(
            message_id=envelope.message_id,
            correlation_id=envelope.correlation_id,
            route=envelope.route,
            status=REFUSED,
            message_type=str(envelope.message_type) if envelope.message_type else None,
            errors=errors,
            forbidden=stage == "sender",
            internal=stage == "internal",
        )

    def _publish_jobs(self, jobs: list[_Job]) -> list[_Job]:
        """Publish with confirms in flight, then record ``published`` for the confirmed ones
        (one transaction). One not confirmed stays awaiting publication (the sweeper's)."""
        if not jobs:
            return []
        envelopes = [job.envelope for job in jobs]
        outcomes: Sequence[Exception | None]
        try:
            if self.publish_many is not None:
                outcomes = self.publish_many(envelopes)
            else:
                outcomes = [_attempt(self.publish, envelope) for envelope in envelopes]
        except Exception as exc:
            outcomes = [exc for _ in envelopes]
        confirmed: list[tuple[_Job, Record]] = []
        for job, outcome in zip(jobs, outcomes, strict=True):
            envelope = job.envelope
            if outcome is None:
                confirmed.append((job, Record(envelope, Event.PUBLISHED)))
                continue
            with message_context(envelope.message_id, envelope.route, envelope.correlation_id):
                if not isinstance(outcome, PublishError):
                    job.error = outcome
                    continue
                log.error("message.publish_failed", error=str(outcome))
        record_all(self.ledger, confirmed)
        done = [job for job, _ in confirmed if job.error is None]
        published = {job.envelope.message_id for job in done}
        with self._counting:  # what this process failed to publish: the sweeper's at once
            self.unpublished.difference_update(published)
            self.unpublished.update({j.envelope.message_id for j in jobs} - published)
        return done


def _new_jobs(
    incoming: list[Incoming], earlier: Mapping[str, Sequence[Any]]
) -> tuple[dict[int, Receipt], dict[str, _Job]]:
    """The batch's receipts of ids known before (by position: answered from their histories)
    and a job for each new message id (the first item carrying it)."""
    answered: dict[int, Receipt] = {}
    jobs: dict[str, _Job] = {}
    for index, item in enumerate(incoming):
        envelope = item.envelope
        if envelope.message_id in earlier:  # the same message id again: as before
            history = read_history(earlier[envelope.message_id])
            answered[index] = _taken_by_another(envelope, history) or _duplicate(history)
        elif envelope.message_id not in jobs:
            jobs[envelope.message_id] = _Job(item, envelope)
    return answered, jobs


def _in_order(
    incoming: list[Incoming], answered: dict[int, Receipt], jobs: dict[str, _Job]
) -> list[Receipt | Exception]:
    """Each item's result in the order handed in; a second item with an id of the batch gets
    the first one's receipt as a duplicate."""
    results: list[Receipt | Exception] = []
    for index, item in enumerate(incoming):
        if index in answered:
            results.append(answered[index])
            continue
        job = jobs[item.envelope.message_id]
        result = job.error or job.receipt
        assert result is not None
        if isinstance(result, Receipt) and job.incoming is not item:
            result = replace(result, duplicate=True)  # twice in one batch
        results.append(result)
    return results


def _log_batch(done: list[Receipt | Exception]) -> None:
    receipts = [r for r in done if isinstance(r, Receipt)]
    log.info(
        "receive.batch",
        messages=len(done),
        accepted=sum(r.status == ACCEPTED for r in receipts),
        rejected=sum(r.status == REJECTED for r in receipts),
        refused=sum(r.status == REFUSED for r in receipts),
        duplicates=sum(r.duplicate for r in receipts),
        unpublished=sum(r.status == ACCEPTED and not r.published for r in receipts),
        failed=len(done) - len(receipts),
    )


def _duplicate(history: History) -> Receipt:
    """The same message id again: answer as before, do nothing twice."""
    verdict = history.verdict
    if verdict is None or verdict.refused:
        status = REFUSED
    else:
        status = ACCEPTED if verdict.accepted else REJECTED
    return Receipt(
        message_id=history.message_id,
        correlation_id=history.correlation_id,
        route=history.route,
        status=status,
        published=history.published,
        message_type=str(history.message_type) if history.message_type else None,
        errors=verdict.errors if verdict else (),
        findings=tuple(Finding(**f) for f in verdict.findings) if verdict else (),
        duplicate=True,
        forbidden=bool(verdict and verdict.forbidden),
        internal=bool(verdict and verdict.internal),
    )


# What hostile or broken input makes a parser or a decoder raise (too deeply nested JSON or XML,
# a text node libxml2 will not validate, bytes that are not text, an element its codec does not
# know): the message is refused as unreadable. Any other exception while judging, a ValueError
# of a rule or a ledger read included, is ours: an internal refusal.
UNREADABLE: tuple[type[Exception], ...] = (
    RecursionError,
    etree.Error,
    UnicodeError,
    XmlRejected,
    CodecError,
)


def unreadable(exc: Exception) -> str:
    """Why a message could not be read, naming no value of it (the exception's text might)."""
    if isinstance(exc, RecursionError):
        return "the message is nested too deeply to be read"
    if isinstance(exc, UnicodeError):
        return "the message is not in the character encoding it declares"
    if isinstance(exc, etree.Error):
        return f"the message could not be read or validated ({type(exc).__name__})"
    return f"the message could not be read ({type(exc).__name__})"


def not_judged(exc: Exception) -> str:
    """Why a message was refused when judging it failed on the gateway's side, naming no value
    of it (the exception's text might): the sender may send it again under a new message id."""
    return (
        f"the gateway could not judge this message (internal error {type(exc).__name__}); it "
        "is recorded and was not sent on. Nothing is wrong with it that we know of: send it "
        "again under a new message id, or ask the gateway's operators"
    )


def _raised_at(exc: BaseException) -> str:
    """Where ``exc`` was raised (file and line, for the operators), without its text."""
    frames = traceback.extract_tb(exc.__traceback__)
    return f"{frames[-1].filename}:{frames[-1].lineno}" if frames else ""


def _taken_by_another(envelope: Envelope, history: History) -> Receipt | None:
    """A conflict when the message id was first handed in under another identity: message ids
    are idempotency keys per identity, and one identity never sees another's receipt."""
    first = str(history.entries[0].detail.get("identity", "")) if history.entries else ""
    if first == envelope.identity:
        return None
    log.warning("receive.id_taken", source=envelope.source, identity=envelope.identity)
    return Receipt(
        message_id=envelope.message_id,
        correlation_id=envelope.correlation_id,
        route=envelope.route,
        status=REFUSED,
        errors=("this message id was used before by another sender; choose a new id",),
        conflict=True,
    )


def _not_yours(envelope: Envelope, sender: str) -> str:
    allowed = ", ".join(sorted(envelope.may_send_as or ())) or "none"
    by = envelope.identity or f"the {envelope.source or 'unnamed'} door"
    return (
        f"the message's sender (Afzender) is {sender or '(empty)'}, but it was handed in by "
        f"{by} who may send only as: {allowed}"
    )


def envelope_from_ledger(ledger: Ledger, message_id: str) -> Envelope:
    """A recorded message's envelope, body included (for republishing and replay)."""
    history = ledger.history(message_id)
    if not history:
        raise KeyError(message_id)
    return recorded_envelope(ledger, read_history(history))


def recorded_envelope(ledger: Ledger, history: History) -> Envelope:
    """The envelope of ``history`` with its body read from ``ledger`` (empty when erased)."""
    body = ledger.payload(history.body_sha256) if history.body_sha256 else None
    return history.envelope(body or b"")
