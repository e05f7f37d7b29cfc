"""An envelope on the wire: AMQP properties and body, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pika

from gateway.envelope import Direction, Envelope, MessageType

_PREFIX = "x-kp-"


def to_amqp(envelope: Envelope) -> tuple[pika.BasicProperties, bytes]:
    headers: dict[str, str] = {
        f"{_PREFIX}direction": envelope.direction.value,
        f"{_PREFIX}source": envelope.source,
        f"{_PREFIX}received-at": envelope.received_at.isoformat(),
    }
    if envelope.message_type is not None:
        headers[f"{_PREFIX}standard"] = envelope.message_type.standard
        headers[f"{_PREFIX}code"] = envelope.message_type.code
        headers[f"{_PREFIX}version"] = envelope.message_type.version
    if envelope.parent_id:
        headers[f"{_PREFIX}parent"] = envelope.parent_id
    properties = pika.BasicProperties(
        message_id=envelope.message_id,
        correlation_id=envelope.correlation_id,
        content_type=envelope.content_type,
        delivery_mode=pika.DeliveryMode.Persistent,
        headers=headers,
    )
    return properties, envelope.body


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def from_amqp(properties: pika.BasicProperties, body: bytes) -> Envelope:
    headers = {k: _text(v) for k, v in (properties.headers or {}).items()}
    message_type = None
    if f"{_PREFIX}standard" in headers:
        message_type = MessageType(
            headers[f"{_PREFIX}standard"], headers[f"{_PREFIX}code"], headers[f"{_PREFIX}version"]
        )
    received_at = headers.get(f"{_PREFIX}received-at")
    return Envelope(
        body=body,
        direction=Direction(headers.get(f"{_PREFIX}direction", Direction.OUTBOUND.value)),
        message_id=properties.message_id or "",
        correlation_id=properties.correlation_id or "",
        content_type=properties.content_type or "application/xml",
        message_type=message_type,
        source=headers.get(f"{_PREFIX}source", ""),
        parent_id=headers.get(f"{_PREFIX}parent"),
        received_at=datetime.fromisoformat(received_at) if received_at else datetime.now(UTC),
    )


def routing_key(envelope: Envelope) -> str:
    mt = envelope.message_type
    return f"{mt.standard}.{mt.code}" if mt else "unidentified"
