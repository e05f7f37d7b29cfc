"""The aanbieder's duties watched from its own gateway, on a real (SQLite) ledger with messages
through the real path: each received 301 owes our 302 (3 werkdagen), each start or stop we send
is due 5 werkdagen after the care's start or end, or after the toewijzing's arrival when that
came later (OP271/OP272), and each declaratie we send is owed its 325 by the gemeente within 10
werkdagen (OP090x4). A breach says who owes it and whether that is us."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from adapters.istandaarden.catalogue import Bericht
from adapters.lib.istandaard import codec
from gateway.adapter import Registry
from gateway.config import load_settings
from gateway.envelope import Direction, Envelope
from gateway.imports import import_messages
from gateway.ledger import ledger_from_settings
from gateway.ops.deadlines import Alerter, Breach, breaches, deadlines_of
from gateway.ops.workdays import Calendar
from gateway.receive import Receiver
from gateway.validate import SchemaCache
from gateway.xmlsafe import parse
from tests.busstub import StubBus
from tests.istd_world import AANBIEDER, GEMEENTE, OTHER_BSN, World, header
from tests.ops.test_deadlines import World as Ledgered
from tests.unit.test_aanbieder_mappings import LATER, _declaratie, _einde, _start

TODAY = dt.datetime.now(dt.UTC).date()


@pytest.fixture
def world(tmp_path: Path) -> Iterator[Ledgered]:
    """An aanbieder's gateway: the default adapters, its own ledger, a stub bus."""
    settings = dataclasses.replace(load_settings(env={}), var_dir=tmp_path / "var")
    registry = Registry.load(settings.adapters, settings)
    ledger = ledger_from_settings(settings)
    bus = StubBus()
    receiver = Receiver(registry, SchemaCache(), ledger, bus, 10**7)
    yield Ledgered(settings, registry, ledger, receiver, bus.published)
    ledger.close()


def _toewijzing(first: int = 5001, bsn: str | None = None, ident: str = "T1") -> bytes:
    message = World("iwmo").base[301]
    message["Header"] = header(Bericht("iwmo", 301), GEMEENTE, AANBIEDER, ident, "2026-01-02")
    if bsn is not None:
        message["Client"]["Bsn"] = bsn
    for product in message["Client"]["ToegewezenProducten"]["ToegewezenProduct"]:
        product["Einddatum"] = LATER.isoformat()
        product["ToewijzingNummer"] = str(int(product["ToewijzingNummer"]) - 5001 + first)
    return codec.encode_message(Bericht("iwmo", 301), message)


def _found(world: Ledgered, days: float = 0) -> dict[tuple[str, str], Breach]:
    now = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    found = breaches(world.ledger, deadlines_of(world.registry), Calendar(), now=now)
    return {(b.rule, b.message_id): b for b in found}


def _mapped(world: Ledgered, name: str, data: dict[str, Any]) -> Envelope:
    return world.send(json.dumps(data).encode(), Direction.OUTBOUND, f"iwmo/{name}")


def test_each_received_toewijzing_owes_our_retour(world: Ledgered) -> None:
    heen = world.send(_toewijzing(), Direction.INBOUND)
    found = _found(world, days=10)[("OP090", heen.message_id)]
    assert (found.owed_by, found.ours) == (AANBIEDER, True)
    made = world.registry.for_standard("iwmo").answer(heen, parse(heen.body, 10**7), [])
    assert made is not None
    world.deliver(world.send(made.body, Direction.OUTBOUND))
    assert ("OP090", heen.message_id) not in _found(world, days=10)


def test_a_start_or_stop_is_due_after_the_care_or_after_its_toewijzing_came(
    world: Ledgered,
) -> None:
    begin, end = TODAY - dt.timedelta(days=20), TODAY - dt.timedelta(days=15)
    # The toewijzing 5001 arrives today, weeks after the care began: the start and stop sent
    # now are in time (they could not be sent before it came, TR019).
    world.send(_toewijzing(), Direction.INBOUND)
    start = _start("iwmo")
    start["starts"][0]["begindatum"] = begin.isoformat()
    started = _mapped(world, "start", start)
    stop = _einde("iwmo")
    stop["stops"][0].update(begindatum=begin.isoformat(), einddatum=end.isoformat())
    stopped = _mapped(world, "einde", stop)
    found = _found(world)
    assert ("OP271", started.message_id) not in found
    assert ("OP272", stopped.message_id) not in found

    # Toewijzing 6001 (another client) was exchanged before the gateway (imported): the same
    # start and stop are late, and the breach is ours, the aanbieder's.
    imported = import_messages(
        world.ledger,
        world.registry,
        SchemaCache(),
        [("old-301.xml", _toewijzing(6001, OTHER_BSN, "OLD1"))],
        frozenset({AANBIEDER}),
        10**7,
    )
    assert [i.status for i in imported] == ["imported"]
    start["client"]["bsn"] = stop["client"]["bsn"] = OTHER_BSN
    start["starts"][0]["toewijzingnummer"] = stop["stops"][0]["toewijzingnummer"] = 6001
    late_start, late_stop = _mapped(world, "start", start), _mapped(world, "einde", stop)
    found = _found(world)
    late = found[("OP271", late_start.message_id)]
    assert (late.started, late.owed_by, late.ours) == (begin.isoformat(), AANBIEDER, True)
    assert found[("OP272", late_stop.message_id)].owed_by == AANBIEDER
    assert ("OP271", started.message_id) not in found


def test_each_declaratie_we_send_is_owed_its_antwoord_by_the_gemeente(
    world: Ledgered,
) -> None:
    world.send(_toewijzing(), Direction.INBOUND)
    declaratie = _mapped(world, "declaratie", _declaratie("iwmo"))
    assert ("OP090x4", declaratie.message_id) not in _found(world, days=16)  # not yet handed over
    world.deliver(declaratie)
    assert ("OP090x4", declaratie.message_id) not in _found(world, days=4)
    found = _found(world, days=16)[("OP090x4", declaratie.message_id)]
    assert (found.owed_by, found.ours) == (GEMEENTE, False)

    # The gemeente's 325 arrives (everything accepted): the duty is met.
    head = parse(declaratie.body, 10**7).getroot()
    antwoord = {
        "gemeente": GEMEENTE,
        "aanbieder": AANBIEDER,
        "declaratie": {
            "identificatie": head.findtext(".//{*}Identificatie"),
            "dagtekening": head.findtext(".//{*}BerichtIdentificatie/{*}Dagtekening"),
            "xsdVersie": {"basisschema": "1.0.0", "bericht": "1.0.0"},
            "nummer": head.findtext(".//{*}DeclaratieNummer"),
            "totaalIngediendBedrag": int(head.findtext(".//{*}TotaalBedrag") or 0),
        },
    }
    adapter = world.registry.for_standard("iwmo")
    body = adapter.map_in("iwmo", "declaratie-antwoord", antwoord)
    receipt = world.receiver.receive(Envelope(body=body, direction=Direction.INBOUND))
    assert receipt.status == "accepted", receipt
    assert ("OP090x4", declaratie.message_id) not in _found(world, days=16)


@responses.activate
def test_the_aanbieders_breaches_are_alerted_as_the_gemeentes(world: Ledgered) -> None:
    """Our late start (ours) and the gemeente's missing 325 (theirs) in one alert call."""
    hook = "http://alerts.test/aanbieder"
    responses.post(hook, status=202)
    imported = import_messages(
        world.ledger,
        world.registry,
        SchemaCache(),
        [("old-301.xml", _toewijzing())],
        frozenset({AANBIEDER}),
        10**7,
    )
    assert [i.status for i in imported] == ["imported"]
    start = _start("iwmo")
    start["starts"][0]["begindatum"] = (TODAY - dt.timedelta(days=20)).isoformat()
    late = _mapped(world, "start", start)
    declaratie = _mapped(world, "declaratie", _declaratie("iwmo"))
    world.deliver(declaratie)
    found = list(_found(world, days=16).values())
    alerted = Alerter(world.ledger, hook).alert(found)
    assert {(b.rule, b.message_id) for b in alerted} >= {
        ("OP271", late.message_id),
        ("OP090x4", declaratie.message_id),
    }
    [call] = responses.calls
    sent = {b["rule"]: b for b in json.loads(call.request.body)["breaches"]}
    assert (sent["OP271"]["owed_by"], sent["OP271"]["ours"]) == (AANBIEDER, True)
    assert (sent["OP090x4"]["owed_by"], sent["OP090x4"]["ours"]) == (GEMEENTE, False)
    assert Alerter(world.ledger, hook).alert(found) == []  # once
