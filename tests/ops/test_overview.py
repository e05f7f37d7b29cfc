"""The overview (``GET /v1/overview`` and the dashboard's home) on a running gateway: counts
from the ledger's counts, the bus's queues, the unanswered heenberichten, each figure's link."""

from __future__ import annotations

import datetime as dt
import html
import re

import pytest
from fastapi.testclient import TestClient

from gateway.config import Settings
from gateway.envelope import Direction, Envelope
from gateway.identify import identify
from gateway.ingress.http import make_app
from gateway.ledger import Event, Status
from gateway.ledger import sql as ledger_sql
from gateway.ledger.counts import OUTCOMES
from gateway.ledger.history import read_history
from gateway.ops.overview import Hour, chart_svg, link
from gateway.ops.runtime import operations
from gateway.xmlsafe import parse
from tests.ops.helpers import (
    AANBIEDER,
    KEYS,
    as_,
    ops_settings,
    running,
    seed_overview,
    toewijzing,
    wait_status,
)

pytestmark = pytest.mark.integration
ROUTE = "outbound.iwmo.WMO301"


def test_the_overview_counts_links_and_draws_what_flowed(settings: Settings) -> None:
    configured = ops_settings(settings)
    with running(configured) as gateway, TestClient(make_app(gateway)) as client:
        seeded = seed_overview(configured, gateway)
        gateway.ledger.checkpoint(force=True)
        assert client.get("/v1/overview").status_code == 401
        found = client.get("/v1/overview", headers=as_("viewer")).json()

        [row] = [r for r in found["pairs"] if r["route"] == ROUTE]
        assert row["counterpart"] == AANBIEDER
        assert [r["counts"] for r in found["routes"] if r["route"] == ROUTE] == [row["counts"]]
        for window in ("hour", "day", "week"):
            counts = row["counts"][window]
            assert set(counts) == set(OUTCOMES)
            assert (counts["received"], counts["accepted"], counts["delivered"]) == (3, 3, 2)
            assert (counts["parked"], counts["rejected"], counts["refused"]) == (1, 0, 0)
        [refused] = [r for r in found["pairs"] if r["route"] == "outbound.unidentified"]
        assert refused["counterpart"] == "" and refused["counts"]["hour"]["refused"] == 1
        [party] = [c for c in found["counterparts"] if c["counterpart"] == AANBIEDER]
        assert party["counts"]["week"]["received"] == 3
        assert len(found["hours"]) in (169, 170)
        assert sum(h["volume"] for h in found["hours"]) == 4
        assert sum(h["failures"] for h in found["hours"]) == 2  # parked and refused
        queues = {q["queue"]: q["messages"] for q in found["queues"]}
        assert gateway.topology.parking in queues and all(n >= 0 for n in queues.values())
        [waiting] = found["unanswered"]
        assert waiting["counterpart"] == AANBIEDER and waiting["waiting"] == 2
        assert waiting["oldest_message_id"] == seeded["delivered"][0]  # type: ignore[index]
        assert found["awaiting_answer"] == 2 and found["overdue"] == []
        fresh = found["checkpoint"]
        assert fresh["checkpoint_size"] == fresh["entries"] > 0 and fresh["not_covered"] == 0

        client.post("/ui/login", data={"key": KEYS["viewer"]})
        page = client.get("/ui/").text
        assert "<h1>Overview</h1>" in page and 'class="volume"' in page
        assert html.escape(link("parked", ROUTE, None, found["since"]["week"])) in page
        parked = link("parked", None, AANBIEDER, found["since"]["week"])
        assert html.escape(parked) in page
        listed = client.get(parked).text
        assert seeded["parked"] in listed and seeded["delivered"][0] not in listed  # type: ignore[index]
        cell = f'data-row="{ROUTE}" data-window="hour" data-outcome="delivered">(.*?)</td>'
        assert ">2</a>" in re.findall(cell, page)[0]


def test_the_chart_draws_a_bar_per_hour_with_failures_over_volume() -> None:
    hours = [
        Hour(hour=f"2026-12-0{d}T{h:02d}", volume=h, failures=h // 4)
        for d in (1, 2)
        for h in range(24)
    ]
    svg = chart_svg(hours)
    assert svg.count('class="volume"') == 46 and svg.count('class="failures"') == 40
    assert "max 23/h" in svg and ">12-02<" in svg
    assert chart_svg([]).count("<rect") == 1  # the background only


def test_a_figure_links_to_the_messages_behind_it() -> None:
    since = dt.datetime(2026, 12, 3, 17).isoformat()[:13]
    assert link("parked", ROUTE, AANBIEDER, since) == (
        "/ui/messages?status=parked&code=WMO301&party=12345678&since=2026-12-03T17%3A00%3A00"
    )
    assert link("delivered", since="2026-11-26") == "/ui/messages?since=2026-11-26T00%3A00%3A00"
    assert link("received") == "/ui/messages" and link("refused") == "/ui/messages?status=failed"
    # overdue and late answers come days after the heenbericht: no bound in time
    assert link("late", ROUTE, AANBIEDER, since) == (
        "/ui/messages?status=answered&code=WMO301&party=12345678"
    )
    assert link("overdue", since=since) == "/ui/messages?status=awaiting-answer"


def test_an_answer_after_its_due_date_shows_as_answered_late(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A toewijzing delivered ten days ago and answered now: the deadline monitor's round
    records it once, and the overview counts it under the route and the aanbieder."""
    configured = ops_settings(settings)
    with running(configured) as gateway, TestClient(make_app(gateway)) as client:
        then = dt.datetime.now(dt.UTC) - dt.timedelta(days=10)
        monkeypatch.setattr(ledger_sql, "now", lambda: then.isoformat(timespec="microseconds"))
        receipt = gateway.receiver.receive_mapped(
            Envelope(body=toewijzing(6303), direction=Direction.OUTBOUND), "iwmo", "toewijzing"
        )
        wait_status(gateway, receipt.message_id, Status.AWAITING_ANSWER)
        monkeypatch.undo()
        history = gateway.ledger.history(receipt.message_id)
        sent = gateway.ledger.payload(read_history(history).body_sha256 or "")
        assert sent is not None
        doc = parse(sent, 10**7)
        _, message_type = identify(doc, gateway.registry)
        heen = Envelope(sent, Direction.OUTBOUND, receipt.message_id, message_type=message_type)
        made = gateway.registry.for_standard("iwmo").answer(heen, doc, [])
        assert made is not None
        assert gateway.receiver.receive(Envelope(made.body, Direction.INBOUND)).published
        wait_status(gateway, receipt.message_id, Status.ANSWERED)

        runtime = operations(gateway)
        assert runtime.check_deadlines() == []  # no open breach: answered, late
        assert runtime.check_deadlines() == []
        late = [
            e for e in gateway.ledger.history(receipt.message_id) if e.event is Event.ANSWERED_LATE
        ]
        assert len(late) == 1  # once, however many rounds
        found = client.get("/v1/overview", headers=as_("viewer")).json()
        [row] = [r for r in found["pairs"] if r["route"] == ROUTE]
        assert row["counterpart"] == AANBIEDER
        assert [row["counts"][w]["late"] for w in ("hour", "day", "week")] == [1, 1, 1]
        assert row["counts"]["week"]["received"] == 0  # received ten days ago
        client.post("/ui/login", data={"key": KEYS["viewer"]})
        page = client.get("/ui/").text
        cell = f'data-row="{ROUTE}" data-window="week" data-outcome="late">(.*?)</td>'
        assert ">1</a>" in re.findall(cell, page)[0] and "answered late" in page
        behind = re.findall(r'href="([^"]+)">1</a>', re.findall(cell, page)[0])[0]
        assert receipt.message_id in client.get(html.unescape(behind)).text
