"""The domain tables attacked as someone with database access would, through the commands:
``ketenpoort ledger verify`` fails on an edited row naming the table, never a BSN or its hash,
and ``ketenpoort ledger rebuild-domain`` puts the rows back from the ledger."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.ledger import keyed_hash

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def installation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in [n for n in os.environ if n.startswith("KETENPOORT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("KETENPOORT_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KETENPOORT_BSN_HASH_KEY", "a-test-key-of-this-installation")
    main(["import", str(EXAMPLES), "--ours", "0363"])  # (one example is refused)
    return tmp_path


def _db(base: Path) -> sqlite3.Connection:
    return sqlite3.connect(next((base / "var").glob("*.sqlite3")))


def test_an_edited_domain_row_fails_verify_and_rebuild_domain_restores_it(
    installation: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = _db(installation)
    (bsn,) = db.execute("SELECT bsn FROM domain_toewijzing LIMIT 1").fetchone()
    count = db.execute("SELECT COUNT(*) FROM domain_toewijzing").fetchone()[0]
    assert count > 0 and len(bsn) == 64  # a keyed hash, not a BSN
    assert main(["ledger", "verify"]) == 0
    capsys.readouterr()

    db.execute("UPDATE domain_toewijzing SET einddatum = '2099-12-31'")
    db.commit()
    assert main(["ledger", "verify"]) == 1
    out, err = capsys.readouterr()
    assert "domain table toewijzing:" in out
    assert bsn not in out + err
    for example in EXAMPLES.glob("*.xml"):  # no BSN of the examples either
        text = example.read_text(encoding="utf-8", errors="replace")
        for value in [t.split("<")[0] for t in text.split("Bsn>")[1::2]]:
            assert value not in out + err
            assert keyed_hash("a-test-key-of-this-installation", value) not in out + err

    assert main(["ledger", "rebuild-domain"]) == 0
    assert "domain table toewijzing:" in capsys.readouterr().out
    assert db.execute("SELECT COUNT(*) FROM domain_toewijzing").fetchone()[0] == count
    assert main(["ledger", "verify"]) == 0
    db.close()
