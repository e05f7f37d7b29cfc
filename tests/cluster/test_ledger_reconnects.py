"""The PostgreSQL ledger after its database restarted (found by the chaos soak): the call that
finds its connection gone fails, and the next one reconnects, for appends (the writer) and for
reads (each thread's own connection) alike, instead of failing on the dead connection forever."""

from __future__ import annotations

import uuid
from pathlib import Path

import psycopg
import pytest

from gateway.envelope import Direction, Envelope
from gateway.ledger import Event, open_ledger
from tests.messages import wmo301
from tools import cluster as harness


def test_the_ledger_reconnects_after_postgresql_restarted(cluster: harness.Cluster) -> None:
    schema = f"kp_reconnect_{uuid.uuid4().hex[:8]}"
    ledger = open_ledger(f"{cluster.pg_url}?schema={schema}", "k")
    try:
        first = Envelope(body=wmo301(1), direction=Direction.INBOUND)
        ledger.append(first, Event.RECEIVED, payload=first.body)
        assert [e.event for e in ledger.history(first.message_id)] == [Event.RECEIVED]

        harness.pg_stop(Path(cluster.base), mode="immediate")
        harness.pg_start(Path(cluster.base))

        second = Envelope(body=wmo301(2), direction=Direction.INBOUND)
        with pytest.raises(psycopg.OperationalError):  # the connection it held is gone
            ledger.append(second, Event.RECEIVED, payload=second.body)
        with pytest.raises(psycopg.OperationalError):
            ledger.history(first.message_id)
        ledger.append(second, Event.RECEIVED, payload=second.body)  # and then it works again
        assert [e.event for e in ledger.history(second.message_id)] == [Event.RECEIVED]
        assert [e.event for e in ledger.history(first.message_id)] == [Event.RECEIVED]
    finally:
        ledger.close()
        with psycopg.connect(cluster.pg_url, autocommit=True) as db:
            db.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
