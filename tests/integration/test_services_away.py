"""Starting while RabbitMQ or the PostgreSQL ledger cannot be reached, as an operator meets it:
log lines saying what is waited for (the broker), then one line saying what is away, exit 1,
no traceback, no password. The "away" services are ports nothing listens on; the real broker
and database are not touched."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-pw"


def _unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class Away:
    command: tuple[str, ...]
    away: str  # "broker" or "ledger"


CASES = [
    Away(("topology", "declare"), "broker"),
    Away(("worker",), "broker"),
    Away(("run",), "broker"),
    Away(("worker",), "ledger"),
    Away(("run",), "ledger"),
    Away(("ledger", "verify"), "ledger"),
]


@dataclass
class Outcome:
    returncode: int
    stderr: str
    port: int


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[Away, Outcome]]:
    """Every case at once, each its own process (each waits a second or two)."""
    started = {}
    for case in CASES:
        port = _unused_port()
        var_dir = tmp_path_factory.mktemp("var")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KETENPOORT_")}
        env.update(
            PYTHONPATH=str(ROOT),
            KETENPOORT_VAR_DIR=str(var_dir),
            KETENPOORT_HTTP_PORT=str(_unused_port()),
            KETENPOORT_BUS_PREFIX=f"kp-away-{port}",  # nothing is declared: nothing to remove
            KETENPOORT_AMQP_CONNECT_WAIT="1",
        )
        if case.away == "broker":
            env["KETENPOORT_AMQP_URL"] = f"amqp://kp:{PASSWORD}@127.0.0.1:{port}/%2F"
        else:
            env["KETENPOORT_LEDGER_URL"] = f"postgresql://kp:{PASSWORD}@127.0.0.1:{port}/kp"
            env["KETENPOORT_AMQP_URL"] = f"amqp://kp:{PASSWORD}@127.0.0.1:{_unused_port()}/"
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", *case.command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started[case] = (process, port)
    results = {}
    try:
        for case, (process, port) in started.items():
            _, err = process.communicate(timeout=30)
            results[case] = Outcome(process.returncode, err, port)
        yield results
    finally:
        for process, _ in started.values():
            if process.poll() is None:
                process.kill()
                process.wait()


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{' '.join(c.command)}-{c.away}")
def test_a_service_away_at_start_is_one_clear_line_and_exit_1(
    case: Away, outcomes: dict[Away, Outcome]
) -> None:
    outcome = outcomes[case]
    lines = outcome.stderr.strip().splitlines()
    command = " ".join(case.command)
    if case.away == "broker":
        expected = (
            f"ketenpoort {command}: RabbitMQ at 127.0.0.1:{outcome.port} (virtual host /) cannot "
            "be reached (connection refused); gave up after 1 s (settings amqp_url, "
            "amqp_connect_wait)"
        )
        waiting = [line for line in lines if "bus.waiting_for_broker" in line]
        assert waiting, outcome.stderr  # it said what it waited for, while it waited
        assert all(f"broker='127.0.0.1:{outcome.port} (virtual host /)'" in w for w in waiting)
        assert all("error='connection refused'" in w for w in waiting)
    else:
        expected = (
            f"ketenpoort {command}: the PostgreSQL ledger at 127.0.0.1:{outcome.port}/kp cannot be "
            "reached (setting ledger_url): connection failed: connection to server at "
            f'"127.0.0.1", port {outcome.port} failed: Connection refused'
        )
    assert lines[-1] == expected
    assert outcome.returncode == 1
    assert "Traceback" not in outcome.stderr
    assert PASSWORD not in outcome.stderr
    assert "gateway.started" not in outcome.stderr  # nothing started
