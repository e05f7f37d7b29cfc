"""The ledger inside the running gateway (real RabbitMQ), on both backends, and its commands."""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.config import Settings
from gateway.envelope import Direction, Envelope
from gateway.ledger import Query, Status
from gateway.ledger.audit import verify
from tests.conftest import EXAMPLES
from tests.ledger.conftest import Backend

pytestmark = pytest.mark.integration


@pytest.fixture
def wired(settings: Settings, backend: Backend) -> Iterator[object]:
    from gateway.app import Gateway
    from gateway.bus.publisher import connect

    settings = dataclasses.replace(
        settings, ledger_url=backend.dsn, ledger_checkpoint_every=5, ledger_checkpoint_seconds=3600
    )
    gw = Gateway(settings)
    gw.declare_topology()
    try:
        yield gw
    finally:
        gw.close()
        connection = connect(settings.amqp_url)
        gw.topology.delete(connection.channel())
        connection.close()


def test_a_received_heenbericht_is_answered_and_verifiable(wired: object) -> None:
    from gateway.app import Gateway
    from gateway.service import Services

    assert isinstance(wired, Gateway)
    body = (EXAMPLES / "WMO301-ontvangen.xml").read_bytes()
    with Services(wired, workers=1, ingress=False, filedrop=False, sweeper=False):
        receipt = wired.receiver.receive(Envelope(body=body, direction=Direction.INBOUND))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # answered, and its retour delivered
            state = wired.ledger.state(receipt.message_id)
            sent = wired.ledger.state(state.answered_by or "") if state else None
            if (
                state
                and state.status is Status.ANSWERED
                and sent
                and sent.status is (Status.DELIVERED)
            ):
                break
            time.sleep(0.1)
    state = wired.ledger.state(receipt.message_id)
    assert state is not None and state.status is Status.ANSWERED, state
    retour = wired.ledger.state(state.answered_by or "")
    assert retour is not None and retour.code == "WMO302" and retour.status is Status.DELIVERED
    found = wired.ledger.search(Query(keys={"BerichtIdentificatie": "RTD2026-0001"}))
    assert receipt.message_id in {s.message_id for s in found}
    assert [s.message_id for s in wired.ledger.search(Query(keys={"bsn": "999990032"}))] == [
        receipt.message_id
    ]
    assert wired.ledger.search(Query(party="0599", code="WMO301"))[0].message_id == (
        receipt.message_id
    )
    report = verify(wired.ledger)  # type: ignore[arg-type]
    assert report.ok and report.checkpoints >= 1, report.problems


def test_ledger_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from gateway.cli import main
    from gateway.envelope import MessageType
    from gateway.ledger import Event, ledger_from_settings
    from gateway.ledger.checkpoint import new_ed25519_key

    config = tmp_path / "ketenpoort.toml"
    config.write_text(
        f'var_dir = "{tmp_path / "var"}"\n'
        "[ledger]\n"
        f'checkpoint_key = "{new_ed25519_key()}"\n'
        "checkpoint_every = 3\n"
        'retention = ["iwmo:payload=1m"]\n'
    )
    from gateway.config import load_settings

    settings = load_settings(env={}, path=config)
    ledger = ledger_from_settings(settings)
    env = Envelope(b"<x/>", Direction.OUTBOUND, message_type=MessageType("iwmo", "WMO301", "3.2"))
    for event in (Event.RECEIVED, Event.VALIDATED, Event.PUBLISHED, Event.DELIVERED):
        ledger.append(
            env,
            event,
            payload=b"<x/>" if event is Event.RECEIVED else None,
            detail={"publish": True},
        )
    ledger.close()

    def run(*args: str) -> tuple[int, str]:
        code = main(["--config", str(config), "ledger", *args])
        return code, capsys.readouterr().out

    code, out = run("checkpoint")
    assert code == 0 and json.loads(out)["size"] == 4
    code, out = run("verify")
    assert code == 0 and "ledger verified: OK" in out
    code, out = run("prove", "2")
    proof = json.loads(out)
    assert code == 0 and proof["tree_size"] == 4
    proof_file = tmp_path / "proof.json"
    proof_file.write_text(out)
    code, key = run("checkpoint", "--public-key")
    code, out = run("check-proof", str(proof_file), "--public-key", key.strip())
    assert code == 0 and out.strip() == "proof holds"
    proof["leaf_hash"] = "00" * 32
    proof_file.write_text(json.dumps(proof))
    assert run("check-proof", str(proof_file))[0] == 1
    code, out = run("consistency", "3", "4")
    assert code == 0 and json.loads(out)["old_size"] == 3
    code, out = run("search", "--code", "WMO301", "--json")
    assert [s["message_id"] for s in json.loads(out)] == [env.message_id]
    code, out = run("retention", "--dry-run")
    assert code == 0 and out.startswith("0 message(s) due")

    import sqlite3

    raw = sqlite3.connect(tmp_path / "var" / "ledger.sqlite3")
    raw.execute("DROP TRIGGER entries_no_update")
    raw.execute("UPDATE entries SET code = 'WMO305' WHERE seq = 3")
    raw.commit()
    raw.close()
    code, out = run("verify")
    assert code == 1 and "PROBLEM: entry 3 does not match its leaf hash (changed)" in out
