"""`ketenpoort messages list/show/replay/discard/jobs` against the real broker and ledger."""

from __future__ import annotations

import json

import pytest

from gateway.cli import main
from gateway.config import Settings, environment
from gateway.envelope import Direction, Envelope
from gateway.ledger import Event, Status
from tests.integration.helpers import events
from tests.ops.helpers import (
    block_delivery,
    ops_settings,
    running,
    toewijzing,
    unblock_delivery,
    wait_status,
)

pytestmark = pytest.mark.integration


def test_messages_commands(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    configured = ops_settings(settings)
    for name, value in environment(configured).items():
        monkeypatch.setenv(name, value)
    with running(configured) as gateway:
        block_delivery(configured)
        ids = []
        for number in (9101, 9102, 9103):
            receipt = gateway.receiver.receive_mapped(
                Envelope(body=toewijzing(number), direction=Direction.OUTBOUND),
                "iwmo",
                "toewijzing",
            )
            wait_status(gateway, receipt.message_id, Status.PARKED)
            ids.append(receipt.message_id)
        unblock_delivery(configured)
        capsys.readouterr()

        assert main(["messages", "list", "--status", "parked", "--json"]) == 0
        listed = json.loads(capsys.readouterr().out)
        assert sorted(m["message_id"] for m in listed) == sorted(ids)
        assert main(["messages", "list", "--key", "ToewijzingNummer=9102"]) == 0
        out = capsys.readouterr().out
        assert ids[1] in out and ids[0] not in out and "999990019" not in out

        assert main(["messages", "show", ids[0]]) == 0
        shown = capsys.readouterr().out
        assert f"WMO301 {ids[0]}  parked" in shown and "FileExistsError" in shown

        assert main(["messages", "discard", ids[0], "--reason", "duplicate"]) == 0
        assert main(["messages", "replay", ids[0]]) == 1
        assert "discarded messages are not replayed" in capsys.readouterr().err

        assert main(["messages", "replay", ids[1], "--reason", "one first"]) == 0
        wait_status(gateway, ids[1], Status.AWAITING_ANSWER)
        capsys.readouterr()
        # the bulk job: parked ones only (the replayed one is on its way, the discarded skipped)
        assert main(["messages", "replay", "--all", "--status", "parked", "--rate", "100"]) == 0
        captured = capsys.readouterr()
        result = json.loads(captured.out)
        assert (result["total"], result["replayed"], result["finished"]) == (1, 1, True)
        assert "[" + "#" * 30 + "] 1/1 replayed 1, skipped 0" in captured.err  # progress bar
        wait_status(gateway, ids[2], Status.AWAITING_ANSWER)
        assert main(["messages", "replay", "--resume", result["job_id"]]) == 0
        again = json.loads(capsys.readouterr().out)
        assert again["replayed"] == 1 and events(gateway.ledger, ids[2]).count("replayed") == 1
        assert main(["messages", "jobs"]) == 0
        assert result["job_id"] in capsys.readouterr().out

        discarded = [e for e in gateway.ledger.history(ids[0]) if e.event is Event.DISCARDED]
        assert discarded[0].detail["reason"] == "duplicate"
        assert discarded[0].detail["by"].startswith("cli")
