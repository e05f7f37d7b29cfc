"""Deadlines: the standards' answer and reporting times, watched; a breach alerted once.

The core knows no standard: each adapter may expose ``deadlines() -> Sequence[Deadline]`` (the
capability ``Deadlines``, see ``gateway/adapter.py``), and this module watches whatever the loaded
adapters declare. Two kinds:

- **answer**: a message with a code in ``starts`` must be answered, within ``working_days``, by
  a message with a code in ``answered_by`` carrying the same value of the business key ``key``
  (every value the first message carries, e.g. each ReferentieAanbieder of a request), between
  the same two parties. The clock starts when we received it (inbound) or delivered it
  (outbound); our own answer counts once delivered.
- **report**: a message with a code in ``starts`` must be sent within ``working_days`` after a
  date it reports itself (``dates(payload)``, e.g. the actual start of care, each with the value
  of ``key`` it concerns); a message arriving later is a breach. With ``after``, a date's clock
  starts no earlier than the day the first message with a code in ``after`` carrying that
  ``key`` value between the same parties was received or delivered (a start is not owed before
  the toewijzing it reports on arrived).

Either side of an exchange may run the gateway (a gemeente's, an aanbieder's): a breach names
who owes (``owed_by``: the receiver of an unanswered message, the sender of a late report) and
whether that is this gateway's own side (``ours``: an inbound message we did not answer, an
outbound report we sent late) or the counterpart's, which we chase.

Working days: ``workdays.Calendar`` (Algemene termijnenwet), counted in Europe/Amsterdam.

:func:`breaches` lists the open breaches (pure reading of the ledger); :class:`Alerter`
records each new breach once as an ``overdue`` entry on the message (rule, due date, breach id)
and posts the new ones to the webhook in one call per check (at most ``batch`` breaches; the rest
in the next check): a breach is alerted once, never in floods. The breach id is stable
(uuid5 of message id and rule), so a receiver can deduplicate the rare repeat after a crash
between posting and recording. Alerting is one monitor at a time across processes
(``Ledger.exclusive``): two monitors started by mistake do not alert a breach twice.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass
from typing import Any
from zoneinfo import ZoneInfo

import requests

from gateway.adapter import Deadline, Deadlines
from gateway.ledger import OPERATIONS, Entry, Event, Ledger, MessageState, Query, Status
from gateway.ledger.history import read_history
from gateway.logs import get_logger
from gateway.ops.workdays import Calendar

log = get_logger(__name__)

ZONE = ZoneInfo("Europe/Amsterdam")
_BREACH_NAMESPACE = uuid.UUID("2d7c4f0e-8b1a-4c3e-9f6d-5a0b1c2d3e4f")
# An answer of ours counts once it is handed over.
_HANDED_OVER = frozenset({Status.DELIVERED, Status.AWAITING_ANSWER, Status.ANSWERED})
# Imported messages were exchanged, and answered, before Ketenpoort: no clock starts for them.
_NOT_WATCHED = frozenset({Status.FAILED, Status.DISCARDED, Status.IMPORTED})


@dataclass(frozen=True)
class Breach:
    breach_id: str
    rule: str
    text: str
    kind: str  # "answer": still unanswered; "report": sent too late
    message_id: str
    code: str
    route: str
    sender: str
    receiver: str
    started: str  # ISO date the clock started
    due: str  # ISO date by whose end it was due
    owed_by: str = ""  # the party that owes the answer or the report
    ours: bool = False  # whether that is this gateway's own side (else the counterpart's)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Late:
    """A heenbericht whose answer came after its due date (answer kind; closed)."""

    breach_id: str  # the breach it was (or would have been, had a check seen it open)
    rule: str
    message_id: str
    due: str  # ISO date by whose end it was due
    answered: str  # ISO time its answer came (received, or ours handed over)


@dataclass(frozen=True)
class Due:
    """A heenbericht unanswered on the last day of its time (answer kind): due by tonight."""

    rule: str
    text: str
    message_id: str
    due: str  # ISO date: today


def breach_id(message_id: str, rule: str) -> str:
    return str(uuid.uuid5(_BREACH_NAMESPACE, f"{message_id}/{rule}"))


def local_date(iso: str) -> dt.date:
    return dt.datetime.fromisoformat(iso).astimezone(ZONE).date()


def deadlines_of(registry: Iterable[Any]) -> list[Deadline]:
    """What the loaded adapters declare (capability :class:`~gateway.adapter.Deadlines`)."""
    return [d for a in registry if isinstance(a, Deadlines) for d in a.deadlines()]


def _started(state: MessageState, history: Sequence[Entry]) -> str | None:
    """When the clock starts: received (inbound), handed over (outbound); None: not yet."""
    if state.direction == "inbound":
        return state.first_at
    delivered = [e for e in history if e.event is Event.DELIVERED]
    return delivered[0].at if delivered else None


def _keys(history: Sequence[Entry], key: str) -> set[str]:
    return {v for e in history for v in e.keys.get(key, ())}


def _answered(ledger: Ledger, state: MessageState, rule: Deadline, values: set[str]) -> str | None:
    """When the answer came (received, or ours handed over): for each value the first answer
    carrying it, the latest of those; None while a value is unanswered."""
    if not values:
        return None
    parties = {state.sender, state.receiver}
    came: list[str] = []
    for value in values:
        first: str | None = None
        for message_id in {e.message_id for e in ledger.find(rule.key, value)}:
            if message_id == state.message_id:
                continue
            answer = ledger.state(message_id)
            if answer is None or answer.code not in rule.answered_by:
                continue
            if {answer.sender, answer.receiver} != parties or answer.status is Status.DISCARDED:
                continue
            if answer.direction == "outbound" and answer.status not in _HANDED_OVER:
                continue  # ours, not yet handed over
            inbound = answer.direction == "inbound"
            at = answer.first_at if inbound else _started(answer, ledger.history(message_id))
            if at is not None and (first is None or at < first):
                first = at
        if first is None:
            return None
        came.append(first)
    return max(came)


def breaches(
    ledger: Ledger,
    rules: Sequence[Deadline],
    calendar: Calendar,
    now: dt.datetime | None = None,
    horizon_days: int = 120,
    page: int = 5000,
    settled: Settled | None = None,
) -> list[Breach]:
    """The breaches open now (:func:`judged` without the late answers)."""
    found = judged(ledger, rules, calendar, now, horizon_days, page, settled)
    return [b for b in found if isinstance(b, Breach)]


def judged(
    ledger: Ledger,
    rules: Sequence[Deadline],
    calendar: Calendar,
    now: dt.datetime | None = None,
    horizon_days: int = 120,
    page: int = 5000,
    settled: Settled | None = None,
) -> list[Breach | Late | Due]:
    """The breaches open now: unanswered past their due date, or reported late; the
    heenberichten answered after their due date (:class:`Late`: closed, answered late); and
    those unanswered on their due date (:class:`Due`: due by tonight).
    Every message in the horizon is looked at, ``page`` at a time.

    ``settled``, kept by a caller that checks again and again (the monitor), remembers the
    outcomes that cannot change, so the next check skips their queries: a report judged (late or
    in time: its dates and its recording time are fixed), a heenbericht answered (in time or
    late). (An answer
    discarded afterwards does not reopen its heenbericht's clock while it is remembered.)
    """
    now = now or dt.datetime.now(dt.UTC)
    today = now.astimezone(ZONE).date()
    since = (now - dt.timedelta(days=horizon_days)).isoformat()
    if settled is not None:
        for key in [k for k, (first_at, _) in settled.items() if first_at < since]:
            del settled[key]  # out of the horizon: never looked at again
    out: list[Breach | Late | Due] = []
    for rule in rules:
        for code in rule.starts:
            for state in _in_horizon(ledger, code, since, page):
                if state.status in _NOT_WATCHED or state.direction == OPERATIONS:
                    continue
                key = (state.message_id, rule.rule)
                known = settled.get(key) if settled is not None else None
                found: Breach | Late | Due | None
                if known is not None:
                    found = known[1]
                else:
                    found, final = _check(ledger, rule, state, calendar, today)
                    if final and settled is not None and not isinstance(found, Due):
                        settled[key] = (state.first_at, found)
                if found is not None:
                    out.append(found)
    return out


# (message id, rule) -> (the message's first_at, its breach, late answer or None), for outcomes
# that stay.
Settled = dict[tuple[str, str], tuple[str, "Breach | Late | None"]]


def _in_horizon(ledger: Ledger, code: str, since: str, page: int) -> Iterator[MessageState]:
    before: int | None = None
    while True:
        states = ledger.search(Query(code=code, since=since, limit=page, before_seq=before))
        yield from states
        if len(states) < page:
            return
        before = states[-1].first_seq


def _check(
    ledger: Ledger, rule: Deadline, state: MessageState, calendar: Calendar, today: dt.date
) -> tuple[Breach | Late | Due | None, bool]:
    """The breach (or None), and whether that outcome is final."""
    if rule.dates is not None:  # report: did it come within its time? (fixed once judged)
        if state.verdict != "validated" and state.direction == "outbound":
            return None, True
        history = ledger.history(state.message_id)
        digest = read_history(history).body_sha256 if history else None
        body = ledger.payload(digest) if digest else None
        if body is None:
            return None, True
        try:
            reported = rule.dates(body)
        except Exception:
            return None, True
        if not reported:
            return None, True
        starts = [_clock(ledger, rule, state, day, value) for day, value in reported]
        due, start = min((calendar.add(day, rule.working_days), day) for day in starts)
        if local_date(state.first_at) <= due:
            return None, True
        return _breach(rule, state, start, due), True
    history = ledger.history(state.message_id)
    started = _started(state, history)
    if started is None:
        return None, False
    start = local_date(started)
    due = calendar.add(start, rule.working_days)
    if today < due:
        return None, False
    came = _answered(ledger, state, rule, _keys(history, rule.key))
    if came is None and today == due:
        return Due(rule.rule, rule.text, state.message_id, due.isoformat()), False
    if came is None:
        return _breach(rule, state, start, due), False
    if local_date(came) <= due:
        return None, True
    late = Late(
        breach_id(state.message_id, rule.rule), rule.rule, state.message_id, due.isoformat(), came
    )
    return late, True


def _clock(
    ledger: Ledger, rule: Deadline, state: MessageState, day: dt.date, value: str
) -> dt.date:
    """When a reported date's clock starts: the date, or the later arrival of what it waits for
    (``after``: the first such message carrying ``value`` between the same parties)."""
    if not rule.after or not value:
        return day
    parties = {state.sender, state.receiver}
    arrived: list[dt.date] = []
    for message_id in {e.message_id for e in ledger.find(rule.key, value)}:
        earlier = ledger.state(message_id)
        if earlier is None or earlier.code not in rule.after:
            continue
        if {earlier.sender, earlier.receiver} != parties:
            continue
        if earlier.status is Status.IMPORTED:
            return day  # exchanged before Ketenpoort: it was there long before
        if earlier.verdict != "validated":
            continue
        handled = _started(earlier, ledger.history(message_id))
        if handled is not None:
            arrived.append(local_date(handled))
    return max(day, min(arrived)) if arrived else day


def _breach(rule: Deadline, state: MessageState, start: dt.date, due: dt.date) -> Breach:
    owed_by = state.sender if rule.kind == "report" else state.receiver
    ours = (rule.kind == "report") == (state.direction == "outbound")
    return Breach(
        breach_id=breach_id(state.message_id, rule.rule),
        rule=rule.rule,
        text=rule.text,
        kind=rule.kind,
        message_id=state.message_id,
        code=state.code,
        route=state.route,
        sender=state.sender,
        receiver=state.receiver,
        started=start.isoformat(),
        due=due.isoformat(),
        owed_by=owed_by,
        ours=ours,
    )


def alerted(ledger: Ledger, found: Breach) -> bool:
    return any(
        e.event is Event.OVERDUE and e.detail.get("rule") == found.rule
        for e in ledger.history(found.message_id)
    )


def recorded_late(ledger: Ledger, late: Late) -> bool:
    return any(
        e.event is Event.ANSWERED_LATE and e.detail.get("rule") == late.rule
        for e in ledger.history(late.message_id)
    )


class Alerter:
    """Records new breaches once (``overdue``) and posts them to the webhook in one call; records
    each late answer once (``answered-late``, on the heenbericht: the overview counts it)."""

    def __init__(
        self,
        ledger: Ledger,
        webhook: str = "",
        batch: int = 100,
        timeout: float = 10.0,
        session: requests.Session | None = None,
    ) -> None:
        self.ledger = ledger
        self.webhook = webhook
        self.batch = batch
        self.timeout = timeout
        self.session = session or requests.Session()
        self._late: set[str] = set()  # breach ids of the late answers known to be recorded

    def new(self, found: Sequence[Breach]) -> list[Breach]:
        return [b for b in found if not alerted(self.ledger, b)]

    def alert(self, found: Sequence[Breach], late: Sequence[Late] = ()) -> list[Breach]:
        """Alert and record what was not alerted before, record the late answers not recorded
        before; returns what was alerted now.

        One alerter at a time across every process on this ledger: a second monitor started by
        mistake finds the section taken and alerts nothing this round (and the breaches the
        first recorded are not new to it afterwards)."""
        with self.ledger.exclusive("deadline-alerts") as mine:
            if not mine:
                log.info("deadlines.alert_skipped", reason="another monitor is alerting")
                return []
            self._record_late(late)
            return self._alert(found)

    def _record_late(self, late: Sequence[Late]) -> None:
        fresh = [
            one
            for one in late
            if one.breach_id not in self._late and not recorded_late(self.ledger, one)
        ]
        for one in fresh:
            self.ledger.append_event(
                one.message_id,
                Event.ANSWERED_LATE,
                detail={"rule": one.rule, "due": one.due, "answered": one.answered},
            )
        self._late = {one.breach_id for one in late}  # those past the horizon are forgotten
        if fresh:
            log.info("deadlines.answered_late", count=len(fresh))

    def _alert(self, found: Sequence[Breach]) -> list[Breach]:
        fresh = self.new(found)[: self.batch]
        if not fresh:
            return []
        if self.webhook:
            body = {
                "source": "ketenpoort",
                "kind": "deadline-breaches",
                "count": len(fresh),
                "breaches": [b.to_dict() for b in fresh],
            }
            try:
                response = self.session.post(
                    self.webhook, json=body, timeout=self.timeout, allow_redirects=False
                )
                if not 200 <= response.status_code < 300:  # a redirect is no delivery either
                    raise requests.HTTPError(f"HTTP {response.status_code}", response=response)
            except requests.RequestException as exc:
                log.error("deadlines.alert_failed", error=type(exc).__name__, count=len(fresh))
                return []  # nothing recorded: the next check tries again
        for b in fresh:
            self.ledger.append_event(
                b.message_id,
                Event.OVERDUE,
                detail={
                    "rule": b.rule,
                    "text": b.text,
                    "due": b.due,
                    "breach_id": b.breach_id,
                    "alerted": bool(self.webhook),
                },
            )
        log.warning("deadlines.breached", count=len(fresh), rules=sorted({b.rule for b in fresh}))
        return fresh
