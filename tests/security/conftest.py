"""A gateway on the real RabbitMQ and its own SQLite ledger, with identities configured, and the
doors the security tests knock on: HTTP (FastAPI's test client), the AMQP ingress handler (as the
consumer calls it) and the file drop (one poll, on ``drop/`` itself made to speak as an identity's
own folder would); the last two speak for ``internal``."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from gateway.app import Gateway
from gateway.config import Settings
from gateway.ingress.amqp import IngressHandler
from gateway.ingress.filedrop import FileDrop
from gateway.ingress.http import make_app
from gateway.ops.auth import door_for, identity_line
from tests.ops.helpers import IDENTITIES, KEYS

INTERNAL_KEY = "key-internal-system-0123456789abcdef0"
ADMIN_KEY = "key-admin-0123456789abcdef0123456789a"
BELEID_KEY = "key-beleid-0123456789abcdef012345678"


def as_(name: str) -> dict[str, str]:
    key = {"internal": INTERNAL_KEY, "admin": ADMIN_KEY, "beleid": BELEID_KEY}.get(name) or KEYS[
        name
    ]
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Doors:
    gateway: Gateway
    client: TestClient
    amqp: IngressHandler
    drop: FileDrop


@pytest.fixture
def doors(settings: Settings) -> Iterator[Doors]:
    configured = dataclasses.replace(
        settings,
        ops_identities=(
            *IDENTITIES,
            identity_line("internal", INTERNAL_KEY, [], ["*"]),
            identity_line("admin", ADMIN_KEY, ["admin"], []),
            identity_line("beleid", BELEID_KEY, ["beleid"], []),
        ),
        amqp_ingress_identity="internal",
    )
    gateway = Gateway(configured)
    gateway.declare_topology()
    try:
        with TestClient(make_app(gateway), raise_server_exceptions=False) as client:
            yield Doors(
                gateway,
                client,
                IngressHandler(gateway),
                FileDrop(configured.drop_dir, gateway.receiver, door_for(configured, "internal")),
            )
    finally:
        gateway.close()
