"""The bus's pure parts: failure classification, in-process retries, tiers, headers, export."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pika
import pytest
import requests

from gateway.adapter import Registry
from gateway.app import topology_for
from gateway.bus.failures import Permanent, Retryable
from gateway.bus.redelivery import after_failure, call_outbound, is_permanent
from gateway.bus.topology import Topology, duration_seconds
from gateway.bus.wire import ATTEMPT, HISTORY, attempt_of, history_of
from gateway.config import environment, load_settings
from gateway.xmlsafe import XmlRejected

ROOT = Path(__file__).resolve().parents[2]


def _http(status: int) -> requests.HTTPError:
    response = requests.Response()
    response.status_code = status
    return requests.HTTPError(f"{status}", response=response)


@pytest.mark.parametrize(
    ("error", "permanent"),
    [
        (Permanent("no"), True),
        (Retryable("later"), False),
        (_http(400), True),
        (_http(404), True),
        (_http(422), True),
        (_http(408), False),
        (_http(429), False),
        (_http(500), False),
        (_http(503), False),
        (requests.Timeout("slow"), False),
        (requests.ConnectionError("refused"), False),
        (TimeoutError(), False),
        (ConnectionResetError(), False),
        (XmlRejected("not XML"), True),
        (ValueError("bad field"), True),
        (RuntimeError("unknown"), False),
    ],
)
def test_failures_are_classified(error: Exception, permanent: bool) -> None:
    assert is_permanent(error) is permanent


def test_outbound_calls_retry_retryable_failures_in_process() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise _http(503)
        return "ok"

    assert call_outbound(flaky, first_wait=0.001) == "ok"
    assert len(calls) == 3


def test_outbound_calls_give_up_after_their_attempts_and_raise() -> None:
    calls = []

    def down() -> None:
        calls.append(1)
        raise ConnectionError("down")

    with pytest.raises(ConnectionError):
        call_outbound(down, attempts=3, first_wait=0.001)
    assert len(calls) == 3


def test_permanent_outbound_failures_are_not_retried() -> None:
    calls = []

    def refused() -> None:
        calls.append(1)
        raise _http(400)

    with pytest.raises(requests.HTTPError):
        call_outbound(refused, first_wait=0.001)
    assert len(calls) == 1


def test_failures_already_retried_by_their_raiser_go_straight_to_the_bus() -> None:
    """A transport that honoured Retry-After itself must not be retried again in process."""
    calls = []

    class Unavailable(Retryable):
        pass

    def counterpart_down() -> None:
        calls.append(1)
        error = Unavailable("HTTP 503, Retry-After 30 s")
        error.retried = True
        raise error

    with pytest.raises(Unavailable):
        call_outbound(counterpart_down, attempts=3, first_wait=0.001)
    assert len(calls) == 1


def test_durations_and_tiers() -> None:
    assert [duration_seconds(t) for t in ("500ms", "10s", "1m", "10m", "1h")] == [
        0.5,
        10,
        60,
        600,
        3600,
    ]
    with pytest.raises(ValueError):
        duration_seconds("soon")
    topology = Topology("p", ("iwmo",), retry_tiers=("10s", "1m", "1h"))
    assert [topology.tier_after(a).name for a in (1, 2, 3, 4, 9)] == ["10s", "1m", "1h", "1h", "1h"]
    assert topology.retry_key(topology.tier_after(1), "p.inbound.iwmo") == "10s.p.inbound.iwmo"
    with pytest.raises(ValueError):
        Topology("p", retry_tiers=())


def test_work_queues_are_quorum_with_limit_and_safe_dead_lettering() -> None:
    topology = Topology("p", ("ijw", "iwmo"), delivery_limit=7, retry_tiers=("10s", "1m"))
    queues = {q.name: dict(q.arguments) for q in topology.queues()}
    assert set(topology.work_queues()) == {
        "p.outbound.ijw",
        "p.outbound.iwmo",
        "p.inbound.ijw",
        "p.inbound.iwmo",
    }
    for name in [*topology.work_queues(), "p.ingress"]:
        assert queues[name] == {
            "x-queue-type": "quorum",
            "x-delivery-limit": 7,
            "x-dead-letter-exchange": "p.parking",
            "x-dead-letter-strategy": "at-least-once",
            "x-overflow": "reject-publish",
        }
    assert queues["p.wait.1m"]["x-message-ttl"] == 60_000
    assert queues["p.wait.1m"]["x-dead-letter-exchange"] == "p.return"
    assert queues["p.wait.1m"]["x-dead-letter-strategy"] == "at-least-once"
    assert queues["p.parking"] == {"x-queue-type": "quorum"}
    # Each work queue gets its own messages back from the tiers, and only its own.
    returns = {b.destination: b.routing_key for b in topology.bindings() if b.source == "p.return"}
    assert returns["p.inbound.iwmo"] == "*.p.inbound.iwmo"


def test_failure_headers_carry_attempt_and_history() -> None:
    first = pika.BasicProperties(
        message_id="m1",
        correlation_id="c1",
        headers={"x-kp-direction": "inbound", "x-death": [{"count": 1}], "x-delivery-count": 2},
    )
    assert attempt_of(first) == 1 and history_of(first) == []
    second = after_failure(first, queue="q", error=TimeoutError("slow"), outcome="retry")
    assert second.message_id == "m1" and second.correlation_id == "c1"
    assert second.delivery_mode == 2
    assert second.headers[ATTEMPT] == 2
    assert "x-death" not in second.headers and "x-delivery-count" not in second.headers
    assert second.headers["x-kp-direction"] == "inbound"
    parked = after_failure(second, queue="q", error=ValueError("bad"), outcome="parked")
    assert parked.headers[ATTEMPT] == 2
    assert [(h["attempt"], h["error"], h["outcome"]) for h in parked.headers[HISTORY]] == [
        (1, "TimeoutError", "retry"),
        (2, "ValueError", "parked"),
    ]


def test_deploy_definitions_are_the_export_of_the_default_settings() -> None:
    settings = load_settings(env={})
    topology = topology_for(settings, Registry.load(settings.adapters, settings))
    exported = json.loads((ROOT / "deploy" / "rabbitmq-definitions.json").read_text())
    assert exported == topology.definitions(), (
        "regenerate: ketenpoort topology export --out deploy/rabbitmq-definitions.json"
    )


def test_worker_processes_get_the_same_settings_through_the_environment() -> None:
    settings = dataclasses.replace(
        load_settings(env={}),
        var_dir=Path("/tmp/x"),
        bus_prefix="p",
        retry_tiers=("1s", "2m"),
        max_attempts=7,
    )
    assert load_settings(env=environment(settings)) == settings
