"""Small builders of envelopes and descriptions for the ledger tests."""

from __future__ import annotations

from typing import Any

from gateway.adapter import Description
from gateway.envelope import Direction, Envelope, MessageType


def message(
    code: str = "WMO301",
    direction: Direction = Direction.OUTBOUND,
    message_id: str | None = None,
    correlation_id: str = "",
    standard: str = "iwmo",
) -> Envelope:
    kwargs: dict[str, Any] = {"message_id": message_id} if message_id else {}
    return Envelope(
        body=b"<Bericht/>",
        direction=direction,
        correlation_id=correlation_id,
        message_type=MessageType(standard, code, "3.2"),
        **kwargs,
    )


def description(
    sender: str = "0363",
    receiver: str = "12345678",
    bericht: str = "B-1",
    toewijzing: tuple[str, ...] = (),
    bsn: tuple[str, ...] = (),
    expects_answer: bool = False,
    answers: str | None = None,
) -> Description:
    keys: dict[str, tuple[str, ...]] = {"BerichtIdentificatie": (bericht,)}
    if toewijzing:
        keys["ToewijzingNummer"] = toewijzing
    return Description(sender, receiver, keys, bsn, expects_answer, answers)
