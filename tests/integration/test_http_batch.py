"""Bulk HTTP ingress (``POST /v1/messages/{outbound,inbound}/batch``) on the real RabbitMQ and
both ledger backends: recorded before the answer, one result per message, refusals whole."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import structlog.testing
from fastapi.testclient import TestClient

from gateway.app import Gateway
from gateway.config import Settings
from gateway.ingress.http import make_app
from gateway.service import Services
from gateway.worker import retour_id
from tests.conftest import EXAMPLES
from tests.integration.helpers import events, wait_event
from tests.ledger.conftest import Backend
from tests.messages import wmo301
from tests.ops.helpers import as_, ops_settings

pytestmark = pytest.mark.integration

OUTBOUND = "/v1/messages/outbound/batch"
INBOUND = "/v1/messages/inbound/batch"
AANBIEDER = "87654321"  # Ontvanger of tests.messages.wmo301


def _item(body: bytes, **fields: Any) -> dict[str, Any]:
    return {"body": base64.b64encode(body).decode(), **fields}


@pytest.fixture
def live(settings: Settings, backend: Backend) -> Iterator[tuple[Gateway, TestClient]]:
    configured = dataclasses.replace(settings, ledger_url=backend.dsn)
    gateway = Gateway(configured)
    gateway.declare_topology()
    try:
        with (
            Services(gateway, workers=1, ingress=False, filedrop=False, sweeper=False),
            TestClient(make_app(gateway)) as client,
        ):
            yield gateway, client
    finally:
        gateway.close()


def test_a_batch_is_recorded_and_published_before_the_answer_and_each_is_delivered(
    live: tuple[Gateway, TestClient],
) -> None:
    gateway, client = live
    ids = [str(uuid.uuid4()) for _ in range(5)]
    messages = [
        _item(wmo301(900 + n), message_id=ids[n], correlation_id=f"case-{n}") for n in range(5)
    ]
    response = client.post(OUTBOUND, json={"messages": messages})
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["counts"] == {
        "messages": 5,
        "accepted": 5,
        "rejected": 0,
        "refused": 0,
        "not_recorded": 0,
    }
    for n, result in enumerate(answer["messages"]):
        assert result["index"] == n and result["http_status"] == 202
        assert result["message_id"] == ids[n] and result["correlation_id"] == f"case-{n}"
        assert result["status"] == "accepted" and result["published"] is True
        assert result["message_type"] == "iwmo 3.2 WMO301"
        # recorded (received, verdict, published) before the answer was sent
        assert {"received", "validated", "published"} <= set(events(gateway.ledger, ids[n]))
    for message_id in ids:
        wait_event(gateway.ledger, message_id, "delivered")
    delivered = sorted(
        p.name.split(".")[0] for p in (gateway.settings.outbox_dir / AANBIEDER).iterdir()
    )
    assert delivered == sorted(ids)
    for n, message_id in enumerate(ids):
        [file] = (gateway.settings.outbox_dir / AANBIEDER).glob(f"{message_id}.*")
        assert file.read_bytes() == wmo301(900 + n)


def test_each_message_gets_its_own_result_and_a_resend_is_idempotent(
    live: tuple[Gateway, TestClient],
) -> None:
    gateway, client = live
    good, twice = str(uuid.uuid4()), str(uuid.uuid4())
    messages = [
        _item(wmo301(950), message_id=good),
        _item(b"not xml at all"),
        _item((EXAMPLES / "WMO301-zonder-producten.xml").read_bytes()),
        _item(wmo301(951), message_id=twice),
        _item(wmo301(951), message_id=twice),  # the same message twice in one batch
    ]
    response = client.post(OUTBOUND, json={"messages": messages})
    assert response.status_code == 207, response.text
    results = response.json()["messages"]
    assert [r["http_status"] for r in results] == [202, 422, 422, 202, 202]
    assert [r["status"] for r in results] == [
        "accepted",
        "refused",
        "refused",
        "accepted",
        "accepted",
    ]
    assert [r["duplicate"] for r in results] == [False, False, False, False, True]
    assert "ToegewezenProducten" in results[2]["errors"][0]
    assert events(gateway.ledger, results[1]["message_id"]) == ["received", "rejected"]
    assert response.json()["counts"]["refused"] == 2

    again = client.post(OUTBOUND, json={"messages": [messages[0], messages[3]]})
    assert again.status_code == 202
    assert [r["duplicate"] for r in again.json()["messages"]] == [True, True]
    for message_id in (good, twice):
        wait_event(gateway.ledger, message_id, "delivered")
        assert events(gateway.ledger, message_id).count("published") == 1
    assert len(list((gateway.settings.outbox_dir / AANBIEDER).iterdir())) == 2


def test_an_inbound_batch_is_answered_with_retours(live: tuple[Gateway, TestClient]) -> None:
    gateway, client = live
    messages = [
        _item((EXAMPLES / "WMO301-ontvangen.xml").read_bytes()),
        _item((EXAMPLES / "WMO301-bsn-fout.xml").read_bytes()),
    ]
    response = client.post(INBOUND, json={"messages": messages})
    assert response.status_code == 202, response.text  # a rejected heenbericht is received
    accepted, rejected = response.json()["messages"]
    assert accepted["status"] == "accepted" and rejected["status"] == "rejected"
    assert rejected["findings"][0]["rule"] == "CS002"
    for result in (accepted, rejected):
        wait_event(gateway.ledger, retour_id(result["message_id"]), "delivered")


@pytest.mark.parametrize(
    ("request_body", "status", "error"),
    [
        (b"{not json", 400, "not JSON"),
        (b'{"berichten": []}', 400, '{"messages": [...]}'),
        (b'{"messages": []}', 400, "no messages"),
    ],
)
def test_a_request_not_of_the_documented_shape_is_refused_whole(
    live: tuple[Gateway, TestClient], request_body: bytes, status: int, error: str
) -> None:
    _, client = live
    with structlog.testing.capture_logs() as logs:
        response = client.post(
            OUTBOUND, content=request_body, headers={"content-type": "application/json"}
        )
    assert response.status_code == status
    assert error in response.json()["error"]
    # nothing reaches the ledger, so the log line is where operations see the refusal
    [line] = [entry for entry in logs if entry["event"] == "ingress.batch_refused"]
    assert line["status"] == status and error in line["error"]


def test_a_bad_message_refuses_the_whole_batch_and_nothing_is_recorded(
    live: tuple[Gateway, TestClient],
) -> None:
    gateway, client = live
    fine = str(uuid.uuid4())
    response = client.post(
        OUTBOUND,
        json={
            "messages": [
                _item(wmo301(960), message_id=fine),
                {"body": "this is not base64!"},
                _item(wmo301(961), message_id="not-a-uuid"),
                _item(wmo301(962), colour="blue"),
            ]
        },
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["messages"] == [
        {"index": 1, "error": "'body' is not base64"},
        {"index": 2, "error": "'message_id' must be a UUID"},
        {"index": 3, "error": "unknown field(s): colour"},
    ]
    assert gateway.ledger.history(fine) == []


def test_oversize_batches_are_refused_with_a_clear_error(
    settings: Settings, backend: Backend
) -> None:
    configured = dataclasses.replace(
        settings,
        ledger_url=backend.dsn,
        http_batch_max_messages=3,
        http_batch_max_bytes=40_000,
        max_message_bytes=5_000,
    )
    with Gateway(configured) as gateway, TestClient(make_app(gateway)) as client:
        four = client.post(OUTBOUND, json={"messages": [_item(wmo301(n)) for n in range(4)]})
        assert four.status_code == 413
        assert four.json()["error"] == "the batch holds 4 messages; at most 3 per request"
        big = client.post(OUTBOUND, json={"messages": [_item(b"<a>" + b"x" * 40_000 + b"</a>")]})
        assert big.status_code == 413
        assert big.json()["error"] == "the request is larger than 40000 bytes"
        one_large = client.post(
            OUTBOUND,
            json={"messages": [_item(wmo301(1)), _item(b"<a>" + b"x" * 6_000 + b"</a>")]},
        )
        assert one_large.status_code == 413
        assert one_large.json()["messages"] == [
            {"index": 1, "error": "message is larger than 5000 bytes"}
        ]
        assert gateway.ledger.tree_size() == 0  # type: ignore[attr-defined]


def test_a_batch_needs_a_sender_identity_and_each_message_is_checked_against_it(
    settings: Settings, backend: Backend
) -> None:
    configured = ops_settings(dataclasses.replace(settings, ledger_url=backend.dsn))
    with Gateway(configured) as gateway:
        gateway.declare_topology()
        with (
            Services(gateway, workers=0, ingress=False, filedrop=False, sweeper=False),
            TestClient(make_app(gateway)) as client,
        ):
            batch = {"messages": [_item(wmo301(970)), _item(wmo301(971))]}
            assert client.post(OUTBOUND, json=batch).status_code == 401
            assert client.post(OUTBOUND, json=batch, headers=as_("viewer")).status_code == 403
            wrong = client.post(OUTBOUND, json=batch, headers=as_("bo-0363"))
            assert wrong.status_code == 207
            for result in wrong.json()["messages"]:
                assert result["http_status"] == 403 and result["status"] == "refused"
                assert "handed in by bo-0363 who may send only as: 0363" in result["errors"][0]
                history = gateway.ledger.history(result["message_id"])
                assert history[0].detail["identity"] == "bo-0363"
            right = client.post(OUTBOUND, json=batch, headers=as_("bo-0599"))
            assert right.status_code == 202, right.text
            assert [r["published"] for r in right.json()["messages"]] == [True, True]


def test_the_batch_endpoints_are_in_the_openapi_document(live: tuple[Gateway, TestClient]) -> None:
    _, client = live
    paths = client.get("/openapi.json").json()["paths"]
    for path in (OUTBOUND, INBOUND):
        post = paths[path]["post"]
        schema = post["requestBody"]["content"]["application/json"]["schema"]
        assert schema["properties"]["messages"]["items"]["required"] == ["body"]
        assert {"202", "207", "400", "413"} <= set(post["responses"])
