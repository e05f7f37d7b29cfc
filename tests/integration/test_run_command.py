"""`ketenpoort run` as an operator starts it: HTTP in, worker, outbox out, clean stop."""

from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from gateway.config import Settings, environment
from tests.conftest import EXAMPLES
from tests.integration.helpers import wait_for

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_run_serves_http_delivers_and_stops_on_sigterm(settings: Settings) -> None:
    port = _free_port()
    served = dataclasses.replace(settings, http_port=port, log_format="json")
    env = {**os.environ, **environment(served), "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def up() -> bool:
            try:
                return requests.get(f"{base}/health/ready", timeout=1).status_code == 200
            except requests.ConnectionError:
                return False

        wait_for(up, timeout=30, what="ketenpoort run to serve")
        response = requests.post(
            f"{base}/v1/messages/outbound/iwmo/toewijzing",
            data=(EXAMPLES / "toewijzing.json").read_bytes(),
            headers={"content-type": "application/json"},
            timeout=10,
        )
        assert response.status_code == 202, response.text
        outbox = settings.var_dir / "outbox" / "12345678"
        wait_for(lambda: outbox.exists() and any(outbox.iterdir()), what="delivery")
        (settings.var_dir / "drop" / "inbound" / "x.xml").write_bytes(
            (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
        )
        wait_for(lambda: (settings.var_dir / "outbox" / "0599").exists(), what="file drop retour")
        assert (
            requests.get(f"{base}/openapi.json", timeout=5).json()["info"]["title"] == "Ketenpoort"
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _out, err = process.communicate(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, err[-2000:]
    assert '"event": "gateway.stopped"' in err
    assert "999990019" not in err  # the toewijzing's BSN never reaches a log line
