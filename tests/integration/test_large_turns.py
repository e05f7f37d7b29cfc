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
from tests.messages import wmo301
from tools.istd_samples import declaratie

pytestmark = pytest.mark.integration

LARGE = 45  # more than the request pool's 40 threads


def test_a_small_message_is_answered_while_large_ones_wait_their_turn(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = declaratie("ijw", clients=10, prestaties=1)
    release, inside, lock = threading.Event(), [0], threading.Lock()
    real = receive_module.validate_stream

    def held(*args: Any, **kwargs: Any) -> Any:
        with lock:
            inside[0] += 1
        release.wait(timeout=120)
        return real(*args, **kwargs)

    monkeypatch.setattr(receive_module, "validate_stream", held)
    gateway = Gateway(settings)
    gateway.declare_topology()
    gateway.receiver.stream_above = len(body) - 1  # large, as a month end's are, but quick to judge
    assert len(wmo301(4711)) < len(body) // 2  # small beside them
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

            senders = [threading.Thread(target=post_large) for _ in range(LARGE)]
            for t in senders:
                t.start()
            for _ in range(200):  # until the first turns are taken
                if inside[0] >= receive_module.LARGE_AT_ONCE:
                    break
                release.wait(0.05)
            small: list[int] = []
            poster = threading.Thread(
                target=lambda: small.append(
                    client.post(
                        "/v1/messages/outbound",
                        content=wmo301(4711),
                        headers={"Content-Type": "application/xml"},
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
    assert len(statuses) == LARGE and set(statuses) <= {202, 422}
