"""`ketenpoort demo --region` fills a ledger; `ketenpoort monitor` exports its figures as CSV,
JSON and XLSX, each export recorded (no broker needed)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from openpyxl import load_workbook

from gateway.cli import main
from gateway.config import Settings, environment
from gateway.ledger import Event, ledger_from_settings
from gateway.ops.monitor_export import EXPORT_TYPE

PEILDATA = "2026-03-31,2026-06-30,2026-09-30,2026-12-31"


def test_region_demo_and_monitor_exports(
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    for name, value in environment(settings).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("KETENPOORT_ADAPTERS", "adapters.istandaarden,adapters.svb")
    assert main(["demo", "--region", "--clients", "150", "--aanbieders", "8"]) == 0
    said = capsys.readouterr().out
    assert "4 gemeenten, 8 aanbieders, 150 clienten" in said and "imported" in said

    assert main(["monitor", "--peildatum", PEILDATA, "--format", "json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    rows = figures["rows"]
    assert {r["financiering"] for r in rows} == {"ZIN", "PGB"}
    assert {r["peildatum"] for r in rows} == set(PEILDATA.split(","))

    assert main(["monitor", "--peildatum", PEILDATA, "--format", "csv"]) == 0
    table = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert table[0][3:7] == [f"active {d}" for d in PEILDATA.split(",")]
    totals = {(line[0], line[1]): line for line in table[1:] if line[2] == "totaal"}
    json_totals = {
        (r["gemeente"], r["financiering"]): r["active"]
        for r in rows
        if r["productcategorie"] is None and r["peildatum"] == "2026-06-30"
    }
    assert {k: v[4] for k, v in totals.items()} == {k: str(v) for k, v in json_totals.items()}

    out = tmp_path / "monitor.xlsx"
    assert main(["monitor", "--peildatum", PEILDATA, "--format", "xlsx", "--out", str(out)]) == 0
    book = load_workbook(out)
    assert book.sheetnames == ["monitor", "toelichting"]
    assert book["monitor"].max_row == len(table)
    assert main(["monitor", "--peildatum", PEILDATA, "--format", "xlsx"]) == 1  # needs --out
    with pytest.raises(SystemExit) as refused:
        main(["monitor", "--peildatum", "2026-02-30"])  # no such date
    assert refused.value.code == 2

    ledger = ledger_from_settings(settings, create=False)
    try:
        ids = [
            r[0]
            for r in ledger.rows(
                "SELECT message_id FROM entries WHERE code = ? AND event = 'received' ORDER BY seq",
                (EXPORT_TYPE.code,),
            )
        ]
        viewed = [dict(e.detail) for i in ids for e in ledger.history(i) if e.event is Event.VIEWED]
    finally:
        ledger.close()
    assert [v["format"] for v in viewed] == ["json", "csv", "xlsx"]  # none for the refused ones
    assert all(v["by"].startswith("cli:") and v["channel"] == "cli" for v in viewed)
