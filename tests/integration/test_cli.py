"""The ketenpoort command as a user runs it, against the real broker."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.config import Settings, environment
from tests.conftest import EXAMPLES

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _run(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {**os.environ, **environment(settings), "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_sends_every_example_through_the_whole_path(settings: Settings) -> None:
    result = _run(settings, "demo")
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "all messages came out as expected" in out
    assert out.count("-> ACCEPTED") == 2 and out.count("-> REJECTED") == 2
    assert "-> REFUSED" in out
    assert "rule CS002 (retourcode 0001)" in out and "rule TR056 (retourcode 9056)" in out
    assert out.count("retour WMO302: delivered") == 3
    assert "ledger checkpoint signed: the first " in out  # the demo's ledger ends covered
    assert "999990032" not in result.stderr  # logs never carry a BSN


def test_send_records_and_publishes_then_a_worker_delivers(gateway, settings: Settings) -> None:
    from gateway.service import Services
    from tests.integration.helpers import wait_event

    result = _run(
        settings, "send", str(EXAMPLES / "toewijzing.json"), "--mapping", "iwmo/toewijzing"
    )
    assert result.returncode == 0, result.stderr
    receipt = json.loads(result.stdout)
    assert receipt["status"] == "accepted" and receipt["published"]
    with Services(gateway, workers=1, ingress=False, filedrop=False, sweeper=False):
        wait_event(gateway.ledger, receipt["message_id"], "delivered")

    refused = _run(settings, "send", str(EXAMPLES / "WMO301-zonder-producten.xml"), "--inbound")
    assert refused.returncode == 1 and json.loads(refused.stdout)["status"] == "refused"
    missing = _run(settings, "send", str(EXAMPLES / "toewijzing.json"))
    assert missing.returncode == 2 and "--mapping" in missing.stderr
