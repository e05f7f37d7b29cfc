"""A bug of ours while judging a message (a rule that raises, a ledger read that fails) on every
door: the message is refused with a recorded verdict (stage ``internal``) that names the error's
kind and no value of the message, never a ``received`` left without a verdict and a 503; a
resend of the same id is answered from that verdict."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from gateway.ledger import Event
from tests.conftest import EXAMPLES
from tests.security.conftest import Doors
from tests.security.test_bad_input import DOORS

pytestmark = pytest.mark.integration

WMO301 = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
TOEWIJZING = json.dumps(json.loads((EXAMPLES / "toewijzing.json").read_text())).encode()
# what the failing rule's exception says: a BSN-like number, which nobody may be told
SECRET = "999993653"


def _broken_rule(doors: Doors, monkeypatch: pytest.MonkeyPatch) -> None:
    (adapter,) = [a for a in doors.gateway.registry.standards() if "iwmo" in a.standards]

    def check(*_: Any) -> list[Any]:
        raise KeyError(f"client {SECRET} not found")

    monkeypatch.setattr(adapter, "check", check)


def _broken_ledger_read(doors: Doors, monkeypatch: pytest.MonkeyPatch) -> None:
    ledger = doors.gateway.ledger

    def fail(*_: Any) -> Any:
        raise RuntimeError(f"lookup of {SECRET} failed")

    for name in ("find", "find_many"):
        monkeypatch.setattr(ledger, name, fail)


FAULTS: dict[str, Callable[[Doors, pytest.MonkeyPatch], None]] = {
    "rule": _broken_rule,
    "ledger-read": _broken_ledger_read,
}
CASES = [
    (door, mapping, fault)
    for fault in FAULTS
    for door, mapping in [
        ("http", None),
        ("http", "iwmo/toewijzing"),
        ("batch", None),
        ("amqp", None),
        ("file", None),
    ]
]


@pytest.mark.parametrize(
    ("door", "mapping", "fault"), CASES, ids=[f"{d}-{m or 'xml'}-{f}" for d, m, f in CASES]
)
def test_an_internal_error_while_judging_ends_in_a_recorded_verdict(
    doors: Doors, monkeypatch: pytest.MonkeyPatch, door: str, mapping: str | None, fault: str
) -> None:
    FAULTS[fault](doors, monkeypatch)
    body = TOEWIJZING if mapping else WMO301
    knock = DOORS[door]
    sent_as = str(uuid.uuid4())
    first = knock(doors, body, mapping, sent_as)
    message_id = first.receipt["message_id"]
    assert first.status in (None, 422), first
    assert first.receipt["status"] == "refused", first.receipt
    (error,) = first.receipt["errors"]
    assert "internal error" in error and "new message id" in error
    assert SECRET not in json.dumps(first.receipt)
    history = doors.gateway.ledger.history(message_id)
    assert history[0].event is Event.RECEIVED
    assert history[-1].event is Event.REJECTED, [e.event for e in history]
    assert history[-1].detail["stage"] == "internal"
    assert history[-1].detail["errors"] == [error]
    assert doors.gateway.ledger.payload(history[0].payload_sha256 or "") == body  # not lost

    again = knock(doors, body, mapping, sent_as)
    assert again.status == first.status
    assert again.receipt["duplicate"] is True and again.receipt["errors"] == [error]
    assert len(doors.gateway.ledger.history(message_id)) == len(history)
