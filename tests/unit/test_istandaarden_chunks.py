"""The ledger-reading rules of a declaratie looked up a chunk of clients at a time give the same
findings as one client at a time, on a real SQLite ledger, with hits spread over the chunks."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from adapters.istandaarden.adapter import IStandaardenAdapter
from adapters.istandaarden.catalogue import Bericht
from adapters.istandaarden.engine import check
from adapters.istandaarden.history import History
from adapters.lib.istandaard import codec
from gateway.adapter import Registry
from gateway.description import Table
from gateway.envelope import Direction, Envelope
from gateway.ledger import open_ledger
from gateway.ledger.sql import SqlLedger
from gateway.receive import Receiver
from gateway.validate import SchemaCache
from gateway.xmlsafe import parse
from tools.istd_samples import declaratie, toewijzingen_301

TODAY = dt.date(2026, 11, 22)
CLIENTS, PRESTATIES = 24, 2
MISSING = frozenset({0, 5, 11, 23})  # clients without a toewijzing: TR338 on their prestaties


class Counting:
    """The real ledger as the rules' State, counting the lookups."""

    def __init__(self, ledger: SqlLedger) -> None:
        self.ledger = ledger
        self.calls: dict[str, int] = {}

    def _count(self, name: str, *args: Any) -> Any:
        self.calls[name] = self.calls.get(name, 0) + 1
        return getattr(self.ledger, name)(*args)

    def find(self, key: str, value: str) -> Sequence[Any]:
        return self._count("find", key, value)  # type: ignore[no-any-return]

    def history(self, message_id: str) -> Sequence[Any]:
        return self._count("history", message_id)  # type: ignore[no-any-return]

    def payload(self, sha256: str) -> bytes | None:
        return self._count("payload", sha256)  # type: ignore[no-any-return]

    def domain_rows(self, table: Table, column: str, values: Sequence[str]) -> Any:
        return self._count("domain_rows", table, column, values)

    def personal(self, value: str) -> str:
        return self.ledger.personal(value)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[SqlLedger]:
    ledger = open_ledger(f"sqlite:///{tmp_path / 'l.sqlite3'}", "k")
    adapter = IStandaardenAdapter(None, today=lambda: TODAY)  # type: ignore[arg-type]
    receiver = Receiver(Registry([adapter]), SchemaCache(), ledger, lambda e: None, 10**8)
    for body in toewijzingen_301(CLIENTS, PRESTATIES, skip=MISSING):
        # client 8's second product gets another code: TR340 on that prestatie
        body = body.replace(b">45A02<", b">45A77<") if b"T500016<" in body else body
        receipt = receiver.receive(Envelope(body=body, direction=Direction.OUTBOUND))
        assert receipt.status == "accepted", receipt
    yield ledger
    ledger.close()


def _findings(ledger: SqlLedger, chunk: int) -> tuple[list[tuple[str, str, str]], Counting]:
    adapter = IStandaardenAdapter(None, today=lambda: TODAY)  # type: ignore[arg-type]
    bericht = Bericht("ijw", 323)
    body = declaratie("ijw", clients=CLIENTS, prestaties=PRESTATIES)
    data = codec.decode_message(parse(body, 10**8).getroot(), bericht)
    counting = Counting(ledger)
    history = History(counting, "ijw")  # type: ignore[arg-type]
    found = check(bericht, data, history, TODAY, adapter.refdata, chunk=chunk)
    return [(f.rule, f.path, f.text) for f in found], counting


def test_chunked_lookups_give_the_findings_of_one_client_at_a_time(ledger: SqlLedger) -> None:
    one_by_one, single = _findings(ledger, chunk=1)
    # per client: its toewijzingen and the prestaties on them, by number and by reference
    per_chunk = 4
    message = single.calls["domain_rows"] - per_chunk * CLIENTS  # the message's own lookups
    assert 0 <= message < 5
    for chunk in (3, 5, 256):
        chunked, counted = _findings(ledger, chunk)
        assert chunked == one_by_one
        # one query per table and column for a chunk, none for a single prestatie
        assert counted.calls["domain_rows"] == per_chunk * -(-CLIENTS // chunk) + message
        assert "payload" not in counted.calls  # earlier payloads are never read
    missing = {p for r, p, _ in one_by_one if r == "TR338"}
    clients = {int(p.split("Client[")[1].split("]")[0]) - 1 for p in missing}
    assert clients == MISSING  # hits in the first, middle and last chunks
    assert [p for r, p, _ in one_by_one if r == "TR340"] == [
        "Declaratie/Clienten/Client[9]/Prestaties/Prestatie[2]"
    ]


def test_a_small_rules_cache_gives_the_same_findings(ledger: SqlLedger, monkeypatch) -> None:
    """The per-message caches are let go when full (flat memory on a large declaratie)."""
    import adapters.istandaarden.rules_state as rules_state

    expected, _ = _findings(ledger, chunk=256)
    monkeypatch.setattr(rules_state, "MEMO_MAX", 3)
    assert _findings(ledger, chunk=5)[0] == expected
