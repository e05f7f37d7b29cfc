from __future__ import annotations

import time
from collections.abc import Callable

from gateway.ledger import Ledger


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what or condition}")


def events(ledger: Ledger, message_id: str) -> list[str]:
    return [e.event.value for e in ledger.history(message_id)]


def wait_event(ledger: Ledger, message_id: str, event: str, timeout: float = 20.0) -> None:
    wait_for(lambda: event in events(ledger, message_id), timeout, f"{event} on {message_id}")
