"""The iWmo/iJw domain tables on both ledgers: written with the verdict, read by the rules over
earlier messages (which keep working once retention erased those messages' payloads), rebuilt
from the ledger and compared by ``ledger verify``."""

from __future__ import annotations

import datetime as dt

from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.domain import TABLES
from gateway.adapter import Registry
from gateway.envelope import Direction, Envelope
from gateway.ledger import domain
from gateway.ledger.audit import verify
from gateway.ledger.sql import SqlLedger
from gateway.receive import Receipt, Receiver
from gateway.validate import SchemaCache
from tests.ledger.conftest import Backend
from tools.istd_samples import declaratie, sample_bsns, toewijzingen_301

TODAY = dt.date(2026, 11, 22)
CLIENTS, PRESTATIES = 6, 2
MISSING = frozenset({1, 4})  # no 301: TR338 (9338) on their prestaties
LATE = 2  # this client's toewijzingen begin after the declared month starts: TR307 (9307)


def _adapter() -> IStandaardenAdapter:
    return IStandaardenAdapter(None, today=lambda: TODAY)  # type: ignore[arg-type]


def _receiver(ledger: SqlLedger) -> Receiver:
    return Receiver(Registry([_adapter()]), SchemaCache(), ledger, lambda e: None, 10**8)


def _tabulating() -> dict[str, domain.Tabulates]:
    return dict(Registry([_adapter()]).tabulating())


def _history(ledger: SqlLedger) -> list[str]:
    """Receive the toewijzingen; returns the SHA-256 of their payloads."""
    ledger.ensure_tables(TABLES)  # as the gateway does when it starts
    receiver = _receiver(ledger)
    shas = []
    for index, body in enumerate(toewijzingen_301(CLIENTS, PRESTATIES, skip=MISSING)):
        if index == LATE - 1:  # the enumeration skips client 1: this is client LATE
            body = body.replace(b"Ingangsdatum>2026-01-01<", b"Ingangsdatum>2026-10-15<")
        receipt = receiver.receive(Envelope(body=body, direction=Direction.OUTBOUND))
        assert receipt.status == "accepted", receipt
        shas.append(ledger.history(receipt.message_id)[0].payload_sha256 or "")
    return shas


def _declare(ledger: SqlLedger) -> Receipt:
    body = declaratie("ijw", clients=CLIENTS, prestaties=PRESTATIES)
    return _receiver(ledger).receive(Envelope(body=body, direction=Direction.INBOUND))


def _found(receipt: Receipt) -> set[tuple[str, str, str]]:
    return {(f.rule, f.code, f.path) for f in receipt.findings}


def _expected() -> set[tuple[str, str, str]]:
    def at(client: int, prestatie: int) -> str:
        return f"Declaratie/Clienten/Client[{client + 1}]/Prestaties/Prestatie[{prestatie + 1}]"

    out = {("TR338", "9338", at(c, p)) for c in MISSING for p in range(PRESTATIES)}
    return out | {("TR307", "9307", at(LATE, p)) for p in range(PRESTATIES)}


def test_the_rules_read_the_tables_and_no_bsn_is_stored(backend: Backend) -> None:
    ledger = backend.open()
    _history(ledger)
    found = _found(_declare(ledger))
    assert {f for f in found if f[0] in ("TR338", "TR307")} == _expected()
    rows = backend.raw("SELECT nummer, bsn FROM domain_toewijzing")
    assert len(rows) == (CLIENTS - len(MISSING)) * PRESTATIES
    stored = " ".join(str(v) for table in TABLES for r in backend.raw(
        f"SELECT * FROM domain_{table.name}") for v in r)  # fmt: skip
    assert not any(bsn in stored for bsn in sample_bsns(CLIENTS))
    assert {r[1] for r in rows} == {
        ledger.personal(b) for i, b in enumerate(sample_bsns(CLIENTS)) if i not in MISSING
    }
    # the rejected declaratie is kept too (its 325 is checked against it), as rejected
    assert backend.raw("SELECT event FROM domain_declaratie") == [("rejected",)]


def test_the_rules_still_work_after_retention_erased_the_payloads(backend: Backend) -> None:
    ledger = backend.open()
    for sha in _history(ledger):
        assert ledger.erase_payload(sha)
        assert ledger.payload(sha) is None
    found = _found(_declare(ledger))
    assert {f for f in found if f[0] in ("TR338", "TR307")} == _expected()
    # nothing can be read again, nothing is judged: the stored rows stay through a rebuild
    before = backend.raw("SELECT COUNT(*) FROM domain_toewijzing")
    domain.rebuild(ledger, _tabulating())
    assert backend.raw("SELECT COUNT(*) FROM domain_toewijzing") == before
    problems = verify(ledger, tables=_tabulating()).problems  # (erased here without an entry)
    assert not [p for p in problems if p.startswith("domain table")]


def test_verify_compares_the_tables_and_names_the_table(backend: Backend) -> None:
    ledger = backend.open()
    _history(ledger)
    _declare(ledger)
    report = verify(ledger, tables=_tabulating())
    assert report.ok, report.problems
    backend.raw(
        "UPDATE domain_toewijzing SET einddatum = '2099-12-31' "
        "WHERE seq = (SELECT MIN(seq) FROM domain_toewijzing)"
    )
    report = verify(ledger, tables=_tabulating())
    assert not report.ok
    problems = [p for p in report.problems if p.startswith("domain table")]
    assert problems and all("domain table toewijzing:" in p for p in problems)
    text = "\n".join(report.problems)
    assert not any(bsn in text for bsn in sample_bsns(CLIENTS))
    assert not any(ledger.personal(bsn) in text for bsn in sample_bsns(CLIENTS))


def test_rebuild_refills_the_tables_from_the_ledger(backend: Backend) -> None:
    ledger = backend.open()
    _history(ledger)
    _declare(ledger)
    before = {t.name: sorted(backend.raw(f"SELECT * FROM domain_{t.name}")) for t in TABLES}
    for table in TABLES:
        backend.raw(f"DELETE FROM domain_{table.name}")
    assert not verify(ledger, tables=_tabulating()).ok
    written = domain.rebuild(ledger, _tabulating())
    assert written["toewijzing"] == (CLIENTS - len(MISSING)) * PRESTATIES
    assert written["prestatie"] == CLIENTS * PRESTATIES
    after = {t.name: sorted(backend.raw(f"SELECT * FROM domain_{t.name}")) for t in TABLES}
    assert after == before
    assert verify(ledger, tables=_tabulating()).ok


def test_traffic_retention_takes_the_rows_of_a_redacted_message(backend: Backend) -> None:
    """A redaction erases the parties of a message's entries: its domain rows (parties, the
    hashed BSN) go with them; the other messages' rows stay and verify still agrees."""
    ledger = backend.open()
    _history(ledger)
    ids = sorted({r[0] for r in backend.raw("SELECT message_id FROM domain_toewijzing")})
    assert ledger.redact(ids[0]) > 0
    left = {r[0] for r in backend.raw("SELECT message_id FROM domain_toewijzing")}
    assert left == set(ids[1:])
    problems = verify(ledger, tables=_tabulating()).problems  # (redacted here without erasure)
    assert not [p for p in problems if p.startswith("domain table")]


def test_a_ledger_made_before_the_tables_gets_them_filled_when_the_gateway_starts(
    backend: Backend,
) -> None:
    """An upgrade: the ledger holds toewijzingen recorded by a version without domain tables.
    Were the tables made empty, TR338 would reject every declaratie on them; the gateway's start
    (``domain.prepare``) makes them and fills them from the ledger, once."""
    ledger = backend.open()
    _history(ledger)
    want = sorted(backend.raw("SELECT * FROM domain_toewijzing"))
    for table in TABLES:  # as the earlier version left the database
        backend.raw(f"DROP TABLE domain_{table.name}")
    upgraded = backend.open()
    filled = domain.prepare(upgraded, _tabulating())
    assert filled is not None and filled["toewijzing"] == len(want)
    assert sorted(backend.raw("SELECT * FROM domain_toewijzing")) == want
    found = _found(_declare(upgraded))
    assert {f for f in found if f[0] in ("TR338", "TR307")} == _expected()
    # the next start finds them made: nothing is filled again, nothing is doubled
    assert domain.prepare(backend.open(), _tabulating()) is None
    assert len(backend.raw("SELECT * FROM domain_toewijzing")) == len(want)


def test_a_new_ledger_gets_empty_tables_without_a_rebuild(backend: Backend) -> None:
    ledger = backend.open()
    assert domain.prepare(ledger, _tabulating()) is None
    assert backend.raw("SELECT COUNT(*) FROM domain_toewijzing") == [(0,)]


def test_an_import_makes_every_table_so_the_gateway_starting_later_refills_nothing(
    backend: Backend,
) -> None:
    """``ketenpoort import`` of toewijzingen only (the region demo, a go-live): the tables no
    imported message writes (verzoeken, declaraties) are made too; else the first gateway start
    would find them new on a ledger with messages and refill every table from the payloads."""
    from gateway.imports import IMPORTED, import_messages

    ledger = backend.open()
    messages = [(f"{i}.xml", body) for i, body in enumerate(toewijzingen_301(3, 1))]
    done = list(
        import_messages(
            ledger, Registry([_adapter()]), SchemaCache(), messages, frozenset({"0363"}), 10**8
        )
    )
    assert [r.status for r in done] == [IMPORTED] * 3
    assert backend.raw("SELECT COUNT(*) FROM domain_toewijzing") == [(3,)]
    assert backend.raw("SELECT COUNT(*) FROM domain_verzoek") == [(0,)]
    assert domain.prepare(backend.open(), _tabulating()) is None
