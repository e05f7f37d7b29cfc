"""An envelope on the wire: AMQP properties and body, and back."""

from __future__ import annotations

from datetime import UTC, datetime

import pika

from gateway.bus.failures import Stranger
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


class Unreadable(Stranger):
    """A message whose properties cannot be read into an envelope (no usable message id, a
    header of ours that is not text or names no direction or type the gateway knows): parked as
    it is, with this as its reason; the parking recorder records it with its bytes."""


def _as_text(value: object, name: str) -> str | None:
    """A property or header of ours as text (None when absent); :class:`Unreadable` when it is
    not text (pika gives bytes for what is not UTF-8; a header may hold any AMQP type)."""
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            value = value.decode()
        except UnicodeDecodeError:
            raise Unreadable(f"{name} is not UTF-8 text") from None
    if not isinstance(value, str):
        raise Unreadable(f"{name} is not text but {type(value).__name__}")
    return value


def loose_text(value: object) -> str:
    """A property that only informs (the content type) as text, whatever it holds: bytes that
    are not UTF-8 with replacement characters, nothing as ""."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return "" if value is None else str(value)


def identifier(value: object, name: str = "message id") -> str | None:
    """A message or correlation id as sent (None when absent or empty); :class:`Unreadable`
    when it is not printable text (a control character, NUL included, is no id: PostgreSQL
    cannot even store it)."""
    text = _as_text(value, name)
    if not text:
        return None
    if not text.isprintable():
        raise Unreadable(f"{name} holds a control character")
    return text


def header(properties: pika.BasicProperties, name: str) -> str | None:
    """The gateway's header ``x-kp-<name>`` as text (None when absent); :class:`Unreadable`
    when it holds something else."""
    headers = properties.headers if isinstance(properties.headers, dict) else {}
    return _as_text(headers.get(f"{_PREFIX}{name}"), f"header {_PREFIX}{name}")


def direction_of(properties: pika.BasicProperties) -> Direction:
    """Header ``x-kp-direction``, outbound when absent; :class:`Unreadable` for another word."""
    direction = header(properties, "direction") or Direction.OUTBOUND.value
    if direction not in set(Direction):
        raise Unreadable(f"header {_PREFIX}direction is neither outbound nor inbound")
    return Direction(direction)


def from_amqp(properties: pika.BasicProperties, body: bytes) -> Envelope:
    """The envelope a gateway published (``to_amqp``); :class:`Unreadable` for anything else.

    Only the gateway's own headers are read; other headers (the broker's, or one a newer
    gateway adds) are ignored."""
    message_id = identifier(properties.message_id)
    if message_id is None:
        raise Unreadable("no message id")
    message_type = None
    standard, code, version = (header(properties, n) for n in ("standard", "code", "version"))
    if standard or code or version:
        if not (standard and code and version):
            raise Unreadable(f"header {_PREFIX}standard, code and version: not all three given")
        message_type = MessageType(standard, code, version)
    received_at = header(properties, "received-at")
    try:
        at = datetime.fromisoformat(received_at) if received_at else datetime.now(UTC)
    except ValueError:
        raise Unreadable(f"header {_PREFIX}received-at is not an ISO 8601 time") from None
    return Envelope(
        body=body,
        direction=direction_of(properties),
        message_id=message_id,
        correlation_id=identifier(properties.correlation_id, "correlation id") or "",
        content_type=loose_text(properties.content_type) or "application/xml",
        message_type=message_type,
        source=header(properties, "source") or "",
        parent_id=header(properties, "parent"),
        received_at=at,
    )


def routing_key(envelope: Envelope) -> str:
    mt = envelope.message_type
    return f"{mt.standard}.{mt.code}" if mt else "unidentified"


# -- failure bookkeeping carried with the message ----------------------------------------------

ATTEMPT = f"{_PREFIX}attempt"  # 1 for the first delivery; +1 each time it comes back from a tier
HISTORY = f"{_PREFIX}history"  # one table per failed attempt: attempt, at, queue, error, reason
# Written by ``bus/redelivery.py`` (``after_failure``); read here.


def attempt_of(properties: pika.BasicProperties) -> int:
    headers = properties.headers if isinstance(properties.headers, dict) else {}
    value = headers.get(ATTEMPT, 1)
    if isinstance(value, bytes):
        value = value.decode(errors="replace")
    try:
        return max(int(value), 1) if isinstance(value, int | str) else 1
    except ValueError:
        return 1


def history_of(properties: pika.BasicProperties) -> list[dict[str, object]]:
    """The failures carried with the message; whatever a header holds, plain values (text,
    numbers, booleans, None) that the ledger's JSON and the next publish can take."""
    headers = properties.headers if isinstance(properties.headers, dict) else {}
    value = headers.get(HISTORY) or []
    if not isinstance(value, list):
        return []
    return [
        {_plain_text(k): _plain(v) for k, v in item.items()}
        for item in value
        if isinstance(item, dict)
    ]


def _plain_text(value: object) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)


def _plain(value: object) -> object:
    if value is None or isinstance(value, str | int | bool):
        return value
    return _plain_text(value)
