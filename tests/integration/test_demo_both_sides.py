"""``ketenpoort demo --both-sides`` as a user runs it, on the real broker: a gemeente's gateway
and an aanbieder's talk to each other; each message is on both ledgers, answered."""

from __future__ import annotations

import pytest

from gateway.config import Settings
from tests.integration.test_cli import _run

pytestmark = pytest.mark.integration


def test_both_sides_talk_through_two_gateways(settings: Settings) -> None:
    result = _run(settings, "demo", "--both-sides", "--timeout", "60")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "both sides answered every step" in out
    gemeente, aanbieder = out.split("the gemeente's ledger (0363):")[1].split(
        "the aanbieder's ledger (12345678):"
    )
    rows = lambda text: sorted(" ".join(line.split()) for line in text.splitlines() if "->" in line)  # noqa: E731
    # Each message once on each side: out of the one's gateway, into the other's, answered.
    assert rows(gemeente) == [
        "inbound WMO302 12345678 -> 0363 delivered",
        "inbound WMO305 12345678 -> 0363 answered",
        "outbound WMO301 0363 -> 12345678 answered",
        "outbound WMO306 0363 -> 12345678 delivered",
    ]
    assert rows(aanbieder.split("both sides answered")[0]) == [
        "inbound WMO301 0363 -> 12345678 answered",
        "inbound WMO306 0363 -> 12345678 delivered",
        "outbound WMO302 12345678 -> 0363 delivered",
        "outbound WMO305 12345678 -> 0363 answered",
    ]
    assert "999990019" not in result.stderr  # logs never carry a BSN
