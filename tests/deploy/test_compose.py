"""deploy/compose.yaml for real, with podman (tools/deploy.py): the three-node RabbitMQ cluster,
PostgreSQL and two gateways come up from the images of deploy/build-images.sh; a WMO301 posted
to gateway 1 over HTTP is answered (its retour delivered), seen from gateway 2; the RabbitMQ
node leading the work queue is killed (podman kill); a WMO301 posted to gateway 2 is answered
all the same; each message was handed over once; a checkpoint signed in gateway 1's container
lands on the volume both share and ``ketenpoort ledger verify`` in gateway 2's passes; then the
stack goes down and leaves no container.

Skipped, saying why, where podman, podman-compose or the built images are absent (building
them takes minutes: ./dev deploy build). Takes one to two minutes (72-133 s here, by the load)."""

from __future__ import annotations

import base64
import os
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from gateway.identities import identity_line, new_key
from gateway.worker import retour_id
from tests.messages import wmo301
from tools import deploy

pytestmark = [pytest.mark.deploy, pytest.mark.integration]
WORK_QUEUE = "ketenpoort.inbound.iwmo"  # where the inbound heenberichten wait for a worker
STACK = deploy.Stack("kpdeploy-test")  # not the project of ./dev deploy up, which it leaves be


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The stack up with secrets of its own; yields the API key of an admin identity."""
    if reason := deploy.missing():
        pytest.skip(reason)
    key = new_key()
    env = {
        "RABBITMQ_PASSWORD": secrets.token_hex(16),
        "RABBITMQ_ERLANG_COOKIE": secrets.token_hex(24),
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "LEDGER_CHECKPOINT_KEY": "ed25519:" + base64.b64encode(os.urandom(32)).decode(),
        "BSN_HASH_KEY": secrets.token_hex(24),
        "OPS_IDENTITIES": identity_line("deploy-test", key, ["admin"], ["*"]),
        "AMQP_INGRESS_IDENTITY": "deploy-test",
    }
    STACK.down()  # what a killed run left
    try:
        STACK.up(env, folder=Path(tmp_path_factory.mktemp("compose")))
        yield key
    finally:
        STACK.down()
    assert STACK.containers() == []


def post_wmo301(port: int, key: str, number: int) -> str:
    message_id = str(uuid.uuid4())
    answer = requests.post(
        f"http://127.0.0.1:{port}/v1/messages/inbound",
        data=wmo301(number),
        headers={
            "content-type": "application/xml",
            "x-message-id": message_id,
            "authorization": f"Bearer {key}",
        },
        timeout=30,
    )
    assert answer.status_code == 202, answer.text
    return message_id


def message(port: int, key: str, message_id: str) -> dict[str, Any]:
    answer = requests.get(
        f"http://127.0.0.1:{port}/v1/messages/{message_id}",
        headers={"authorization": f"Bearer {key}"},
        timeout=10,
    )
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


def events(entries: list[dict[str, Any]]) -> Counter[str]:
    return Counter(entry["event"] for entry in entries)


def answered(port: int, key: str, message_id: str, seconds: float = 120) -> dict[str, Any]:
    """The message as gateway ``port`` shows it once its retour was delivered."""
    deadline = time.monotonic() + seconds
    while True:
        shown = message(port, key, message_id)
        if events(shown["retour_history"])["delivered"] or time.monotonic() > deadline:
            return shown
        time.sleep(0.5)


def test_a_message_through_a_node_killed_and_a_message_through(stack: str) -> None:
    key = stack
    first = post_wmo301(deploy.GATEWAYS["gateway1"], key, 880_001)
    shown = answered(deploy.GATEWAYS["gateway2"], key, first)  # the ledger both share
    assert shown["retour"]["message_id"] == retour_id(first)
    assert events(shown["retour_history"])["delivered"] == 1, shown

    leader = STACK.queue_leader(WORK_QUEUE)
    STACK.kill(leader)
    survivor = next(s for s in deploy.NODES if s != leader)
    assert len(STACK.running_nodes(survivor)) == 2

    second = post_wmo301(deploy.GATEWAYS["gateway2"], key, 880_002)
    shown = answered(deploy.GATEWAYS["gateway2"], key, second)
    assert events(shown["retour_history"])["delivered"] == 1, shown
    assert STACK.queue_leader(WORK_QUEUE, ask=survivor) != leader

    for message_id in (first, second):
        history = events(message(deploy.GATEWAYS["gateway1"], key, message_id)["history"])
        assert (history["received"], history["delivered"], history["retour-sent"]) == (1, 1, 1)
    # a checkpoint signed by one gateway, on the volume both share, verified by the other
    signed = STACK.exec_in("gateway1", "ketenpoort", "ledger", "checkpoint")
    assert signed.returncode == 0, signed.stdout + signed.stderr
    verified = STACK.exec_in("gateway2", "ketenpoort", "ledger", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
