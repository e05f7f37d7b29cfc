"""The dashboard's pages and forms through HTTP (sign-in, roles, form tokens, the recorded
payload view, BSN search, bulk replay); the browser test clicks through replay itself."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterator

import pytest
import responses
from fastapi.testclient import TestClient

from gateway.app import Gateway
from gateway.config import Settings
from gateway.envelope import Direction, Envelope
from gateway.ingress.http import make_app
from gateway.ledger import Event, Status
from gateway.ops.auth import identity_line
from gateway.ops.runtime import operations
from tests.ops.helpers import (
    IDENTITIES,
    KEYS,
    as_,
    block_delivery,
    ops_settings,
    running,
    toewijzing,
    unblock_delivery,
    wait_status,
)

pytestmark = pytest.mark.integration
BSN = "999990019"  # the toewijzing's client


@pytest.fixture
def live(settings: Settings) -> Iterator[tuple[Gateway, TestClient]]:
    admin = identity_line("admin", "key-admin-0123456789abcdef0123456789ab", ["admin"], [])
    configured = ops_settings(settings, ops_identities=(*IDENTITIES, admin))
    with running(configured) as gateway, TestClient(make_app(gateway)) as client:
        yield gateway, client


def _sign_in(client: TestClient, key: str) -> None:
    client.cookies.clear()
    response = client.post("/ui/login", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303 and "kp_session" in response.cookies


def _csrf(html: str) -> str:
    return re.findall(r'name="csrf" value="([0-9a-f]+)"', html)[0]


def _parked(gateway: Gateway, number: int) -> str:
    receipt = gateway.receiver.receive_mapped(
        Envelope(body=toewijzing(number), direction=Direction.OUTBOUND), "iwmo", "toewijzing"
    )
    wait_status(gateway, receipt.message_id, Status.PARKED)
    return receipt.message_id


def test_pages_roles_and_the_recorded_payload_view(live: tuple[Gateway, TestClient]) -> None:
    gateway, client = live
    block_delivery(gateway.settings)
    message_id = _parked(gateway, 6101)
    assert client.get("/ui/", follow_redirects=False).headers["location"] == "/ui/login"
    bad = client.post("/ui/login", data={"key": "wrong"})
    assert bad.status_code == 401 and "unknown key" in bad.text

    _sign_in(client, KEYS["viewer"])
    home = client.get("/ui/failures").text
    assert message_id in home and "Replay all parked" not in home
    page = client.get(f"/ui/messages/{message_id}").text
    assert 'id="replay"' not in page and 'id="payload"' not in page
    assert "ToewijzingNummer" in page and "6101" in page and BSN not in page
    token = _csrf(client.get("/ui/messages").text)  # the BSN form carries the viewer's token
    assert (
        client.post(f"/ui/messages/{message_id}/payload", data={"csrf": token}).status_code == 403
    )

    _sign_in(client, KEYS["pv"])
    page = client.get(f"/ui/messages/{message_id}").text
    assert 'id="payload"' in page and 'id="replay"' not in page
    forged = client.post(f"/ui/messages/{message_id}/payload", data={"csrf": "0" * 64})
    assert forged.status_code == 403 and "stale" in forged.text
    assert Event.VIEWED not in {e.event for e in gateway.ledger.history(message_id)}
    shown = client.post(f"/ui/messages/{message_id}/payload", data={"csrf": _csrf(page)})
    assert shown.status_code == 200 and BSN in shown.text  # the payload itself, to a payload-viewer
    [viewed] = [e for e in gateway.ledger.history(message_id) if e.event is Event.VIEWED]
    assert viewed.detail["by"] == "pv" and len(viewed.detail["payloads"]) == 2

    search = client.get("/ui/messages", params={"key": "ToewijzingNummer", "value": "6101"}).text
    assert message_id in search and BSN not in search
    by_bsn = client.post("/ui/messages/by-bsn", data={"csrf": _csrf(search), "bsn": BSN}).text
    assert message_id in by_bsn and BSN not in by_bsn
    assert client.get("/ui/messages", params={"key": "bsn", "value": BSN}).status_code == 400


def test_an_operator_discards_and_bulk_replays_from_the_dashboard(
    live: tuple[Gateway, TestClient],
) -> None:
    gateway, client = live
    block_delivery(gateway.settings)
    parked = [_parked(gateway, 6200 + i) for i in range(3)]
    unblock_delivery(gateway.settings)
    _sign_in(client, KEYS["op"])
    page = client.get(f"/ui/messages/{parked[0]}").text
    discarded = client.post(
        f"/ui/messages/{parked[0]}/discard", data={"csrf": _csrf(page), "reason": "duplicate"}
    )
    assert "discarded" in discarded.text and 'id="replay"' not in discarded.text
    listing = client.get("/ui/messages", params={"status": "parked"}).text
    assert "Replay all 2 matching" in listing
    job = client.post(
        "/ui/replay-jobs", data={"csrf": _csrf(listing), "status": "parked", "reason": "back up"}
    )
    assert job.status_code == 200 and "Bulk replay" in job.text
    for message_id in parked[1:]:
        wait_status(gateway, message_id, Status.AWAITING_ANSWER)
    job_page = client.get(str(job.url)).text
    assert "2 of 2 replayed" in job_page
    assert gateway.ledger.state(parked[0]).status is Status.DISCARDED  # type: ignore[union-attr]


@responses.activate(assert_all_requests_are_fired=True)
def test_a_breach_on_the_dashboard_in_metrics_and_alerted_once(settings: Settings) -> None:
    hook = "http://alerts.test/ketenpoort"
    responses.post(hook, status=202)
    responses.add_passthru("http://testserver")
    configured = ops_settings(settings, ops_alert_webhook=hook)
    with running(configured) as gateway, TestClient(make_app(gateway)) as client:
        receipt = gateway.receiver.receive_mapped(
            Envelope(body=toewijzing(6301), direction=Direction.OUTBOUND), "iwmo", "toewijzing"
        )
        wait_status(gateway, receipt.message_id, Status.AWAITING_ANSWER)
        runtime = operations(gateway)
        assert runtime.check_deadlines() == []  # not due yet
        runtime.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
        [alerted] = runtime.check_deadlines()
        assert runtime.check_deadlines() == []  # once per breach
        assert alerted.message_id == receipt.message_id and alerted.rule == "OP090"
        [call] = responses.calls
        body = json.loads(call.request.body)
        assert body["count"] == 1 and body["breaches"][0]["breach_id"] == alerted.breach_id
        # The aanbieder owes the retour on our 301: the counterpart's breach, ours to chase.
        assert (body["breaches"][0]["owed_by"], body["breaches"][0]["ours"]) == ("12345678", False)
        _sign_in(client, KEYS["viewer"])
        home = client.get("/ui/failures").text
        overdue = home.split('id="overdue"', 1)[1].split("<h2", 1)[0]
        assert receipt.message_id[:8] in overdue and "OP090" in overdue
        assert "<td>0363</td><td>12345678</td><td>12345678</td>" in overdue  # owed by
        listed = client.get("/v1/deadlines", headers=as_("viewer")).json()
        assert [b["message_id"] for b in listed["breaches"]] == [receipt.message_id]
        text = client.get("/metrics", headers=as_("viewer")).text
        assert 'ketenpoort_deadline_breaches{rule="OP090"} 1.0' in text
        assert "ketenpoort_deadline_alerts_total 1.0" in text
        [overdue_entry] = [
            e for e in gateway.ledger.history(receipt.message_id) if e.event is Event.OVERDUE
        ]
        assert overdue_entry.detail["alerted"] is True


def test_the_first_deadline_check_runs_however_young_the_machine(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``time.monotonic`` counts from boot: on a machine (or VM) up for less than the deadline
    interval, "never checked" must not pass for "checked at 0 and still fresh"."""
    from gateway.ops import runtime as runtime_module

    with running(ops_settings(settings)) as gateway:
        receipt = gateway.receiver.receive_mapped(
            Envelope(body=toewijzing(6302), direction=Direction.OUTBOUND), "iwmo", "toewijzing"
        )
        wait_status(gateway, receipt.message_id, Status.AWAITING_ANSWER)
        ops = runtime_module.Operations(gateway)
        ops.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
        assert gateway.settings.ops_deadline_interval > 30
        with monkeypatch.context() as patched:  # only around the check: waits use it too
            patched.setattr(runtime_module.time, "monotonic", lambda: 30.0)  # up 30 seconds
            found = ops.breaches()
        assert [b.message_id for b in found] == [receipt.message_id]
