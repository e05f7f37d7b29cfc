"""Shared by the operations tests: identities, a running gateway, a parked message."""

from __future__ import annotations

import dataclasses
import json
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from gateway.app import Gateway
from gateway.config import Settings
from gateway.ledger import Status
from gateway.ops.auth import identity_line
from gateway.service import Services
from tests.conftest import EXAMPLES
from tests.integration.helpers import wait_for

KEYS = {
    "bo-0363": "key-backoffice-0363-0123456789abcdef",
    "bo-0599": "key-backoffice-0599-0123456789abcdef",
    "viewer": "key-viewer-0123456789abcdef0123456789",
    "pv": "key-payload-viewer-0123456789abcdef01",
    "op": "key-operator-0123456789abcdef01234567",
    "policy": "key-policy-staff-0123456789abcdef0123",
}
IDENTITIES = (
    identity_line("bo-0363", KEYS["bo-0363"], [], ["0363"]),
    identity_line("bo-0599", KEYS["bo-0599"], [], ["0599"]),
    identity_line("viewer", KEYS["viewer"], ["viewer"], []),
    identity_line("pv", KEYS["pv"], ["payload-viewer"], []),
    identity_line("op", KEYS["op"], ["operator"], []),
    identity_line("policy", KEYS["policy"], ["beleid"], []),
)
AANBIEDER = "12345678"  # the toewijzing's receiver (examples/toewijzing.json)


def as_(name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {KEYS[name]}"}


def ops_settings(settings: Settings, **changes: object) -> Settings:
    values: dict[str, object] = {
        "ops_identities": IDENTITIES,
        "max_attempts": 1,  # the first failed delivery parks
        "ops_replay_rate": 1000.0,
        "ops_deadline_interval": 3600.0,
        **changes,
    }
    return dataclasses.replace(settings, **values)  # type: ignore[arg-type]


@contextmanager
def running(settings: Settings) -> Iterator[Gateway]:
    gateway = Gateway(settings)
    gateway.declare_topology()
    try:
        with Services(gateway, workers=1, filedrop=False, sweeper=False, operations=True):
            yield gateway
    finally:
        gateway.close()


def block_delivery(settings: Settings) -> None:
    """The aanbieder's outbox folder is a file: delivering there fails (retryable OSError)."""
    settings.outbox_dir.mkdir(parents=True, exist_ok=True)
    target = settings.outbox_dir / AANBIEDER
    if target.is_dir():
        shutil.rmtree(target)
    target.write_text("in the way")


def unblock_delivery(settings: Settings) -> None:
    (settings.outbox_dir / AANBIEDER).unlink()


def toewijzing(number: int = 5001) -> bytes:
    data = json.loads((EXAMPLES / "toewijzing.json").read_bytes())
    text = json.dumps(data).replace('"toewijzingnummer": 5001', f'"toewijzingnummer": {number}')
    return text.encode()


def wait_status(gateway: Gateway, message_id: str, status: Status, timeout: float = 30.0) -> None:
    def reached() -> bool:
        state = gateway.ledger.state(message_id)
        return state is not None and state.status is status

    wait_for(reached, timeout, f"{status.value} on {message_id}")


def seed_overview(settings: Settings, gateway: Gateway) -> dict[str, object]:
    """Something to show on the overview: two toewijzingen delivered (awaiting their retour),
    one parked (its delivery failed), one refused (not XML). Returns their ids."""
    from gateway.envelope import Direction, Envelope

    def send(number: int, status: Status) -> str:
        receipt = gateway.receiver.receive_mapped(
            Envelope(body=toewijzing(number), direction=Direction.OUTBOUND), "iwmo", "toewijzing"
        )
        wait_status(gateway, receipt.message_id, status)
        return receipt.message_id

    delivered = [send(7001, Status.AWAITING_ANSWER), send(7002, Status.AWAITING_ANSWER)]
    block_delivery(settings)
    parked = send(7003, Status.PARKED)
    unblock_delivery(settings)
    refused = gateway.receiver.receive(Envelope(body=b"not xml", direction=Direction.OUTBOUND))
    return {"delivered": delivered, "parked": parked, "refused": refused.message_id}
