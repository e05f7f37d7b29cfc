"""The single-message HTTP ingress and the message queries on the real RabbitMQ and SQLite: what
it answers when the ledger cannot record, for a mapping no adapter has, and for time bounds."""

from __future__ import annotations

import dataclasses
import datetime as dt
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from gateway.app import Gateway
from gateway.config import Settings
from gateway.ingress.http import make_app
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.integration

XML = {"content-type": "application/xml"}


@pytest.fixture
def live(settings: Settings, tmp_path: Path) -> Iterator[tuple[Gateway, TestClient, Path]]:
    path = tmp_path / "ledger.sqlite3"  # of its own: a test here may break it
    gateway = Gateway(dataclasses.replace(settings, ledger_url=f"sqlite:///{path}"))
    gateway.declare_topology()
    try:
        with TestClient(make_app(gateway)) as client:
            yield gateway, client, path
    finally:
        gateway.close()


def test_a_message_the_ledger_cannot_record_is_answered_503_with_its_id(
    live: tuple[Gateway, TestClient, Path],
) -> None:
    _, client, path = live
    with sqlite3.connect(path) as other:  # the ledger's database loses its entries table
        other.execute("DROP TABLE entries")
    message_id = str(uuid.uuid4())
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    response = client.post(
        "/v1/messages/inbound", content=body, headers={**XML, "x-message-id": message_id}
    )
    assert response.status_code == 503
    assert response.json()["message_id"] == message_id
    assert "send it again" in response.json()["error"]
    # operations see it: /metrics answers (it does not fail with the ledger), says the ledger
    # cannot be read and counts the message not recorded, which an alerting rule watches
    metrics = client.get("/metrics")
    assert metrics.status_code == 200
    lines = metrics.text.splitlines()
    assert "ketenpoort_ledger_up 0.0" in lines
    assert "ketenpoort_not_recorded_total 1.0" in lines
    assert any(line.startswith("ketenpoort_ledger_disk_free_bytes ") for line in lines)


def test_operations_routes_answer_503_when_the_ledger_cannot_be_read(
    live: tuple[Gateway, TestClient, Path],
) -> None:
    _, client, path = live
    assert client.get("/v1/messages").status_code == 200
    with sqlite3.connect(path) as other:  # the ledger's database loses its tables
        other.execute("DROP TABLE messages")
    for answer in (client.get("/v1/messages"), client.get(f"/v1/messages/{uuid.uuid4()}")):
        assert answer.status_code == 503
        assert answer.json()["detail"].startswith("the ledger is unavailable")


def test_metrics_count_nothing_not_recorded_on_a_healthy_ledger(
    live: tuple[Gateway, TestClient, Path],
) -> None:
    _, client, _ = live
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    assert client.post("/v1/messages/inbound", content=body, headers=XML).status_code == 202
    lines = client.get("/metrics").text.splitlines()
    assert "ketenpoort_ledger_up 1.0" in lines
    assert "ketenpoort_not_recorded_total 0.0" in lines
    [free] = [line for line in lines if line.startswith("ketenpoort_ledger_disk_free_bytes ")]
    assert float(free.split()[1]) > 0


def test_a_mapping_no_adapter_has_is_404_and_nothing_is_recorded(
    live: tuple[Gateway, TestClient, Path],
) -> None:
    _, client, _ = live
    for path in ("/v1/messages/outbound/iwmo/nope", "/v1/messages/outbound/ipgb/toekenning"):
        response = client.post(path, json={})
        assert response.status_code == 404, path
        assert response.json()["detail"].startswith("no mapping ")
    assert client.get("/v1/messages").json()["count"] == 0
    assert client.post("/v1/messages/outbound/iwmo/toewijzing", json={}).status_code == 422


def test_time_bounds_are_iso_8601_compared_in_utc(
    live: tuple[Gateway, TestClient, Path],
) -> None:
    gateway, client, _ = live
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    message_id = client.post("/v1/messages/inbound", content=body, headers=XML).json()["message_id"]
    state = gateway.ledger.state(message_id)
    assert state is not None
    first = dt.datetime.fromisoformat(state.first_at)
    plus_two = dt.timezone(dt.timedelta(hours=2))

    def found(**bounds: str) -> list[str]:
        listed = client.get("/v1/messages", params=bounds)
        assert listed.status_code == 200, listed.text
        searched = client.post("/v1/messages/search", json=bounds)
        assert searched.status_code == 200, searched.text
        ids = [m["message_id"] for m in listed.json()["messages"]]
        assert ids == [m["message_id"] for m in searched.json()["messages"]]
        return ids

    # An hour before and after, written in +02:00: the bounds are the same moments in UTC.
    before = (first - dt.timedelta(hours=1)).astimezone(plus_two).isoformat()
    after = (first + dt.timedelta(hours=1)).astimezone(plus_two).isoformat()
    assert found(since=before, until=after) == [message_id]
    assert found(since=after) == []
    assert found(until=before) == []
    assert found(since=first.date().isoformat()) == [message_id]  # a date is midnight UTC
    for wrong in ("", "yesterday", "0.5"):
        assert client.get("/v1/messages", params={"since": wrong}).status_code == 422
        assert client.post("/v1/messages/search", json={"until": wrong}).status_code == 422
