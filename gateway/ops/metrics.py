"""Prometheus metrics (``GET /metrics``), read from the ledger at scrape time.

The ledger is the one place every process (API, workers) records to, so every replica of the
API reports the same numbers for the whole installation, whichever process did the work:

| metric | type | what |
|---|---|---|
| ``ketenpoort_messages{route,status}`` | gauge | messages by route and current state |
| ``ketenpoort_parked_messages`` | gauge | parked now |
| ``ketenpoort_oldest_parked_age_seconds`` | gauge | age of the oldest parked message |
| ``ketenpoort_retries_total`` | counter | failed attempts sent to a retry tier |
| ``ketenpoort_retour_latency_seconds`` | gauge histogram | heenbericht to its answer (last 24 h) |
| ``ketenpoort_ledger_entries`` | gauge | entries in the ledger (its Merkle tree size) |
| ``ketenpoort_ledger_messages`` | gauge | messages in the ledger |
| ``ketenpoort_deadline_breaches{rule}`` | gauge | open deadline breaches now |
| ``ketenpoort_deadline_alerts_total`` | counter | breaches recorded (``overdue``) and alerted |
| ``ketenpoort_payload_views_total`` | counter | payload views recorded (``viewed``) |
| ``ketenpoort_ledger_up`` | gauge | 1 when the ledger could be read for this scrape, else 0 |
| ``ketenpoort_ledger_disk_free_bytes`` | gauge | free space where the SQLite ledger lives |
| ``ketenpoort_not_recorded_total`` | counter | messages handed in to this process that could |
| | | not be recorded (disk full, ledger away): their senders must send again |

Counters over entries are counted incrementally (entries after the last seen ``seq``), so a
scrape costs one indexed range read, not a scan of the ledger. A ledger that cannot be read does
not fail the scrape: it reports ``ketenpoort_ledger_up 0`` (and the process's own counters).
"""

from __future__ import annotations

import datetime as dt
import shutil
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeHistogramMetricFamily,
    GaugeMetricFamily,
    Metric,
)

from gateway.ledger import OPERATIONS, Event, Status
from gateway.logs import get_logger
from gateway.ops.deadlines import Breach

log = get_logger(__name__)

LATENCY_BUCKETS = (60.0, 600.0, 3600.0, 6 * 3600.0, 86400.0, 3 * 86400.0, 10 * 86400.0)
LATENCY_WINDOW = dt.timedelta(hours=24)
_COUNTED = (Event.RETRIED, Event.OVERDUE, Event.VIEWED)


class LedgerCollector:
    """A prometheus_client collector over a SQL ledger (``rows(sql, params)``)."""

    def __init__(self, ledger: Any, breaches: Callable[[], Sequence[Breach]]) -> None:
        self.ledger = ledger
        self.breaches = breaches
        self._seen = 0
        self._counts = dict.fromkeys(_COUNTED, 0)
        self._lock = threading.Lock()

    def _count_entries(self) -> dict[Event, int]:
        with self._lock:
            rows = self.ledger.rows(
                "SELECT event, COUNT(*) FROM entries WHERE seq > ? AND event IN (?, ?, ?) "
                "GROUP BY event",
                (self._seen, *[e.value for e in _COUNTED]),
            )
            top = self.ledger.rows("SELECT COALESCE(MAX(seq), 0) FROM entries")[0][0]
            for event, count in rows:
                self._counts[Event(event)] += int(count)
            self._seen = max(self._seen, int(top))
            return dict(self._counts)

    def collect(self) -> Iterator[Metric]:
        try:
            families = list(self._collect())
        except Exception as exc:
            log.error("metrics.ledger_unavailable", error=type(exc).__name__)
            families = []
        yield GaugeMetricFamily(
            "ketenpoort_ledger_up",
            "1: the ledger could be read for this scrape",
            int(bool(families)),
        )
        yield from families
        path = getattr(self.ledger, "path", None)
        if isinstance(path, str) and path != ":memory:":
            free = shutil.disk_usage(Path(path).parent).free
            yield GaugeMetricFamily(
                "ketenpoort_ledger_disk_free_bytes", "Free space beside the SQLite ledger", free
            )

    def _collect(self) -> Iterator[Metric]:
        rows = self.ledger.rows(
            "SELECT route, status, COUNT(*) FROM messages WHERE direction <> ? "
            "GROUP BY route, status",
            (OPERATIONS,),
        )
        messages = GaugeMetricFamily(
            "ketenpoort_messages", "Messages by route and state", labels=["route", "status"]
        )
        total = 0
        parked = 0
        for route, status, count in rows:
            messages.add_metric([route, status], int(count))
            total += int(count)
            parked += int(count) if status == Status.PARKED.value else 0
        yield messages
        yield GaugeMetricFamily("ketenpoort_parked_messages", "Parked messages", value=parked)
        oldest = self.ledger.rows(
            "SELECT MIN(last_at) FROM messages WHERE status = ?", (Status.PARKED.value,)
        )[0][0]
        age = 0.0
        if oldest:
            age = (dt.datetime.now(dt.UTC) - dt.datetime.fromisoformat(oldest)).total_seconds()
        yield GaugeMetricFamily(
            "ketenpoort_oldest_parked_age_seconds",
            "Seconds since the oldest parked message's last activity",
            value=max(age, 0.0),
        )
        counts = self._count_entries()
        yield CounterMetricFamily(
            "ketenpoort_retries", "Failed attempts sent to a retry tier", counts[Event.RETRIED]
        )
        yield CounterMetricFamily(
            "ketenpoort_deadline_alerts",
            "Deadline breaches recorded and alerted",
            counts[Event.OVERDUE],
        )
        yield CounterMetricFamily(
            "ketenpoort_payload_views", "Payload views recorded", counts[Event.VIEWED]
        )
        yield self._latency()
        size = self.ledger.rows("SELECT COALESCE(MAX(seq), 0) FROM entries")[0][0]
        yield GaugeMetricFamily("ketenpoort_ledger_entries", "Ledger entries", value=int(size))
        yield GaugeMetricFamily("ketenpoort_ledger_messages", "Messages in the ledger", value=total)
        breaches = GaugeMetricFamily(
            "ketenpoort_deadline_breaches", "Open deadline breaches", labels=["rule"]
        )
        by_rule: dict[str, int] = {}
        for b in self.breaches():
            by_rule[b.rule] = by_rule.get(b.rule, 0) + 1
        for rule, count in sorted(by_rule.items()):
            breaches.add_metric([rule], count)
        yield breaches

    def _latency(self) -> Metric:
        since = (dt.datetime.now(dt.UTC) - LATENCY_WINDOW).isoformat()
        rows = self.ledger.rows(
            "SELECT h.first_at, a.first_at FROM messages h JOIN messages a "
            "ON a.message_id = h.answered_by WHERE h.status = ? AND h.last_at >= ?",
            (Status.ANSWERED.value, since),
        )
        latencies = sorted(
            max((dt.datetime.fromisoformat(a) - dt.datetime.fromisoformat(h)).total_seconds(), 0)
            for h, a in rows
        )
        buckets: list[tuple[str, float]] = []
        for bound in LATENCY_BUCKETS:
            buckets.append((str(bound), float(sum(1 for x in latencies if x <= bound))))
        buckets.append(("+Inf", float(len(latencies))))
        return GaugeHistogramMetricFamily(
            "ketenpoort_retour_latency_seconds",
            "Heenbericht to its answer, for those answered within the last 24 hours",
            buckets=buckets,
            gsum_value=float(sum(latencies)),
        )


class IntakeCollector:
    """This process's own count of messages it could not record (``Receiver.not_recorded``)."""

    def __init__(self, not_recorded: Callable[[], int]) -> None:
        self.not_recorded = not_recorded

    def collect(self) -> Iterator[Metric]:
        yield CounterMetricFamily(
            "ketenpoort_not_recorded",
            "Messages handed in to this process that could not be recorded",
            self.not_recorded(),
        )


def registry(
    ledger: Any, breaches: Callable[[], Sequence[Breach]], not_recorded: Callable[[], int]
) -> CollectorRegistry:
    reg = CollectorRegistry(auto_describe=False)
    reg.register(LedgerCollector(ledger, breaches))
    reg.register(IntakeCollector(not_recorded))
    return reg


def render(reg: CollectorRegistry) -> bytes:
    return generate_latest(reg)
