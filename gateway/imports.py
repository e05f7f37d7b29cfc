"""Import: messages exchanged before Ketenpoort, recorded so that rules reading earlier messages
know them.

On the day a municipality goes live, providers start, stop and declare against toewijzingen that
were sent years before, through another system. Rules that read the ledger (a declaratie must
refer to an existing ToewijzingNummer, a start to an existing toewijzing, ...) would reject all
of those. Importing the earlier messages once closes that gap.

Each message is parsed safely, identified, checked against our XSD and described by its adapter
(parties, business keys); it is then recorded as ``received`` (the bytes) and ``imported`` (the
keys). Nothing is published, delivered or answered: these messages were exchanged, and answered,
long ago. Their rules are not run, for the same reason (an old toewijzing judged by today's
state would fail rules it passed when it was sent). The status ``imported`` is settled: no
deadline, no dashboard failure.

The message id is derived from the bytes, so importing the same file twice records it once. A
file that is not a message we speak, or not valid against our XSD, is refused with the reason and
not recorded (it is not traffic; it is a bad export).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

from gateway.adapter import Registry, Unidentified
from gateway.description import Table
from gateway.door import ANYONE, envelope_for
from gateway.envelope import Direction
from gateway.identify import identify, identify_bytes
from gateway.ledger import AlreadyReceived, Event, Ledger, Record, domain
from gateway.logs import get_logger, message_context
from gateway.receive import STREAM_ABOVE
from gateway.validate import SchemaCache, validate_schema, validate_stream
from gateway.xmlsafe import XmlRejected, parse

log = get_logger(__name__)

IMPORTED = "imported"  # recorded now
ALREADY = "already"  # the same bytes were imported (or received) before: nothing recorded
REFUSED = "refused"  # not recorded; ``errors`` say why

# A group recorded in one transaction holds at most this many bytes of messages.
_GROUP_BYTES = 32 * 1024 * 1024

# Message ids of imports: a UUID made from the bytes' SHA-256 (same bytes, same id).
_NAMESPACE = uuid.UUID("6f1c3a5e-2d0b-4c8e-9a57-1e3f0b7d9c21")


@dataclass(frozen=True)
class Imported:
    """What happened to one imported message."""

    name: str  # what the caller called it (a file name); never logged
    status: str
    message_id: str
    message_type: str | None = None
    direction: str | None = None
    errors: tuple[str, ...] = ()


class _Nothing:
    """No earlier messages: the streaming reader runs the rules too, and they are not wanted."""

    def find(self, key: str, value: str) -> Sequence[Any]:
        return ()

    def history(self, message_id: str) -> Sequence[Any]:
        return ()

    def payload(self, sha256: str) -> bytes | None:
        return None

    def domain_rows(self, table: Table, column: str, values: Sequence[str]) -> Sequence[Any]:
        return ()

    def personal(self, value: str) -> str:
        return ""


def import_id(body: bytes) -> str:
    """The message id an import of ``body`` gets."""
    return str(uuid.uuid5(_NAMESPACE, hashlib.sha256(body).hexdigest()))


def import_messages(
    ledger: Ledger,
    registry: Registry,
    schemas: SchemaCache,
    messages: Iterable[tuple[str, bytes]],
    ours: frozenset[str],
    max_bytes: int,
    batch: int = 200,
) -> Iterator[Imported]:
    """Record each ``(name, bytes)`` as an imported message; yields what happened to each, in
    order.

    ``ours``: the party codes of this installation (a gemeentecode, an AGB code). A message sent
    by one of them is recorded as outbound, any other as inbound. Up to ``batch`` messages are
    recorded in one transaction (a region's history is a million messages).
    """
    # Every domain table is made before the first message (filled first if the ledger holds
    # messages from before it): a table that no imported message wrote is then not "new" to
    # the gateway that starts on this ledger later, which would refill them all.
    domain.prepare(ledger, registry.tabulating())
    # One thread writes a group while this one checks the next (the database's commit waits
    # while the parser works); groups are written one after the other, in order.
    with ThreadPoolExecutor(1, thread_name_prefix="import-writer") as writer:
        pending: Future[list[Imported]] | None = None
        for group in _groups(registry, schemas, messages, ours, max_bytes, batch):
            written = writer.submit(_record, ledger, group)
            if pending is not None:
                yield from pending.result()
            pending = written
        if pending is not None:
            yield from pending.result()


def _groups(
    registry: Registry,
    schemas: SchemaCache,
    messages: Iterable[tuple[str, bytes]],
    ours: frozenset[str],
    max_bytes: int,
    batch: int,
) -> Iterator[list[tuple[Imported, list[Record]]]]:
    """The messages checked, in groups of at most ``batch`` messages and ``_GROUP_BYTES``."""
    group: list[tuple[Imported, list[Record]]] = []
    size = 0
    for name, body in messages:
        group.append(_check_one(registry, schemas, name, body, ours, max_bytes))
        size += len(body)
        if len(group) >= batch or size >= _GROUP_BYTES:
            yield group
            group, size = [], 0
    if group:
        yield group


def _record(ledger: Ledger, group: list[tuple[Imported, list[Record]]]) -> list[Imported]:
    """Record a checked group in one transaction; what was recorded before is ``already``."""
    wanted = [found.message_id for found, records in group if records]
    known = set(ledger.histories(wanted)) if wanted else set()
    results: list[Imported] = []
    records: list[Record] = []
    for found, recs in group:
        if recs and found.message_id in known:  # recorded before, or earlier in this group
            found = Imported(found.name, ALREADY, *_rest(found))
        elif recs:
            known.add(found.message_id)
            records += recs
        results.append(found)
    try:
        ledger.append_many(records)
    except AlreadyReceived:  # another import of some of these bytes at this moment: one by one
        results = [_record_one(ledger, found, recs) for found, recs in group]
    for found, (_, recs) in zip(results, group, strict=True):
        if found.status == IMPORTED:
            envelope = recs[0].envelope
            with message_context(found.message_id, envelope.route, envelope.correlation_id):
                log.info("message.imported")
    return results


def _rest(found: Imported) -> tuple[str, str | None, str | None]:
    return found.message_id, found.message_type, found.direction


def _record_one(ledger: Ledger, found: Imported, records: list[Record]) -> Imported:
    if not records:
        return found
    if ledger.history(found.message_id):
        return Imported(found.name, ALREADY, *_rest(found))
    try:
        ledger.append_many(records)
    except AlreadyReceived:
        return Imported(found.name, ALREADY, *_rest(found))
    return found


def _check_one(
    registry: Registry,
    schemas: SchemaCache,
    name: str,
    body: bytes,
    ours: frozenset[str],
    max_bytes: int,
) -> tuple[Imported, list[Record]]:
    """What importing one message would be, and the entries that record it (none: refused)."""
    message_id = import_id(body)
    try:
        doc = None
        if len(body) > STREAM_ABOVE:
            adapter, message_type = identify_bytes(body, registry, max_bytes)
            tag = adapter.record_tag(message_type)
        else:
            doc, tag = parse(body, max_bytes), None
            adapter, message_type = identify(doc, registry)
        if tag is not None:  # a large declaratie: read record by record, never one tree
            verdict, description = validate_stream(
                body, message_type, adapter, schemas, _Nothing(), max_bytes, tag
            )
            errors = verdict.schema_errors
        else:
            doc = doc or parse(body, max_bytes)
            errors = validate_schema(doc, message_type, adapter, schemas)
            description = None if errors else adapter.describe(doc, message_type)
    except (XmlRejected, Unidentified) as exc:
        return Imported(name, REFUSED, message_id, errors=(str(exc),)), []
    if errors or description is None:
        return Imported(name, REFUSED, message_id, str(message_type), errors=errors), []
    direction = Direction.OUTBOUND if description.sender in ours else Direction.INBOUND
    # Made as at every door; recorded here, not through receive: an import is settled, nothing
    # publishes, delivers or watches it.
    taken = envelope_for("import", body, direction, who=ANYONE, message_id=message_id)
    envelope = replace(taken, message_type=message_type)
    found = Imported(name, IMPORTED, message_id, str(message_type), direction.value)
    detail = {"direction": direction.value, "source": "import", "size": len(body)}
    return found, [
        Record(envelope, Event.RECEIVED, detail=detail, payload=body),
        Record(envelope, Event.IMPORTED, detail={"stage": "import"}, description=description),
    ]
