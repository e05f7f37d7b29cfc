import json
from datetime import UTC, datetime

import pika
import pika.data
import pytest

from gateway.bus.redelivery import after_failure, is_permanent
from gateway.bus.wire import (
    ATTEMPT,
    HISTORY,
    Unreadable,
    attempt_of,
    from_amqp,
    history_of,
    routing_key,
    to_amqp,
)
from gateway.envelope import Direction, Envelope, MessageType


def test_envelope_survives_the_wire() -> None:
    envelope = Envelope(
        body=b"<x/>",
        direction=Direction.INBOUND,
        correlation_id="corr-1",
        message_type=MessageType("iwmo", "WMO301", "3.2"),
        source="http",
        parent_id="p-1",
        received_at=datetime(2026, 11, 22, 12, 0, tzinfo=UTC),
    )
    properties, body = to_amqp(envelope)
    assert properties.delivery_mode == 2  # persistent
    assert from_amqp(properties, body) == envelope
    assert routing_key(envelope) == "iwmo.WMO301"
    assert envelope.route == "inbound.iwmo.WMO301"


def test_correlation_defaults_to_message_id() -> None:
    envelope = Envelope(body=b"", direction=Direction.OUTBOUND)
    assert envelope.correlation_id == envelope.message_id
    assert envelope.route == "outbound.unidentified"


# -- what else a queue may hold (tests/integration/test_bus_fuzz.py publishes it all) ---------

OURS = {
    "x-kp-direction": "inbound",
    "x-kp-source": "http",
    "x-kp-received-at": "2026-11-22T12:00:00+00:00",
    "x-kp-standard": "iwmo",
    "x-kp-code": "WMO301",
    "x-kp-version": "3.2",
}


def _properties(message_id: object = "m-1", **headers: object) -> pika.BasicProperties:
    return pika.BasicProperties(message_id=message_id, headers={**OURS, **headers})


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        (_properties(None), "no message id"),
        (_properties(""), "no message id"),
        (_properties(b"\xff\xfe"), "message id is not UTF-8 text"),
        (_properties("a\x00b"), "message id holds a control character"),
        (_properties(**{"x-kp-code": None, "x-kp-version": None}), "not all three given"),
        (_properties(**{"x-kp-direction": "sideways"}), "neither outbound nor inbound"),
        (_properties(**{"x-kp-direction": 1}), "x-kp-direction is not text but int"),
        (_properties(**{"x-kp-standard": b"\xff"}), "x-kp-standard is not UTF-8 text"),
        (_properties(**{"x-kp-code": {"nested": 1}}), "x-kp-code is not text but dict"),
        (_properties(**{"x-kp-received-at": "yesterday"}), "not an ISO 8601 time"),
        (
            pika.BasicProperties(message_id="m-1", correlation_id=b"\xff", headers=OURS),
            "correlation id is not UTF-8 text",
        ),
    ],
)
def test_what_cannot_be_read_into_an_envelope_is_unreadable_saying_why(
    properties: pika.BasicProperties, reason: str
) -> None:
    with pytest.raises(Unreadable, match=reason):
        from_amqp(properties, b"<x/>")
    assert is_permanent(Unreadable(reason))  # parked at once: reading it again cannot help


def test_headers_of_others_are_ignored_and_the_content_type_only_informs() -> None:
    properties = _properties(
        **{"x-kp-future": b"\xff", "x-death": [{"reason": b"\xff"}], "other": None}
    )
    properties.content_type = b"text/\xff"
    envelope = from_amqp(properties, b"<x/>")
    assert envelope.message_type == MessageType("iwmo", "WMO301", "3.2")
    assert envelope.content_type == "text/\ufffd"


@pytest.mark.parametrize(
    ("value", "attempt"),
    [(2, 2), ("3", 3), (b"4", 4), (-1, 1), ("x", 1), (b"\xff", 1), (None, 1), ({"a": 1}, 1)],
)
def test_the_attempt_header_is_read_whatever_it_holds(value: object, attempt: int) -> None:
    assert attempt_of(pika.BasicProperties(headers={ATTEMPT: value})) == attempt


def test_a_failure_history_of_any_shape_is_carried_on_and_can_be_published_again() -> None:
    properties = pika.BasicProperties(
        message_id=b"\xff",
        headers={
            HISTORY: [
                {"reason": b"\xff\xfe", b"\xff": 1, "at": datetime(2026, 1, 1, tzinfo=UTC)},
                "junk",
                {"queue": {"nested": [1]}, "attempt": None},
            ],
            b"\xff-key": 1,
        },
    )
    history = history_of(properties)
    assert history == [
        {"reason": "\ufffd\ufffd", "\ufffd": 1, "at": "2026-01-01 00:00:00+00:00"},
        {"queue": "{'nested': [1]}", "attempt": None},
    ]
    json.dumps(history)  # the ledger's detail takes it
    onward = after_failure(properties, queue="q", error=ValueError("bad"), outcome="parked")
    assert len(onward.headers[HISTORY]) == 3
    pika.data.encode_table([], onward.headers)  # and so does the next publish
