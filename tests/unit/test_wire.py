from datetime import UTC, datetime

from gateway.bus.wire import from_amqp, routing_key, to_amqp
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
