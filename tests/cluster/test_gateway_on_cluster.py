"""The gateway on the private three-node RabbitMQ cluster and PostgreSQL (tools/cluster.py): it
connects to the list of nodes, and when the node leading its work queue is killed -9 under load
nothing is lost and nothing is handed over twice: every heenbericht delivered once, answered by
exactly one retour, the ledger verified. (The long form with three gateways, PostgreSQL
restarted and counterparts failing is bench/chaos.py.)"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import psycopg

from gateway.app import Gateway
from gateway.config import Settings
from gateway.envelope import Direction, Envelope
from gateway.ledger import Event
from gateway.ledger.audit import verify
from gateway.service import Services
from gateway.worker import retour_id
from tests.messages import wmo301
from tools import cluster as harness

MESSAGES = 240


def test_a_killed_queue_leader_loses_nothing_and_doubles_nothing(
    cluster: harness.Cluster, settings: Settings, tmp_path: Path
) -> None:
    base = Path(cluster.base)
    schema = f"kp_cluster_{uuid.uuid4().hex[:10]}"
    on_cluster = dataclasses.replace(
        settings,
        amqp_url=",".join(cluster.amqp_urls),
        ledger_url=f"{cluster.pg_url}?schema={schema}",
        var_dir=tmp_path / "var",
        retry_tiers=("1s", "2s"),
        max_attempts=20,
    )
    sent: list[str] = []
    killed = ""
    try:
        with Gateway(on_cluster) as gateway:
            gateway.declare_topology()
            queue = f"{on_cluster.bus_prefix}.inbound.iwmo"
            with Services(gateway, workers=2, ingress=False, filedrop=False, pollers=False):

                def send() -> None:
                    for start in range(0, MESSAGES, 10):
                        batch = [
                            Envelope(body=wmo301(70_000 + i), direction=Direction.INBOUND)
                            for i in range(start, start + 10)
                        ]
                        gateway.receiver.receive_many(batch)
                        sent.extend(e.message_id for e in batch)
                        time.sleep(0.05)

                sender = threading.Thread(target=send)
                sender.start()
                while len(sent) < MESSAGES // 3:
                    time.sleep(0.05)
                killed = harness.queue_leader(queue)
                harness.kill_node(base, killed)
                sender.join(180)
                assert len(sent) == MESSAGES

                def answered() -> int:
                    # the whole outcome: each retour delivered, not only recorded as sent (a
                    # retour still on its way when the services stop is counted as missing)
                    ids = [retour_id(m) for m in sent]
                    retours = gateway.ledger.histories(ids)
                    return sum(
                        any(e.event is Event.DELIVERED for e in retours.get(r, [])) for r in ids
                    )

                deadline = time.monotonic() + 240
                while answered() < MESSAGES and time.monotonic() < deadline:
                    time.sleep(1)
            histories = gateway.ledger.histories(sent)
            counts = Counter()
            for message_id in sent:
                events = Counter(e.event for e in histories[message_id])
                retour = Counter(e.event for e in gateway.ledger.history(retour_id(message_id)))
                counts[
                    (events[Event.DELIVERED], events[Event.RETOUR_SENT], retour[Event.DELIVERED])
                ] += 1
            assert counts == {(1, 1, 1): MESSAGES}, counts  # fmt: skip
            report = verify(gateway.ledger)  # type: ignore[arg-type]
            assert report.ok, report.problems
    finally:
        if killed:
            harness.start_node(base, killed)
        with psycopg.connect(cluster.pg_url, autocommit=True) as db:
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
