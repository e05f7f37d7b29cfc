"""Duties that must run once among the instances on a ledger (the sweeper, the pollers, the
deadline monitor) are elected with a lease: held by one, handed over when its holder dies, on
the real PostgreSQL (a session advisory lock) and SQLite (a lock file, one instance)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import psycopg

from gateway.service import elected
from tests.conftest import PG_URL
from tests.ledger.conftest import Backend


def _wait(predicate, seconds: float = 15.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


def test_one_holder_at_a_time_and_the_lease_is_free_again_once_released(backend: Backend) -> None:
    first, second = backend.open(), backend.open()
    a, b = first.lease("sweeper"), second.lease("sweeper")
    assert a.acquire() and a.held()
    assert a.acquire()  # again: still ours
    assert not b.acquire() and not b.held()
    assert second.lease("pollers").acquire()  # another duty is another lease
    a.release()
    assert not a.held()
    assert b.acquire() and b.held()
    b.release()


def test_an_elected_duty_runs_in_one_instance_and_is_handed_over_when_its_holder_dies(
    backend: Backend,
) -> None:
    """Two instances run the same duty loop; only one runs the duty. Its holder dying (for
    PostgreSQL its session is ended by the server, as when its process is killed) hands the
    duty to the other within a few seconds; the old holder's duty is told it lost the lease."""
    ledgers = [backend.open(), backend.open()]
    running: dict[int, threading.Event] = {0: threading.Event(), 1: threading.Event()}
    lost_seen: dict[int, threading.Event] = {0: threading.Event(), 1: threading.Event()}
    overlap: list[float] = []
    stops = [threading.Event(), threading.Event()]

    def duty(i: int):  # type: ignore[no-untyped-def]
        def run(lost: threading.Event) -> None:
            if running[1 - i].is_set():
                overlap.append(time.monotonic())
            running[i].set()
            lost.wait()
            running[i].clear()
            if not stops[i].is_set():
                lost_seen[i].set()

        return run

    threads = []
    for i in (0, 1):
        loop = elected(ledgers[i], "sweeper", duty(i), stops[i], check=0.2)
        threads.append(threading.Thread(target=loop, daemon=True))
    threads[0].start()
    assert _wait(running[0].is_set)
    threads[1].start()
    time.sleep(1.0)
    assert not running[1].is_set()  # the lease is held: the second waits

    if backend.name == "postgres":
        # the holder's session ends, as when its process is killed or its connection is cut
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks "
                "WHERE locktype = 'advisory' AND granted AND pid <> pg_backend_pid() "
                "AND objid = (hashtext(%s)::bigint & 4294967295)",
                (f"ketenpoort {backend.dsn.split('schema=')[1]} lease sweeper",),
            )
        assert _wait(lost_seen[0].is_set)  # the old holder stops its duty
    else:
        stops[0].set()  # SQLite: one instance; its end frees the lock file
    assert _wait(running[1].is_set)  # ... and the other takes it over
    assert overlap == []
    for stop in stops:
        stop.set()
    for thread in threads:
        thread.join(10)


def test_a_second_gateway_on_one_sqlite_ledger_refuses_to_start(tmp_path: Path) -> None:
    """``ketenpoort run`` holds the lease "instance" of a SQLite ledger; a second one on the
    same file says so and exits 1 (the first keeps running)."""
    import os
    import socket
    import subprocess
    import sys

    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {
        **os.environ,
        "KETENPOORT_VAR_DIR": str(tmp_path / "var"),
        "KETENPOORT_HTTP_PORT": str(port),
    }
    from gateway.ledger import open_ledger

    ledger = open_ledger(f"sqlite:///{tmp_path / 'var' / 'ledger.sqlite3'}", "k")
    held = ledger.lease("instance")
    assert held.acquire()  # as the first ``ketenpoort run`` does
    try:
        done = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "run"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    finally:
        held.release()
        ledger.close()
    assert done.returncode == 1, done.stderr
    assert "another gateway" in done.stderr and "postgresql://" in done.stderr
    assert "Traceback" not in done.stderr
