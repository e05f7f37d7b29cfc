"""Month end over HTTP: more large declaraties at once than the request thread pool has threads
(anyio's 40). They are judged ``receive.LARGE_AT_ONCE`` at a time and wait their turn on threads
of their own, so a small message posted meanwhile is answered at once, not after them; then
every declaratie is answered. Real RabbitMQ and SQLite."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from fastapi.testclient import TestClient

import gateway.receive as receive_module
from gateway.app import Gateway
from gateway.config import Settings
from gateway.ingress.http import make_app
from tests.counterparts.helpers import counterpart_settings, ggk_di01
from tests.integration.busutil import wait_for
from tests.messages import wmo301
from tools.istd_samples import declaratie

pytestmark = pytest.mark.integration

LARGE = 45  # more than the request pool's 40 threads


XML = {"Content-Type": "application/xml"}
# Where a month end's declaraties come in: (settings for it, path and request of one declaratie).
DOORS: dict[str, tuple[Any, Any]] = {
    "messages": (
        lambda s: s,
        lambda body: ("/v1/messages/inbound", {"content": body, "headers": XML}),
    ),
    # the zorgaanbieders' declaraties arrive over the GGk in practice
    "ggk": (
        counterpart_settings,
        lambda body: ("/v1/ggk", {"content": ggk_di01(body, "JW323", "65656055")}),
    ),
}


@pytest.mark.parametrize("door", DOORS)
def test_a_small_message_is_answered_while_large_ones_wait_their_turn(
    settings: Settings, monkeypatch: pytest.MonkeyPatch, door: str
) -> None:
    """45 large declaraties on one door wait their turn off the request pool: a small message
    posted meanwhile gets its 202 at once, two are judged at a time, and every one is answered."""
    configured, request = DOORS[door]
    body = declaratie("ijw", clients=10, prestaties=1)
    release, inside, lock = threading.Event(), [0], threading.Lock()
    real = receive_module.validate_stream

    def held(*args: Any, **kwargs: Any) -> Any:
        with lock:
            inside[0] += 1
        release.wait(timeout=120)
        return real(*args, **kwargs)

    monkeypatch.setattr(receive_module, "validate_stream", held)
    gateway = Gateway(configured(settings))
    gateway.declare_topology()
    gateway.receiver.stream_above = len(body) - 1  # large, as a month end's are, but quick to judge
    assert len(wmo301(4711)) < len(body) // 2  # small beside them
    statuses: list[int] = []
    try:
        with TestClient(make_app(gateway)) as client:

            def post_large() -> None:
                path, kwargs = request(body)
                statuses.append(client.post(path, **kwargs).status_code)

            senders = [threading.Thread(target=post_large) for _ in range(LARGE)]
            for t in senders:
                t.start()
            # until the first turns are taken
            wait_for(lambda: inside[0] >= receive_module.LARGE_AT_ONCE, 10, 0.05)
            small: list[int] = []
            poster = threading.Thread(
                target=lambda: small.append(
                    client.post(
                        "/v1/messages/outbound", content=wmo301(4711), headers=XML
                    ).status_code
                )
            )
            poster.start()
            poster.join(timeout=30)
            answered_meanwhile = list(small)
            in_turn = inside[0]
            release.set()
            poster.join(timeout=60)
            for t in senders:
                t.join(timeout=300)
    finally:
        release.set()
        gateway.close()
    assert answered_meanwhile == [202]  # not stuck behind the 45 large ones
    assert in_turn == receive_module.LARGE_AT_ONCE  # the others were waiting their turn
    assert len(statuses) == LARGE and all(status < 500 for status in statuses)


def test_large_messages_waiting_for_their_confirms_leave_the_threads_to_the_next(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Over HTTP a large message's thread is held from its turn to its publish confirm: with
    the broker slow to confirm, the next large message is still judged (two wait for the
    broker here, a third is judged meanwhile)."""
    body = declaratie("ijw", clients=10, prestaties=1)
    judged, release = [], threading.Event()
    real = receive_module.validate_stream

    def counted(*args: Any, **kwargs: Any) -> Any:
        judged.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(receive_module, "validate_stream", counted)
    gateway = Gateway(settings)
    gateway.declare_topology()
    gateway.receiver.stream_above = len(body) - 1
    publish_many = gateway.receiver.publish_many
    assert publish_many is not None

    def held(envelopes: Any) -> Any:
        release.wait(timeout=120)
        return publish_many(envelopes)

    gateway.receiver.publish_many = held
    statuses: list[int] = []
    try:
        with TestClient(make_app(gateway)) as client:

            def post_large() -> None:
                answer = client.post(
                    "/v1/messages/inbound",
                    content=body,
                    headers={"Content-Type": "application/xml"},
                )
                statuses.append(answer.status_code)

            senders = [threading.Thread(target=post_large) for _ in range(3)]
            for t in senders:
                t.start()
            wait_for(lambda: len(judged) == 3, 15, 0.05)
            while_held = len(judged)
            release.set()
            for t in senders:
                t.join(timeout=120)
    finally:
        release.set()
        gateway.close()
    assert while_held == 3
    assert len(statuses) == 3
