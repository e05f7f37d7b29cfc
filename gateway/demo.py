"""``ketenpoort demo --both-sides``: a gemeente's gateway and an aanbieder's gateway, each on the
broker with its own ledger and bus names, linked (``link.py``) so that what one delivers to the
other arrives in the other's ingress. The steps (``examples/both-sides.toml``) are sent from
each side's back-office in turn; each waits until the sending side has the answer. Then both
ledgers are printed: each message once on each side, with where it stands."""

from __future__ import annotations

import dataclasses
import threading
import time
import tomllib
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

from gateway.app import Gateway
from gateway.bus.publisher import connect
from gateway.config import Settings
from gateway.door import ANYONE, envelope_for
from gateway.envelope import Direction
from gateway.ledger import Query, Status
from gateway.link import Link
from gateway.service import Services

SIDES = ("gemeente", "aanbieder")


def _side(base: Settings, root: Path, side: str, run: str) -> Settings:
    return dataclasses.replace(
        base,
        var_dir=root / side,
        ledger_url="",
        bus_prefix=f"{base.bus_prefix}-demo-{run}-{side}",
    )


def _answered(gateway: Gateway, message_id: str) -> bool:
    state = gateway.ledger.state(message_id)
    return state is not None and state.status is Status.ANSWERED


def run_both_sides(base: Settings, examples: Path, root: Path, timeout: float) -> int:
    """Run the steps; print what each side's ledger holds. 0 when every step was answered."""
    scenario: dict[str, Any] = tomllib.loads((examples / "both-sides.toml").read_text())
    run = uuid.uuid4().hex[:8]
    parties = {side: str(scenario[side]) for side in SIDES}
    stop = threading.Event()
    failures = 0
    with ExitStack() as stack:
        gateways = {
            side: stack.enter_context(Gateway(_side(base, root, side, run))) for side in SIDES
        }
        for gateway in gateways.values():
            gateway.declare_topology()
            stack.enter_context(
                Services(gateway, workers=1, filedrop=False, sweeper=False, pollers=False)
            )
        threads = []
        for side, other in (SIDES, SIDES[::-1]):
            link = Link(
                gateways[side].settings.outbox_dir,
                parties[other],
                gateways[other].settings.amqp_url,
                gateways[other].topology.ingress,
            )
            thread = threading.Thread(target=link.run, args=(stop,), name=f"link-{side}")
            thread.start()
            threads.append(thread)
        try:
            print(
                f"Ketenpoort demo, both sides: the gemeente {parties['gemeente']}'s gateway and "
                f"the aanbieder {parties['aanbieder']}'s, linked over the broker\n"
            )
            for number, step in enumerate(scenario["step"], start=1):
                gateway = gateways[step["side"]]
                standard, _, mapping = step["mapping"].partition("/")
                body = (examples / step["file"]).read_bytes()
                envelope = envelope_for("demo", body, Direction.OUTBOUND, who=ANYONE)
                receipt = gateway.receiver.receive_mapped(envelope, standard, mapping)
                deadline = time.monotonic() + timeout
                while time.monotonic() < deadline and not _answered(gateway, receipt.message_id):
                    time.sleep(0.2)
                ok = _answered(gateway, receipt.message_id)
                failures += not ok
                print(f"{number}. {step['title']}")
                print(
                    f"   sent by the {step['side']} from {step['file']}: {receipt.message_type}"
                    f" -> {'answered' if ok else 'NOT ANSWERED in time'}"
                )
            print()
            for side, gateway in gateways.items():
                print(f"the {side}'s ledger ({parties[side]}):")
                for state in reversed(gateway.ledger.search(Query(limit=100))):
                    print(
                        f"   {state.direction:<8} {state.code:<7} {state.sender:>8} -> "
                        f"{state.receiver:<8} {state.status.value}"
                    )
                print()
        finally:
            stop.set()
            for thread in threads:
                thread.join()
    for gateway in gateways.values():  # stopped and closed: their bus names go too
        connection = connect(gateway.settings.amqp_url)
        try:
            gateway.topology.delete(connection.channel())
        finally:
            connection.close()
    print("both sides answered every step" if not failures else f"{failures} steps unanswered")
    return 0 if not failures else 1
