"""The cluster harness itself, on the real nodes: a quorum queue keeps every confirmed message
when the node leading it is killed -9, the killed node rejoins, and the private PostgreSQL keeps
what it committed through a crash. What the gateway does on top of it is tested beside this."""

from __future__ import annotations

import uuid
from pathlib import Path

import pika
import psycopg

from tools import cluster as harness


def _channel(
    url: str,
) -> tuple[pika.BlockingConnection, pika.adapters.blocking_connection.BlockingChannel]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    return connection, connection.channel()


def test_a_quorum_queue_keeps_its_messages_when_its_leader_is_killed(
    cluster: harness.Cluster,
) -> None:
    base = Path(cluster.base)
    assert harness.running_nodes() == [f"{n}@localhost" for n in harness.NODES]
    queue = f"kp-cluster-{uuid.uuid4().hex[:8]}"
    connection, channel = _channel(cluster.amqp_urls[0])
    channel.queue_declare(queue, durable=True, arguments={"x-queue-type": "quorum"})
    channel.confirm_delivery()
    bodies = {f"m{i}".encode() for i in range(200)}
    for body in sorted(bodies):
        channel.basic_publish("", queue, body, pika.BasicProperties(delivery_mode=2))
    connection.close()

    leader = harness.queue_leader(queue)
    harness.kill_node(base, leader)
    survivor = next(n for n in harness.NODES if n != leader)
    connection, channel = _channel(cluster.amqp_urls[harness.NODES.index(survivor)])
    got: set[bytes] = set()
    for method, _, body in channel.consume(queue, inactivity_timeout=20):
        if method is None:
            break
        got.add(body)
        channel.basic_ack(method.delivery_tag)
        if got == bodies:
            break
    channel.cancel()
    assert got == bodies  # every confirmed message, none lost
    assert harness.queue_leader(queue, survivor) != leader  # a new leader was elected

    harness.start_node(base, leader)  # comes back and rejoins from its own Mnesia
    channel.queue_delete(queue)
    connection.close()
    assert len(harness.running_nodes(survivor)) == 3


def test_the_private_postgresql_keeps_what_it_committed_through_a_crash(
    cluster: harness.Cluster,
) -> None:
    base = Path(cluster.base)
    table = f"kp_cluster_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(cluster.pg_url, autocommit=True) as db:
        db.execute(f"CREATE TABLE {table} (n int)")
        db.execute(f"INSERT INTO {table} SELECT generate_series(1, 1000)")
    harness.pg_stop(base, mode="immediate")  # no checkpoint, no clean shutdown
    assert not harness.port_open(harness.PG_PORT)
    harness.pg_start(base)
    with psycopg.connect(cluster.pg_url, autocommit=True) as db:
        assert db.execute(f"SELECT count(*) FROM {table}").fetchone() == (1000,)
        db.execute(f"DROP TABLE {table}")
