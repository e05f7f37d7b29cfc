"""Bulk HTTP ingress: several messages in one request, received together.

``POST /v1/messages/outbound/batch`` and ``POST /v1/messages/inbound/batch`` take a JSON object::

    {"messages": [
        {"body": "<base64 of the XML>",             required
         "message_id": "<UUID>",                    optional: makes a resend idempotent
         "correlation_id": "...",                   optional: a safe id (envelope.checked_id)
         "content_type": "application/xml"},        optional
        ...
    ]}

The whole batch goes through :meth:`gateway.receive.Receiver.receive_many`: the messages'
``received`` and verdict entries are recorded in one transaction, the accepted ones published
with their confirms in flight together, and only then is the answer sent. The answer holds one
result per message, in the order sent: the HTTP status the single endpoint would have answered
for it (202, 403, 409, 422; 500 when it was recorded but judging it failed on the gateway's side:
its receipt says ``internal``, nothing is known to be wrong with it, send it again under a new
``message_id``; or 503 when it could not be recorded: send it again, with its ``message_id``
that is safe) and its receipt. The batch answers 202 when every message got 202, 207
(Multi-Status) otherwise: a message refused on the gateway's side does not make the whole
request a 500.

A request that is not of this shape is refused whole with 400 and the reasons (per message where
one is at fault); a request with more than ``http_batch_max_messages`` messages, more than
``http_batch_max_bytes`` bytes, or a message larger than ``max_message_bytes`` with 413. Nothing
of a refused request is recorded.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from gateway.door import Given, Speaker, envelope_for
from gateway.envelope import Direction, Envelope
from gateway.receipt import ACCEPTED, REJECTED, Receipt


@dataclass(frozen=True)
class Limits:
    messages: int  # most messages in one request
    request_bytes: int  # largest request body
    message_bytes: int  # largest message (decoded)


# A base64 text as ``base64.b64decode(..., validate=True)`` takes it (padding required).
BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"


def request_schema(limits: Limits) -> dict[str, Any]:
    """The request body as OpenAPI describes it (the route reads and checks the bytes itself, so
    that a too large request is refused before it is parsed); what :func:`parse_batch` takes."""
    return {
        "type": "object",
        "required": ["messages"],
        "properties": {
            "messages": {
                "type": "array",
                "minItems": 1,
                "maxItems": limits.messages,
                "items": {
                    "type": "object",
                    "required": ["body"],
                    "properties": {
                        "body": {
                            "type": "string",
                            "format": "byte",
                            "minLength": 4,
                            "pattern": BASE64,
                            "description": "the message (XML), base64; at most "
                            f"{limits.message_bytes} bytes decoded",
                        },
                        "message_id": {
                            "type": ["string", "null"],
                            "format": "uuid",
                            "description": "makes a resend idempotent (as X-Message-Id); "
                            "absent or null: a new one",
                        },
                        "correlation_id": {
                            "type": "string",
                            "maxLength": 128,
                            "pattern": r"^(?:[A-Za-z0-9_:-][A-Za-z0-9._:-]*)?$",
                        },
                        "content_type": {"type": "string", "default": "application/xml"},
                    },
                    "additionalProperties": False,
                },
            }
        },
    }


_FIELDS = {"body", "message_id", "correlation_id", "content_type"}


class BatchRefused(Exception):
    """The request as a whole is refused: nothing of it is recorded."""

    def __init__(self, status: int, error: str, problems: list[dict[str, Any]] | None = None):
        super().__init__(error)
        self.status = status
        self.error = error
        self.problems = problems or []

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"error": self.error}
        if self.problems:
            data["messages"] = self.problems
        return data


def parse_batch(
    raw: bytes,
    direction: Direction,
    limits: Limits,
    who: Speaker,
) -> list[Envelope]:
    """The request's messages as envelopes, in order; :class:`BatchRefused` if it is not of the
    documented shape or over a limit."""
    try:
        document = json.loads(raw)
    except ValueError as exc:
        raise BatchRefused(400, f"the request is not JSON: {exc}") from None
    except RecursionError:
        raise BatchRefused(400, "the request is nested too deeply") from None
    if not isinstance(document, dict) or not isinstance(document.get("messages"), list):
        raise BatchRefused(400, 'expected a JSON object {"messages": [...]}')
    items = document["messages"]
    if not items:
        raise BatchRefused(400, "the batch holds no messages")
    if len(items) > limits.messages:
        raise BatchRefused(
            413, f"the batch holds {len(items)} messages; at most {limits.messages} per request"
        )
    envelopes: list[Envelope] = []
    problems: list[dict[str, Any]] = []
    too_large: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            envelope = _envelope(item, direction, who)
        except ValueError as exc:
            problems.append({"index": index, "error": str(exc)})
            continue
        if len(envelope.body) > limits.message_bytes:
            too_large.append(
                {"index": index, "error": f"message is larger than {limits.message_bytes} bytes"}
            )
        envelopes.append(envelope)
    if problems:
        raise BatchRefused(400, "some messages are not as documented; nothing was sent", problems)
    if too_large:
        raise BatchRefused(413, "some messages are too large; nothing was sent", too_large)
    return envelopes


# What a batch's items call the ids a sender chooses (in a refusal's text).
_NAMES = ("'message_id'", "'correlation_id'")


def _envelope(item: object, direction: Direction, who: Speaker) -> Envelope:
    if not isinstance(item, dict):
        raise ValueError("expected an object with at least 'body'")
    unknown = sorted(set(item) - _FIELDS)
    if unknown:
        raise ValueError(f"unknown field(s): {', '.join(unknown)}")
    body = item.get("body")
    if not isinstance(body, str) or not body:
        raise ValueError("'body' (the message, base64) is required")
    try:
        decoded = base64.b64decode(body, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("'body' is not base64") from None
    message_id = item.get("message_id")
    correlation_id = item.get("correlation_id", "")
    content_type = item.get("content_type", "application/xml")
    if not isinstance(correlation_id, str) or not isinstance(content_type, str):
        raise ValueError("'correlation_id' and 'content_type' are strings")
    given = Given(
        None if message_id is None else str(message_id), correlation_id, _NAMES, uuid=True
    )
    return envelope_for("http", decoded, direction, who=who, given=given, content_type=content_type)


def http_status(receipt: Receipt, direction: Direction) -> int:
    """What the single endpoint answers for this receipt."""
    if receipt.forbidden:
        return 403
    if receipt.conflict:
        return 409
    if receipt.internal:
        return 500  # recorded; the sender did nothing wrong that we know of, and may send again
    if receipt.status == ACCEPTED:
        return 202
    if receipt.status == REJECTED and direction is Direction.INBOUND:
        return 202  # received; the retourbericht tells the sender what is wrong
    return 422


def answer(
    envelopes: list[Envelope], results: list[Receipt | Exception], direction: Direction
) -> tuple[dict[str, Any], int]:
    """The response body (one result per message, in order) and the batch's status."""
    out: list[dict[str, Any]] = []
    for index, (envelope, result) in enumerate(zip(envelopes, results, strict=True)):
        if isinstance(result, Exception):
            out.append(
                {
                    "index": index,
                    "message_id": envelope.message_id,
                    "http_status": 503,
                    "error": "not recorded (ledger unavailable); send it again with this "
                    "message_id",
                }
            )
        else:
            out.append(
                {"index": index, "http_status": http_status(result, direction), **result.to_dict()}
            )
    statuses = [item["http_status"] for item in out]
    counts = {
        "messages": len(out),
        "accepted": sum(item.get("status") == ACCEPTED for item in out),
        "rejected": sum(item.get("status") == REJECTED for item in out),
        "refused": sum(item.get("status") == "refused" for item in out),
        "not_recorded": statuses.count(503),
    }
    return {"counts": counts, "messages": out}, 202 if set(statuses) == {202} else 207
