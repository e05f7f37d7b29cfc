"""``ketenpoort run`` in a process of its own, for the benchmarks that drive a whole gateway
(``latency.py``, ``month_end.py``): a private bus prefix and var folder, ready when
``/health/ready`` says so, its ledger open for reading, and its bus prefix deleted at the end."""

from __future__ import annotations

import http.client
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

from gateway.ledger import open_ledger
from gateway.ledger.sql import SqlLedger

ROOT = Path(__file__).resolve().parents[1]
BSN_HASH_KEY = "bench"  # the bench's ledgers, the gateway it runs and their fillers hash BSNs alike


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class RunningGateway:
    """``ketenpoort run`` under ``folder``; ``ledger_url`` empty for the embedded SQLite."""

    def __init__(self, folder: Path, ledger_url: str = "", ready_within: float = 120.0) -> None:
        self.folder = folder
        self.port = free_port()
        self.prefix = f"kp-bench-{uuid.uuid4().hex[:8]}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETENPOORT_")}
        env.update(
            KETENPOORT_VAR_DIR=str(folder / "var"),
            KETENPOORT_BUS_PREFIX=self.prefix,
            KETENPOORT_HTTP_PORT=str(self.port),
            KETENPOORT_LOG_LEVEL="warning",
            KETENPOORT_LOG_FORMAT="json",
            # the key the bench's own ledger handles (and a filled ledger's importer) hash BSNs
            # with: the gateway must find a client's toewijzingen under the same hash
            KETENPOORT_BSN_HASH_KEY=BSN_HASH_KEY,
        )
        if ledger_url:
            env["KETENPOORT_LEDGER_URL"] = ledger_url
        self.env = env
        self.log = open(folder / "gateway.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", "run"], env=env, cwd=ROOT, stderr=self.log
        )
        self._wait(ready_within)
        self.ledger: SqlLedger = open_ledger(
            ledger_url or f"sqlite:///{folder / 'var' / 'ledger.sqlite3'}", BSN_HASH_KEY
        )

    def _wait(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"the gateway ended; see {self.folder / 'gateway.log'}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                conn.request("GET", "/health/ready")
                if conn.getresponse().status == 200:
                    conn.close()
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit("the gateway did not get ready in time")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(60)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.ledger.close()
        self.log.close()
        from gateway.app import Gateway
        from gateway.bus.publisher import connect
        from gateway.config import load_settings

        settings = load_settings(env=self.env)
        with Gateway(settings) as gateway:  # the private bus prefix goes
            connection = connect(settings.amqp_url)
            gateway.topology.delete(connection.channel())
            connection.close()
