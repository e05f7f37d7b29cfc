"""The checkpoint maker skips re-hashing only rows this process wrote and finds as it wrote
them (gateway.ledger.written); everything else is recomputed from its columns."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.ledger import Event, LedgerError, LedgerOptions, open_ledger
from gateway.ledger.checkpoint import HmacSigner
from gateway.ledger.sql import SqlLedger
from gateway.ledger.written import Written
from tests.ledger.ledger_helpers import message

ROW = (7, "m", "c", "received", "2026-01-01T00:00:00+00:00", "r", "iwmo", "WMO301", "3.2",
       "s", "t", "{}", None, "{}", b"\x01" * 32)  # fmt: skip


def stored(
    row: tuple[object, ...], private: str | None = None, redacted: int = 0
) -> tuple[object, ...]:
    """The row as a database gives it back (PostgreSQL: the leaf hash as a memoryview)."""
    leaf = row[14]
    assert isinstance(leaf, bytes)
    return (*row[:14], memoryview(leaf), private, redacted)


def test_a_row_is_unchanged_only_as_written() -> None:
    written = Written(limit=10)
    written.add([ROW])
    assert written.unchanged(stored(ROW))
    assert not written.unchanged(stored((*ROW[:11], '{"by": "x"}', *ROW[12:])))
    assert not written.unchanged(stored((*ROW[:14], b"\x02" * 32)))
    assert not written.unchanged(stored(ROW, private="ab", redacted=1))
    assert not written.unchanged(stored((8, *ROW[1:])))  # not written here


def test_rows_are_forgotten_when_covered_or_too_many() -> None:
    written = Written(limit=2)
    written.add([(seq, *ROW[1:]) for seq in (1, 2, 3)])
    assert not written.unchanged(stored((1, *ROW[1:])))  # the oldest went
    assert written.unchanged(stored((3, *ROW[1:])))
    written.forget(2)
    assert not written.unchanged(stored((2, *ROW[1:])))
    assert written.unchanged(stored((3, *ROW[1:])))


def signed(path: str) -> SqlLedger:
    options = LedgerOptions(signer=HmacSigner(b"key"), checkpoint_every=10**6)
    return open_ledger(f"sqlite:///{path}", "bsn key", options)


def test_a_row_another_process_wrote_is_still_recomputed(tmp_path: Path) -> None:
    """Rows another ledger wrote are not known here: a change to one is refused as before."""
    ours, theirs = signed(str(tmp_path / "l.db")), signed(str(tmp_path / "l.db"))
    ours.append(message(), Event.RECEIVED)
    seq = theirs.append(message(), Event.RECEIVED).seq
    ours.append(message(), Event.RECEIVED)
    conn = theirs._writer
    triggers = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='trigger'")]
    for name in triggers:
        conn.execute(f"DROP TRIGGER {name}")
    conn.execute("UPDATE entries SET detail = ? WHERE seq = ?", ('{"by": "admin"}', seq))
    conn.commit()
    with pytest.raises(LedgerError, match=f"entry {seq} does not match its leaf hash"):
        ours.checkpoint(force=True)
    assert ours.checkpoints() == []
