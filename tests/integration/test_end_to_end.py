"""The walking skeleton end to end on the real RabbitMQ: HTTP, AMQP and file-drop ingress,
workers, outbox delivery and WMO302 retours."""

from __future__ import annotations

import json
import uuid

import pika
import pytest
from fastapi.testclient import TestClient
from lxml import etree

from adapters.istandaarden.catalogue import Bericht
from gateway.bus.publisher import connect
from gateway.ingress.http import make_app
from gateway.service import Services
from gateway.worker import retour_id
from tests.conftest import EXAMPLES
from tests.integration.helpers import events, wait_event, wait_for
from tests.oracles import assert_valid, public_schema

pytestmark = pytest.mark.integration


@pytest.fixture
def running(gateway):
    with Services(gateway, workers=1, sweeper=False) as services:
        yield gateway, services


@pytest.fixture
def client(running):
    gateway, _ = running
    with TestClient(make_app(gateway)) as c:
        yield c


def _codes(xml: bytes) -> list[str]:
    return etree.fromstring(xml).xpath("//*[local-name()='RetourCode']/text()")


def test_toewijzing_json_over_http_reaches_the_aanbieder_as_a_valid_wmo301(
    running, client, reference
) -> None:
    gateway, _ = running
    response = client.post(
        "/v1/messages/outbound/iwmo/toewijzing",
        content=(EXAMPLES / "toewijzing.json").read_bytes(),
        headers={"content-type": "application/json", "x-correlation-id": "case-17"},
    )
    assert response.status_code == 202, response.text
    receipt = response.json()
    assert receipt["status"] == "accepted" and receipt["published"] is True
    assert receipt["message_type"] == "iwmo 3.2 WMO301"
    assert receipt["correlation_id"] == "case-17"
    wait_event(gateway.ledger, receipt["message_id"], "delivered")
    [delivered] = (gateway.settings.outbox_dir / "12345678").iterdir()
    xml = delivered.read_bytes()
    assert_valid(public_schema(reference, Bericht("iwmo", 301)), xml)
    history = client.get(f"/v1/messages/{receipt['message_id']}").json()["history"]
    kinds = [h["event"] for h in history]
    assert kinds[:3] == ["received", "mapped", "validated"]
    # the worker may record `delivered` before receive records the broker's confirm
    assert sorted(kinds[3:]) == ["delivered", "published"]


def test_received_wmo301_goes_to_the_back_office_and_gets_a_wmo302(running, client, reference):
    gateway, _ = running
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    response = client.post("/v1/messages/inbound", content=body)
    assert response.status_code == 202
    message_id = response.json()["message_id"]
    wait_event(gateway.ledger, message_id, "retour-sent")
    wait_event(gateway.ledger, retour_id(message_id), "delivered")
    [to_backoffice] = (gateway.settings.outbox_dir / "backoffice").iterdir()
    assert to_backoffice.read_bytes() == body
    [retour] = (gateway.settings.outbox_dir / "0599").iterdir()
    xml = retour.read_bytes()
    assert_valid(public_schema(reference, Bericht("iwmo", 302)), xml)
    assert _codes(xml) == []  # fully approved: header only, no RetourCodes
    retour_history = gateway.ledger.history(retour_id(message_id))
    assert retour_history[0].correlation_id == message_id  # one conversation


def test_bsn_failing_the_11_proef_is_answered_with_0001(running, client):
    gateway, _ = running
    response = client.post(
        "/v1/messages/inbound", content=(EXAMPLES / "WMO301-bsn-fout.xml").read_bytes()
    )
    assert response.status_code == 202
    receipt = response.json()
    assert receipt["status"] == "rejected"
    assert receipt["findings"][0]["rule"] == "CS002"
    wait_event(gateway.ledger, retour_id(receipt["message_id"]), "delivered")
    [retour] = (gateway.settings.outbox_dir / "0599").iterdir()
    assert _codes(retour.read_bytes()) == ["0001"]
    assert not (gateway.settings.outbox_dir / "backoffice").exists()


def test_schema_invalid_and_oversize_get_clear_errors_and_nothing_travels(running, client):
    gateway, _ = running
    response = client.post(
        "/v1/messages/inbound", content=(EXAMPLES / "WMO301-zonder-producten.xml").read_bytes()
    )
    assert response.status_code == 422
    receipt = response.json()
    assert receipt["status"] == "refused"
    assert "ToegewezenProducten" in receipt["errors"][0]
    assert events(gateway.ledger, receipt["message_id"]) == ["received", "rejected"]
    huge = b"<a>" + b"x" * gateway.settings.max_message_bytes + b"</a>"
    assert client.post("/v1/messages/inbound", content=huge).status_code == 413
    bad_mapping = client.post("/v1/messages/outbound/iwmo/toewijzing", content=b"{}")
    assert bad_mapping.status_code == 422
    assert bad_mapping.json()["errors"] == ["mapping iwmo/toewijzing: gemeente: is required"]
    assert not gateway.settings.outbox_dir.exists() or not any(
        gateway.settings.outbox_dir.rglob("*.xml")
    )


def test_message_id_header_makes_a_post_idempotent(running, client):
    gateway, _ = running
    message_id = str(uuid.uuid4())
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    first = client.post("/v1/messages/inbound", content=body, headers={"x-message-id": message_id})
    second = client.post("/v1/messages/inbound", content=body, headers={"x-message-id": message_id})
    assert first.json()["message_id"] == second.json()["message_id"] == message_id
    assert second.json()["duplicate"] is True
    wait_event(gateway.ledger, retour_id(message_id), "delivered")
    assert events(gateway.ledger, message_id).count("published") == 1
    assert len(list((gateway.settings.outbox_dir / "0599").iterdir())) == 1


def test_health(running, client):
    assert client.get("/health/live").json() == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json()["broker"] == "ok"


def test_amqp_ingress_records_publishes_and_replies(running):
    gateway, _ = running
    connection = connect(gateway.settings.amqp_url)
    channel = connection.channel()
    reply = channel.queue_declare("", exclusive=True).method.queue
    channel.confirm_delivery()
    channel.basic_publish(
        gateway.topology.ingress,
        "message",
        (EXAMPLES / "toewijzing.json").read_bytes(),
        pika.BasicProperties(
            message_id=str(uuid.uuid4()),
            correlation_id="amqp-1",
            reply_to=reply,
            headers={"x-kp-mapping": "iwmo/toewijzing"},
            delivery_mode=2,
        ),
        mandatory=True,
    )
    answers: list[bytes] = []

    def got() -> bool:
        method, _props, body = channel.basic_get(reply, auto_ack=True)
        if method:
            answers.append(body)
        return bool(answers)

    wait_for(got, what="the ingress receipt")
    receipt = json.loads(answers[0])
    assert receipt["status"] == "accepted" and receipt["correlation_id"] == "amqp-1"
    connection.close()
    wait_event(gateway.ledger, receipt["message_id"], "delivered")


def test_file_drop_takes_complete_files_once(running):
    gateway, _ = running
    drop = gateway.settings.drop_dir
    (drop / "inbound" / ".WMO301.xml.part").write_bytes(b"half a file")
    (drop / "inbound" / "a.xml").write_bytes((EXAMPLES / "WMO301-ontvangen.xml").read_bytes())
    (drop / "inbound" / "b.xml").write_bytes(
        (EXAMPLES / "WMO301-zonder-producten.xml").read_bytes()
    )
    mapped = drop / "outbound" / "iwmo.toewijzing"
    mapped.mkdir(parents=True)
    (mapped / "t.json").write_bytes((EXAMPLES / "toewijzing.json").read_bytes())
    wait_for(lambda: len(list((drop / "inbound" / "done").glob("*.xml"))) == 2, what="inbound")
    wait_for(lambda: len(list((drop / "outbound" / "done").glob("*.json"))) == 1, what="json")
    receipts = list((drop / "inbound" / "done").glob("*.receipt.json"))
    assert len(receipts) == 1 and json.loads(receipts[0].read_text())["status"] == "refused"
    assert (drop / "inbound" / ".WMO301.xml.part").exists()  # incomplete: left alone
    wait_for(lambda: (gateway.settings.outbox_dir / "12345678").exists(), what="delivery")
    wait_for(lambda: (gateway.settings.outbox_dir / "0599").exists(), what="retour")
