"""Deadline monitoring on a real (SQLite) ledger with messages received through the real path;
the alert webhook is a mocked outside counterpart."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import responses

from gateway.adapter import Registry
from gateway.config import Settings, load_settings
from gateway.envelope import Direction, Envelope
from gateway.identify import identify
from gateway.ledger import Event, counts, ledger_from_settings
from gateway.ledger import sql as ledger_sql
from gateway.ledger.sql import SqlLedger
from gateway.ops import overview
from gateway.ops.deadlines import (
    ZONE,
    Alerter,
    Breach,
    Due,
    Late,
    Settled,
    breach_id,
    breaches,
    deadlines_of,
    judged,
    local_date,
)
from gateway.ops.workdays import Calendar
from gateway.receive import Receiver
from gateway.validate import SchemaCache
from gateway.xmlsafe import parse
from tests.busstub import StubBus
from tests.conftest import EXAMPLES
from tests.ledger.conftest import Backend
from tests.ledger.ledger_helpers import description
from tests.ledger.ledger_helpers import message as ledger_message

HOOK = "http://alerts.test/hook"


@dataclasses.dataclass
class World:
    settings: Settings
    registry: Registry
    ledger: SqlLedger
    receiver: Receiver
    published: list[Envelope]

    def send(self, body: bytes, direction: Direction, mapping: str | None = None) -> Envelope:
        envelope = Envelope(body=body, direction=direction)
        if mapping:
            receipt = self.receiver.receive_mapped(envelope, *mapping.split("/"))
        else:
            receipt = self.receiver.receive(envelope)
        assert receipt.published, receipt
        return self.published[-1]

    def record_sent(self, path: Path) -> Envelope:
        """A message recorded as validated and published, described by its adapter."""
        body = path.read_bytes()
        doc = parse(body, 10**7)
        adapter, message_type = identify(doc, self.registry)
        envelope = Envelope(body=body, direction=Direction.OUTBOUND, message_type=message_type)
        self.ledger.append(envelope, Event.RECEIVED, payload=body, detail={"direction": "outbound"})
        self.ledger.append(
            envelope,
            Event.VALIDATED,
            detail={"publish": True},
            description=adapter.describe(doc, message_type),
        )
        self.ledger.append(envelope, Event.PUBLISHED)
        return envelope

    def deliver(self, envelope: Envelope) -> None:
        self.ledger.append(envelope, Event.DELIVERED, detail={"to": "x"})

    def breaches(self, days: float) -> list[tuple[str, str]]:
        now = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
        found = breaches(self.ledger, deadlines_of(self.registry), Calendar(), now=now)
        return sorted((b.rule, b.message_id) for b in found)


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    settings = dataclasses.replace(load_settings(env={}), var_dir=tmp_path / "var")
    registry = Registry.load(settings.adapters, settings)
    ledger = ledger_from_settings(settings)
    bus = StubBus()
    receiver = Receiver(registry, SchemaCache(), ledger, bus, 10**7)
    yield World(settings, registry, ledger, receiver, bus.published)
    ledger.close()


def _toewijzing(world: World) -> Envelope:
    sent = world.send(
        (EXAMPLES / "toewijzing.json").read_bytes(), Direction.OUTBOUND, "iwmo/toewijzing"
    )
    world.deliver(sent)
    return sent


def test_a_heenbericht_without_retour_is_overdue_after_3_werkdagen(world: World) -> None:
    answered = _toewijzing(world)
    waiting = _toewijzing(world)
    adapter = world.registry.for_standard("iwmo")
    retour = adapter.answer(answered, parse(answered.body, 10**7), [])
    assert retour is not None
    world.send(retour.body, Direction.INBOUND)  # the aanbieder's WMO302 (header copied, unswapped)
    assert world.breaches(days=0) == []
    assert world.breaches(days=10) == [("OP090", waiting.message_id)]
    # never before its 3 werkdagen: at most 3 calendar days later it is never overdue
    assert world.breaches(days=2.5) == []


def test_our_own_retour_counts_once_delivered(world: World) -> None:
    heen = world.send((EXAMPLES / "WMO301-ontvangen.xml").read_bytes(), Direction.INBOUND)
    assert world.breaches(days=10) == [("OP090", heen.message_id)]
    adapter = world.registry.for_standard("iwmo")
    made = adapter.answer(heen, parse(heen.body, 10**7), [])
    assert made is not None
    retour = world.send(made.body, Direction.OUTBOUND)
    assert world.breaches(days=10) == [("OP090", heen.message_id)]  # made, not handed over
    world.deliver(retour)
    assert world.breaches(days=10) == []


def _with_dates(body: bytes, element: str, day: dt.date) -> bytes:
    return re.sub(
        rf"<(\w+):{element}>[^<]*<".encode(),
        lambda m: (
            b"<" + m.group(1) + b":" + element.encode() + b">" + day.isoformat().encode() + b"<"
        ),
        body,
    )


def test_a_start_reported_more_than_5_werkdagen_after_the_begindatum(
    world: World, reference: Path
) -> None:
    jw305 = (reference / "jaapjunior-ijw-3.2" / "voorbeeldberichten" / "JW305.xml").read_bytes()
    today = dt.datetime.now(dt.UTC).date()
    late = world.send(
        _with_dates(jw305, "Begindatum", today - dt.timedelta(days=20)), Direction.INBOUND
    )
    on_time = world.send(
        _with_dates(jw305, "Begindatum", today - dt.timedelta(days=1)), Direction.INBOUND
    )
    rules = {r for r, m in world.breaches(days=0) if m in (late.message_id, on_time.message_id)}
    found = [(r, m) for r, m in world.breaches(days=0) if r == "OP271"]
    assert rules == {"OP271"} and found == [("OP271", late.message_id)]


def test_a_start_dated_at_the_end_of_the_calendar_is_no_breach_and_no_error(
    world: World, reference: Path
) -> None:
    """A 305 whose Begindatum is 9999-12-31 (schema-valid; its rules reject it, and an inbound
    heenbericht is still judged for OP271): 5 werkdagen later lies past the calendar. The
    check must go on (no breach can be due then), not fail for every message it looks at."""
    jw305 = (reference / "jaapjunior-ijw-3.2" / "voorbeeldberichten" / "JW305.xml").read_bytes()
    today = dt.datetime.now(dt.UTC).date()
    world.send(_with_dates(jw305, "Begindatum", dt.date(9999, 12, 31)), Direction.INBOUND)
    late = world.send(
        _with_dates(jw305, "Begindatum", today - dt.timedelta(days=20)), Direction.INBOUND
    )
    assert [(r, m) for r, m in world.breaches(days=0) if r == "OP271"] == [
        ("OP271", late.message_id)
    ]


def test_a_declaratie_without_antwoord_after_10_werkdagen(world: World, reference: Path) -> None:
    examples = reference / "jaapjunior-ijw-3.2" / "voorbeeldberichten"
    declaratie = world.send((examples / "JW323.xml").read_bytes(), Direction.INBOUND)
    overdue = [b for b in world.breaches(days=16) if b[0] == "OP090x4"]
    assert overdue == [("OP090x4", declaratie.message_id)]
    assert [b for b in world.breaches(days=4) if b[0] == "OP090x4"] == []
    # The public example 323 breaks TR338/TR314/TR416, so our rules would refuse a 325 for it
    # (TR337 wants an accepted 323): the 325 is recorded as sent without going through them.
    antwoord = world.record_sent(examples / "JW325.xml")
    world.deliver(antwoord)
    assert [b for b in world.breaches(days=16) if b[0] == "OP090x4"] == []


@responses.activate
def test_each_breach_is_alerted_once_in_one_call_and_recorded(world: World) -> None:
    waiting = [_toewijzing(world) for _ in range(3)]
    found = breaches(
        world.ledger,
        deadlines_of(world.registry),
        Calendar(),
        now=dt.datetime.now(dt.UTC) + dt.timedelta(days=10),
    )
    assert len(found) == 3
    responses.post(HOOK, status=503)
    alerter = Alerter(world.ledger, HOOK, batch=2)
    assert alerter.alert(found) == []  # the receiver is down: nothing recorded, tried again later
    # moved: a redirect is not followed (requests would GET the new place and call that sent)
    responses.replace(responses.POST, HOOK, status=302, headers={"Location": f"{HOOK}/moved"})
    responses.get(f"{HOOK}/moved", status=200)
    assert alerter.alert(found) == []
    assert all(c.request.method == "POST" for c in responses.calls)
    responses.replace(responses.POST, HOOK, status=204)
    first = alerter.alert(found)
    second = alerter.alert(found)
    assert alerter.alert(found) == []
    assert len(first) == 2 and len(second) == 1  # at most `batch` per call: no floods
    posted = [json.loads(c.request.body) for c in responses.calls if c.response.status_code == 204]
    assert [p["count"] for p in posted] == [2, 1]
    ids = [b["message_id"] for p in posted for b in p["breaches"]]
    assert sorted(ids) == sorted(w.message_id for w in waiting)
    for message in waiting:
        overdue = [e for e in world.ledger.history(message.message_id) if e.event is Event.OVERDUE]
        assert len(overdue) == 1 and overdue[0].detail["rule"] == "OP090"
        assert world.ledger.state(message.message_id).status.value == "awaiting-answer"  # type: ignore[union-attr]


def test_every_message_in_the_horizon_is_looked_at_not_only_the_newest_page(world: World) -> None:
    """The check reads the messages a page at a time; one that is not among the newest page of
    its code (a busy region sends thousands a week) must not be left out."""
    waiting = [_toewijzing(world) for _ in range(5)]
    adapter = world.registry.for_standard("iwmo")
    for answered in [_toewijzing(world) for _ in range(3)]:  # the newest three are answered
        retour = adapter.answer(answered, parse(answered.body, 10**7), [])
        assert retour is not None
        world.send(retour.body, Direction.INBOUND)
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    rules = deadlines_of(world.registry)
    found = breaches(world.ledger, rules, Calendar(), now=now, page=2)
    assert sorted(b.message_id for b in found) == sorted(w.message_id for w in waiting)


def test_a_monitor_remembers_what_is_settled_and_only_that(world: World) -> None:
    answered, waiting = _toewijzing(world), _toewijzing(world)
    adapter = world.registry.for_standard("iwmo")

    def answer(heen: Envelope) -> None:
        retour = adapter.answer(heen, parse(heen.body, 10**7), [])
        assert retour is not None
        world.send(retour.body, Direction.INBOUND)

    answer(answered)
    rules, now = deadlines_of(world.registry), dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    settled: Settled = {}
    first = breaches(world.ledger, rules, Calendar(), now=now, settled=settled)
    assert [b.message_id for b in first] == [waiting.message_id]
    assert (answered.message_id, "OP090") in settled  # answered: never looked at again
    assert (waiting.message_id, "OP090") not in settled  # a breach can still be answered
    answer(waiting)
    assert breaches(world.ledger, rules, Calendar(), now=now, settled=settled) == []
    assert (waiting.message_id, "OP090") in settled
    # out of the horizon, forgotten
    much_later = now + dt.timedelta(days=200)
    assert breaches(world.ledger, rules, Calendar(), now=much_later, settled=settled) == []
    assert settled == {}


@responses.activate
def test_two_monitors_by_mistake_alert_a_breach_once(backend: Backend) -> None:
    """Two processes each running the monitor (two ledger connections, both backends): while
    one is alerting the other skips, and afterwards the breach is not new to it."""
    first, second = backend.open(), backend.open()
    heen = ledger_message()
    first.append(heen, Event.RECEIVED, payload=b"<heen/>")
    first.append(heen, Event.VALIDATED, description=description(expects_answer=True))
    breach = Breach(
        breach_id("x", "OP090"), "OP090", "retour within 3 werkdagen", "answer",
        heen.message_id, "WMO301", "inbound.iwmo.WMO301", "0363", "12345678", "", "",
    )  # fmt: skip
    inside, release = threading.Event(), threading.Event()

    def slow_receiver(request: object) -> tuple[int, dict[str, str], str]:
        inside.set()
        release.wait(10)
        return 204, {}, ""

    responses.add_callback(responses.POST, HOOK, callback=slow_receiver)
    alerted: list[list[Breach]] = []
    one = threading.Thread(target=lambda: alerted.append(Alerter(first, HOOK).alert([breach])))
    one.start()
    assert inside.wait(10)
    assert Alerter(second, HOOK).alert([breach]) == []  # the other monitor is alerting
    release.set()
    one.join(10)
    assert alerted == [[breach]]
    assert Alerter(second, HOOK).alert([breach]) == []  # recorded by the first: not new
    assert len(responses.calls) == 1
    overdue = [e for e in second.history(heen.message_id) if e.event is Event.OVERDUE]
    assert len(overdue) == 1


def test_an_answer_after_its_due_date_is_recorded_once_and_counted_late(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two toewijzingen delivered ten days ago: one answered then (in time), one answered now
    (after its 3 werkdagen). The monitor records the late one once (``answered-late`` on the
    heenbericht); the overview's counts hold it under the heenbericht's route and counterpart,
    and the counts rebuilt from the entries agree."""
    adapter = world.registry.for_standard("iwmo")

    def answer(heen: Envelope) -> None:
        retour = adapter.answer(heen, parse(heen.body, 10**7), [])
        assert retour is not None
        world.send(retour.body, Direction.INBOUND)

    then = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
    monkeypatch.setattr(ledger_sql, "now", lambda: then.isoformat(timespec="microseconds"))
    in_time, late = _toewijzing(world), _toewijzing(world)
    answer(in_time)
    monkeypatch.undo()
    answer(late)

    rules, settled = deadlines_of(world.registry), {}  # type: ignore[var-annotated]
    found = judged(world.ledger, rules, Calendar(), settled=settled)
    [one] = [f for f in found if f.message_id in (in_time.message_id, late.message_id)]
    assert isinstance(one, Late) and one.message_id == late.message_id and one.rule == "OP090"
    assert dt.date.fromisoformat(one.due) < dt.date.today() <= local_date(one.answered)
    assert breaches(world.ledger, rules, Calendar()) == []  # closed: no open breach
    assert settled[late.message_id, "OP090"][1] == one  # it cannot change: not asked again

    alerter = Alerter(world.ledger)
    alerter.alert([], [one])
    Alerter(world.ledger).alert([], [one])  # another monitor (a restart): not again
    recorded = [e for e in world.ledger.history(late.message_id) if e.event is Event.ANSWERED_LATE]
    assert len(recorded) == 1 and recorded[0].detail["rule"] == "OP090"
    assert world.ledger.state(late.message_id).status.value == "answered"  # type: ignore[union-attr]

    state = world.ledger.state(late.message_id)
    assert state is not None
    hour = recorded[0].at[:13]
    stored = counts.stored(world.ledger)
    assert stored["hour", hour, state.route, state.receiver, "late"] == 1
    assert stored["total", hour, "", "", "late"] == 1
    assert sum(n for k, n in stored.items() if k[0] == "day" and k[4] == "late") == 1
    assert counts.rebuilt(world.ledger).problems(world.ledger) == []
    shown = overview.read(world.ledger, lambda: [], lambda: None)
    [row] = [r for r in shown.pairs if r.route == state.route]
    assert (row.counterpart, row.counts.hour.late, row.counts.week.late) == (state.receiver, 1, 1)


def test_on_its_last_day_an_unanswered_heenbericht_is_due_today(world: World) -> None:
    answered, waiting = _toewijzing(world), _toewijzing(world)
    adapter = world.registry.for_standard("iwmo")
    retour = adapter.answer(answered, parse(answered.body, 10**7), [])
    assert retour is not None
    world.send(retour.body, Direction.INBOUND)
    state = world.ledger.state(waiting.message_id)
    assert state is not None
    delivered = [
        e.at for e in world.ledger.history(waiting.message_id) if e.event is Event.DELIVERED
    ]
    due = Calendar().add(local_date(delivered[0]), 3)
    rules = deadlines_of(world.registry)

    def on(day: dt.date) -> list[object]:
        noon = dt.datetime.combine(day, dt.time(12), tzinfo=ZONE)
        found = judged(world.ledger, rules, Calendar(), now=noon.astimezone(dt.UTC))
        return [f for f in found if f.message_id in (answered.message_id, waiting.message_id)]

    assert on(due - dt.timedelta(days=1)) == []
    [today] = on(due)
    assert isinstance(today, Due) and today.message_id == waiting.message_id
    assert (today.rule, today.due) == ("OP090", due.isoformat())
    shown = overview.read(world.ledger, lambda: [today], lambda: None)
    assert [(d.rule, d.count) for d in shown.due_today] == [("OP090", 1)] and shown.overdue == []
    [after] = on(due + dt.timedelta(days=1))
    assert isinstance(after, Breach) and after.message_id == waiting.message_id
