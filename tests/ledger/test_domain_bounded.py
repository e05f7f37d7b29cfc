"""``ledger verify`` and ``ledger rebuild-domain`` of the domain tables in bounded memory, on
both ledgers: with batches far smaller than the tables, verify reads the stored rows a batch
at a time in step with the messages it makes again (never a table ahead, never a table
behind), still finds a changed, missing or extra row in the last batch, and a rebuild commits
its rows as it goes and keeps the rows a gateway appended meanwhile."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.domain import TABLES
from gateway.adapter import Registry
from gateway.envelope import Direction, Envelope
from gateway.ledger import domain, reads, verdicts
from gateway.ledger.audit import verify
from gateway.ledger.sql import SqlLedger
from gateway.receive import Receiver
from gateway.validate import SchemaCache
from tests.ledger.conftest import Backend
from tools.istd_samples import sample_bsns, toewijzingen_301

TODAY = dt.date(2026, 11, 22)
CLIENTS, PRODUCTS = 20, 2  # 20 messages of 2 toewijzing rows each: 40 rows
BATCH = 3  # rows fetched at a time, and rows a rebuild writes per transaction


@pytest.fixture(autouse=True)
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(reads, "BATCH", BATCH)
    monkeypatch.setattr(verdicts, "BATCH", 2)  # verdicts whose payloads are looked up at once
    monkeypatch.setattr(domain, "WRITE_BATCH", BATCH)


def _adapter() -> IStandaardenAdapter:
    return IStandaardenAdapter(None, today=lambda: TODAY)  # type: ignore[arg-type]


def _tabulating() -> dict[str, domain.Tabulates]:
    return dict(Registry([_adapter()]).tabulating())


def _receive(ledger: SqlLedger, bodies: list[bytes]) -> None:
    ledger.ensure_tables(TABLES)
    receiver = Receiver(Registry([_adapter()]), SchemaCache(), ledger, lambda e: None, 10**8)
    for body in bodies:
        receipt = receiver.receive(Envelope(body=body, direction=Direction.OUTBOUND))
        assert receipt.status == "accepted", receipt


def _history(backend: Backend) -> SqlLedger:
    ledger = backend.open()
    _receive(ledger, toewijzingen_301(CLIENTS, PRODUCTS))
    assert backend.raw("SELECT COUNT(*) FROM domain_toewijzing") == [(CLIENTS * PRODUCTS,)]
    return ledger


def _verdict_of_payload(backend: Backend) -> dict[str, int]:
    """The verdict entry each recorded payload is made again for."""
    return dict(
        backend.raw(
            "SELECT r.payload_sha256, v.seq FROM entries r JOIN entries v "
            "ON v.message_id = r.message_id WHERE r.event = 'received' AND v.event = 'validated'"
        )
    )


def _rows_before(backend: Backend, seq: int) -> int:
    return int(backend.raw("SELECT COUNT(*) FROM domain_toewijzing WHERE seq < ?", (seq,))[0][0])


class _Counted:
    """A database cursor that logs what each fetch asked for and got, by domain table."""

    def __init__(self, cursor: Any, log: list[tuple[Any, ...]]) -> None:
        self.cursor, self.log, self.table = cursor, log, ""

    def execute(self, sql: str, params: Any = ()) -> Any:
        found = re.search(r"FROM (domain_\w+)", sql)
        self.table = found.group(1) if found else ""
        return self.cursor.execute(sql, params)

    def fetchmany(self, size: int) -> list[Any]:
        rows = self.cursor.fetchmany(size)
        self.log.append(("fetch", self.table, size, len(rows)))
        return rows

    def close(self) -> None:
        self.cursor.close()


def _instrument(
    ledger: SqlLedger,
    monkeypatch: pytest.MonkeyPatch,
    on_payload: Callable[[str], None],
    log: list[tuple[Any, ...]],
) -> None:
    """Log every fetch the snapshot's scans make, and call ``on_payload`` at each payload read."""
    snapshot, payload = ledger.snapshot, ledger.payload

    @contextmanager
    def counted() -> Iterator[reads.Reads]:
        with snapshot() as found:
            make = found._cursor
            found._cursor = lambda: _Counted(make(), log)
            yield found

    def read(sha: str) -> bytes | None:
        on_payload(sha)
        return payload(sha)

    monkeypatch.setattr(ledger, "snapshot", counted)
    monkeypatch.setattr(ledger, "payload", read)


def test_verify_reads_the_stored_rows_in_step_with_the_messages(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """At each message made again, the stored rows fetched so far are those of the messages
    before it, plus at most the next message's rows and one batch: never the whole table first,
    never the whole rebuild first."""
    ledger = _history(backend)
    verdict_of = _verdict_of_payload(backend)
    log: list[tuple[Any, ...]] = []
    _instrument(ledger, monkeypatch, lambda sha: log.append(("payload", verdict_of[sha])), log)
    report = verify(ledger, tables=_tabulating())
    assert report.ok, report.problems

    fetches = [e for e in log if e[0] == "fetch" and e[1].startswith("domain_")]
    assert {e[2] for e in fetches} == {BATCH}  # every fetch asked for one batch ...
    assert all(e[3] <= BATCH for e in fetches)  # ... and got no more
    toewijzing = [e for e in log if e[0] == "payload" or e[1:2] == ("domain_toewijzing",)]
    assert sum(e[3] for e in toewijzing if e[0] == "fetch") == CLIENTS * PRODUCTS
    fetched, reads_seen = 0, 0
    for event in toewijzing:
        if event[0] == "fetch":
            fetched += event[3]
            continue
        reads_seen += 1
        before = _rows_before(backend, event[1])
        assert before <= fetched <= before + PRODUCTS + BATCH, (event, fetched)
    assert reads_seen == CLIENTS


def _last_message(backend: Backend) -> tuple[str, int]:
    """The message and verdict entry of the last toewijzing row (in the last batch)."""
    rows = backend.raw(
        "SELECT message_id, seq FROM domain_toewijzing "
        "WHERE nummer = (SELECT MAX(nummer) FROM domain_toewijzing)"
    )
    return rows[0][0], int(rows[0][1])


_ALL = ", ".join(domain.columns(TABLES[0]))
_OTHER = ", ".join(c for c in domain.columns(TABLES[0]) if c != "seq")
_LAST = "nummer = (SELECT MAX(nummer) FROM domain_toewijzing)"
TAMPERING = {
    "changed": f"UPDATE domain_toewijzing SET einddatum = '2099-12-31' WHERE {_LAST}",
    "missing": f"DELETE FROM domain_toewijzing WHERE {_LAST}",
    "doubled": f"INSERT INTO domain_toewijzing ({_ALL}) SELECT {_ALL} FROM domain_toewijzing "
    f"WHERE {_LAST}",
    # a row claiming the message's received entry (no verdict), and one beyond the ledger
    "on another entry": f"INSERT INTO domain_toewijzing (seq, {_OTHER}) SELECT seq - 1, {_OTHER} "
    f"FROM domain_toewijzing WHERE {_LAST}",
    "beyond the ledger": f"INSERT INTO domain_toewijzing (seq, {_OTHER}) SELECT seq + 1000, "
    f"{_OTHER} FROM domain_toewijzing WHERE {_LAST}",
}


@pytest.mark.parametrize("tampering", sorted(TAMPERING))
def test_verify_finds_a_tampered_row_in_the_last_batch(backend: Backend, tampering: str) -> None:
    ledger = _history(backend)
    message_id, seq = _last_message(backend)
    assert verify(ledger, tables=_tabulating()).ok
    backend.raw(TAMPERING[tampering])
    report = verify(ledger, tables=_tabulating())
    assert not report.ok
    found = [p for p in report.problems if p.startswith("domain table")]
    at = {"on another entry": seq - 1, "beyond the ledger": seq + 1000}.get(tampering, seq)
    assert (
        found == [found[0]]
        and f"domain table toewijzing: the rows of message {message_id} (entry {at})" in found[0]
    )
    text = "\n".join(report.problems)
    for bsn in sample_bsns(CLIENTS):
        assert bsn not in text and ledger.personal(bsn) not in text
    assert "2099" not in text


def test_rebuild_commits_its_rows_as_it_goes_and_ends_with_the_same_tables(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = _history(backend)
    before = {t.name: sorted(backend.raw(f"SELECT * FROM domain_{t.name}")) for t in TABLES}
    backend.raw(TAMPERING["beyond the ledger"])  # an extra row goes
    backend.raw(TAMPERING["changed"])  # a changed one is put back
    verdict_of = _verdict_of_payload(backend)
    lags: list[int] = []

    def committed(sha: str) -> None:
        """Rows of the messages before this one not yet committed to the rebuilt table."""
        done = backend.raw("SELECT COUNT(*) FROM rebuilding_toewijzing")[0][0]
        lags.append(_rows_before(backend, verdict_of[sha]) - int(done))

    _instrument(ledger, monkeypatch, committed, [])
    written = domain.rebuild(ledger, _tabulating())
    assert written["toewijzing"] == CLIENTS * PRODUCTS
    assert len(lags) == CLIENTS and all(0 <= lag <= BATCH + PRODUCTS for lag in lags), lags
    after = {t.name: sorted(backend.raw(f"SELECT * FROM domain_{t.name}")) for t in TABLES}
    assert after == before
    assert verify(backend.open(), tables=_tabulating()).ok


def test_rebuild_keeps_the_rows_a_gateway_appended_meanwhile(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    ledger = _history(backend)
    gateway = backend.open()
    late = toewijzingen_301(1, PRODUCTS, toewijzing_base=900_000)

    def append_once(sha: str) -> None:
        if late:
            _receive(gateway, [late.pop()])

    _instrument(ledger, monkeypatch, append_once, [])
    written = domain.rebuild(ledger, _tabulating())
    assert not late
    assert written["toewijzing"] == (CLIENTS + 1) * PRODUCTS
    assert backend.raw("SELECT COUNT(*) FROM domain_toewijzing WHERE nummer >= '900000'") == [
        (PRODUCTS,)
    ]
    assert verify(gateway, tables=_tabulating()).ok


def test_rows_that_cannot_be_made_again_stay_unjudged_between_batches(backend: Backend) -> None:
    """Every other message's payload erased, the first one's rows changed: they are neither
    judged nor replaced, while a changed row of a message still readable, in the last batch, is
    found and put back."""
    ledger = _history(backend)
    verdict_of = _verdict_of_payload(backend)
    for sha in sorted(verdict_of, key=verdict_of.__getitem__)[::2]:
        assert ledger.erase_payload(sha)
    before = sorted(backend.raw("SELECT * FROM domain_toewijzing"))
    first = "seq = (SELECT MIN(seq) FROM domain_toewijzing)"
    backend.raw(f"UPDATE domain_toewijzing SET einddatum = '2099-12-31' WHERE {first}")
    changed = sorted(backend.raw(f"SELECT * FROM domain_toewijzing WHERE {first}"))
    backend.raw(TAMPERING["changed"])
    message_id, seq = _last_message(backend)
    found = [p for p in verify(ledger, tables=_tabulating()).problems if "domain table" in p]
    assert len(found) == 1 and f"message {message_id} (entry {seq})" in found[0], found
    assert domain.rebuild(ledger, _tabulating())["toewijzing"] == CLIENTS * PRODUCTS
    after = sorted(backend.raw("SELECT * FROM domain_toewijzing"))
    assert len(changed) == PRODUCTS and set(changed) <= set(after)  # kept as they were
    assert [r for r in after if r not in changed] == [r for r in before if r[0] != changed[0][0]]
