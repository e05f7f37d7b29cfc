"""Counterparts on the real RabbitMQ: a GGk that is down is retried in the bus's tiers and the
message parked with a readable reason; a refusal is parked at once; a toewijzing and the CAK
start derived from it both travel over the GGk (mocked with ``responses``)."""

from __future__ import annotations

import dataclasses
import json
import uuid
from collections.abc import Iterator

import pytest
import responses

from adapters.ggk import codec as ggk_codec
from adapters.lib import soap
from adapters.lib.stuf.messages import Fout, Stuurgegevens, Systeem, foutbericht
from gateway.app import Gateway
from gateway.envelope import Direction, Envelope
from gateway.service import Services
from tests.conftest import EXAMPLES, _delete_topology
from tests.counterparts.helpers import GGK_URL, counterpart_settings, soap_body
from tests.integration.helpers import events, wait_event, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture
def gateway(settings) -> Iterator[Gateway]:
    own = counterpart_settings(
        dataclasses.replace(settings, retry_tiers=("100ms",), max_attempts=3),
        adapters=("adapters.istandaarden", "adapters.ggk", "adapters.cak"),
    )
    gw = Gateway(own)
    gw.declare_topology()
    try:
        yield gw
    finally:
        gw.close()
        _delete_topology(own)


def _toewijzing(gateway: Gateway) -> str:
    receipt = gateway.receiver.receive_mapped(
        Envelope(body=(EXAMPLES / "toewijzing.json").read_bytes(), direction=Direction.OUTBOUND),
        "iwmo",
        "toewijzing",
    )
    assert receipt.status == "accepted"
    return receipt.message_id


def test_ggk_down_is_retried_in_tiers_then_parked_with_the_reason(gateway) -> None:
    with responses.RequestsMock() as mock:
        mock.post(GGK_URL, status=503, headers={"Retry-After": "1"})
        with Services(gateway, workers=1, sweeper=False, ingress=False, filedrop=False):
            message_id = _toewijzing(gateway)
            wait_event(gateway.ledger, message_id, "parked", timeout=30)
        calls = len(mock.calls)
    history = gateway.ledger.history(message_id)
    kinds = [e.event.value for e in history]
    assert kinds.count("retried") == 2 and kinds.count("parked") == 1  # max_attempts = 3
    parked = next(e for e in history if e.event.value == "parked")
    assert parked.detail["error"] == "Unavailable"
    assert "GGk: HTTP 503 Service Unavailable, Retry-After 1 s" in parked.detail["reason"]
    assert "after 3 attempts" in parked.detail["reason"]
    # Three deliveries (max_attempts), each tried three times in process by the GGk transport
    # (honouring Retry-After) and not again by the bus's own in-process retry.
    assert calls == 3 * 3
    assert "delivered" not in kinds


def test_ggk_refusal_is_parked_at_once(gateway) -> None:
    sg = Stuurgegevens(
        "Fo03",
        Systeem("IB", "GGK"),
        Systeem("0599", "Ketenpoort"),
        "f5a1b0d4-0a0b-4c0d-8e0f-000000000001",
        "20260105120000",
        cross_ref="f5a1b0d4-0a0b-4c0d-8e0f-000000000002",
    )
    fault = soap.fault("Client", "fout", foutbericht(sg, Fout("IB102", "client", "Geen route")))
    with responses.RequestsMock() as mock:
        mock.post(GGK_URL, status=500, body=fault)
        with Services(gateway, workers=1, sweeper=False, ingress=False, filedrop=False):
            message_id = _toewijzing(gateway)
            wait_event(gateway.ledger, message_id, "parked", timeout=20)
        assert len(mock.calls) == 1
    kinds = events(gateway.ledger, message_id)
    assert "retried" not in kinds
    # (`published` may be recorded after `parked`: the worker can be quicker than the confirm)
    parked = next(e for e in gateway.ledger.history(message_id) if e.event.value == "parked")
    assert "IB102 (not-routed)" in parked.detail["reason"]


def test_toewijzing_and_its_cak_start_travel_over_the_ggk(gateway) -> None:
    with responses.RequestsMock() as mock:
        mock.post(GGK_URL, status=200, body=b"")
        with Services(gateway, workers=1, sweeper=False, ingress=False, filedrop=False):
            message_id = _toewijzing(gateway)
            wait_event(gateway.ledger, message_id, "delivered")
            wait_for(lambda: len(mock.calls) == 2, what="the CAK start over the GGk")
        functies = sorted(
            ggk_codec.read(soap_body(c.request.body)).stuurgegevens.functie for c in mock.calls
        )
    assert functies == ["WMO301", "WMO405"]
    follow_ups = [
        e
        for e in gateway.ledger.find(
            "bsn", json.loads((EXAMPLES / "toewijzing.json").read_text())["client"]["bsn"]
        )
        if e.code == "WMO405"
    ]
    assert follow_ups and follow_ups[0].correlation_id == message_id


def test_the_http_app_mounts_the_counterpart_endpoints(gateway) -> None:
    from fastapi.testclient import TestClient

    from gateway.ingress.http import make_app

    with TestClient(make_app(gateway)) as client:
        answer = client.post("/v1/ggk", content=b"<not-ggk/>")
    assert answer.status_code == 400 and b"is no StUF-GGk message" in answer.content


def _fo01(cross_ref: str, code: str) -> bytes:
    sg = Stuurgegevens(
        "Fo01",
        Systeem("IB", "GGk"),
        Systeem("0363", "Ketenpoort"),
        str(uuid.uuid4()),
        "20260105120000",
        cross_ref=cross_ref,
    )
    return soap.wrap(foutbericht(sg, Fout(code, "server", "tijdelijk geblokkeerd")))


def test_a_send_again_later_fo01_resends_after_the_tier_wait_until_attempts_run_out(
    gateway,
) -> None:
    """IB103 (release freeze: "send again later") re-sends the message by itself through the
    retry tiers; after max_attempts sends it stays parked for operations."""
    from adapters.ggk.endpoint import GgkIntake

    def wmo301_posts(mock: responses.RequestsMock) -> int:
        return sum(
            ggk_codec.read(soap_body(c.request.body)).stuurgegevens.functie == "WMO301"
            for c in mock.calls
        )

    with responses.RequestsMock() as mock:
        mock.post(GGK_URL, status=200, body=b"")
        with Services(gateway, workers=1, sweeper=False, ingress=False, filedrop=False):
            message_id = _toewijzing(gateway)
            wait_event(gateway.ledger, message_id, "delivered")
            delivered = [
                e for e in gateway.ledger.history(message_id) if e.event.value == "delivered"
            ]
            reference = delivered[0].detail["referentienummer"]
            intake = GgkIntake(gateway)
            for sends in (2, 3):
                assert intake.take(_fo01(reference, "IB103")).status == 202
                wait_for(lambda n=sends: wmo301_posts(mock) == n, what=f"send {sends}")
                wait_for(
                    lambda n=sends: events(gateway.ledger, message_id).count("delivered") == n,
                    what=f"delivery {sends} recorded",
                )
            assert intake.take(_fo01(reference, "IB103")).status == 202
            wait_for(lambda: events(gateway.ledger, message_id)[-1] == "parked", what="parked")
        assert wmo301_posts(mock) == 3  # max_attempts = 3: no fourth send
    history = gateway.ledger.history(message_id)
    resends = [e for e in history if e.event.value == "replayed"]
    assert [(e.detail["by"], e.detail["automatic"], e.detail["attempt"]) for e in resends] == [
        ("GGk", True, 2),
        ("GGk", True, 3),
    ]
    assert "IB103 (blocked)" in resends[0].detail["reason"]
    assert history[-1].event.value == "parked" and "IB103" in history[-1].detail["reason"]
    assert all(
        e.detail.get("referentienummer") == reference
        for e in history
        if e.event.value == "delivered"
    )
