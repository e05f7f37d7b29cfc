"""The overview: what flowed and what failed, per route and counterpart, at a glance.

:func:`read` gathers it (:class:`Overview`, the body of ``GET /v1/overview`` and what the
dashboard's home page shows):

- counts for the last hour, day and week per route, per counterpart and per route and
  counterpart, by outcome; read from the ledger's ``counts`` (``gateway/ledger/counts.py``: kept
  as entries are appended), never from a scan of the entries. The hour and the day start at the
  hour they began in (the last hour is this hour and the previous one so far), the week at the
  (UTC) day it began in: the hour and day read hourly counts, the week daily ones;
- volume and failures per hour over the week (the chart, :func:`chart_svg`: SVG made here);
- the depth of every queue of the bus (a passive declare each; None when the broker is away);
- the deadline monitor's latest result (open breaches, and the heenberichten unanswered on the
  last day of their time: due today) and how many heenberichten await an answer, with the
  oldest unanswered one per counterpart;
- checkpoint freshness: the latest signed checkpoint, its age and the entries it does not cover.

:func:`link` gives the message search behind a figure (``/ui/messages`` with filters).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Sequence
from html import escape
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from pydantic import BaseModel

from gateway.ledger import Status
from gateway.ledger.counts import OUTCOMES, bucket
from gateway.ops.deadlines import Breach, Due, Late

if TYPE_CHECKING:
    from gateway.app import Gateway

WINDOWS = {"hour": dt.timedelta(hours=1), "day": dt.timedelta(days=1), "week": dt.timedelta(7)}
FAILURES = ("rejected", "refused", "retrying", "parked")
# What an outcome's messages are now, for the search behind a figure (None: any status).
_STATUS = {
    "rejected": Status.FAILED,
    "refused": Status.FAILED,
    "retrying": Status.RETRYING,
    "parked": Status.PARKED,
    "overdue": Status.AWAITING_ANSWER,
    "late": Status.ANSWERED,
}
# Outcomes counted days after their message was first recorded.
_DAYS_LATER = frozenset({"overdue", "late"})


class Counts(BaseModel):
    """Entries per outcome (every one of :data:`gateway.ledger.counts.OUTCOMES`)."""

    received: int = 0
    accepted: int = 0
    rejected: int = 0
    refused: int = 0
    delivered: int = 0
    retrying: int = 0
    parked: int = 0
    overdue: int = 0
    late: int = 0  # answered late: the answer came after its due date


class Windows(BaseModel):
    hour: Counts
    day: Counts
    week: Counts


class PairRow(BaseModel):
    route: str  # <direction>.<standard>.<code>
    counterpart: str  # "" while unknown (refused before a party was named)
    counts: Windows


class RouteRow(BaseModel):
    route: str
    counts: Windows


class CounterpartRow(BaseModel):
    counterpart: str
    counts: Windows


class Hour(BaseModel):
    hour: str  # 2026-12-03T17 (UTC)
    volume: int  # received
    failures: int  # rejected, refused, retrying, parked


class QueueDepth(BaseModel):
    queue: str
    messages: int


class Unanswered(BaseModel):
    counterpart: str
    waiting: int  # heenberichten awaiting an answer
    oldest_message_id: str
    oldest_route: str
    oldest_since: str


class Freshness(BaseModel):
    entries: int
    checkpoint_size: int  # 0: no checkpoint yet
    checkpoint_at: str | None
    age_seconds: float | None
    not_covered: int


class Overdue(BaseModel):
    rule: str
    text: str
    count: int


class Overview(BaseModel):
    at: str  # when it was read (UTC)
    since: dict[str, str]  # window -> the first hour (or, for the week, day) it counts
    pairs: list[PairRow]  # per route and counterpart
    routes: list[RouteRow]
    counterparts: list[CounterpartRow]
    hours: list[Hour]  # the week's hours, oldest first
    queues: list[QueueDepth] | None  # None: the broker could not be asked
    overdue: list[Overdue]  # the deadline monitor's latest result, per rule
    due_today: list[Overdue]  # unanswered on the last day of their time, per rule
    awaiting_answer: int
    unanswered: list[Unanswered]  # the oldest unanswered heenbericht per counterpart
    checkpoint: Freshness


# Window -> (the span of counts it reads, how far back it starts).
_READS = {
    "hour": ("hour", dt.timedelta(hours=1)),
    "day": ("hour", dt.timedelta(days=1)),
    "week": ("day", dt.timedelta(days=7)),
}


def _since(now: dt.datetime) -> dict[str, str]:
    """The first bucket each window reads: an hour (``2026-12-03T17``) or a day."""
    out = {}
    for window, (span, back) in _READS.items():
        first = bucket((now - back).isoformat())
        out[window] = first if span == "hour" else first[:10]
    return out


_Found = dict[str, dict[str, int]]  # window -> outcome -> n


def _counts(
    ledger: Any, since: dict[str, str]
) -> tuple[list[PairRow], list[RouteRow], list[CounterpartRow]]:
    by_pair: dict[tuple[str, str], _Found] = {}
    by_route: dict[str, _Found] = {}
    by_party: dict[str, _Found] = {}
    for window, (span, _) in _READS.items():
        for route, party, outcome, n in ledger.rows(
            "SELECT route, counterpart, outcome, SUM(n) FROM counts "
            "WHERE span = ? AND bucket >= ? GROUP BY route, counterpart, outcome",
            (span, since[window]),
        ):
            if outcome not in OUTCOMES:
                continue
            for found in (
                by_pair.setdefault((route, party), {w: {} for w in WINDOWS}),
                by_route.setdefault(route, {w: {} for w in WINDOWS}),
                by_party.setdefault(party, {w: {} for w in WINDOWS}),
            ):
                found[window][outcome] = found[window].get(outcome, 0) + int(n)

    def windows(found: _Found) -> Windows:
        return Windows(**{w: Counts(**found[w]) for w in WINDOWS})

    return (
        [
            PairRow(route=r, counterpart=p, counts=windows(c))
            for (r, p), c in sorted(by_pair.items())
        ],
        [RouteRow(route=r, counts=windows(c)) for r, c in sorted(by_route.items())],
        [CounterpartRow(counterpart=p, counts=windows(c)) for p, c in sorted(by_party.items())],
    )


def _hours(ledger: Any, now: dt.datetime) -> list[Hour]:
    first = now - WINDOWS["week"]
    found: dict[str, Hour] = {}
    moment = first
    while moment <= now:
        key = bucket(moment.isoformat())
        found[key] = Hour(hour=key, volume=0, failures=0)
        moment += dt.timedelta(hours=1)
    marks = ", ".join("?" * len(FAILURES))
    for hour, volume, failures in ledger.rows(
        "SELECT bucket, SUM(CASE WHEN outcome = 'received' THEN n ELSE 0 END), "  # noqa: S608
        f"SUM(CASE WHEN outcome IN ({marks}) THEN n ELSE 0 END) "
        "FROM counts WHERE span = 'total' AND bucket >= ? GROUP BY bucket",
        (*FAILURES, bucket(first.isoformat())),
    ):
        if hour in found:
            found[hour] = Hour(hour=hour, volume=int(volume), failures=int(failures))
    return list(found.values())


def _unanswered(ledger: Any) -> tuple[int, list[Unanswered]]:
    rows = ledger.rows(
        "SELECT CASE WHEN direction = 'outbound' THEN receiver ELSE sender END AS party, "
        "COUNT(*), MIN(first_seq) FROM messages WHERE status = ? GROUP BY party",
        (Status.AWAITING_ANSWER.value,),
    )
    if not rows:
        return 0, []
    firsts = [int(r[2]) for r in rows]
    oldest = {
        int(seq): (message_id, route, first_at)
        for seq, message_id, route, first_at in ledger.rows(
            "SELECT first_seq, message_id, route, first_at FROM messages WHERE first_seq IN "  # noqa: S608
            f"({', '.join('?' * len(firsts))})",
            firsts,
        )
    }
    out = []
    for party, waiting, first in rows:
        message_id, route, since = oldest[int(first)]
        out.append(
            Unanswered(
                counterpart=party,
                waiting=int(waiting),
                oldest_message_id=message_id,
                oldest_route=route,
                oldest_since=since,
            )
        )
    out.sort(key=lambda u: u.oldest_since)
    return sum(u.waiting for u in out), out


def _freshness(ledger: Any, now: dt.datetime) -> Freshness:
    entries = int(ledger.tree_size())
    latest = ledger.rows("SELECT size, at FROM checkpoints ORDER BY size DESC LIMIT 1")
    if not latest:
        return Freshness(
            entries=entries,
            checkpoint_size=0,
            checkpoint_at=None,
            age_seconds=None,
            not_covered=entries,
        )
    size, at = int(latest[0][0]), str(latest[0][1])
    age = (now - dt.datetime.fromisoformat(at)).total_seconds()
    return Freshness(
        entries=entries,
        checkpoint_size=size,
        checkpoint_at=at,
        age_seconds=round(age, 1),
        not_covered=entries - size,
    )


def _overdue(found: Sequence[Breach | Due]) -> list[Overdue]:
    by_rule: dict[tuple[str, str], int] = {}
    for b in found:
        by_rule[b.rule, b.text] = by_rule.get((b.rule, b.text), 0) + 1
    return [Overdue(rule=r, text=t, count=n) for (r, t), n in sorted(by_rule.items())]


def read(
    ledger: Any,
    deadlines: Callable[[], Sequence[Breach | Late | Due]],
    queues: Callable[[], list[QueueDepth] | None],
    now: dt.datetime | None = None,
) -> Overview:
    now = now or dt.datetime.now(dt.UTC)
    since = _since(now)
    pairs, routes, counterparts = _counts(ledger, since)
    waiting, unanswered = _unanswered(ledger)
    judged = deadlines()
    return Overview(
        at=now.isoformat(timespec="seconds"),
        since=since,
        pairs=pairs,
        routes=routes,
        counterparts=counterparts,
        hours=_hours(ledger, now),
        queues=queues(),
        overdue=_overdue([b for b in judged if isinstance(b, Breach)]),
        due_today=_overdue([d for d in judged if isinstance(d, Due)]),
        awaiting_answer=waiting,
        unanswered=unanswered,
        checkpoint=_freshness(ledger, now),
    )


def queue_depths(url: str, names: Sequence[str], wait: float = 1.0) -> list[QueueDepth] | None:
    """Messages ready in each queue (a passive declare: nothing is created); a queue that does
    not exist is left out; None when the broker cannot be reached."""
    import pika.exceptions

    from gateway.bus.publisher import BrokerUnavailable, connect

    try:
        connection = connect(url, wait)
    except BrokerUnavailable:
        return None
    out = []
    try:
        channel = connection.channel()
        for name in names:
            try:
                ok = channel.queue_declare(name, passive=True)
            except pika.exceptions.ChannelClosedByBroker:  # not declared (yet)
                channel = connection.channel()
                continue
            out.append(QueueDepth(queue=name, messages=int(ok.method.message_count)))
    except pika.exceptions.AMQPError:
        return None
    finally:
        with contextlib.suppress(pika.exceptions.AMQPError):
            connection.close()
    return out


def link(
    outcome: str | None = None,
    route: str | None = None,
    counterpart: str | None = None,
    since: str | None = None,
) -> str:
    """The message search behind a figure: code (of the route), party, first recorded since the
    window's first hour, and the status the outcome's messages are in now. An overdue or late
    answer comes days after its heenbericht was first recorded: for those the search is not
    bounded in time (it lists every such heenbericht of the code and party, these among them)."""
    params: dict[str, str] = {}
    if outcome in _STATUS:
        params["status"] = _STATUS[outcome].value
    if route and route.count(".") >= 2:
        params["code"] = route.rsplit(".", 1)[1]
    if counterpart:
        params["party"] = counterpart
    if since and outcome not in _DAYS_LATER:
        params["since"] = f"{since}:00:00" if len(since) > 10 else f"{since}T00:00:00"
    return "/ui/messages?" + urlencode(params) if params else "/ui/messages"


def chart_svg(hours: Sequence[Hour], width: int = 840, height: int = 180) -> str:
    """Volume (received) and failures per hour as bars, failures drawn over volume in red."""
    top = max([h.volume for h in hours] + [h.failures for h in hours] + [1])
    step = width / max(len(hours), 1)
    bar = max(step - 1, 1.0)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" id="chart" viewBox="0 0 {width} {height + 20}"'
        f' width="{width}" height="{height + 20}" role="img" aria-label="messages per hour">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for i, h in enumerate(hours):
        x = round(i * step, 2)
        for value, colour, kind in (
            (h.volume, "#2f6fad", "volume"),
            (h.failures, "#c0392b", "failures"),
        ):
            if value:
                tall = max(round(value / top * (height - 10), 2), 1.0)
                parts.append(
                    f'<rect class="{kind}" x="{x}" y="{round(height - tall, 2)}" width="{bar:.2f}"'
                    f' height="{tall}" fill="{colour}"><title>{escape(h.hour)}:00 {kind} '
                    f"{value}</title></rect>"
                )
        if h.hour.endswith("T00"):
            parts.append(
                f'<text x="{x}" y="{height + 14}" font-size="11" fill="#5b6672">'
                f"{escape(h.hour[5:10])}</text>"
            )
    parts.append(
        f'<text x="{width - 4}" y="12" font-size="11" text-anchor="end" fill="#5b6672">'
        f"max {top}/h</text></svg>"
    )
    return "".join(parts)


def of(gateway: Gateway) -> Overview:
    """The overview of a running gateway: its ledger, its bus, its deadline monitor's latest
    result (breaches, and what is due today; checked now only if it never ran in this
    process)."""
    from gateway.ops.runtime import operations

    names = [q.name for q in gateway.topology.queues()]
    return read(
        gateway.ledger,
        lambda: operations(gateway).judged(max_age=float("inf")),
        lambda: queue_depths(gateway.settings.amqp_url, names),
    )


def page_context(gateway: Gateway) -> dict[str, Any]:
    """What the overview template needs: the figures, their links and the chart."""
    found = of(gateway)
    return {"o": found, "chart": chart_svg(found.hours), "link": link, "outcomes": OUTCOMES}
