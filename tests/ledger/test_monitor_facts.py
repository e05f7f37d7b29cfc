"""The monitor's fact table (``gateway/ops/facts.py``) on both backends: built from the ledger's
accepted (here: imported) messages by the iWmo and iPgb folders, brought up to date
incrementally, and computed by hand."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json

from lxml import etree

from adapters.istandaarden.domain import TABLES
from adapters.lib.istandaard import codec
from adapters.svb import mapping as svb_mapping
from examples.region import GEMEENTEN, Region
from gateway.adapter import Registry
from gateway.config import load_settings
from gateway.envelope import Direction, Envelope
from gateway.imports import import_messages
from gateway.ledger import Event, keyed_hash
from gateway.ledger.retention import apply, parse_policies
from gateway.ledger.sql import SqlLedger
from gateway.ops.facts import FactTable
from gateway.ops.monitor import as_json, report
from gateway.provisions import Claim, Provision
from gateway.validate import SchemaCache
from tests.conftest import EXAMPLES
from tests.istd_world import BSN, World
from tests.ledger.conftest import BSN_KEY, Backend

D = dt.date


def _registry() -> Registry:
    settings = dataclasses.replace(
        load_settings(env={}), adapters=("adapters.istandaarden", "adapters.svb")
    )
    return Registry.load(settings.adapters, settings)


def _bodies(world: World) -> dict[str, bytes]:
    m301 = world.msg(301)
    m301["Header"]["BerichtIdentificatie"]["Dagtekening"] = "2026-01-05"  # sent 3 days late
    m305 = world.msg(305)  # 5001 starts Jan 5, message dated Jan 10
    m307 = world.msg(307)  # 5001 stops Mar 31
    m323 = world.msg(323)  # Feb: 5001 8 x 1250 = 10000, 5002 5000
    toekenning = json.loads((EXAMPLES / "pgb-toekenning.json").read_text())
    return {
        "301": codec.encode_message(world.bericht(301), m301),
        "305": codec.encode_message(world.bericht(305), m305),
        "307": codec.encode_message(world.bericht(307), m307),
        "323": codec.encode_message(world.bericht(323), m323),
        "501": svb_mapping.map_in("toekenning", toekenning, D(2025, 12, 15)),
    }


def _import(ledger: SqlLedger, registry: Registry, *bodies: bytes) -> None:
    done = list(
        import_messages(
            ledger,
            registry,
            SchemaCache(),
            [(str(i), b) for i, b in enumerate(bodies)],
            frozenset({"0363"}),
            10_000_000,
        )
    )
    assert [d.status for d in done] == ["imported"] * len(bodies), done


def test_fact_table_from_the_ledger(ledger: SqlLedger) -> None:
    registry = _registry()
    bodies = _bodies(World())
    # the stop comes later: first without it
    _import(ledger, registry, bodies["301"], bodies["305"], bodies["323"], bodies["501"])
    table = FactTable(ledger, registry, BSN_KEY)
    rows = {p.key: p for p in table.provisions()}
    assert set(rows) == {
        "iwmo/0363/5001",
        "iwmo/0363/5002",
        "0363/PGB-2026-0001/01/2026-01-01",
        "0363/PGB-2026-0001/02/2026-01-01",
    }
    zin = rows["iwmo/0363/5001"]
    assert (zin.authority, zin.provider, zin.category, zin.product, zin.funding) == (
        "0363",
        "12345678",
        "02",
        "02A01",
        "ZIN",
    )
    assert (zin.begin, zin.end) == (D(2026, 1, 1), D(2026, 12, 31))
    assert zin.client == keyed_hash(BSN_KEY, BSN)  # the ledger's keyed hash, never the BSN
    assert zin.household == keyed_hash(BSN_KEY, "address:3011AA|7||")
    assert (zin.decided_on, zin.decided_lag) == (D(2026, 1, 2), 3)  # Dagtekening - datum
    assert (zin.started_on, zin.start_lag) == (D(2026, 1, 5), 5)  # Jan 10 - Jan 5
    assert zin.granted_volume == 10 and zin.claims == (Claim(D(2026, 2, 1), 8, 10000),)
    budget = rows["iwmo/0363/5002"]
    assert budget.granted_cents == 100000 and budget.started_on is None
    assert budget.claims == (Claim(D(2026, 2, 1), 5000, 5000),)
    pgb = rows["0363/PGB-2026-0001/02/2026-01-01"]
    assert (pgb.funding, pgb.provider, pgb.category, pgb.product) == ("PGB", "SVB", "02", "")
    assert (pgb.begin, pgb.end, pgb.granted_cents) == (D(2026, 1, 1), D(2026, 6, 30), 400000)
    assert pgb.client == zin.client
    assert pgb.household == keyed_hash(BSN_KEY, "address:1011AB|12||")
    assert (pgb.decided_on, pgb.decided_lag) == (D(2025, 12, 15), None)  # imported: unknown

    # incremental: only the entries since the last refresh are read
    assert table.refresh() == 0
    _import(ledger, registry, bodies["307"])
    assert table.refresh() == 1
    rows = {p.key: p for p in table.provisions()}
    assert rows["iwmo/0363/5001"].end == D(2026, 3, 31)  # stopped before its Einddatum
    assert rows["iwmo/0363/5001"].stopped_on == D(2026, 3, 31)
    assert rows["iwmo/0363/5002"].stopped_on is None
    assert rows["iwmo/0363/5002"].end == D(2026, 12, 31)

    # rebuilt from the ledger alone, a new table agrees
    again = FactTable(ledger, registry, BSN_KEY).provisions()
    assert sorted(again, key=lambda p: p.key) == sorted(rows.values(), key=lambda p: p.key)


def test_a_deleted_toewijzing_is_no_provision(ledger: SqlLedger) -> None:
    world = World()
    registry = _registry()
    first = world.msg(301)
    deleted = world.msg(301)
    deleted["Header"]["BerichtIdentificatie"]["Identificatie"] = "T2"
    product = deleted["Client"]["ToegewezenProducten"]["ToegewezenProduct"][0]
    product.update(Toewijzingstijd="10:00:00", RedenWijziging="13", Einddatum="2026-01-01")
    _import(
        ledger,
        registry,
        codec.encode_message(world.bericht(301), first),
        codec.encode_message(world.bericht(301), deleted),
    )
    keys = {p.key for p in FactTable(ledger, registry, BSN_KEY).provisions()}
    assert keys == {"iwmo/0363/5002"}


def test_a_received_message_lags_until_its_arrival(ledger: SqlLedger) -> None:
    """For a message the gateway received (not imported), the lag runs to the day of its
    ``received`` entry; a rejected message is no fact."""
    world = World()
    registry = _registry()
    body = codec.encode_message(world.bericht(301), world.msg(301))
    adapter, message_type = registry.identify(etree.fromstring(body))
    described = adapter.describe(etree.ElementTree(etree.fromstring(body)), message_type)
    for number, verdict in ((1, Event.VALIDATED), (2, Event.REJECTED)):
        envelope = Envelope(
            body=body if number == 1 else body.replace(b"5001", b"6001"),
            direction=Direction.OUTBOUND,
            message_id=f"m{number}",
            message_type=message_type,
        )
        ledger.append(
            envelope, Event.RECEIVED, detail={"direction": "outbound"}, payload=envelope.body
        )
        ledger.append(envelope, verdict, description=described)
    rows = {p.key: p for p in FactTable(ledger, registry, BSN_KEY).provisions()}
    assert set(rows) == {"iwmo/0363/5001", "iwmo/0363/5002"}
    today = dt.datetime.now(dt.UTC).date()
    assert rows["iwmo/0363/5001"].decided_lag == (today - D(2026, 1, 2)).days


def test_ijw_toewijzingen_are_provisions_too(ledger: SqlLedger) -> None:
    world = World("ijw")
    registry = _registry()
    _import(ledger, registry, codec.encode_message(world.bericht(301), world.msg(301)))
    rows = FactTable(ledger, registry, BSN_KEY).provisions()
    assert sorted((p.key, p.category, p.product, p.funding) for p in rows) == [
        ("ijw/0363/5001", "45", "45A01", "ZIN"),
        ("ijw/0363/5002", "45", "45A02", "ZIN"),
    ]


def test_the_figures_survive_retention_erasing_the_iwmo_and_ijw_payloads(
    ledger: SqlLedger,
) -> None:
    """The iWmo/iJw facts come from the domain tables, not from the payloads: once retention
    erased every iWmo and iJw payload, a new fact table (a restarted process) gives the same
    provisions and the same figures. (The iPgb toekenningen have no tables: their payloads
    are kept here.)"""
    registry = _registry()
    world = World("ijw")
    region = Region(clients=120, aanbieders=4, seed=3)
    ijw = [codec.encode_message(world.bericht(n), world.msg(n)) for n in (301, 305, 307, 323)]
    messages = [*region.messages(), *((f"ijw-{i}", b) for i, b in enumerate(ijw))]
    done = list(
        import_messages(
            ledger,
            registry,
            SchemaCache(),
            messages,
            frozenset({*GEMEENTEN, "0363"}),
            10_000_000,
        )
    )
    assert {d.status for d in done} == {"imported"}
    peildata = (D(2026, 3, 31), D(2026, 6, 30), D(2026, 9, 30), D(2026, 12, 31))

    def facts() -> tuple[list[Provision], dict[str, object]]:
        provisions = FactTable(ledger, registry, BSN_KEY).provisions()
        return sorted(provisions, key=lambda p: p.key), as_json(
            report(provisions, peildata, products=True)
        )

    before, figures = facts()
    zin = [p for p in before if p.funding == "ZIN"]
    assert {p.key.split("/")[0] for p in zin} == {"iwmo", "ijw"}
    assert sum(1 for p in zin if p.started_on and p.claims) > 10  # starts and claims joined
    assert any(p.funding == "PGB" for p in before)

    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    erased = apply(ledger, parse_policies(["iwmo:payload=1h", "ijw:payload=1h"]), at=later)
    ours = [d.message_id for d in done if str(d.message_type).startswith(("iwmo", "ijw"))]
    assert len(ours) > 100 and sorted(erased.messages) == sorted(ours)
    for message_id in ours:  # nothing left to read
        assert all(
            ledger.payload(e.payload_sha256 or "") is None for e in ledger.history(message_id)
        )

    assert facts() == (before, figures)


def test_a_ledger_from_before_the_domain_tables_gives_the_same_facts(backend: Backend) -> None:
    """``ketenpoort monitor`` may be the first of the new version to open an upgraded ledger
    (no gateway started on it yet): the fact table fills the domain tables from the ledger
    first, as the gateway's start does, instead of reading (and making) empty ones."""
    registry = _registry()
    ledger = backend.open()
    bodies = _bodies(World())
    _import(ledger, registry, *bodies.values())
    want = sorted(FactTable(ledger, registry, BSN_KEY).provisions(), key=lambda p: p.key)
    assert {p.funding for p in want} == {"ZIN", "PGB"}
    for table in TABLES:  # as the earlier version left the database
        backend.raw(f"DROP TABLE domain_{table.name}")
    upgraded = backend.open()
    got = sorted(FactTable(upgraded, registry, BSN_KEY).provisions(), key=lambda p: p.key)
    assert got == want
    assert backend.raw("SELECT COUNT(*) FROM domain_prestatie") == [(2,)]
