"""The monitor's privacy over HTTP: only the beleid role (and admin) sees it, it sees nothing
else, only aggregates leave (no BSN, no hash, small counts hidden), and every export (API,
page, CLI) is recorded in the ledger with who and what."""

from __future__ import annotations

import csv
import io
import json

import pytest
from openpyxl import load_workbook

from examples.region import GEMEENTEN, Region
from gateway.imports import import_messages
from gateway.ledger import Event
from gateway.ops.monitor_export import EXPORT_TYPE
from tests.security.conftest import BELEID_KEY, Doors, as_

pytestmark = pytest.mark.integration

PEILDATA = "2026-03-31,2026-06-30"


def _fill(doors: Doors, clients: int = 120) -> Region:
    region = Region(clients=clients, aanbieders=6, seed=3)
    done = import_messages(
        doors.gateway.ledger,
        doors.gateway.registry,
        doors.gateway.schemas,
        region.messages(),
        frozenset(GEMEENTEN),
        doors.gateway.settings.max_message_bytes,
    )
    statuses = {d.status for d in done}
    assert statuses <= {"imported", "refused"}
    return region


def _exports(doors: Doors) -> list[dict[str, object]]:
    rows = doors.gateway.ledger.rows(
        "SELECT message_id FROM entries WHERE code = ? AND event = 'received' ORDER BY seq",
        (EXPORT_TYPE.code,),
    )
    out = []
    for (message_id,) in rows:
        history = doors.gateway.ledger.history(message_id)
        viewed = [e for e in history if e.event is Event.VIEWED]
        assert len(viewed) == 1
        assert history[0].payload_sha256  # the figures that left
        out.append(dict(viewed[0].detail))
    return out


def test_the_monitor_over_http(doors: Doors) -> None:
    region = _fill(doors)
    url = f"/v1/monitor?peildatum={PEILDATA}"
    answer = doors.client.get(url, headers=as_("beleid"))
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["peildata"] == ["2026-03-31", "2026-06-30"]
    rows = body["rows"]
    assert {r["gemeente"] for r in rows} <= set(GEMEENTEN)
    assert {r["financiering"] for r in rows} == {"ZIN"}  # the svb adapter is not loaded here
    totals = [r for r in rows if r["productcategorie"] is None and r["peildatum"] == "2026-06-30"]
    assert sum(r["active"] for r in totals if isinstance(r["active"], int)) > 0
    for row in rows:  # no count of 1 to 4 leaves
        for name in ("active", "clients", "households", "inflow", "outflow"):
            assert not (isinstance(row[name], int) and 1 <= row[name] <= 4), row
    text = answer.text
    for client in region.clients:  # no BSN leaves, nor an address
        assert client.bsn not in text and client.postcode not in text

    as_csv = doors.client.get(url + "&format=csv", headers=as_("beleid"))
    assert as_csv.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(as_csv.text)))
    assert table[0][:4] == ["gemeente", "financiering", "productcategorie", "active 2026-03-31"]
    assert len(table) - 1 == len({(r["gemeente"], r["productcategorie"]) for r in rows})

    as_xlsx = doors.client.get(url + "&format=xlsx&products=true", headers=as_("admin"))
    sheet = load_workbook(io.BytesIO(as_xlsx.content))["monitor"]
    header = [c.value for c in sheet[1]]
    assert header[:5] == [
        "gemeente",
        "financiering",
        "productcategorie",
        "productcode",
        "active 2026-03-31",
    ]
    assert sheet.max_row > len(table)  # split by product code

    page = doors.client.get(f"/ui/monitor?peildatum={PEILDATA}", headers=as_("beleid"))
    assert page.status_code == 200
    assert "<svg" in page.text and 'class="bar"' in page.text
    assert "<script" not in page.text

    exports = _exports(doors)
    assert [(e["by"], e["format"], e["channel"]) for e in exports] == [
        ("beleid", "json", "api"),
        ("beleid", "csv", "api"),
        ("admin", "xlsx", "api"),
        ("beleid", "html", "page"),
    ]
    assert exports[0]["peildata"] == ["2026-03-31", "2026-06-30"]
    assert exports[2]["products"] is True
    # an export is an operations record: not listed among the messages
    listed = doors.client.get("/v1/messages?limit=1000", headers=as_("admin")).json()["messages"]
    assert listed and all(m["code"] != EXPORT_TYPE.code for m in listed)


def test_beleid_sees_the_monitor_and_nothing_else(doors: Doors) -> None:
    signed_in = doors.client.post("/ui/login", data={"key": BELEID_KEY}, follow_redirects=False)
    assert signed_in.headers["location"] == "/ui/monitor"
    doors.client.cookies.clear()
    for path in ("/ui/", "/ui/messages", "/v1/messages", "/v1/deadlines", "/metrics"):
        assert doors.client.get(path, headers=as_("beleid")).status_code == 403, path
    for who in ("viewer", "op", "pv"):
        answer = doors.client.get(f"/ui/monitor?peildatum={PEILDATA}", headers=as_(who))
        assert answer.status_code == 403, who
    month13 = doors.client.get("/v1/monitor?peildatum=2026-13-01", headers=as_("beleid"))
    assert month13.status_code == 400
    bad = doors.client.get("/v1/monitor?peildatum=yesterday", headers=as_("beleid"))
    assert bad.status_code == 400
    assert json.loads(bad.text)["detail"].startswith("peildatum")
    assert _exports(doors) == []  # refused and failed requests export nothing
