"""Whatever is published onto the gateway's queues, nothing is lost, nothing loops, and an
operator sees it.

A real gateway runs on the real broker and a real ledger (SQLite, and PostgreSQL in a schema of
its own): one worker, the AMQP ingress and the parking recorder. Each example publishes one
drawn message with pika, as a back-office system (to the ingress exchange) or anyone with broker
rights (a work queue, the parking queue) would: message id missing, empty, long, not ASCII, not
UTF-8, with a control character, or the id of an earlier message; odd correlation ids, content
types and reply_to; headers missing or carrying ``x-kp-*`` values of every AMQP type (ints,
bools, bytes that are not UTF-8, nested tables, lists, None, timestamps, decimals), unknown
directions and standards, a standard without code or version, unparseable received-at, odd
attempt, history and ``x-death`` headers; bodies that are valid example messages, empty, not
XML, truncated, huge, beyond the size limit, or XML with a DOCTYPE. For each:

- no exception escapes a gateway thread, and every one of them keeps running;
- within a timeout the message has an outcome an operator can find: its bytes are in the ledger
  (an entry carrying their SHA-256) under its id or the id the gateway gave it, and that message
  is settled (refused, rejected, delivered, answered or parked; parked with a reason) -- or, for
  the ingress, its message id was received before and it is answered as that message;
- every queue is empty again and nothing is left unsettled in the ledger; no failure had to be
  handed back to the broker (``consumer.failure_not_settled``: a redelivery loop);
- the message did not go round: it is recorded ``parked`` at most once;
- what the ingress can read is received (and answered on its reply queue); what it cannot is
  parked, saying so;
- every message recorded delivered has its own file in the outbox;
- no log line holds the personal data in the body.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pika
import psycopg
import pytest
from hypothesis import HealthCheck, Phase, example, given, note
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from gateway.app import Gateway
from gateway.config import Settings
from gateway.ledger import Entry, Event, Query, Status
from gateway.ledger.sql import SqlLedger
from gateway.logs import configure_logging, mask_bsns
from gateway.ops.parking import stranger_id
from gateway.service import Services
from tests.conftest import EXAMPLES, PG_URL, drawn_examples
from tests.messages import wmo301

pytestmark = pytest.mark.integration

MAX_BYTES = 2 * 1024 * 1024  # the test gateway's size limit (the default 25 MB is slow to fill)

# The personal data in the bodies: the examples' clients, and a person the junk bodies name.
PERSONAL = (
    "999990032",
    "999990033",
    "999990019",
    "Proefpersoon",
    "Proeflaan",
    "3011AA",
    "Voorbeeldstraat",
    "1011AB",
    "0201234567",
    "Zwartveld",
)
PERSON = b"Client Zwartveld, BSN 999990032, Proeflaan 7, 3011AA Rotterdam"

_WMO301 = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
BODIES: dict[str, bytes] = {
    "wmo301": _WMO301,
    "wmo301-1": wmo301(1),  # outbound WMO301s of their own (BerichtIdentificatie, toewijzingen)
    "wmo301-2": wmo301(2),
    "wmo301-bsn-fout": (EXAMPLES / "WMO301-bsn-fout.xml").read_bytes(),
    "wmo301-schema-invalid": (EXAMPLES / "WMO301-zonder-producten.xml").read_bytes(),
    "toewijzing-json": (EXAMPLES / "toewijzing.json").read_bytes(),
    "empty": b"",
    "not-xml": PERSON + b"\xff\xfe\x00 not xml",
    "truncated": _WMO301[:1200],
    "doctype-entities": (
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x "' + PERSON + b'">'
        b'<!ENTITY y "&x;&x;&x;&x;&x;&x;&x;&x;">]><a>&y;&y;&y;&y;</a>'
    ),
    "doctype-external": (b'<!DOCTYPE a SYSTEM "file:///etc/passwd"><a>' + PERSON + b"</a>"),
    # beyond STREAM_ABOVE: identified from its first element
    "huge-unknown": b'<Bericht xmlns="urn:other"><x>'
    + PERSON
    + b"</x>"
    + b" " * (1200 * 1024)
    + b"</Bericht>",
    "huge-wmo301": _WMO301.replace(b"<wmo301:Header>", b" " * (1100 * 1024) + b"<wmo301:Header>"),
    "too-large": b"<a>" + PERSON + b"x" * (MAX_BYTES + 10) + b"</a>",
}

# Message ids used more than once across the examples (a duplicate of an earlier message).
POOL = (
    "4b6f0f2e-1c52-4e0b-9d55-000000000001",
    "4b6f0f2e-1c52-4e0b-9d55-000000000002",
    "4b6f0f2e-1c52-4e0b-9d55-000000000003",
)

WORK, INGRESS, PARKING = "work", "ingress", "parking"

# Settled: nothing more happens to the message without an operator (or a retour's answer).
FINAL = frozenset(
    {Status.FAILED, Status.DELIVERED, Status.AWAITING_ANSWER, Status.ANSWERED, Status.PARKED}
)
UNSETTLED = (
    Status.RECEIVED,
    Status.AWAITING_PUBLICATION,
    Status.PUBLISHED,
    Status.RETRYING,
)


@dataclasses.dataclass(frozen=True)
class Drawn:
    """One message to publish: where to, its AMQP properties, and which body."""

    target: str = INGRESS
    body: str = "wmo301"
    message_id: str | bytes | None = None
    correlation_id: str | bytes | None = None
    content_type: str | bytes | None = None
    reply_to: str | None = None  # None, "ours" (the test reads it) or "missing"
    headers: dict[str, Any] | None = None
    queue: int = 0  # which work queue (an index into topology.work_queues())


# -- the strategies ------------------------------------------------------------------------------

NOT_UTF8 = b"\xff\xfe\xc3("
ODD = st.one_of(
    st.integers(-(2**63), 2**63 - 1),
    st.booleans(),
    st.just(NOT_UTF8),
    st.binary(max_size=6),
    st.none(),
    st.just(datetime(2026, 11, 22, 12, 0, tzinfo=UTC)),
    st.just(Decimal("1.5")),
    st.text(max_size=12),
    st.lists(st.integers(0, 3) | st.text(max_size=3) | st.just(NOT_UTF8), max_size=3),
    st.dictionaries(
        st.sampled_from(["a", "reason", "queue", "attempt"]),
        st.integers(0, 3) | st.text(max_size=3) | st.just(NOT_UTF8) | st.none(),
        max_size=3,
    ),
)
TABLE = st.dictionaries(
    st.sampled_from(["attempt", "at", "queue", "error", "reason", "outcome", "count", NOT_UTF8]),
    ODD,
    max_size=4,
)


def _odd_or(*values: Any) -> st.SearchStrategy[Any]:
    return st.sampled_from(values) | ODD


HEADERS: dict[str, st.SearchStrategy[Any]] = {
    "x-kp-direction": _odd_or("outbound", "inbound", "sideways", "", "INBOUND", b"inbound"),
    "x-kp-standard": _odd_or("iwmo", "ijw", "nosuch", ""),
    "x-kp-code": _odd_or("WMO301", "JW301", ""),
    "x-kp-version": _odd_or("3.2", ""),
    "x-kp-source": ODD,
    "x-kp-parent": _odd_or(*POOL),
    "x-kp-received-at": _odd_or("2026-11-22T12:00:00+00:00", "yesterday", ""),
    "x-kp-mapping": _odd_or("iwmo/toewijzing", "iwmo/nosuch", "nosuch", ""),
    "x-kp-attempt": _odd_or(1, 2, 99, -1, 0, "2", "x"),
    "x-kp-history": _odd_or([], "junk") | st.lists(TABLE | ODD, max_size=3),
    "x-death": _odd_or([], "junk")
    | st.lists(
        st.fixed_dictionaries(
            {}, optional={"reason": _odd_or("delivery_limit", "rejected"), "queue": ODD}
        ),
        max_size=2,
    ),
    "x-delivery-count": ODD,
    "x-kp-future": ODD,  # a header a newer gateway might add
}
# What a message of ours carries, for the work and parking queues (then drawn headers over it).
PROPER = {
    "x-kp-direction": "inbound",
    "x-kp-source": "http",
    "x-kp-received-at": "2026-11-22T12:00:00+00:00",
    "x-kp-standard": "iwmo",
    "x-kp-code": "WMO301",
    "x-kp-version": "3.2",
}
OUTBOUND_WMO301 = {**PROPER, "x-kp-direction": "outbound"}

headers = st.one_of(
    st.none(),
    st.fixed_dictionaries({}, optional=HEADERS),
    st.fixed_dictionaries({}, optional=HEADERS).map(lambda h: {**PROPER, **h}),
)

message_ids = st.one_of(
    st.none(),
    st.just(""),
    st.sampled_from(POOL),
    st.uuids().map(str),
    st.just("bericht-é-✓-" + "ü" * 40),
    st.just("é" * 127),  # 254 bytes: as long as AMQP allows
    st.just(b"\xff\xfe-not-utf8"),
    st.just("control\x00char"),
    st.just("line\nbreak"),
)
text_or_bytes = st.one_of(st.none(), st.just(""), st.text(max_size=20), st.just(NOT_UTF8))
drawn = st.builds(
    Drawn,
    target=st.sampled_from([INGRESS, INGRESS, WORK, PARKING]),
    body=st.sampled_from(sorted(BODIES)),
    message_id=message_ids,
    correlation_id=text_or_bytes,
    content_type=st.one_of(
        st.none(),
        st.sampled_from(
            ["application/xml", "application/json; charset=utf-8", "text/plain", "💥", ""]
        ),
        st.just(NOT_UTF8),
    ),
    reply_to=st.sampled_from([None, "ours", "missing"]),
    headers=headers,
    queue=st.integers(0, 3),
)


# -- the running gateway -------------------------------------------------------------------------


@dataclasses.dataclass
class World:
    gateway: Gateway
    services: Services
    channel: Any  # the test's own pika channel (publishing with confirms, reading replies)
    reply_queue: str
    thread_errors: list[BaseException]

    @property
    def ledger(self) -> SqlLedger:
        assert isinstance(self.gateway.ledger, SqlLedger)
        return self.gateway.ledger

    def queues(self) -> list[str]:
        topology = self.gateway.topology
        waits = [topology.wait_queue(t.name) for t in topology.tiers]
        return [topology.ingress, topology.parking, *topology.work_queues(), *waits]

    def ready(self) -> int:
        return sum(
            self.channel.queue_declare(q, passive=True).method.message_count for q in self.queues()
        )

    def unsettled(self) -> list[str]:
        return [
            f"{s.message_id}: {s.status.value}"
            for status in UNSETTLED
            for s in self.ledger.search(Query(status=status))
        ]

    def replies(self) -> list[tuple[pika.BasicProperties, bytes]]:
        out = []
        while True:
            method, properties, body = self.channel.basic_get(self.reply_queue, auto_ack=True)
            if method is None:
                return out
            out.append((properties, body))


@pytest.fixture(params=["sqlite", "postgres"])
def world(request: pytest.FixtureRequest, settings: Settings) -> Iterator[World]:
    """The gateway on the real broker, its ledger in SQLite or (own schema) PostgreSQL."""
    schema = f"kp_fuzz_{uuid.uuid4().hex[:12]}"
    own = dataclasses.replace(
        settings,
        max_message_bytes=MAX_BYTES,
        retry_tiers=("1s",),
        max_attempts=2,
        ops_deadline_interval=3600.0,
        ledger_url=f"{PG_URL}?schema={schema}" if request.param == "postgres" else "",
    )
    gateway = Gateway(own)
    gateway.declare_topology()
    errors: list[BaseException] = []
    hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value or Exception(args.exc_type))
    configure_logging("console", "debug")  # every line the gateway writes is looked at
    connection = pika.BlockingConnection(pika.URLParameters(own.amqp_url))
    try:
        channel = connection.channel()
        channel.confirm_delivery()
        reply_queue = channel.queue_declare("", exclusive=True).method.queue
        services = Services(
            gateway,
            workers=1,
            ingress=True,
            filedrop=False,
            sweeper=False,
            pollers=False,
            operations=True,
        )
        with services:
            yield World(gateway, services, channel, reply_queue, errors)
            # What the last example caused (a retour published after its heenbericht's outcome
            # was seen) is handled before the gateway stops, however slow the machine is.
            drained = time.monotonic() + 30.0
            while any(_broker_counts(own.bus_prefix).values()) and time.monotonic() < drained:
                time.sleep(0.2)
        counts = _broker_counts(own.bus_prefix)
        assert not any(counts.values()), counts  # nothing left, not even unacknowledged
    finally:
        if connection.is_open:
            connection.close()
        configure_logging()
        threading.excepthook = hook
        gateway.close()
        if request.param == "postgres":
            with psycopg.connect(PG_URL, autocommit=True) as conn:
                conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


def _broker_counts(prefix: str) -> dict[str, int]:
    """Messages per queue of ours as the broker counts them: ready and unacknowledged."""
    out = subprocess.run(
        ["rabbitmqctl", "-q", "list_queues", "name", "messages"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    counts = {}
    for line in out.splitlines():
        name, _, count = line.partition("\t")
        if name.startswith(f"{prefix}."):
            counts[name] = int(count)
    return counts


def _publish(world: World, message: Drawn) -> pika.BasicProperties:
    topology = world.gateway.topology
    if message.target == INGRESS:
        exchange, key = topology.ingress, "message"
    elif message.target == PARKING:
        exchange, key = topology.parking, ""
    else:
        queues = topology.work_queues()
        exchange = queues[message.queue % len(queues)]  # each work queue has its own exchange
        key = "iwmo.WMO301"
    reply_to = {"ours": world.reply_queue, "missing": "kp-fuzz-no-such-queue", None: None}
    properties = pika.BasicProperties(
        message_id=message.message_id,  # type: ignore[arg-type]
        correlation_id=message.correlation_id,  # type: ignore[arg-type]
        content_type=message.content_type,  # type: ignore[arg-type]
        reply_to=reply_to[message.reply_to],
        headers=message.headers,
        delivery_mode=pika.DeliveryMode.Persistent,
    )
    world.channel.basic_publish(exchange, key, BODIES[message.body], properties, mandatory=True)
    return properties


def _text(value: object) -> str | None:
    """What a property or header is as text, or None if it is none (independent of wire.py)."""
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            return None
    return value if isinstance(value, str) else None


def _taken_by_ingress(message: Drawn) -> bool:
    """Whether the ingress can read the message's properties: ids printable text (or none),
    ``x-kp-mapping`` text, ``x-kp-direction`` outbound or inbound (or none); the content type
    only informs, whatever it is."""
    headers = message.headers or {}

    def text(value: object) -> bool:
        return value is None or _text(value) is not None

    def ident(value: object) -> bool:  # text of the safe charset (envelope.checked_id), or none
        if value is None:
            return True
        given = _text(value) or "x"
        safe = re.fullmatch(r"[\w:-][\w.:-]{0,127}", given, re.ASCII)
        try:  # no BSN in it, unless it is a UUID (whose digits may look like one)
            no_bsn = mask_bsns(given) == given or str(uuid.UUID(given)) == given.lower()
        except ValueError:
            no_bsn = False
        return text(value) and safe is not None and no_bsn

    direction = headers.get("x-kp-direction")
    return (
        ident(message.message_id)
        and ident(message.correlation_id)
        and text(headers.get("x-kp-mapping"))
        and text(direction)
        and (_text(direction) or "outbound") in ("outbound", "inbound")
    )


def _new(world: World, before: int) -> list[Entry]:
    ledger = world.ledger
    return [e for s in range(before + 1, ledger.tree_size() + 1) if (e := ledger.entry(s))]


def _outcome(
    world: World, message: Drawn, properties: pika.BasicProperties, before: int, *, new: bool
) -> str | None:
    """The id of the settled message holding this one's bytes, if there is one: recorded since
    it was published (``new``), or also under its own id or the id the parking recorder derives
    (the same message recorded before)."""
    body = BODIES[message.body]
    digest = hashlib.sha256(body).hexdigest()
    ids = [e.message_id for e in _new(world, before)]
    if not new:
        own = message.message_id
        ids += [own] if isinstance(own, str) and own.isprintable() and own else []
        ids.append(stranger_id(properties, body))
    ledger = world.ledger
    for message_id in dict.fromkeys(ids):
        state = ledger.state(message_id)
        if state is None or state.status not in FINAL:
            continue
        if any(e.payload_sha256 == digest for e in ledger.history(message_id)):
            return message_id
    return None


def _parked(history: list[Entry]) -> list[Entry]:
    return [e for e in history if e.event is Event.PARKED]


@hypothesis_settings(
    # more for a deeper look: KP_FUZZ_EXAMPLES
    max_examples=int(os.environ.get("KP_FUZZ_EXAMPLES", drawn_examples(25))),
    derandomize=True,
    deadline=None,
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(message=drawn)
# What the gateway got wrong before (each runs on both ledgers):
# a message on parking the ledger did not have (no id, an unknown id) was acked and dropped
@example(message=Drawn(PARKING, "not-xml"))
@example(message=Drawn(PARKING, "wmo301", message_id=POOL[0]))
# the ingress parked a message with an unknown direction, and the parking recorder dropped it
@example(message=Drawn(INGRESS, headers={"x-kp-direction": "sideways"}, reply_to="ours"))
# a header not UTF-8, a standard without code and version, a received-at that is no time: the
# worker's (or the recorder's) reading raised again while settling the failure: the message went
# round to the delivery limit, then round the parking queue for ever
@example(message=Drawn(INGRESS, headers={"x-kp-direction": NOT_UTF8}))
@example(message=Drawn(WORK, headers={"x-kp-standard": "iwmo"}, message_id=POOL[1]))
@example(message=Drawn(WORK, headers={**PROPER, "x-kp-received-at": "-"}, message_id=POOL[1]))
@example(message=Drawn(PARKING, headers={"x-death": [{"reason": NOT_UTF8}]}))
# a failure history holding bytes that are not UTF-8 (a value, a key): the failure could not be
# settled (handed back to the broker, again and again), or not recorded by the parking recorder
@example(message=Drawn(WORK, headers={**PROPER, "x-kp-history": [{"x": NOT_UTF8}]}, message_id="m"))
@example(message=Drawn(PARKING, "wmo301-1", headers={"x-kp-history": [{NOT_UTF8: 1}]}))
# ids not UTF-8 went into the ledger (and a file name) as bytes
@example(message=Drawn(INGRESS, message_id=b"\xff\xfe-not-utf8"))
@example(message=Drawn(INGRESS, correlation_id=NOT_UTF8))
# a NUL in a message id: PostgreSQL refused it, and the parking queue went round for ever
@example(message=Drawn(INGRESS, message_id="control\x00char"))
# two message ids the outbox made one file name: the second was recorded delivered, never written
@example(message=Drawn(INGRESS, "wmo301-1", message_id="bericht-é-1"))
@example(message=Drawn(INGRESS, "wmo301-2", message_id="bericht-ü-1"))
# other bytes under a delivered message's id on a work queue: acked as done, recorded nowhere
@example(message=Drawn(INGRESS, "wmo301-1", message_id=POOL[2], reply_to="ours"))
@example(message=Drawn(WORK, "wmo301-2", message_id=POOL[2], headers=OUTBOUND_WMO301, queue=1))
# (and the ingress answers a refusal, and a resend of a known id, on the reply queue)
@example(message=Drawn(INGRESS, "wmo301-schema-invalid", reply_to="ours"))
@example(message=Drawn(INGRESS, "empty", message_id=POOL[2], reply_to="ours"))
def test_whatever_is_published_ends_in_a_recorded_visible_outcome(
    world: World, message: Drawn, capsys: pytest.CaptureFixture[str], caplog: Any
) -> None:
    note(repr(message))
    caplog.set_level("INFO")
    capsys.readouterr()
    caplog.clear()
    world.replies()
    ledger = world.ledger
    own = message.message_id if isinstance(message.message_id, str) else None
    taken = message.target == INGRESS and _taken_by_ingress(message)
    # A resend of a recorded message id to the ingress is answered as that message: nothing new
    # is recorded (the ingress's idempotency); then only its reply and the broker show it.
    duplicate = taken and bool(own and own.isprintable() and ledger.history(own))
    before = ledger.tree_size()

    properties = _publish(world, message)

    deadline = time.monotonic() + 20.0
    prefix = world.gateway.settings.bus_prefix
    while True:
        assert not world.thread_errors, world.thread_errors
        found = own if duplicate else _outcome(world, message, properties, before, new=taken)
        if found and world.ready() == 0 and not world.unsettled():
            if duplicate or found in {e.message_id for e in _new(world, before)}:
                break
            # Known before (the same message again): only the broker tells when it is gone.
            if not any(_broker_counts(prefix).values()):
                found = _outcome(world, message, properties, before, new=False)
                break
        assert time.monotonic() < deadline, (
            f"no settled outcome: found={found}, ready={world.ready()}, "
            f"unsettled={world.unsettled()}, new entries="
            f"{[(e.message_id, e.event.value, dict(e.detail)) for e in _new(world, before)]}"
        )
        time.sleep(0.05)
    assert found is not None
    new = _new(world, before)
    if duplicate:  # nothing recorded to wait for: the broker says when the message is gone
        while any(_broker_counts(prefix).values()):
            assert time.monotonic() < deadline, _broker_counts(prefix)

    history = ledger.history(found)
    note(f"outcome {found}: {[e.event.value for e in history]}")
    parked = _parked(history)
    if ledger.state(found).status is Status.PARKED:  # type: ignore[union-attr]
        assert parked and str(parked[-1].detail.get("reason", "")).strip(), parked
    if taken:  # the ingress took it: received (or answered as the message it repeats) ...
        assert duplicate or any(
            e.event is Event.RECEIVED and e.detail.get("source") == "amqp" for e in new
        ), [(e.message_id, e.event.value, dict(e.detail)) for e in new]
        if message.reply_to == "ours":  # ... and its receipt went to the reply queue
            replies = world.replies() or _wait_replies(world)
            assert [p.message_id for p, _ in replies] == [found], replies
    elif message.target == INGRESS:  # not readable: parked with its bytes, saying why
        assert parked and "not a message of the ledger" in parked[-1].detail["reason"], history
    # It did not go round: parked once (an identical message again is the same one), and so
    # for what it caused.
    for message_id in {found, *(e.message_id for e in new)}:
        caused = _parked(ledger.history(message_id))
        assert len(caused) <= 1, [dict(e.detail) for e in caused]

    # What was delivered is there: each delivered message has a file of its own.
    delivered = {
        message_id: json.loads(detail)["reference"]
        for message_id, detail in ledger.rows(
            "SELECT message_id, detail FROM entries WHERE event = ?", (Event.DELIVERED.value,)
        )
    }
    assert len(set(delivered.values())) == len(delivered), delivered
    assert all(Path(path).is_file() for path in delivered.values()), delivered

    for thread in world.services._threads:
        assert thread.is_alive(), f"{thread.name} died"
    captured = capsys.readouterr()
    logged = captured.out + captured.err + caplog.text
    assert "failure_not_settled" not in logged  # a failure handed back to the broker: a loop
    for personal in PERSONAL:
        assert personal not in logged, f"{personal!r} in the log"


def _wait_replies(world: World) -> list[tuple[pika.BasicProperties, bytes]]:
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline:
        replies = world.replies()
        if replies:
            return replies
        time.sleep(0.05)
    return []
