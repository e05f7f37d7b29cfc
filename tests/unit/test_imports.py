"""Going live: messages exchanged before Ketenpoort are imported so that the rules reading earlier
messages know them (``gateway/imports.py``, ``ketenpoort import``). Real SQLite ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from adapters.lib.istandaard import codec
from gateway.adapter import Registry
from gateway.cli import main
from gateway.config import Settings, environment
from gateway.envelope import Direction, Envelope
from gateway.imports import ALREADY, IMPORTED, REFUSED, import_id, import_messages
from gateway.ledger import Event, Status, open_ledger
from gateway.ops.deadlines import breaches, deadlines_of
from gateway.ops.workdays import Calendar
from gateway.receive import ACCEPTED, REJECTED, Receiver
from gateway.validate import SchemaCache
from tests.busstub import StubBus
from tests.istd_world import AANBIEDER, GEMEENTE, World


def _xml(world: World, number: int) -> bytes:
    return codec.encode_message(world.bericht(number), world.msg(number))


@pytest.fixture
def parts(settings: Settings):
    registry = Registry.load(settings.adapters, settings)
    ledger = open_ledger(settings.ledger_dsn, "k")
    receiver = Receiver(registry, SchemaCache(), ledger, StubBus(), 10**7)
    yield registry, ledger, receiver
    ledger.close()


def test_a_start_on_a_toewijzing_from_before_the_gateway_is_accepted_once_it_is_imported(
    parts,
) -> None:
    registry, ledger, receiver = parts
    world = World("iwmo")
    start = _xml(world, 305)  # the aanbieder starts care on toewijzing 5001 (sent in January)

    before = receiver.receive(Envelope(body=start, direction=Direction.INBOUND))
    assert before.status == REJECTED  # the gateway never saw toewijzing 5001
    assert "TR019" in {f.rule for f in before.findings}

    toewijzing = _xml(world, 301)
    results = list(
        import_messages(
            ledger, registry, SchemaCache(), [("301.xml", toewijzing)], frozenset({GEMEENTE}), 10**7
        )
    )
    assert [(r.status, r.message_type, r.direction) for r in results] == [
        (IMPORTED, "iwmo 3.2 WMO301", "outbound")
    ]
    message_id = results[0].message_id
    assert message_id == import_id(toewijzing)
    history = ledger.history(message_id)
    assert [e.event for e in history] == [Event.RECEIVED, Event.IMPORTED]
    assert ledger.payload(history[0].payload_sha256 or "") == toewijzing
    state = ledger.state(message_id)
    assert state is not None and state.status is Status.IMPORTED
    assert (state.sender, state.receiver) == (GEMEENTE, AANBIEDER)
    assert message_id not in ledger.awaiting_publication()  # nothing is sent
    indexed = {e.message_id: e.event for e in ledger.find("ToewijzingNummer", "5001")}
    assert indexed == {before.message_id: Event.REJECTED, message_id: Event.IMPORTED}

    after = receiver.receive(Envelope(body=start, direction=Direction.INBOUND))
    assert after.status == ACCEPTED, after.findings


def test_importing_the_same_bytes_again_records_nothing(parts) -> None:
    registry, ledger, _ = parts
    toewijzing = _xml(World("ijw"), 301)
    ours = frozenset({GEMEENTE})
    first = list(import_messages(ledger, registry, SchemaCache(), [("a", toewijzing)], ours, 10**7))
    again = list(import_messages(ledger, registry, SchemaCache(), [("b", toewijzing)], ours, 10**7))
    assert [r.status for r in first + again] == [IMPORTED, ALREADY]
    assert first[0].message_id == again[0].message_id
    assert len(ledger.history(first[0].message_id)) == 2


def test_imports_in_groups_record_each_message_once_in_order(parts) -> None:
    """Groups of three in one transaction each: a repeat in the same group, in a later group
    and of an earlier import is ``already``; a refusal in a group does not hold the others."""
    from tools.istd_samples import toewijzingen_301

    registry, ledger, _ = parts
    ours = frozenset({GEMEENTE})
    a, b, c, d = toewijzingen_301(4, 1, "ijw", GEMEENTE, AANBIEDER)
    earlier = list(import_messages(ledger, registry, SchemaCache(), [("d", d)], ours, 10**7))
    files = [("a", a), ("a2", a), ("bad", b"<x/>"), ("b", b), ("c", c), ("b2", b), ("d2", d)]
    results = list(import_messages(ledger, registry, SchemaCache(), files, ours, 10**7, batch=3))
    assert [r.name for r in results] == [name for name, _ in files]
    assert [r.status for r in earlier + results] == [
        *[IMPORTED, IMPORTED, ALREADY, REFUSED, IMPORTED, IMPORTED, ALREADY, ALREADY]
    ]
    for name, body in [("a", a), ("b", b), ("c", c), ("d", d)]:
        events = [e.event for e in ledger.history(import_id(body))]
        assert events == [Event.RECEIVED, Event.IMPORTED], name


def test_what_is_not_a_valid_message_is_refused_with_the_reason_and_not_recorded(parts) -> None:
    registry, ledger, _ = parts
    world = World("iwmo")
    broken = _xml(world, 301).replace(b"<wmo301:Geslacht>1<", b"<wmo301:Geslacht>7<", 1)
    files = [
        ("broken.xml", broken),
        ("other.xml", b'<x xmlns="urn:other"/>'),
        ("dtd.xml", b'<!DOCTYPE a [<!ENTITY x "y">]><a/>'),
    ]
    results = list(import_messages(ledger, registry, SchemaCache(), files, frozenset(), 10**7))
    assert [r.status for r in results] == [REFUSED] * 3
    assert "Geslacht" in results[0].errors[0] and "line" in results[0].errors[0]
    assert "no adapter knows documents in namespace urn:other" in results[1].errors[0]
    assert "DOCTYPE" in results[2].errors[0]
    assert all(ledger.history(r.message_id) == [] for r in results)


def test_a_provider_installation_records_the_gemeente_s_toewijzing_as_inbound(parts) -> None:
    registry, ledger, _ = parts
    body = _xml(World("ijw"), 301)
    ours = frozenset({AANBIEDER})
    [result] = import_messages(ledger, registry, SchemaCache(), [("x", body)], ours, 10**7)
    assert result.direction == "inbound"
    assert str(ledger.history(result.message_id)[0].route).startswith("inbound.ijw.JW301")


def test_no_deadline_is_watched_for_an_imported_heenbericht(parts) -> None:
    """An aanbieder's installation imports a toewijzing it got in January: its retour went out
    through the old system, so no clock runs. A toewijzing received now does get one."""
    registry, ledger, receiver = parts
    world = World("iwmo")
    ours = frozenset({AANBIEDER})
    body = _xml(world, 301)
    [imported] = import_messages(ledger, registry, SchemaCache(), [("x", body)], ours, 10**7)
    data = world.msg(301)
    data["Header"]["BerichtIdentificatie"]["Identificatie"] = "T2"
    received = receiver.receive(
        Envelope(body=codec.encode_message(world.bericht(301), data), direction=Direction.INBOUND)
    )
    assert received.status == ACCEPTED, received.findings
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    found = {b.message_id for b in breaches(ledger, deadlines_of(registry), Calendar(), now=later)}
    assert received.message_id in found
    assert imported.message_id not in found


def test_the_import_command(settings: Settings, tmp_path: Path, monkeypatch, capsys) -> None:
    for name, value in environment(settings).items():
        monkeypatch.setenv(name, value)
    world = World("iwmo")
    folder = tmp_path / "export"
    (folder / "2025").mkdir(parents=True)
    (folder / "2025" / "toewijzing.xml").write_bytes(_xml(world, 301))
    (folder / "start.xml").write_bytes(_xml(world, 305))
    (folder / "notes.txt").write_text("not read")
    bad = tmp_path / "bad.xml"
    bad.write_bytes(b"<not-closed>")

    assert main(["import", str(folder), "--ours", GEMEENTE]) == 0
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 2 and all(line.startswith("imported") for line in lines)
    assert "iwmo 3.2 WMO301 outbound" in out.out and "iwmo 3.2 WMO305 inbound" in out.out
    assert "2 imported, 0 imported before, 0 refused" in out.err

    assert main(["import", str(folder), str(bad), "--ours", GEMEENTE]) == 1
    out = capsys.readouterr()
    assert "0 imported, 2 imported before, 1 refused" in out.err
    assert f"refused   {bad}: not well-formed XML" in out.err


def test_the_import_command_reads_zip_and_tar_archives(
    settings: Settings, tmp_path: Path, monkeypatch, capsys
) -> None:
    import tarfile
    import zipfile

    from tools.istd_samples import toewijzingen_301

    for name, value in environment(settings).items():
        monkeypatch.setenv(name, value)
    bodies = toewijzingen_301(5, 1, "ijw", GEMEENTE, AANBIEDER)
    zipped = tmp_path / "history.zip"
    with zipfile.ZipFile(zipped, "w") as archive:
        for index, body in enumerate(bodies[:3]):
            archive.writestr(f"2025/{index}.xml", body)
        archive.writestr("readme.txt", "not read")
    members = tmp_path / "members"
    members.mkdir()
    tarred = tmp_path / "history.tar.gz"
    with tarfile.open(tarred, "w:gz") as archive:
        for index, body in enumerate(bodies[2:]):
            (members / f"{index}.xml").write_bytes(body)
            archive.add(members / f"{index}.xml", f"old/{index}.xml")

    assert main(["import", str(zipped), str(tarred), "--ours", GEMEENTE]) == 0
    out = capsys.readouterr()
    assert f"{zipped}:2025/0.xml" in out.out and f"{tarred}:old/2.xml" in out.out
    assert "5 imported, 1 imported before, 0 refused; 6 read" in out.err
    assert "messages/s" in out.err


def test_a_large_declaratie_is_imported_streaming(parts) -> None:
    """Above 1 MiB a declaratie is read record by record (never one tree), as receive does."""
    from tools.istd_samples import declaratie_of_size

    registry, ledger, _ = parts
    body = declaratie_of_size("ijw", 2 * 1024 * 1024)
    ours = frozenset({GEMEENTE})
    [result] = import_messages(ledger, registry, SchemaCache(), [("323.xml", body)], ours, 10**8)
    assert (result.status, result.message_type, result.direction) == (
        IMPORTED,
        "ijw 3.2 JW323",
        "inbound",
    )
    [imported] = [e for e in ledger.history(result.message_id) if e.event is Event.IMPORTED]
    assert imported.keys.get("DeclaratieNummer")
