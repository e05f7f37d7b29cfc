"""The chaos soak in short (bench/chaos.py is the long form): two ``ketenpoort run`` processes
on the three-node cluster and one PostgreSQL ledger, under a mixed load (heenberichten in
batches, single and raced to both gateways with the same ids; toewijzingen from JSON), the GGk
stand-in failing a share of calls with 503 and timeouts. One gateway is killed -9 (and started
again) and PostgreSQL is stopped and started during the load. Afterwards every acknowledged
message is delivered (or parked) exactly once, every heenbericht answered by exactly one retour,
no id has an event twice that it may have once, and ``ketenpoort ledger verify`` passes."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import time
import uuid
from collections import Counter, defaultdict
from pathlib import Path

import psycopg

from bench.chaos import (
    ONCE,
    ROOT,
    Gateways,
    Ledger,
    Load,
    StandIn,
    free_port,
    jobs,
    soak_settings,
    unsettled,
)
from gateway.config import Settings
from gateway.worker import retour_id
from tools import cluster as harness

MESSAGES = 500


def test_a_killed_gateway_and_a_restarted_postgresql_lose_nothing_and_double_nothing(
    cluster: harness.Cluster, settings: Settings, tmp_path: Path
) -> None:
    base = Path(cluster.base)
    schema = f"kp_chaos_{uuid.uuid4().hex[:8]}"
    stand_in = StandIn(unavailable=0.10, slow=0.03, slow_seconds=2.5)
    soak = dataclasses.replace(
        soak_settings(cluster, schema, stand_in.url),
        var_dir=tmp_path / "var",
        workers=2,
        bsn_hash_key=settings.bsn_hash_key,
    )
    (tmp_path / "var").mkdir()
    ports = [free_port() for _ in range(2)]
    gateways = Gateways(soak, ports, tmp_path / "gateways.log")
    ledger = Ledger(cluster.pg_url, schema)
    load = Load(ports, threads=4)
    try:
        gateways.start(ports[0])  # the first makes the schema and the topology alone
        assert gateways.ready(ports[0]), gateways.log.read_text()[-3000:]
        gateways.start(ports[1])
        assert gateways.ready(ports[1]), gateways.log.read_text()[-3000:]
        sender = load.run(list(jobs(MESSAGES)))

        def acknowledged(share: float) -> None:
            while len(load.acked) < share * MESSAGES and sender.is_alive():
                time.sleep(0.1)

        acknowledged(0.3)
        gateways.kill(ports[1])
        time.sleep(2)
        gateways.start(ports[1])
        acknowledged(0.6)
        harness.pg_stop(base, mode="immediate")
        time.sleep(3)
        harness.pg_start(base)
        sender.join(180)
        assert not sender.is_alive()
        assert len(load.acked) > 0.9 * MESSAGES, (len(load.acked), load.refused)

        deadline = time.monotonic() + 120
        while unsettled(load.acked, ledger.counts()) and time.monotonic() < deadline:
            time.sleep(2)
    finally:
        gateways.stop()
        stand_in.close()
    assert stand_in.calls["503"] and stand_in.calls["timeout"]  # the counterpart did fail

    counts: defaultdict[str, Counter[str]] = defaultdict(Counter, ledger.counts())
    assert unsettled(load.acked, counts) == []  # nothing lost
    inbound = [m for m, d in load.acked.items() if d == "inbound"]
    ids = [*load.acked, *(retour_id(m) for m in inbound)]
    assert [m for m in ids if counts[m]["delivered"] > 1] == []  # nothing delivered twice
    assert Counter(counts[m]["retour-sent"] for m in inbound) == {1: len(inbound)}
    assert [(m, e) for m, c in counts.items() for e in ONCE if c[e] > 1] == []
    verified = subprocess.run(
        [sys.executable, "-m", "gateway.cli", "ledger", "verify"],
        cwd=ROOT,
        env=gateways.env(ports[0]),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    with psycopg.connect(cluster.pg_url, autocommit=True) as db:
        db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
