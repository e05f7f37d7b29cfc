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


# -- failure bookkeeping carried with the message ----------------------------------------------

ATTEMPT = f"{_PREFIX}attempt"  # 1 for the first delivery; +1 each time it comes back from a tier
HISTORY = f"{_PREFIX}history"  # one table per failed attempt: attempt, at, queue, error, reason
# Set by the broker on the way (dead-lettering, quorum redelivery count): not carried on.
_BROKER_HEADERS = ("x-death", "x-first-death", "x-last-death", "x-delivery-count")


def attempt_of(properties: pika.BasicProperties) -> int:
    value = (properties.headers or {}).get(ATTEMPT, 1)
    try:
        return max(int(_text(value)), 1)
    except ValueError:
        return 1


def history_of(properties: pika.BasicProperties) -> list[dict[str, object]]:
    value = (properties.headers or {}).get(HISTORY) or []
    if not isinstance(value, list):
        return []
    return [{k: _plain(v) for k, v in item.items()} for item in value if isinstance(item, dict)]


def _plain(value: object) -> object:
    return value.decode() if isinstance(value, bytes) else value


def after_failure(
    properties: pika.BasicProperties, *, queue: str, error: BaseException, outcome: str
) -> pika.BasicProperties:
    """The properties for the message's next stop (a retry tier or parking), history appended."""
    attempt = attempt_of(properties)
    entry: dict[str, object] = {
        "attempt": attempt,
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "queue": queue,
        "error": type(error).__name__,
        "reason": str(error)[:300],
        "outcome": outcome,
    }
    headers = {
        k: v for k, v in (properties.headers or {}).items() if not k.startswith(_BROKER_HEADERS)
    }
    headers[HISTORY] = [*history_of(properties), entry]
    headers[ATTEMPT] = attempt + 1 if outcome == "retry" else attempt
    return pika.BasicProperties(
        message_id=properties.message_id,
        correlation_id=properties.correlation_id,
        content_type=properties.content_type,
        delivery_mode=pika.DeliveryMode.Persistent,
        headers=headers,
    )
