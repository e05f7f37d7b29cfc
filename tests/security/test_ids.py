"""Ids a sender chooses: message and correlation ids are UUIDs or of a safe charset, at most 128
characters, on every door; a message id is an idempotency key of the identity that used it
first: another identity using it gets 409, never the first one's receipt."""

from __future__ import annotations

import base64
import json
import uuid

import pika
import pytest

from gateway.bus.wire import Unreadable
from gateway.envelope import BadId, checked_id
from gateway.ingress.amqp import _incoming
from gateway.ledger import Event
from gateway.ops.parking import ParkingRecorder, stranger_id
from tests.conftest import EXAMPLES
from tests.security.conftest import Doors, as_

WMO301 = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
TOEWIJZING = (EXAMPLES / "toewijzing.json").read_bytes()  # sent by gemeente 0363
MAPPED = "/v1/messages/outbound/iwmo/toewijzing"

GOOD = [
    str(uuid.uuid4()),
    "bericht-17",
    "a" * 128,
    "urn:uuid:1",
    "x.y_z:1-2",
    "_1",
    "123456789",  # nine digits, but no BSN (the 11-proef fails)
    "4b6f0f2e-1c52-4e0b-9d55-999990019abc",  # a UUID whose digits look like one
]
BAD = [
    "",
    ".hidden",
    "../..",
    "a/b",
    "a" * 129,
    "x" * 60_000,
    "with space",
    "line\nbreak",
    "bericht-é",
    "nul\x00",
    "quote'",
    "999990019",  # a BSN
    "bericht-999990019-1",
]


@pytest.mark.parametrize("value", GOOD)
def test_a_safe_id_is_taken_as_it_is(value: str) -> None:
    assert checked_id(value) == value


@pytest.mark.parametrize("value", BAD, ids=range(len(BAD)))
def test_an_unsafe_id_is_refused_without_quoting_it(value: str) -> None:
    with pytest.raises(BadId) as refused:
        checked_id(value, "message id")
    assert value not in str(refused.value) or not value


@pytest.mark.parametrize("field", ["message_id", "correlation_id"])
@pytest.mark.parametrize("value", [v for v in BAD if v], ids=range(len(BAD) - 1))
def test_the_amqp_ingress_parks_a_message_with_an_unsafe_id(field: str, value: str) -> None:
    """Unreadable: parked alone, as it is, and recorded by the parking recorder under an id of
    its own making (tests/integration/test_bus_fuzz.py follows it there)."""
    properties = pika.BasicProperties(**{field: value})
    with pytest.raises(Unreadable):
        _incoming(properties, WMO301)


@pytest.mark.integration
@pytest.mark.parametrize(
    "correlation_id", ["x" * 60_000, "a" * 129, ".dot", "a;b", "a b"], ids=range(5)
)
def test_http_refuses_an_unsafe_correlation_id_with_400(doors: Doors, correlation_id: str) -> None:
    before = doors.gateway.ledger.tree_size()
    response = doors.client.post(
        "/v1/messages/inbound",
        content=WMO301,
        headers={**as_("internal"), "x-correlation-id": correlation_id},
    )
    assert response.status_code == 400, response.text
    batch = doors.client.post(
        "/v1/messages/inbound/batch",
        json={
            "messages": [
                {"body": base64.b64encode(WMO301).decode(), "correlation_id": correlation_id}
            ]
        },
        headers=as_("internal"),
    )
    assert batch.status_code == 400, batch.text
    assert doors.gateway.ledger.tree_size() == before  # nothing recorded


@pytest.mark.integration
def test_a_safe_correlation_id_is_carried(doors: Doors) -> None:
    response = doors.client.post(
        "/v1/messages/inbound",
        content=WMO301,
        headers={**as_("internal"), "x-correlation-id": "case-17:a.b_c"},
    )
    assert response.status_code == 202
    assert response.json()["correlation_id"] == "case-17:a.b_c"


@pytest.mark.integration
@pytest.mark.parametrize(
    ("first", "second", "status"),
    [
        ("bo-0363", "bo-0599", 409),  # another party
        ("bo-0363", "internal", 409),  # even an identity that may send as anyone
        ("bo-0363", "bo-0363", 202),  # the same identity again: its own receipt
    ],
)
def test_a_message_id_belongs_to_the_identity_that_used_it_first(
    doors: Doors, first: str, second: str, status: int
) -> None:
    message_id = str(uuid.uuid4())
    headers = {"content-type": "application/json", "x-message-id": message_id}
    sent = doors.client.post(MAPPED, content=TOEWIJZING, headers={**headers, **as_(first)})
    assert sent.status_code == 202, sent.text
    history = doors.gateway.ledger.history(message_id)
    again = doors.client.post(MAPPED, content=TOEWIJZING, headers={**headers, **as_(second)})
    assert again.status_code == status, again.text
    answer = again.json()
    assert answer["message_id"] == message_id
    if status == 409:
        assert answer["conflict"] is True and answer["status"] == "refused"
        assert answer["message_type"] is None and not answer["findings"]
        assert answer["route"] != sent.json()["route"]  # nothing of the first message shown
        assert "another sender" in answer["errors"][0]
    else:
        assert answer["duplicate"] is True and answer["route"] == sent.json()["route"]
    assert len(doors.gateway.ledger.history(message_id)) == len(history)  # nothing recorded


@pytest.mark.integration
def test_a_message_id_taken_over_http_is_a_conflict_in_a_batch_and_over_amqp(
    doors: Doors,
) -> None:
    message_id = str(uuid.uuid4())
    sent = doors.client.post(
        "/v1/messages/inbound",
        content=WMO301,
        headers={**as_("internal"), "x-message-id": message_id},
    )
    assert sent.status_code == 202
    batch = doors.client.post(
        "/v1/messages/inbound/batch",
        json={"messages": [{"body": base64.b64encode(WMO301).decode(), "message_id": message_id}]},
        headers=as_("bo-0599"),
    )
    assert batch.status_code == 207, batch.text
    assert batch.json()["messages"][0]["http_status"] == 409
    # the AMQP ingress speaks for no identity: not the one that used the id
    (outcome,) = doors.gateway.receiver.receive_many([_incoming(_props(message_id), WMO301)])
    assert not isinstance(outcome, Exception) and outcome.conflict
    assert json.loads(json.dumps(outcome.to_dict()))["conflict"] is True


def _props(message_id: str) -> pika.BasicProperties:
    return pika.BasicProperties(message_id=message_id, headers={"x-kp-direction": "inbound"})


@pytest.mark.integration
@pytest.mark.parametrize("unsafe", ["../..", ".hidden", "999990019 x", "é" * 60], ids=range(4))
def test_a_parked_stranger_is_never_recorded_under_an_unsafe_id(doors: Doors, unsafe: str) -> None:
    properties = pika.BasicProperties(message_id=unsafe)
    ParkingRecorder(doors.gateway.ledger).handle(properties, WMO301)
    assert not doors.gateway.ledger.history(unsafe)
    history = doors.gateway.ledger.history(stranger_id(properties, WMO301))
    assert [e.event for e in history] == [Event.PARKED]
