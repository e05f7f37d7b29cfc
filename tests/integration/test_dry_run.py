"""A dry run (``?dry_run=true`` on the outbound routes) on the real RabbitMQ and ledger: the
verdict a message would get, its findings with rule and retourcode, the rules that read the
ledger seeing it as for a real send; nothing recorded in the ledger, nothing published."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from fastapi.testclient import TestClient

from adapters.istandaarden import mapping
from adapters.istandaarden.catalogue import Bericht
from adapters.lib.istandaard import codec
from gateway.app import Gateway
from gateway.ingress.http import make_app
from gateway.ledger import Query
from tests.integration.busutil import depth
from tests.istd_world import World
from tests.unit.test_aanbieder_mappings import LATER, _declaratie, _start

pytestmark = pytest.mark.integration


def _recorded(gateway: Gateway) -> int:
    return len(gateway.ledger.search(Query(limit=1000)))


def _queued(gateway: Gateway) -> int:
    """Messages waiting on every work queue of the gateway (no worker runs here)."""
    url = gateway.settings.amqp_url
    return sum(depth(url, queue) for queue in gateway.topology.work_queues())


def _toewijzing(standard: str) -> bytes:
    message = World(standard).base[301]
    for product in message["Client"]["ToegewezenProducten"]["ToegewezenProduct"]:
        product["Einddatum"] = LATER.isoformat()
    return codec.encode_message(Bericht(standard, 301), message)


def _codes(verdict: dict[str, Any]) -> set[tuple[str, str]]:
    return {(f["rule"], f["code"]) for f in verdict["findings"]}


def test_a_dry_run_answers_the_verdict_and_records_and_publishes_nothing(gateway) -> None:
    with TestClient(make_app(gateway)) as client:
        route = "/v1/messages/outbound/iwmo/start?dry_run=true"
        # Before the gemeente's toewijzing is received, a start cannot be linked to it (TR019).
        answer = client.post(route, json=_start("iwmo"))
        assert answer.status_code == 200, answer.text
        verdict = answer.json()
        assert verdict["dry_run"] is True and verdict["published"] is False
        assert verdict["status"] == "rejected"
        assert ("TR019", "9019") in _codes(verdict)
        assert {f["source"] for f in verdict["findings"]} == {"starts[0]"}
        assert (_recorded(gateway), _queued(gateway)) == (0, 0)
        assert gateway.ledger.history(verdict["message_id"]) == []

        # The toewijzing arrives (recorded, published): the same start would now be accepted.
        received = client.post("/v1/messages/inbound", content=_toewijzing("iwmo")).json()
        assert received["status"] == "accepted"
        recorded, queued = _recorded(gateway), _queued(gateway)
        assert (recorded, queued) == (1, 1)
        verdict = client.post(route, json=_start("iwmo")).json()
        assert (verdict["status"], verdict["findings"]) == ("accepted", [])
        # An XML message through the other outbound route: a declaratie on a toewijzing the
        # gemeente never made (TR338), and one that is right.
        data = _declaratie("iwmo")
        data["clienten"][0]["prestaties"][0]["toewijzingnummer"] = 9999
        xml = mapping.map_in("iwmo", "declaratie", data, dt.datetime.now())
        answer = client.post(
            "/v1/messages/outbound?dry_run=true",
            content=xml,
            headers={"content-type": "application/xml"},
        )
        assert answer.status_code == 200
        assert answer.json()["status"] == "rejected"
        assert ("TR338", "9338") in _codes(answer.json())
        xml = mapping.map_in("iwmo", "declaratie", _declaratie("iwmo"), dt.datetime.now())
        answer = client.post("/v1/messages/outbound?dry_run=true", content=xml)
        assert answer.json()["status"] == "accepted", answer.json()
        # Not mappable (nothing the rules could judge): answered as a real send, 422, with the
        # same errors; a dry_run that is neither true nor false is a malformed request.
        broken = _start("iwmo")
        del broken["starts"][0]["begindatum"]
        answer = client.post(route, json=broken)
        assert answer.status_code == 422 and answer.json()["dry_run"] is True
        assert answer.json()["status"] == "refused"
        assert answer.json()["errors"] == ["mapping iwmo/start: starts[0].begindatum: is required"]
        wrong = client.post(route.replace("true", "yes"), json=_start("iwmo"))
        assert wrong.status_code == 400 and "dry_run" in wrong.json()["detail"]
        assert (_recorded(gateway), _queued(gateway)) == (recorded, queued)

        # A dry run twice says the same; a real send of it is then accepted and recorded once.
        again = client.post(route, json=_start("iwmo")).json()
        assert again["status"] == "accepted" and not again["duplicate"]
        sent = client.post("/v1/messages/outbound/iwmo/start", json=_start("iwmo"))
        assert sent.status_code == 202 and sent.json()["published"] is True
        assert (_recorded(gateway), _queued(gateway)) == (recorded + 1, queued + 1)
        # ... after which a second start of the same toewijzing would be refused (TR326/TR074):
        # the rules read the ledger as they would for the real send.
        verdict = client.post(route, json=_start("iwmo")).json()
        assert verdict["status"] == "rejected"
        assert {rule for rule, _ in _codes(verdict)} & {"TR326", "TR074"}
        assert (_recorded(gateway), _queued(gateway)) == (recorded + 1, queued + 1)
